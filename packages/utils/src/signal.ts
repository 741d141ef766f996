/**
 * Abort-signal helpers: every I/O call in the project takes `{ signal }` and timeouts are signals.
 */
import { SubnetError } from './errors.js';

/** Combines an optional parent signal with an optional timeout into one signal. */
export function withTimeout(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): AbortSignal | undefined {
  const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  if (signal === undefined) return timeout;
  if (timeout === undefined) return signal;
  return AbortSignal.any([signal, timeout]);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, opts: { signal?: AbortSignal | undefined } = {}): Promise<void> {
  const { signal } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; what: string; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new SubnetError('TIMEOUT', `timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`);
    }
    await sleep(opts.intervalMs ?? 25, { signal: opts.signal });
  }
}

/** Options of {@link reopen}. */
export interface ReopenOpts {
  signal: AbortSignal;
  /**
   * Told of each failure (not of a clean end) with the wait that follows; may return another wait (e.g. a long
   * one when the other side is absent for good).
   */
  onError?: (err: unknown, retryInMs: number) => number | undefined;
  /** First wait, doubled after each try up to `maxDelayMs` (defaults 250 and 10,000 ms). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `open` (typically: open a stream and consume it) until `signal` aborts, opening it again each time it
 * ends or fails, with exponential backoff. The backoff starts over once a run calls `healthy()` (say, on an
 * event), so a stream that worked and then dropped is reopened promptly. Never throws; resolves on abort.
 */
export async function reopen(
  open: (run: { signal: AbortSignal; healthy: () => void }) => Promise<void>,
  opts: ReopenOpts,
): Promise<void> {
  const { signal } = opts;
  const initial = opts.initialDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 10_000;
  let delayMs = initial;
  const healthy = () => {
    delayMs = initial;
  };
  while (!signal.aborted) {
    let waitMs: number | undefined;
    try {
      await open({ signal, healthy });
    } catch (err) {
      if (signal.aborted) return;
      waitMs = opts.onError?.(err, delayMs);
    }
    await sleep(waitMs ?? delayMs, { signal }).catch(() => {});
    delayMs = Math.min(delayMs * 2, max);
  }
}
