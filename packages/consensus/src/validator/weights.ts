/**
 * Turning scores into the u16 weight vector `Weights.revealWeights` accepts: over the metagraph's miner uids
 * (below `maxAllowedUids`), normalised, capped so no weight exceeds `maxWeightLimit / 65535` of the sum
 * (`weight × 65535 ≤ maxWeightLimit × sum`, water-filling the excess onto the others), scaled so the largest
 * is 65535, with at least `minAllowedWeights` non-zero entries (the best-scored zero entries get weight 1 when
 * too few miners scored). Pure.
 */

export interface WeightRules {
  minAllowedWeights: number;
  /** u16: the largest share of the sum one weight may hold, over 65535. */
  maxWeightLimit: number;
  maxAllowedUids: number;
}

export interface WeightVector {
  uids: number[];
  weights: number[];
}

const U16 = 65_535;

/** Caps shares at `cap` (of a total of 1), giving the excess to the uncapped entries in proportion. */
function waterFill(shares: number[], cap: number): number[] {
  const out = [...shares];
  const capped = new Set<number>();
  for (let round = 0; round < out.length; round++) {
    let excess = 0;
    for (let i = 0; i < out.length; i++) {
      if (!capped.has(i) && (out[i] as number) > cap) {
        excess += (out[i] as number) - cap;
        out[i] = cap;
        capped.add(i);
      }
    }
    if (excess <= 0) break;
    let free = 0;
    for (let i = 0; i < out.length; i++) if (!capped.has(i)) free += out[i] as number;
    const open = out.length - capped.size;
    if (open === 0) break;
    for (let i = 0; i < out.length; i++) {
      if (capped.has(i)) continue;
      // Entries at zero share the excess evenly when nothing else is left to scale.
      out[i] = free > 0 ? (out[i] as number) + (excess * (out[i] as number)) / free : excess / open;
    }
  }
  return out;
}

/**
 * The weight vector for `scores` over `uids` (the metagraph's miners), or `null` when no miner has a positive
 * score (nothing to commit yet).
 */
export function normalizeWeights(
  scores: ReadonlyMap<number, number>,
  uids: readonly number[],
  rules: WeightRules,
): WeightVector | null {
  const eligible = [...new Set(uids)].filter((u) => u >= 0 && u < rules.maxAllowedUids).sort((a, b) => a - b);
  if (eligible.length === 0) return null;
  const raw = eligible.map((u) => {
    const s = scores.get(u) ?? 0;
    return Number.isFinite(s) && s > 0 ? s : 0;
  });
  const total = raw.reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const cap = Math.min(1, rules.maxWeightLimit / U16);
  // When even equal shares break the cap (too few miners), equal shares are the closest valid vector.
  const feasible = cap * eligible.length >= 1;
  const shares = !feasible
    ? raw.map(() => 1 / eligible.length)
    : waterFill(
        raw.map((s) => s / total),
        cap,
      );
  const top = Math.max(...shares);
  const weights = shares.map((s) => Math.round((s / top) * U16));
  // Too few non-zero weights: the best-scored of the rest get the smallest weight.
  let nonZero = weights.filter((w) => w > 0).length;
  if (nonZero < rules.minAllowedWeights) {
    const order = eligible.map((_, i) => i).sort((a, b) => (raw[b] as number) - (raw[a] as number) || a - b);
    for (const i of order) {
      if (nonZero >= rules.minAllowedWeights) break;
      if (weights[i] === 0) {
        weights[i] = 1;
        nonZero += 1;
      }
    }
  }
  // Rounding can push the largest weights a unit over the cap: trim them until the rule holds.
  const limit = rules.maxWeightLimit;
  for (let guard = 0; feasible && guard < U16; guard++) {
    const sum = weights.reduce((a, b) => a + b, 0);
    const max = Math.max(...weights);
    if (max * U16 <= limit * sum || max <= 1) break;
    for (let i = 0; i < weights.length; i++) if (weights[i] === max) weights[i] = max - 1;
  }
  return { uids: eligible, weights };
}

/** Whether a vector satisfies the `Weights` contract's rules (what the reveal checks). */
export function checkWeights(v: WeightVector, rules: WeightRules): boolean {
  if (v.uids.length !== v.weights.length || v.uids.length === 0 || v.uids.length > rules.maxAllowedUids)
    return false;
  if (new Set(v.uids).size !== v.uids.length || v.uids.some((u) => u >= rules.maxAllowedUids)) return false;
  if (v.weights.some((w) => !Number.isInteger(w) || w < 0 || w > U16)) return false;
  const sum = v.weights.reduce((a, b) => a + b, 0);
  const nonZero = v.weights.filter((w) => w > 0).length;
  return nonZero >= rules.minAllowedWeights && Math.max(...v.weights) * U16 <= rules.maxWeightLimit * sum;
}
