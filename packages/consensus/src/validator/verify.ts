/**
 * The redundancy majority over the miners' texts (kept as evidence in a verification record; only an audit,
 * `audit.ts`, gives a verdict) and the token shapes the audit reads. Pure: nothing here does I/O.
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

/** One token of the reference model's teacher-forced scoring (`app_scoreV1`), with its top logprobs. */
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
