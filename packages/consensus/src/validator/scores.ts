/**
 * Per-miner scores of the validator loop: exponentially weighted moving averages of correctness (challenge
 * or audit pass 1 / fail 0), availability (answered 1 / error or timeout 0) and latency, combined as
 *
 *   score = correctness × availability × latencyFactor,  latencyFactor = min(1, latencyTargetMs / latencyMs)
 *
 * A component with no sample yet counts as 0 for correctness (a miner earns weight only by passing
 * challenges) and 1 for availability and latency. The first sample of an average sets it; later ones move it
 * by `alpha`.
 *
 * Scores follow the neuron, not the uid number: an entry is keyed by the neuron's hotkey and registration
 * block (`registeredAt` of the metagraph), and records made by uid go to the uid's current holder as the
 * latest {@link Scoreboard.retain} named it. A uid re-registered by someone else starts from no score; a
 * neuron that left loses its entry.
 *
 * Routing (`consensus_getRoutingV1`): a miner whose verdict is a fail is unroutable at once and stays so
 * until it has passed `recoveryPasses` × 2^(strikes − 1) challenges in a row, where `strikes` counts its recent
 * failed verdicts (at most {@link MAX_STRIKES}; one is forgiven after each 2 × `recoveryPasses` passes in a row
 * off probation). An honest miner's rare false fail costs `recoveryPasses` passes; a challenge spotter, which
 * passes the challenges it recognises and fails the rest, must string together exponentially many in a row
 * after each fail and stays out of organic traffic. It is also unroutable while its correctness average is
 * below `minCorrectness`. Pure bookkeeping: no clock, no I/O; what changed since the last
 * {@link Scoreboard.takeChanges} is tracked so a store can write it through.
 */

export interface ScoreboardOpts {
  /** Weight of the newest sample, in (0, 1]. */
  alpha: number;
  latencyTargetMs: number;
  /** Passed challenges in a row a miner needs after a failed verdict before it is routable again (≥ 1). */
  recoveryPasses: number;
  /** Correctness average below which a miner is not routable, in [0, 1]. */
  minCorrectness: number;
}

/** A neuron as the metagraph names it: the scoreboard's key is `hotkey` (lower case) and `registeredAt`. */
export interface NeuronRef {
  uid: number;
  hotkey: string;
  /** Block of the neuron's registration (metagraph `registeredAt`). */
  registeredAt: number;
}

/** The persisted state of one neuron's entry (what a store writes and loads). */
export interface ScoreEntry extends NeuronRef {
  /** The least of the per-model correctness averages (null before any verdict). */
  correctness: number | null;
  /** Correctness EWMA per model the miner was judged on. */
  byModel: Record<string, number>;
  availability: number | null;
  latencyMs: number | null;
  passed: number;
  failed: number;
  errors: number;
  organic: number;
  /** Passed challenges still needed before the miner is routable again (0: not on probation). */
  probation: number;
  /** Recent failed verdicts, 0..MAX_STRIKES: each doubles the probation of the next fail. */
  strikes: number;
  /** Passed challenges in a row since probation ended (2 × recoveryPasses forgive a strike). */
  cleanPasses: number;
  /** Why its latest failed verdict failed (null before any). */
  failReason: string | null;
}

/** Most strikes a miner holds: probation tops out at recoveryPasses × 2^(MAX_STRIKES − 1). */
export const MAX_STRIKES = 6;

export interface MinerScore {
  uid: number;
  hotkey: string;
  registeredAt: number;
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
  /** Whether organic traffic may go to it now (see the module header). */
  routable: boolean;
  /** Why it is not routable; null when it is. */
  reason: string | null;
  /** Recent failed verdicts (see the module header). */
  strikes: number;
}

/** What changed since the last {@link Scoreboard.takeChanges}: entries to write, neuron keys to delete. */
export interface ScoreChanges {
  upserts: ScoreEntry[];
  deletes: string[];
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

/**
 * The score a miner's weight is made of: its score, or 0. A miner whose correctness is unknown or below
 * `minCorrectness` (the routing threshold) gets no weight at all: a small score would still be a small
 * incentive, and a cheat that passes only the challenges it spots keeps one (its correctness stays near 0
 * while honest miners' stay near 1). Nor does a miner with an `advertised` model (one the validator can judge)
 * that is not `judged` yet: correctness is the least over the models, so an unjudged model is unknown, not 1.
 * Otherwise a miner serving embeddings honestly and cheating on chat held full weight until its first chat
 * challenge (seen in the attack devnet, where it took a whole epoch's miner emission). Nor does a repeat
 * offender on probation (two or more recent failed verdicts, not yet routable again): a challenge spotter's
 * correctness average can climb back over the threshold on the challenges it recognises, but not its
 * probation; an honest miner's single false fail costs it no weight.
 */
export function weightScore(
  s: Pick<MinerScore, 'score' | 'correctness' | 'routable' | 'strikes'>,
  o: { judged: Iterable<string>; advertised: Iterable<string>; minCorrectness: number },
): number {
  if (s.correctness === null || s.correctness < o.minCorrectness) return 0;
  if (s.strikes >= 2 && !s.routable) return 0;
  const judged = new Set(o.judged);
  for (const model of o.advertised) if (!judged.has(model)) return 0;
  return s.score;
}

/** The key of a neuron's entry: lower-case hotkey and registration block. */
export const neuronKey = (n: { hotkey: string; registeredAt: number }): string =>
  `${n.hotkey.toLowerCase()}@${n.registeredAt}`;

/** Whether a miner may get organic traffic, and why not (see the module header). */
export function routingOf(
  e: Pick<ScoreEntry, 'correctness' | 'probation' | 'failReason'>,
  opts: Pick<ScoreboardOpts, 'minCorrectness'>,
): { routable: boolean; reason: string | null } {
  if (e.probation > 0) {
    const s = e.probation === 1 ? '' : 's';
    return {
      routable: false,
      reason: `failed verification (${e.failReason ?? 'fail'}): routable again after ${e.probation} more passed challenge${s} in a row`,
    };
  }
  if (e.correctness !== null && e.correctness < opts.minCorrectness) {
    return {
      routable: false,
      reason: `correctness ${e.correctness.toFixed(3)} is below ${opts.minCorrectness}: routable again once passed challenges raise it`,
    };
  }
  return { routable: true, reason: null };
}

export interface Scoreboard {
  /** A challenge answer (or an audited organic answer) was judged: pass or fail, with the fail's reason. */
  recordVerdict(
    uid: number,
    passed: boolean,
    opts?: { reason?: string | undefined; model?: string | undefined },
  ): void;
  /**
   * A request for `model` got no answer (an error or timeout, not a violation): the model's correctness
   * takes a 0 sample, so a miner that advertises a model it does not serve loses its score for it, but it
   * is not made unroutable (a transient failure is not a proven lie).
   */
  recordMiss(uid: number, model: string): void;
  /** A request (challenge or organic) was answered (`latencyMs`) or not (`null`). */
  recordResponse(uid: number, latencyMs: number | null, opts?: { organic?: boolean }): void;
  /**
   * The miners registered now (the metagraph's): records by uid go to each uid's holder from here on, and
   * the entries of neurons not named (deregistered, replaced, no longer miners) are dropped. Records for a
   * uid no holder is known of are ignored.
   */
  retain(neurons: Iterable<NeuronRef>): void;
  /** The entry of the uid's current holder. */
  get(uid: number): MinerScore | undefined;
  /** The models the uid's current holder has a correctness average for (a verdict or a miss), sorted. */
  judgedModels(uid: number): string[];
  /** Every current holder with an entry, by uid. */
  list(): MinerScore[];
  /** Entries written and deleted since the last call (for a write-through store). */
  takeChanges(): ScoreChanges;
}

/** A scoreboard, starting from `initial` entries (as a store loaded them) when given. */
export function createScoreboard(
  opts: ScoreboardOpts,
  init: { initial?: Iterable<ScoreEntry> } = {},
): Scoreboard {
  const entries = new Map<string, ScoreEntry>();
  /** uid → the key of its current holder. */
  const holders = new Map<number, NeuronRef>();
  const dirty = new Set<string>();
  const deleted = new Set<string>();

  for (const e of init.initial ?? []) {
    const key = neuronKey(e);
    entries.set(key, { ...e, hotkey: e.hotkey.toLowerCase() });
    // Until the first metagraph, a loaded entry's uid names its holder (the newest registration wins).
    const held = holders.get(e.uid);
    if (held === undefined || held.registeredAt < e.registeredAt) holders.set(e.uid, e);
  }

  const entry = (uid: number): { key: string; e: ScoreEntry } | undefined => {
    const n = holders.get(uid);
    if (n === undefined) return undefined;
    const key = neuronKey(n);
    let e = entries.get(key);
    if (e === undefined) {
      e = {
        uid,
        hotkey: n.hotkey.toLowerCase(),
        registeredAt: n.registeredAt,
        correctness: null,
        byModel: {},
        availability: null,
        latencyMs: null,
        passed: 0,
        failed: 0,
        errors: 0,
        organic: 0,
        probation: 0,
        strikes: 0,
        cleanPasses: 0,
        failReason: null,
      };
      entries.set(key, e);
      deleted.delete(key);
    }
    dirty.add(key);
    return { key, e };
  };

  const view = (e: ScoreEntry): MinerScore => ({
    uid: e.uid,
    hotkey: e.hotkey,
    registeredAt: e.registeredAt,
    ...combineScore(e.correctness, e.availability, e.latencyMs, opts.latencyTargetMs),
    correctness: e.correctness,
    availability: e.availability,
    latencyMs: e.latencyMs,
    challenges: e.passed + e.failed,
    passed: e.passed,
    failed: e.failed,
    errors: e.errors,
    organic: e.organic,
    strikes: e.strikes,
    ...routingOf(e, opts),
  });

  const held = (uid: number): ScoreEntry | undefined => {
    const n = holders.get(uid);
    return n === undefined ? undefined : entries.get(neuronKey(n));
  };

  return {
    recordVerdict(uid, passed, o = {}) {
      const x = entry(uid);
      if (x === undefined) return;
      const { e } = x;
      // Per model, and the miner is as correct as its worst model: serving one model honestly must not
      // cover cheating on another (a cheat on chat that passes every embedding check would keep half).
      const model = o.model ?? '';
      e.byModel = { ...e.byModel, [model]: ewma(e.byModel[model] ?? null, passed ? 1 : 0, opts.alpha) };
      e.correctness = Math.min(...Object.values(e.byModel));
      const base = Math.max(1, opts.recoveryPasses);
      if (passed) {
        e.passed += 1;
        if (e.probation > 0) e.probation -= 1;
        else if (e.strikes > 0 && ++e.cleanPasses >= 2 * base) {
          e.strikes -= 1;
          e.cleanPasses = 0;
        }
      } else {
        e.failed += 1;
        e.strikes = Math.min(MAX_STRIKES, e.strikes + 1);
        e.cleanPasses = 0;
        e.probation = base * 2 ** (e.strikes - 1);
        e.failReason = o.reason ?? 'fail';
      }
    },
    recordMiss(uid, model) {
      const x = entry(uid);
      if (x === undefined) return;
      const { e } = x;
      e.byModel = { ...e.byModel, [model]: ewma(e.byModel[model] ?? null, 0, opts.alpha) };
      e.correctness = Math.min(...Object.values(e.byModel));
    },
    recordResponse(uid, latencyMs, o = {}) {
      const x = entry(uid);
      if (x === undefined) return;
      const { e } = x;
      e.availability = ewma(e.availability, latencyMs === null ? 0 : 1, opts.alpha);
      if (latencyMs === null) e.errors += 1;
      else e.latencyMs = ewma(e.latencyMs, latencyMs, opts.alpha);
      if (o.organic === true) e.organic += 1;
    },
    retain(neurons) {
      holders.clear();
      const keep = new Set<string>();
      for (const n of neurons) {
        const key = neuronKey(n);
        keep.add(key);
        holders.set(n.uid, n);
        const e = entries.get(key);
        if (e !== undefined && e.uid !== n.uid) {
          e.uid = n.uid;
          dirty.add(key);
        }
      }
      for (const key of entries.keys()) {
        if (keep.has(key)) continue;
        entries.delete(key);
        dirty.delete(key);
        deleted.add(key);
      }
    },
    get(uid) {
      const e = held(uid);
      return e === undefined ? undefined : view(e);
    },
    judgedModels(uid) {
      return Object.keys(held(uid)?.byModel ?? {}).sort();
    },
    list() {
      const out: MinerScore[] = [];
      for (const uid of [...holders.keys()].sort((a, b) => a - b)) {
        const e = held(uid);
        if (e !== undefined) out.push(view(e));
      }
      return out;
    },
    takeChanges() {
      const upserts: ScoreEntry[] = [];
      for (const key of dirty) {
        const e = entries.get(key);
        if (e !== undefined) upserts.push({ ...e });
      }
      const changes = { upserts, deletes: [...deleted] };
      dirty.clear();
      deleted.clear();
      return changes;
    },
  };
}
