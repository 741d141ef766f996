/**
 * The pipeline-group part of `npm run bench` (issue 22): tokens per second and time to first token of one
 * generated llama model (12 layers, 512 wide) served by llama-server alone (the baseline) and split across 1,
 * 2 and 3 ggml-rpc-servers on loopback (llama.cpp's RPC over plain TCP) and 3 reached through the libp2p
 * llama-rpc tunnel, in the same run, in interleaved rounds so drift of the machine hits all alike. Each contender goes through the app's own pipeline-group
 * module (`createLlamaServerModule`), greedy, the same prompt and token count. The tunnel's raw throughput and
 * latency against plain loopback TCP are measured by scripts/bench/llamaRpcTunnel.ts. Builds llama.cpp's
 * tools first when the cache has none (minutes). Prints one JSON object.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLlamaServerModule,
  ensureLlamaTools,
  GenerateRequestSchema,
  type GenerationEvent,
  generateModel,
  type RpcServer,
  startRpcServer,
} from '../../packages/app/dist/src/index.js';
import { openLlamaRpcTunnel, serveLlamaRpc } from '../../packages/network/dist/src/llamaRpc.js';
import { makeNeuron, membershipOf, startLibp2p } from '../../packages/network/dist/test/helpers.js';
import { connect } from '../../packages/network/dist/test/nodes.js';
import { createLogger, freePortRange } from '../../packages/utils/dist/src/index.js';

const TOKENS = Number(process.env.BENCH_PIPELINE_TOKENS ?? 64);
const ROUNDS = Number(process.env.BENCH_PIPELINE_ROUNDS ?? 4);
const PROMPT = 'the quick brown fox jumps over the lazy dog';

const logger = createLogger({ level: (process.env.BENCH_LOG_LEVEL as 'warn' | undefined) ?? 'warn' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const r2 = (n: number) => Math.round(n * 100) / 100;

async function main(): Promise<void> {
  const signal = AbortSignal.timeout(40 * 60_000);
  const tools = await ensureLlamaTools({}, { logger }, signal);
  const dir = mkdtempSync(join(tmpdir(), 'subnet-bench-pipeline-'));
  const file = join(dir, 'm.gguf');
  writeFileSync(file, generateModel({ kind: 'random', blocks: 12, embd: 512, seed: 5, ctx: 1024 }));
  const servers: RpcServer[] = [];
  const modules: Array<{ name: string; module: ReturnType<typeof createLlamaServerModule> }> = [];
  const stops: Array<() => Promise<unknown>> = [];
  try {
    // A ggml-rpc-server serves one client (lead) at a time: each contender gets its own members.
    const members = async (n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const server = await startRpcServer({ port: await freePortRange(1), threads: 1 }, { logger }, signal);
        servers.push(server);
        out.push(`127.0.0.1:${server.port}`);
      }
      return out;
    };
    // Three more members reached the way a group reaches them: each behind its own libp2p node (noise, yamux),
    // through the llama-rpc tunnel, the nodes in this process.
    const viaTunnel = async (direct: string[]) => {
      const lead = makeNeuron('miner');
      const neurons = direct.map(() => makeNeuron('miner'));
      const membership = membershipOf([lead, ...neurons]);
      const leadNode = await startLibp2p(lead, membership);
      stops.push(() => leadNode.stop());
      const out: string[] = [];
      for (const [i, neuron] of neurons.entries()) {
        const node = await startLibp2p(neuron, membership);
        stops.push(() => node.stop());
        await connect(leadNode, node);
        const served = await serveLlamaRpc(
          { port: Number(direct[i]?.split(':')[1]), allow: [lead.account.address] },
          { libp2p: node, membership },
        );
        stops.push(() => served.close());
        const tunnel = await openLlamaRpcTunnel(
          { hotkey: neuron.account.address },
          { libp2p: leadNode, membership },
        );
        stops.push(() => tunnel.close());
        out.push(`127.0.0.1:${tunnel.port}`);
      }
      return out;
    };
    const contenders = [
      { name: 'single', rpc: [] as string[] },
      { name: 'members1', rpc: await members(1) },
      { name: 'members2', rpc: await members(2) },
      { name: 'members3', rpc: await members(3) },
      { name: 'members3Tunnel', rpc: await viaTunnel(await members(3)) },
    ];
    for (const c of contenders) {
      const module = createLlamaServerModule(
        { id: 'm', path: file, contextLength: 1024, rpc: c.rpc, threads: 2 },
        { logger },
      );
      await module.init({ signal });
      modules.push({ name: c.name, module });
    }
    const samples = new Map<string, { ttftMs: number[]; tokensPerS: number[] }>(
      modules.map((m) => [m.name, { ttftMs: [], tokensPerS: [] }]),
    );
    for (let round = 0; round <= ROUNDS; round++) {
      for (const { name, module } of modules) {
        const t0 = performance.now();
        let first = 0;
        let n = 0;
        const events: AsyncIterable<GenerationEvent> = module.generate(
          GenerateRequestSchema.parse({
            model: 'm',
            kind: 'completion',
            prompt: PROMPT,
            maxTokens: TOKENS,
            temperature: 0,
          }),
          { signal },
        );
        for await (const ev of events) {
          if (ev.type !== 'token') continue;
          if (n === 0) first = performance.now();
          n++;
        }
        const t1 = performance.now();
        // The random model's bytes can form partial UTF-8 characters, whose text is held back: too few tokens
        // may yield fewer than two events, and no rate to measure.
        if (n < 2)
          throw new Error(`${name}: ${n} token events in ${TOKENS} tokens; raise BENCH_PIPELINE_TOKENS`);
        if (round === 0) continue; // warm-up
        const s = samples.get(name);
        s?.ttftMs.push(first - t0);
        s?.tokensPerS.push((n - 1) / ((t1 - first) / 1000));
      }
    }
    const result = Object.fromEntries(
      [...samples].map(([name, s]) => [
        name,
        { ttftMs: r2(median(s.ttftMs)), tokensPerS: r2(median(s.tokensPerS)) },
      ]),
    ) as Record<string, { ttftMs: number; tokensPerS: number }>;
    const single = result.single as { ttftMs: number; tokensPerS: number };
    const tunnelled = result.members3Tunnel as { ttftMs: number; tokensPerS: number };
    const direct3 = result.members3 as { ttftMs: number; tokensPerS: number };
    const ratios = Object.fromEntries(
      Object.entries(result)
        .filter(([k]) => k !== 'single')
        .map(([k, v]) => [
          k,
          {
            tokensPerSRatio: r2(v.tokensPerS / single.tokensPerS),
            addedTtftMs: r2(v.ttftMs - single.ttftMs),
          },
        ]),
    );
    process.stdout.write(
      `${JSON.stringify(
        {
          model: { layers: 12, embd: 512, format: 'F32', tokens: TOKENS, rounds: ROUNDS },
          tools: { release: tools.release, built: tools.built, buildSeconds: tools.buildSeconds },
          results: result,
          againstSingle: ratios,
          tunnelAgainstTcp: {
            description: '3 members through the libp2p tunnel / the same 3 over plain loopback TCP',
            tokensPerSRatio: r2(tunnelled.tokensPerS / direct3.tokensPerS),
            addedTtftMs: r2(tunnelled.ttftMs - direct3.ttftMs),
          },
          note: 'RPC members on loopback, one CPU thread each (the single node runs two), all on the same 2-core machine as the lead, the tunnel nodes in the bench process: the split costs round trips per layer boundary and gains no compute here; the point is the overhead, not a speed-up.',
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await Promise.allSettled(modules.map((m) => m.module.close()));
    await Promise.allSettled(servers.map((s) => s.close()));
    for (const stop of stops.reverse()) await stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
