/**
 * Per-miner scores of the validator loop: exponentially weighted moving averages of correctness (challenge
 * pass 1 / fail 0), availability (answered 1 / error or timeout 0) and latency, combined as
 *
 *   score = correctness × availability × latencyFactor,  latencyFactor = min(1, latencyTargetMs / latencyMs)
 *
 * A component with no sample yet counts as 0 for correctness (a miner earns weight only by passing
 * challenges) and 1 for availability and latency. The first sample of an average sets it; later ones move it
 * by `alpha`. Pure bookkeeping: no clock, no I/O.
 */

export interface ScoreboardOpts {
  /** Weight of the newest sample, in (0, 1]. */
  alpha: number;
  latencyTargetMs: number;
}

export interface MinerScore {
  uid: number;
  score: number;
  correctness: number | null;
  availability: number | null;
  latencyMs: number | null;
  latencyFactor: number;
  challenges: number;
  passed: number;
  failed: number;
  errors: number;
  organic: number;
}

/** One step of an EWMA: the first sample sets it. */
export function ewma(prev: number | null, sample: number, alpha: number): number {
  return prev === null ? sample : prev + alpha * (sample - prev);
}

/** The documented score of the components (see the module header). */
export function combineScore(
  correctness: number | null,
  availability: number | null,
  latencyMs: number | null,
  latencyTargetMs: number,
): { score: number; latencyFactor: number } {
  const latencyFactor = latencyMs === null || latencyMs <= 0 ? 1 : Math.min(1, latencyTargetMs / latencyMs);
  return { score: (correctness ?? 0) * (availability ?? 1) * latencyFactor, latencyFactor };
}

interface Entry {
  correctness: number | null;
  availability: number | null;
  latencyMs: number | null;
  passed: number;
  failed: number;
  errors: number;
  organic: number;
}

export interface Scoreboard {
  /** A challenge answer was judged: pass or fail. */
  recordVerdict(uid: number, passed: boolean): void;
  /** A request (challenge or organic) was answered (`latencyMs`) or not (`null`). */
  recordResponse(uid: number, latencyMs: number | null, opts?: { organic?: boolean }): void;
  /** Drops every miner not in `uids` (deregistered, or no longer a miner). */
  retain(uids: Iterable<number>): void;
  get(uid: number): MinerScore | undefined;
  /** Every miner with a record, by uid. */
  list(): MinerScore[];
}

export function createScoreboard(opts: ScoreboardOpts): Scoreboard {
  const entries = new Map<number, Entry>();
  const entry = (uid: number): Entry => {
    let e = entries.get(uid);
    if (e === undefined) {
      e = {
        correctness: null,
        availability: null,
        latencyMs: null,
        passed: 0,
        failed: 0,
        errors: 0,
        organic: 0,
      };
      entries.set(uid, e);
    }
    return e;
  };
  const view = (uid: number, e: Entry): MinerScore => ({
    uid,
    ...combineScore(e.correctness, e.availability, e.latencyMs, opts.latencyTargetMs),
    correctness: e.correctness,
    availability: e.availability,
    latencyMs: e.latencyMs,
    challenges: e.passed + e.failed,
    passed: e.passed,
    failed: e.failed,
    errors: e.errors,
    organic: e.organic,
  });
  return {
    recordVerdict(uid, passed) {
      const e = entry(uid);
      e.correctness = ewma(e.correctness, passed ? 1 : 0, opts.alpha);
      if (passed) e.passed += 1;
      else e.failed += 1;
    },
    recordResponse(uid, latencyMs, o = {}) {
      const e = entry(uid);
      e.availability = ewma(e.availability, latencyMs === null ? 0 : 1, opts.alpha);
      if (latencyMs === null) e.errors += 1;
      else e.latencyMs = ewma(e.latencyMs, latencyMs, opts.alpha);
      if (o.organic === true) e.organic += 1;
    },
    retain(uids) {
      const keep = new Set(uids);
      for (const uid of entries.keys()) if (!keep.has(uid)) entries.delete(uid);
    },
    get(uid) {
      const e = entries.get(uid);
      return e === undefined ? undefined : view(uid, e);
    },
    list() {
      return [...entries].sort(([a], [b]) => a - b).map(([uid, e]) => view(uid, e));
    },
  };
}
