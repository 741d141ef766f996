/**
 * The cost of verification (issue 13), measured in one run and printed as one JSON object on stdout:
 *
 * 1. Accounting. The full path client → gateway → libp2p → miner → an instant OpenAI-compatible backend,
 *    through two validators of one devnet that differ only in how they count usage: `counted` serves a
 *    llama.cpp model under the routed id, so its gateway counts prompt and completion tokens with that
 *    model's tokenizer (`app_tokenizeV1`, in-process); `bound` has no app stack, so it counts relayed token
 *    events and prompt bytes / 4 — no more work than the old path, which took the miner's `usage` as given.
 *    Both fix a seed on every request. Interleaved rounds at c=16 and c=64: throughput, latency and each
 *    validator's CPU per request. Target: `counted` loses at most 5 % of `bound`'s throughput.
 * 2. Seeding and canonical params: `generateWire` (seed from the CSPRNG, the strict synapse schema) per
 *    request, against the object spread it replaced, in this process.
 * 3. Audits: this process runs the app stack with the devnet's chat model (a bigram of README.md and docs/),
 *    generates answers (chat and completion, greedy and sampled, 32 tokens) and audits each as the validator
 *    does (`app_scoreV1` with the sampler's top-k and the ending, then the audit rules): CPU per audit. The
 *    share of a validator's CPU spent on audits at the default organic audit rate is
 *    rate × audit / (request + rate × audit), with `request` the `counted` validator's CPU per request.
 *
 * Knobs (env): BENCH_VERIFY_ROUND_MS (default 2000), BENCH_VERIFY_ROUNDS (4), BENCH_VERIFY_AUDITS (40).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeOpenAi } from '../../packages/app/dist/test/fixtures/openaiServer.js';
import { startDevnet } from '../../packages/chain/dist/src/index.js';
import { loadConfig } from '../../packages/config/dist/src/index.js';
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  engineApi,
  loadOrCreateJwtSecret,
} from '../../packages/engine-api/dist/src/index.js';
import { generateWire } from '../../packages/gateway/dist/src/wire.js';
import { freePortRange } from '../../packages/utils/dist/src/index.js';
import { measureAudits } from './audits.ts';
import { round, summariseLoad } from './measure.ts';
import { chat, closePools, cpuSeconds, freePort, startNode, stopNodes, timed } from './nodes.ts';

const ROUND_MS = Number(process.env.BENCH_VERIFY_ROUND_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_VERIFY_ROUNDS ?? 4);
const AUDITS = Number(process.env.BENCH_VERIFY_AUDITS ?? 40);
const MODEL = 'instant';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const progress = (m: string) => process.stderr.write(`bench verification: ${m}\n`);

/** The devnet chat model's corpus: README.md and docs/*.md, as `npm start` builds it. */
function docsCorpus(): string {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => readFileSync(join(ROOT, 'docs', f), 'utf8'));
  return [readFileSync(join(ROOT, 'README.md'), 'utf8'), ...docs].join('\n');
}

/** Part 2: µs per request of the canonical wire params against a plain spread, in this process. */
function seeding() {
  const params = {
    model: MODEL,
    kind: 'chat' as const,
    messages: [{ role: 'user' as const, content: 'hello world, how are you today?' }],
    maxTokens: 64,
    temperature: 0.7,
    topP: 0.9,
    stop: [],
    logprobs: false,
    topLogprobs: 0,
  };
  const n = 200_000;
  const time = (f: () => unknown) => {
    for (let i = 0; i < n / 10; i++) f();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return ((performance.now() - t0) * 1000) / n;
  };
  let sink = 0;
  const spread = time(() => {
    sink += Object.keys({ ...params }).length;
  });
  const wire = time(() => {
    sink += generateWire(params).seed === undefined ? 0 : 1;
  });
  return {
    requests: n,
    spreadUs: round(spread, 3),
    generateWireUs: round(wire, 3),
    addedUs: round(wire - spread, 3),
    sink,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'subnet-bench-verification-'));
  const children: ChildProcess[] = [];
  const backend = await startFakeOpenAi([MODEL]);
  let devnet: Awaited<ReturnType<typeof startDevnet>> | undefined;
  try {
    const { generateModel } = await import('../../packages/app/dist/src/index.js');
    const modelFile = join(dir, 'chat.gguf');
    writeFileSync(modelFile, generateModel({ kind: 'bigram', corpus: docsCorpus() }));

    progress('devnet chain with two validators and one miner');
    devnet = await startDevnet({
      dataDir: dir,
      port: 0,
      blockTimeS: 60,
      validators: 2,
      miners: 1,
      p2pBasePort: await freePortRange(8),
    });
    const neurons = devnet.network.neurons ?? [];
    const addrs = (wallet: string) => neurons.find((n) => n.wallet === wallet)?.multiaddrs ?? [];
    const base = (wallet: string, port: number, stacks: string[]) => ({
      dataDir: dir,
      log: { level: 'warn' },
      chain: {
        rpcUrl: devnet?.anvil.rpcUrl,
        wallet,
        passwordFile: join(dir, 'devnet', 'wallet-password'),
        pollIntervalMs: 500,
      },
      network: { listen: addrs(wallet), heartbeatIntervalMs: 1000 },
      node: { port, stacks: stacks.map((s) => ({ name: s, module: `@subnet/${s}/stack` })) },
    });
    const minerPort = await freePort();
    children.push(
      startNode(
        dir,
        'miner1',
        {
          ...base('miner1', minerPort, ['chain', 'network', 'app']),
          app: {
            models: [{ id: MODEL, backend: 'openai', baseUrl: backend.url, model: MODEL }],
            scheduler: { concurrency: 128, queueCapacity: 4096 },
          },
        },
        progress,
      ),
    );
    const validators = {
      counted: { wallet: 'validator1', port: await freePort(), gateway: await freePort(), app: true },
      bound: { wallet: 'validator2', port: await freePort(), gateway: await freePort(), app: false },
    };
    const pids: Record<string, number> = {};
    for (const [name, v] of Object.entries(validators)) {
      const child = startNode(
        dir,
        name,
        {
          ...base(
            v.wallet,
            v.port,
            v.app ? ['chain', 'network', 'app', 'gateway'] : ['chain', 'network', 'gateway'],
          ),
          gateway: { port: v.gateway },
          // The tokenizer of the routed id: this validator counts usage the way the devnet's validators do.
          ...(v.app ? { app: { models: [{ id: MODEL, backend: 'llama.cpp', path: modelFile }] } } : {}),
        },
        progress,
      );
      children.push(child);
      pids[name] = child.pid as number;
    }

    const secret = await loadOrCreateJwtSecret(join(dir, 'engine-jwt.hex'));
    const body = JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: 'hello world, how are you today?' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const keys: Record<string, string> = {};
    for (const [name, v] of Object.entries(validators)) {
      const engine = createEngineClient(
        engineApi,
        createHttpTransport({
          url: `http://127.0.0.1:${v.port}`,
          token: createTokenSigner(secret, { subject: 'bench', lifetimeS: 60 }),
        }),
      );
      const deadline = Date.now() + 90_000;
      while (keys[name] === undefined) {
        if (Date.now() > deadline) throw new Error(`${name} did not come up in 90 s`);
        const key = await engine
          .call('gateway_createKeyV1', {
            name: 'bench',
            requestsPerMinute: 1_000_000,
            tokensPerMinute: 1_000_000_000,
          })
          .then((r) => r.key)
          .catch(() => undefined);
        if (key === undefined) await new Promise((r) => setTimeout(r, 250));
        else keys[name] = key;
      }
      const url = `http://127.0.0.1:${v.gateway}/v1/chat/completions`;
      while (
        !(await chat(url, { authorization: `Bearer ${keys[name]}` }, body).then(
          () => true,
          () => false,
        ))
      ) {
        if (Date.now() > deadline) throw new Error(`${name} never routed to the miner`);
        await new Promise((r) => setTimeout(r, 250));
      }
      await engine.close();
    }
    const call = (name: keyof typeof validators) => () =>
      chat(
        `http://127.0.0.1:${validators[name].gateway}/v1/chat/completions`,
        { authorization: `Bearer ${keys[name]}` },
        body,
      );

    progress('warm-up');
    for (const name of ['counted', 'bound'] as const) await timed(16, 2000, call(name));

    const at = async (concurrency: number) => {
      const acc = {
        counted: { s: [] as number[], ms: 0, rounds: [] as number[], cpu: 0, n: 0 },
        bound: { s: [] as number[], ms: 0, rounds: [] as number[], cpu: 0, n: 0 },
      };
      for (let r = 0; r < ROUNDS; r++) {
        for (const name of (r % 2 === 0 ? ['counted', 'bound'] : ['bound', 'counted']) as const) {
          const cpu0 = cpuSeconds(pids[name] as number);
          const { samples, elapsedMs } = await timed(concurrency, ROUND_MS, call(name));
          const a = acc[name];
          a.cpu += cpuSeconds(pids[name] as number) - cpu0;
          a.n += samples.length;
          a.s.push(...samples);
          a.ms += elapsedMs;
          a.rounds.push(round((samples.length * 1000) / elapsedMs, 0));
        }
      }
      const out = (a: (typeof acc)['counted']) => ({
        ...summariseLoad(a.s, a.ms, a.rounds),
        validatorCpuUsPerRequest: round((a.cpu * 1e6) / a.n, 0),
      });
      return { counted: out(acc.counted), bound: out(acc.bound) };
    };
    progress(`c=16: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms per validator`);
    const c16 = await at(16);
    progress(`c=64: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms per validator`);
    const c64 = await at(64);
    await stopNodes(children.splice(0));

    progress('seeding and canonical params, in this process');
    const seed = seeding();

    progress(`audits: ${AUDITS} answers generated and audited in this process`);
    const config = loadConfig({ env: {} });
    const audits = await measureAudits({ modelFile, count: AUDITS, consensus: config.consensus });

    const loss = round(1 - c64.counted.rps / c64.bound.rps, 4);
    const requestUs = c16.counted.validatorCpuUsPerRequest;
    const rate = config.consensus.organicAuditRate;
    const share = round((rate * audits.cpuUsPerAudit) / (requestUs + rate * audits.cpuUsPerAudit), 4);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'verification',
        note: 'accounting: the same full path (client → gateway → libp2p → miner → instant OpenAI-compatible server) through two validators of one devnet, counted (usage by the model tokenizer on the validator, app_tokenizeV1) and bound (no tokenizer: relayed events, prompt bytes / 4, no more work than taking the miner word); both fix every seed. Interleaved rounds, undici keep-alive pool, CPU from /proc (10 ms ticks). Audits: app_scoreV1 (teacher forcing with top-40 logprobs and the ending) and the audit rules on a bigram of the docs, in this process.',
        accounting: { c16, c64, throughputLossC64: loss },
        seeding: seed,
        audits: {
          ...audits,
          organicAuditRate: rate,
          validatorCpuUsPerRequest: requestUs,
          auditShareOfValidatorCpu: share,
        },
        targets: {
          accountingThroughputLoss: { target: 0.05, value: loss, met: loss <= 0.05 },
        },
      })}\n`,
    );
  } finally {
    await stopNodes(children);
    await closePools();
    await backend.close();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
