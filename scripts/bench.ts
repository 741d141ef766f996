/**
 * `npm run bench`: measures the Engine API against bare node:http + undici baselines in one run and prints
 * one JSON document on stdout (progress goes to stderr). Unary `engine_echoV1` throughput and latency over
 * the in-process and HTTP (JWT) transports at concurrency 1 and 16; per-event CPU of `engine_echoStreamV1`
 * in-process, over HTTP, and relayed through a second server. Kept out of the test suite: it never fails
 * on a missed target, it reports `pass: false`.
 *
 * Knobs (env): BENCH_DURATION_MS (per unary phase, default 2000), BENCH_WARMUP_MS (default 500),
 * BENCH_STREAM_EVENTS (default 200000).
 */
import { availableParallelism, cpus } from 'node:os';
import { benchApi, countEvents, httpClient, inProcessClient, startEngineNode, startRelay } from './bench/engine.ts';
import { type CpuResult, type LoadResult, measureStreamCpu, round, runClosedLoop } from './bench/measure.ts';
import { createRawClient, startRawServer } from './bench/raw.ts';
import { engineApi } from '../packages/engine-api/dist/src/index.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 2000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 500);
const STREAM_EVENTS = Number(process.env.BENCH_STREAM_EVENTS ?? 200_000);
const STREAM_WARMUP_EVENTS = Math.max(1000, Math.floor(STREAM_EVENTS / 10));
const CONCURRENCIES = [1, 16] as const;
/** Keep-alive connections of every HTTP client (baseline and engine alike). */
const CONNECTIONS = 16;
const UNARY_PAYLOAD = 'x'.repeat(1024);
const STREAM_PAYLOAD = 'x'.repeat(64);
const UNARY_TARGET_RATIO = 0.5;
const RELAY_TARGET_US = 15;

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

type Row = LoadResult & { ratioToBaseline?: number };

async function main(): Promise<void> {
  const raw = await startRawServer();
  const rawClient = createRawClient(raw.origin, CONNECTIONS);
  const node = await startEngineNode();
  const http = httpClient(engineApi, node, CONNECTIONS);
  const inProc = inProcessClient(node.server);
  const relay = await startRelay();
  const relayClient = httpClient(benchApi, relay.a, CONNECTIONS);

  // The baseline sends the very bytes the engine client sends, so both servers parse the same request.
  const rawBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'engine_echoV1', params: { payload: UNARY_PAYLOAD } });
  const load = { warmupMs: WARMUP_MS, durationMs: DURATION_MS };
  const unary: Record<string, { baseline: Row; engineInProcess: Row; engineHttp: Row }> = {};
  for (const concurrency of CONCURRENCIES) {
    progress(`unary c=${concurrency}: baseline`);
    const baseline = await runClosedLoop(() => rawClient.echo(rawBody), { ...load, concurrency });
    progress(`unary c=${concurrency}: engine in-process`);
    const engineInProcess = await runClosedLoop(() => inProc.call('engine_echoV1', { payload: UNARY_PAYLOAD }), {
      ...load,
      concurrency,
    });
    progress(`unary c=${concurrency}: engine http`);
    const engineHttp = await runClosedLoop(() => http.call('engine_echoV1', { payload: UNARY_PAYLOAD }), {
      ...load,
      concurrency,
    });
    unary[`c${concurrency}`] = {
      baseline,
      engineInProcess,
      engineHttp: { ...engineHttp, ratioToBaseline: round(engineHttp.rps / baseline.rps) },
    };
  }

  const n = STREAM_EVENTS;
  const w = STREAM_WARMUP_EVENTS;
  const payload = STREAM_PAYLOAD;
  progress(`stream ${n} events: baseline`);
  const streamBaseline = await measureStreamCpu(
    () => rawClient.sse(w, payload),
    () => rawClient.sse(n, payload),
  );
  progress(`stream ${n} events: engine in-process`);
  const echo = (client: typeof inProc, count: number) => async () =>
    countEvents(await client.stream('engine_echoStreamV1', { count, payload }), count);
  const streamInProcess = await measureStreamCpu(echo(inProc, w), echo(inProc, n));
  progress(`stream ${n} events: engine http`);
  const streamHttp = await measureStreamCpu(echo(http, w), echo(http, n));
  progress(`stream ${n} events: relay (client -> A -> B)`);
  const relayed = (count: number) => async () =>
    countEvents(await relayClient.stream('bench_streamV1', { count, payload }), count);
  const streamRelay = await measureStreamCpu(relayed(w), relayed(n));

  await Promise.all([http.close(), inProc.close(), relayClient.close(), rawClient.close()]);
  await Promise.all([node.close(), relay.close(), raw.close()]);

  const vsBaseline = (r: CpuResult) => ({ ...r, ratioToBaseline: round(r.cpuUsPerEvent / streamBaseline.cpuUsPerEvent) });
  const c16Ratio = unary.c16?.engineHttp.ratioToBaseline ?? 0;
  const targets = {
    unaryHttpC16: {
      description: `engine HTTP unary throughput at c=16 >= ${UNARY_TARGET_RATIO} x raw node:http + undici baseline`,
      value: c16Ratio,
      limit: UNARY_TARGET_RATIO,
      pass: c16Ratio >= UNARY_TARGET_RATIO,
    },
    streamRelayCpu: {
      description: `stream relay <= ${RELAY_TARGET_US} us process CPU per event`,
      value: streamRelay.cpuUsPerEvent,
      limit: RELAY_TARGET_US,
      pass: streamRelay.cpuUsPerEvent <= RELAY_TARGET_US,
    },
  };
  const cpuList = cpus();
  const report = {
    bench: 'engine-api',
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: { count: availableParallelism(), model: cpuList[0]?.model ?? 'unknown' },
    settings: {
      unaryDurationMs: DURATION_MS,
      unaryWarmupMs: WARMUP_MS,
      unaryPayloadBytes: UNARY_PAYLOAD.length,
      connections: CONNECTIONS,
      streamEvents: n,
      streamWarmupEvents: w,
      streamPayloadBytes: payload.length,
      streamEventDataBytes: JSON.stringify({ seq: n - 1, payload }).length,
    },
    unary: {
      note:
        'closed loop: `concurrency` requests always in flight; latency per request from performance.now(). Baseline: node:http echo server + undici Pool (keep-alive, same connection count), sending the same JSON-RPC bytes, reading the reply as text and JSON.parse-ing it. engineHttp: typed client (params and result validated) over the undici transport, JWT auth on.',
      ...unary,
    },
    stream: {
      note: 'process.cpuUsage() user+system over the whole stream / events. Server and client run in this one process, so each figure is the cost of both ends together: an upper bound on either side. Baseline: node:http SSE writer batching per setImmediate turn (64 KiB), undici client splitting lines and JSON.parse-ing each data line. Relay: client -> server A (route "bench" over HTTP) -> server B; all three ends counted.',
      baseline: streamBaseline,
      engineInProcess: vsBaseline(streamInProcess),
      engineHttp: vsBaseline(streamHttp),
      relay: vsBaseline(streamRelay),
    },
    targets,
    pass: targets.unaryHttpC16.pass && targets.streamRelayCpu.pass,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
