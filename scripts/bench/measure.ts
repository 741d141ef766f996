/**
 * Measurement primitives for the Engine API bench: a closed-loop load driver that times each request
 * with `performance.now()`, nearest-rank percentiles over sorted samples, and a process-CPU meter for
 * streams. Pure timing code: it must never know what it is timing.
 */

/** Throughput and latency of one closed-loop phase. */
export interface LoadResult {
  /** Requests completed in the measured window. */
  requests: number;
  /** Requests per second over the measured window. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

/** How long to drive a phase, and with how many requests in flight. */
export interface LoadOpts {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

/** CPU spent by the whole process on one stream, per event. */
export interface CpuResult {
  events: number;
  wallMs: number;
  eventsPerSec: number;
  /** Process user + system CPU divided by events. */
  cpuUsPerEvent: number;
}

/** Nearest-rank percentile of ascending `sorted` samples (`p` in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Rounds to `digits` decimals, for a readable JSON report. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

async function drive(call: () => Promise<unknown>, concurrency: number, ms: number, samples?: number[]): Promise<void> {
  const end = performance.now() + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await call();
      samples?.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Runs `call` with `concurrency` requests always in flight: first for `warmupMs` (discarded), then for
 * `durationMs`, timing every request. Throughput counts requests finished after the window closed too,
 * over the time it took them to finish.
 */
export async function runClosedLoop(call: () => Promise<unknown>, opts: LoadOpts): Promise<LoadResult> {
  await drive(call, opts.concurrency, opts.warmupMs);
  const samples: number[] = [];
  const started = performance.now();
  await drive(call, opts.concurrency, opts.durationMs, samples);
  const elapsedMs = performance.now() - started;
  samples.sort((a, b) => a - b);
  const total = samples.reduce((s, x) => s + x, 0);
  return {
    requests: samples.length,
    rps: round((samples.length * 1000) / elapsedMs, 0),
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    meanMs: round(total / samples.length),
  };
}

/**
 * Runs `warmup` then `run` (each resolving to the number of events it consumed) and charges the process'
 * user + system CPU during `run` to its events.
 */
export async function measureStreamCpu(warmup: () => Promise<number>, run: () => Promise<number>): Promise<CpuResult> {
  await warmup();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const events = await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    events,
    wallMs: round(wallMs, 1),
    eventsPerSec: round((events * 1000) / wallMs, 0),
    cpuUsPerEvent: round((cpu.user + cpu.system) / events),
  };
}
