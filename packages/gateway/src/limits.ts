/**
 * Per-key rate limits: two token buckets per API key, one of requests and one of (prompt + completion)
 * tokens, each holding at most its per-minute limit and refilled continuously. A request takes one request
 * and its estimated tokens up front; once its real count is known, {@link Limiter.settle} takes or gives back
 * the difference (a bucket may go negative, and the key then waits). Pure: no timers, no I/O; the clock is
 * injected. Buckets that have refilled to full are forgotten, so memory follows the keys in use.
 */
import type { KeyRecord, Limiter } from './types.js';

export interface LimiterOpts {
  /** How often full buckets are swept away, at most (default 60 s). */
  sweepIntervalMs?: number;
}

export interface LimiterModules {
  /** Monotonic ms (default `performance.now`). */
  now?: () => number;
}

export interface KeyLimiter extends Limiter {
  /** Keys with a bucket now (for tests and metrics). */
  size(): number;
}

interface Buckets {
  requests: number;
  tokens: number;
  /** When both were last refilled. */
  at: number;
  requestsPerMinute: number;
  tokensPerMinute: number;
}

const MINUTE_MS = 60_000;
/** Most tokens one request settles (the router counts far fewer; this bounds any caller). */
const MAX_SETTLED_TOKENS = 1 << 26;

/** Creates a limiter; state is per `KeyRecord.id`, limits are read from the record on each call. */
export function createLimiter(opts: LimiterOpts = {}, modules: LimiterModules = {}): KeyLimiter {
  const now = modules.now ?? (() => performance.now());
  const sweepIntervalMs = opts.sweepIntervalMs ?? MINUTE_MS;
  const buckets = new Map<string, Buckets>();
  let lastSweep = now();

  /** Brings a bucket up to `t` (and to the key's current limits). */
  const refill = (b: Buckets, key: KeyRecord, t: number) => {
    const elapsed = Math.max(0, t - b.at);
    b.requestsPerMinute = key.requestsPerMinute;
    b.tokensPerMinute = key.tokensPerMinute;
    b.requests = Math.min(b.requestsPerMinute, b.requests + (elapsed * b.requestsPerMinute) / MINUTE_MS);
    b.tokens = Math.min(b.tokensPerMinute, b.tokens + (elapsed * b.tokensPerMinute) / MINUTE_MS);
    b.at = t;
  };

  const sweep = (t: number) => {
    if (t - lastSweep < sweepIntervalMs) return;
    lastSweep = t;
    for (const [id, b] of buckets) {
      const elapsed = Math.max(0, t - b.at);
      const full =
        b.requests + (elapsed * b.requestsPerMinute) / MINUTE_MS >= b.requestsPerMinute &&
        b.tokens + (elapsed * b.tokensPerMinute) / MINUTE_MS >= b.tokensPerMinute;
      // A full bucket is what a new key starts with: forgetting it changes nothing.
      if (full) buckets.delete(id);
    }
  };

  const bucketsOf = (key: KeyRecord, t: number): Buckets => {
    let b = buckets.get(key.id);
    if (b === undefined) {
      b = {
        requests: key.requestsPerMinute,
        tokens: key.tokensPerMinute,
        at: t,
        requestsPerMinute: key.requestsPerMinute,
        tokensPerMinute: key.tokensPerMinute,
      };
      buckets.set(key.id, b);
    } else {
      refill(b, key, t);
    }
    return b;
  };

  /** Whole seconds until `level` reaches `need` at `perMinute`, at least 1 (a microsecond of float noise is not a second). */
  const waitS = (level: number, need: number, perMinute: number) =>
    Math.max(1, Math.ceil(((need - level) * MINUTE_MS) / perMinute / 1000 - 1e-6));

  /** A token count as the buckets take it: finite, ≥ 0 and ≤ 2^26, whatever the caller passes. */
  const sane = (n: number) => (Number.isFinite(n) ? Math.min(Math.max(0, n), MAX_SETTLED_TOKENS) : 0);

  return {
    admit(key, tokens) {
      const t = now();
      sweep(t);
      const b = bucketsOf(key, t);
      const estimate = Math.max(0, tokens);
      // A request larger than a whole minute's tokens is let through on a full bucket (which then owes it).
      const tokensNeeded = Math.min(estimate, b.tokensPerMinute);
      const requestsWait = b.requests >= 1 ? 0 : waitS(b.requests, 1, b.requestsPerMinute);
      const tokensWait = b.tokens >= tokensNeeded ? 0 : waitS(b.tokens, tokensNeeded, b.tokensPerMinute);
      if (requestsWait > 0 || tokensWait > 0) {
        return requestsWait >= tokensWait
          ? { ok: false, retryAfterS: requestsWait, reason: 'requests' }
          : { ok: false, retryAfterS: tokensWait, reason: 'tokens' };
      }
      b.requests -= 1;
      b.tokens -= estimate;
      return { ok: true };
    },

    settle(key, estimated, actual) {
      const b = bucketsOf(key, now());
      b.tokens = Math.min(b.tokensPerMinute, b.tokens - (sane(actual) - sane(estimated)));
    },

    size: () => buckets.size,
  };
}
