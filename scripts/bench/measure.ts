/**
 * Measurement primitives for the Engine API bench: a closed-loop load driver that times each request
 * with `performance.now()`, nearest-rank percentiles over sorted samples, and a process-CPU meter for
 * streams. Pure timing code: it must never know what it is timing.
 */

/** Throughput and latency of one contender over all its rounds. */
export interface LoadResult {
  /** Requests completed in the measured windows. */
  requests: number;
  /** Requests per second over the measured windows. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Requests per second of each round, in order. */
  roundsRps: number[];
}

/** CPU spent by the whole process on one stream, per event. */
export interface CpuSample {
  events: number;
  wallMs: number;
  /** Process user + system CPU divided by events. */
  cpuUsPerEvent: number;
}

/** The median run of several, with the spread of the others. */
export interface CpuResult {
  events: number;
  runs: number;
  /** Median over runs of process CPU per event. */
  cpuUsPerEvent: number;
  minCpuUsPerEvent: number;
  maxCpuUsPerEvent: number;
  /** Events per second of the median run. */
  eventsPerSec: number;
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

/** Keeps `concurrency` calls in flight for `ms`; pushes each call's latency to `samples` when given. */
export async function drive(
  call: () => Promise<unknown>,
  concurrency: number,
  ms: number,
  samples?: number[],
): Promise<void> {
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

/** Summarises latency `samples` (ms, any order) taken over `elapsedMs` of measured time. */
export function summariseLoad(samples: number[], elapsedMs: number, roundsRps: number[]): LoadResult {
  const sorted = samples.sort((a, b) => a - b);
  const total = sorted.reduce((sum, x) => sum + x, 0);
  return {
    requests: sorted.length,
    rps: round((sorted.length * 1000) / elapsedMs, 0),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    meanMs: round(total / sorted.length),
    roundsRps,
  };
}

/** Runs `run` (resolving to the number of events it consumed), charging the process' user + system CPU to its events. */
export async function sampleStreamCpu(run: () => Promise<number>): Promise<CpuSample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const events = await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { events, wallMs, cpuUsPerEvent: (cpu.user + cpu.system) / events };
}

/** Summarises several runs of one stream by the median CPU per event. */
export function summariseCpu(samples: readonly CpuSample[]): CpuResult {
  const sorted = [...samples].sort((a, b) => a.cpuUsPerEvent - b.cpuUsPerEvent);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as CpuSample;
  return {
    events: median.events,
    runs: sorted.length,
    cpuUsPerEvent: round(median.cpuUsPerEvent),
    minCpuUsPerEvent: round((sorted[0] as CpuSample).cpuUsPerEvent),
    maxCpuUsPerEvent: round((sorted[sorted.length - 1] as CpuSample).cpuUsPerEvent),
    eventsPerSec: round((median.events * 1000) / median.wallMs, 0),
  };
}
