/**
 * The verification ladder's pure steps: the redundancy majority over the miners' texts, and the logprob
 * audit of one miner's answer against the reference model's teacher-forced scores. Pure: the caller fetches
 * the scores (`app_scoreV1`) and the answers; nothing here does I/O.
 */

/**
 * The text that at least `quorum` (default 2/3) of the responders returned identically, or `null`. `null`
 * entries (miners that did not answer) are not responders; fewer than two responders never make a majority.
 */
export function majority(texts: readonly (string | null)[], quorum = 2 / 3): string | null {
  const answered = texts.filter((t): t is string => t !== null);
  if (answered.length < 2) return null;
  const counts = new Map<string, number>();
  for (const t of answered) counts.set(t, (counts.get(t) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [t, c] of counts) {
    if (c > bestCount) {
      best = t;
      bestCount = c;
    }
  }
  // A small epsilon so that 2 of 3 meets a 2/3 quorum despite floating point.
  return bestCount >= quorum * answered.length - 1e-9 ? best : null;
}

/** One token of the reference model's teacher-forced scoring (`app_scoreV1` with `topLogprobs: 1`). */
export interface ReferenceToken {
  token: string;
  logprob: number;
  topLogprobs?: readonly { token: string; logprob: number }[] | undefined;
}

/** One token event of the miner's stream: its text and, when it reported one, its logprob. */
export interface MinerToken {
  text: string;
  logprob?: number | undefined;
}

export interface AuditOpts {
  /** Nats: the tie margin of the greedy check and the logprob match tolerance. */
  tolerance: number;
  /** Fraction of tokens that must pass each check. */
  minMatch: number;
}

export interface AuditResult {
  tokens: number;
  argmaxMatched: number;
  logprobsCompared: number;
  logprobsMatched: number;
  maxLogprobDiff: number | null;
  passed: boolean;
}

/** Character spans `[start, end)` of consecutive pieces of text. */
function spans(texts: readonly string[]): [number, number][] {
  let at = 0;
  return texts.map((t) => {
    const s: [number, number] = [at, at + t.length];
    at += t.length;
    return s;
  });
}

/**
 * Audits a miner's greedy answer against the reference: on the reference's own tokenisation of the text,
 * each token should be the reference's argmax (within `tolerance` of the best, for ties), and where a miner
 * token covers exactly the same characters as a reference token its reported logprob should be within
 * `tolerance` of the reference's. Tokenisation may differ at the prompt boundary, hence fractions: each
 * check passes when at least `minMatch` of its tokens do. With no comparable logprobs (the miner reported
 * none, or no span lines up) only the greedy check decides.
 */
export function auditAnswer(
  reference: readonly ReferenceToken[],
  miner: readonly MinerToken[],
  opts: AuditOpts,
): AuditResult {
  let argmaxMatched = 0;
  for (const t of reference) {
    const best = t.topLogprobs?.[0];
    if (best === undefined || t.logprob >= best.logprob - opts.tolerance) argmaxMatched += 1;
  }
  const refSpans = spans(reference.map((t) => t.token));
  const byStart = new Map<string, number>();
  refSpans.forEach(([s, e], i) => {
    byStart.set(`${s}:${e}`, i);
  });
  let logprobsCompared = 0;
  let logprobsMatched = 0;
  let maxLogprobDiff: number | null = null;
  spans(miner.map((t) => t.text)).forEach(([s, e], i) => {
    const lp = miner[i]?.logprob;
    if (lp === undefined || !Number.isFinite(lp) || e === s) return;
    const j = byStart.get(`${s}:${e}`);
    if (j === undefined) return;
    const diff = Math.abs(lp - (reference[j] as ReferenceToken).logprob);
    logprobsCompared += 1;
    if (diff <= opts.tolerance) logprobsMatched += 1;
    maxLogprobDiff = Math.max(maxLogprobDiff ?? 0, diff);
  });
  const tokens = reference.length;
  const greedyOk = tokens > 0 && argmaxMatched >= opts.minMatch * tokens - 1e-9;
  const logprobsOk = logprobsCompared === 0 || logprobsMatched >= opts.minMatch * logprobsCompared - 1e-9;
  return {
    tokens,
    argmaxMatched,
    logprobsCompared,
    logprobsMatched,
    maxLogprobDiff,
    passed: greedyOk && logprobsOk,
  };
}
