/**
 * The gateway's part of `npm run bench`: the whole path a client request takes — client → the validator's
 * gateway (OpenAI API, key check, rate limit) → its network stack → the synapse protocol over libp2p → the
 * miner's network stack → its app stack → an instant OpenAI-compatible backend — against the client calling
 * that same backend directly, in the same run, in interleaved rounds. A devnet chain (anvil) registers one
 * validator and one miner; each node is its own process (`subnet node start`), as in `npm start`.
 *
 * Reports added latency (p50, p99) at concurrency 16, throughput of the full path at concurrency 64, and the
 * validator process's CPU per streamed token (the SSE relay). Prints one JSON object on stdout.
 *
 * Knobs (env): BENCH_GATEWAY_ROUND_MS (default 2000), BENCH_GATEWAY_ROUNDS (4), BENCH_GATEWAY_TOKENS (20000).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeOpenAi } from '../../packages/app/dist/test/fixtures/openaiServer.js';
import { startDevnet } from '../../packages/chain/dist/src/index.js';
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  engineApi,
  loadOrCreateJwtSecret,
} from '../../packages/engine-api/dist/src/index.js';
import { drive, round, summariseLoad } from './measure.ts';

const ROUND_MS = Number(process.env.BENCH_GATEWAY_ROUND_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 4);
const RELAY_TOKENS = Number(process.env.BENCH_GATEWAY_TOKENS ?? 20_000);
const BIN = fileURLToPath(new URL('../../packages/cli/dist/src/bin.js', import.meta.url));
const MODEL = 'instant';

const progress = (m: string) => process.stderr.write(`bench gateway: ${m}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function startNode(dir: string, name: string, config: unknown): ChildProcess {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const prof = process.env.BENCH_GATEWAY_PROF;
  const flags =
    prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${name}.cpuprofile`];
  const child = spawn(process.execPath, [...flags, BIN, 'node', 'start', '--config', file], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err = (err + String(d)).slice(-4000);
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) progress(`${name} exited ${code}: ${err}`);
  });
  return child;
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One streamed chat completion, read to the end; returns its latency in ms. */
async function chat(url: string, headers: Record<string, string>, body: string): Promise<void> {
  const res = await fetchLike(url, headers, body);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${res.text.slice(0, 300)}`);
  if (!res.text.includes('[DONE]')) throw new Error(`${url}: the stream did not end with [DONE]`);
}

// undici's request() through a keep-alive Pool per origin (fetch is 7–14× slower here).
const { Pool } = await import('undici');
const pools = new Map<string, InstanceType<typeof Pool>>();
async function fetchLike(url: string, headers: Record<string, string>, body: string) {
  const u = new URL(url);
  let pool = pools.get(u.origin);
  if (pool === undefined) {
    pool = new Pool(u.origin, { connections: 64, pipelining: 1 });
    pools.set(u.origin, pool);
  }
  const r = await pool.request({
    path: u.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await r.body.text();
  return { ok: r.statusCode === 200, status: r.statusCode, text };
}

/** Closed loop for `ms` at `concurrency` (measure.ts), with the latency samples and the time it took. */
async function timed(concurrency: number, ms: number, one: () => Promise<void>) {
  const samples: number[] = [];
  const started = performance.now();
  await drive(one, concurrency, ms, samples);
  return { samples, elapsedMs: performance.now() - started };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'subnet-bench-gateway-'));
  const children: ChildProcess[] = [];
  const backend = await startFakeOpenAi([MODEL]);
  let devnet: Awaited<ReturnType<typeof startDevnet>> | undefined;
  try {
    const p2pBase = 20_000 + 2 * Math.floor(Math.random() * 10_000);
    progress('devnet chain with one validator and one miner');
    devnet = await startDevnet({
      dataDir: dir,
      port: 0,
      blockTimeS: 60,
      validators: 1,
      miners: 1,
      p2pBasePort: p2pBase,
    });
    const neurons = devnet.network.neurons ?? [];
    const addrs = (wallet: string) => neurons.find((n) => n.wallet === wallet)?.multiaddrs ?? [];
    const common = (wallet: string, port: number) => ({
      dataDir: dir,
      log: { level: 'warn' },
      chain: {
        rpcUrl: devnet?.anvil.rpcUrl,
        wallet,
        passwordFile: join(dir, 'devnet', 'wallet-password'),
        pollIntervalMs: 500,
      },
      network: { listen: addrs(wallet), heartbeatIntervalMs: 1000 },
      node: { port, stacks: [] as { name: string; module: string }[] },
    });
    const minerConfig = common('miner1', await freePort());
    minerConfig.node.stacks = [
      { name: 'chain', module: '@subnet/chain/stack' },
      { name: 'network', module: '@subnet/network/stack' },
      { name: 'app', module: '@subnet/app/stack' },
    ];
    const validatorPort = await freePort();
    const gatewayPort = await freePort();
    const validatorConfig = {
      ...common('validator1', validatorPort),
      gateway: { port: gatewayPort },
    };
    validatorConfig.node.stacks = [
      { name: 'chain', module: '@subnet/chain/stack' },
      { name: 'network', module: '@subnet/network/stack' },
      { name: 'gateway', module: '@subnet/gateway/stack' },
    ];
    progress('starting the miner and the validator nodes');
    const miner = startNode(dir, 'miner1', {
      ...minerConfig,
      app: {
        models: [{ id: MODEL, backend: 'openai', baseUrl: backend.url, model: MODEL }],
        scheduler: { concurrency: 128, queueCapacity: 4096 },
      },
    });
    const validator = startNode(dir, 'validator1', validatorConfig);
    children.push(miner, validator);

    const secret = await loadOrCreateJwtSecret(join(dir, 'engine-jwt.hex'));
    const engine = createEngineClient(
      engineApi,
      createHttpTransport({
        url: `http://127.0.0.1:${validatorPort}`,
        token: createTokenSigner(secret, { subject: 'bench', lifetimeS: 60 }),
      }),
    );
    const deadline = Date.now() + 60_000;
    let key: string | undefined;
    while (key === undefined) {
      if (Date.now() > deadline) throw new Error('the validator did not come up in 60 s');
      key = await engine
        .call('gateway_createKeyV1', {
          name: 'bench',
          requestsPerMinute: 1_000_000,
          tokensPerMinute: 1_000_000_000,
        })
        .then((r) => r.key)
        .catch(() => undefined);
      if (key === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    const gateway = `http://127.0.0.1:${gatewayPort}`;
    const auth = { authorization: `Bearer ${key}` };
    const body = JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: 'hello world' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    while (true) {
      if (Date.now() > deadline) throw new Error('the miner never became routable');
      const ok = await chat(`${gateway}/v1/chat/completions`, auth, body).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await engine.close();

    const direct = () => chat(`${backend.url}/v1/chat/completions`, {}, body);
    const full = () => chat(`${gateway}/v1/chat/completions`, auth, body);
    progress('warm-up');
    await drive(full, 16, 2000);
    await drive(direct, 16, 1000);

    const at = async (concurrency: number) => {
      const acc = {
        direct: { s: [] as number[], ms: 0, rounds: [] as number[] },
        full: { s: [] as number[], ms: 0, rounds: [] as number[] },
      };
      for (let r = 0; r < ROUNDS; r++) {
        for (const [k, f] of [
          ['direct', direct],
          ['full', full],
        ] as const) {
          const { samples, elapsedMs } = await timed(concurrency, ROUND_MS, f);
          acc[k].s.push(...samples);
          acc[k].ms += elapsedMs;
          acc[k].rounds.push(round((samples.length * 1000) / elapsedMs, 0));
        }
      }
      return {
        direct: summariseLoad(acc.direct.s, acc.direct.ms, acc.direct.rounds),
        full: summariseLoad(acc.full.s, acc.full.ms, acc.full.rounds),
      };
    };
    progress(`c=1: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`);
    const c1 = await at(1);
    progress(`c=16: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`);
    const c16 = await at(16);
    progress(`c=64: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms`);
    const c64 = await at(64);

    progress('CPU per request of each process: 4 s of the full path at c=16');
    const cpuBefore = {
      validator: cpuSeconds(validator.pid as number),
      miner: cpuSeconds(miner.pid as number),
      bench: cpuSeconds(process.pid),
    };
    const load = await timed(16, 4000, full);
    const perRequestUs = (k: keyof typeof cpuBefore, pid: number) =>
      round(((cpuSeconds(pid) - cpuBefore[k]) * 1e6) / load.samples.length, 0);
    const cpuPerRequestUs = {
      validator: perRequestUs('validator', validator.pid as number),
      miner: perRequestUs('miner', miner.pid as number),
      clientAndBackend: perRequestUs('bench', process.pid),
    };

    progress(`SSE relay: ${RELAY_TOKENS} tokens through the gateway`);
    const words = 2000;
    const long = JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: Array.from({ length: words }, (_, i) => `w${i}`).join(' ') }],
      max_tokens: words,
      stream: true,
    });
    const cpu0 = cpuSeconds(validator.pid as number);
    const t0 = performance.now();
    for (let i = 0; i < RELAY_TOKENS / words; i++) await chat(`${gateway}/v1/chat/completions`, auth, long);
    const relayCpuS = cpuSeconds(validator.pid as number) - cpu0;
    const relayMs = performance.now() - t0;

    const addedP50 = round(c16.full.p50Ms - c16.direct.p50Ms, 3);
    const addedP99 = round(c16.full.p99Ms - c16.direct.p99Ms, 3);
    const relayUs = round((relayCpuS * 1e6) / RELAY_TOKENS, 2);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'gateway',
        note: 'full: client → gateway (OpenAI API, key, limits) → validator network stack → synapse over libp2p → miner network stack → app stack (openai backend) → instant OpenAI-compatible server; direct: client → that server. Streamed chat (2 tokens, include_usage), read to [DONE], undici keep-alive pool, interleaved rounds. Nodes are separate processes; client and backend share this process. Relay CPU: the validator process (gateway + network stack) per token streamed, from /proc (10 ms ticks).',
        c1,
        c16,
        c64,
        addedLatencyC16: { p50Ms: addedP50, p99Ms: addedP99 },
        cpuPerRequestUs,
        relay: {
          tokens: RELAY_TOKENS,
          cpuS: round(relayCpuS, 3),
          wallMs: round(relayMs, 0),
          cpuUsPerToken: relayUs,
        },
        targets: {
          addedP50Ms: { target: 1, value: addedP50, met: addedP50 <= 1 },
          addedP99Ms: { target: 3, value: addedP99, met: addedP99 <= 3 },
          fullPathRpsC64: { target: 3000, value: c64.full.rps, met: c64.full.rps >= 3000 },
          relayCpuUsPerToken: { target: 15, value: relayUs, met: relayUs <= 15 },
        },
      })}\n`,
    );
  } finally {
    for (const c of children) c.kill('SIGINT');
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => {
              c.kill('SIGKILL');
              resolve();
            }, 5000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    for (const p of pools.values()) await p.close();
    await backend.close();
    await devnet?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
