/**
 * The synapse protocol against the plain-HTTP baseline, in one process and one run: a 1 KiB request and
 * a 1 KiB response over libp2p (one long-lived multiplexed stream, receipts on) beside `node:http` with an
 * undici keep-alive Pool doing the same echo, in interleaved rounds at concurrency 1 and 64; then the CPU
 * cost per streamed token (both ends in this process). Prints one JSON object.
 *
 * Run: `npx tsc -b && node scripts/bench/synapse.ts`.
 */
import { ConfigSchema } from '../../packages/config/dist/src/index.js';
import {
  createSynapseClient,
  createSynapseServer,
  type SynapseHandler,
} from '../../packages/network/dist/src/index.js';
import { makeNeuron, membershipOf, startLibp2p } from '../../packages/network/dist/test/helpers.js';
import { drive, percentile, round, sampleStreamCpu, summariseCpu } from './measure.ts';
import { createRawClient, startRawServer } from './raw.ts';

const ROUND_MS = Number(process.env.BENCH_SYNAPSE_ROUND_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_SYNAPSE_ROUNDS ?? 4);
const TOKENS = Number(process.env.BENCH_SYNAPSE_TOKENS ?? 25_000);
const TOKEN_RUNS = Number(process.env.BENCH_SYNAPSE_TOKEN_RUNS ?? 4);
const PAYLOAD = 'x'.repeat(1024);

/** The config defaults of `network.synapse`, from the schema itself. */
const LIMITS = { netuid: 1, ...ConfigSchema.parse({}).network.synapse };

/** generate: `echo` returns the prompt as one token event (1 KiB); `tokens:N` streams N small tokens. */
async function* serve(params: { prompt?: string | undefined }): AsyncGenerator<unknown> {
  const prompt = params.prompt ?? '';
  if (prompt.startsWith('tokens:')) {
    const n = Number(prompt.slice(7));
    for (let i = 0; i < n; i++) yield { type: 'token', text: ' tok' };
    return;
  }
  yield { type: 'token', text: prompt };
}

interface Side {
  samples: number[];
  elapsedMs: number;
  roundsRps: number[];
}

const newSide = (): Side => ({ samples: [], elapsedMs: 0, roundsRps: [] });

async function round_(side: Side, call: () => Promise<unknown>, concurrency: number): Promise<void> {
  const before = side.samples.length;
  const t0 = performance.now();
  await drive(call, concurrency, ROUND_MS, side.samples);
  const ms = performance.now() - t0;
  side.elapsedMs += ms;
  side.roundsRps.push(round(((side.samples.length - before) * 1000) / ms, 0));
}

function summary(side: Side) {
  const sorted = [...side.samples].sort((a, b) => a - b);
  return {
    requests: sorted.length,
    rps: round((sorted.length * 1000) / side.elapsedMs, 0),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    roundsRps: side.roundsRps,
  };
}

async function main(): Promise<void> {
  const validator = makeNeuron('validator');
  const miner = makeNeuron('miner');
  const vNode = await startLibp2p(validator, membershipOf([validator, miner]));
  const mNode = await startLibp2p(miner, membershipOf([validator, miner]));
  const handler: SynapseHandler = {
    serve: (_kind, params, _ctx) => serve(params as { prompt?: string }) as never,
  };
  const server = createSynapseServer(LIMITS, {
    libp2p: mNode,
    membership: membershipOf([validator, miner]),
    handler,
    signer: miner.account,
  });
  await server.start();
  await vNode.dial(mNode.getMultiaddrs()[0] as never);
  const client = createSynapseClient(LIMITS, { libp2p: vNode });
  const raw = await startRawServer();
  const http = createRawClient(raw.origin, 64);

  const echoParams = { model: 'bench', kind: 'completion' as const, prompt: PAYLOAD, maxTokens: 1 };
  const synapseCall = async (): Promise<void> => {
    let got = 0;
    for await (const r of client.request(miner.peerId, {
      kind: 'generate',
      params: echoParams,
      deadlineMs: 30_000,
    })) {
      if (r.type === 'event' && r.data.type === 'token') got += r.data.text.length;
      else if (r.type === 'done') doneIds.push(r.requestId);
    }
    if (got !== PAYLOAD.length) throw new Error('short synapse answer');
  };
  const doneIds: string[] = [];
  const httpBody = JSON.stringify({ payload: PAYLOAD });
  const httpCall = async (): Promise<void> => {
    const r = (await http.echo(httpBody)) as { payload: string };
    if (r.payload.length !== PAYLOAD.length) throw new Error('short http answer');
  };

  // Warm both paths (JIT, connections, the stream).
  await drive(synapseCall, 64, 500);
  await drive(httpCall, 64, 500);

  const result: Record<string, unknown> = {};
  for (const concurrency of [1, 64]) {
    const syn = newSide();
    const htt = newSide();
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate which goes first so drift of the machine hits both alike.
      if (i % 2 === 0) {
        await round_(syn, synapseCall, concurrency);
        await round_(htt, httpCall, concurrency);
      } else {
        await round_(htt, httpCall, concurrency);
        await round_(syn, synapseCall, concurrency);
      }
    }
    const s = summary(syn);
    const h = summary(htt);
    result[`c${concurrency}`] = {
      synapse: s,
      http: h,
      rpsRatio: round(s.rps / h.rps),
    };
  }

  // Streamed tokens: one request per run, both ends in this process.
  const tokenParams = {
    model: 'bench',
    kind: 'completion' as const,
    prompt: `tokens:${TOKENS}`,
    maxTokens: 32_768,
  };
  const tokenRun = async (): Promise<number> => {
    let n = 0;
    for await (const r of client.request(miner.peerId, {
      kind: 'generate',
      params: tokenParams,
      deadlineMs: 60_000,
    })) {
      if (r.type === 'event') n++;
    }
    return n;
  };
  await tokenRun();
  const tokenSamples = [];
  for (let i = 0; i < TOKEN_RUNS; i++) tokenSamples.push(await sampleStreamCpu(tokenRun));
  const tokens = summariseCpu(tokenSamples);

  // Every synapse's receipt must have arrived and verified (the last batch within receiptIntervalMs).
  await new Promise((resolve) => setTimeout(resolve, LIMITS.receiptIntervalMs + 200));
  let receipted = 0;
  for (const id of doneIds) {
    try {
      client.receipts.get(id);
      receipted++;
    } catch {
      // pending or evicted (the store keeps the newest 100 000)
    }
  }
  const c1 = result.c1 as { synapse: { p50Ms: number } };
  const c64 = result.c64 as { rpsRatio: number };
  console.log(
    JSON.stringify({
      bench: 'synapse',
      note: 'synapse: a generate request carrying a 1 KiB prompt whose handler answers at once with one token event holding that 1 KiB (validated by the client, hashed both ends, receipts signed and verified in batches of up to 1024 or every 1 s); http: node:http echo of a 1 KiB JSON body with an undici keep-alive Pool of 64 connections, JSON.parse of the reply. Both ends of both in this one process, rounds interleaved.',
      roundMs: ROUND_MS,
      rounds: ROUNDS,
      ...result,
      tokens: { ...tokens, totalTokens: tokens.events * tokens.runs },
      receipts: { synapses: doneIds.length, verified: receipted },
      targets: {
        rpsRatioAtC64: { target: 0.4, value: c64.rpsRatio, met: c64.rpsRatio >= 0.4 },
        p50MsAtC1: { target: 0.5, value: c1.synapse.p50Ms, met: c1.synapse.p50Ms <= 0.5 },
        cpuUsPerToken: { target: 10, value: tokens.cpuUsPerEvent, met: tokens.cpuUsPerEvent <= 10 },
      },
    }),
  );

  await http.close();
  await raw.close();
  await client.stop();
  await server.stop();
  await Promise.all([vNode.stop(), mNode.stop()]);
}

await main();
