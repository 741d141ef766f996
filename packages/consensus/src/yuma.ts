/**
 * Yuma Consensus: one epoch of subtensor's `epoch_dense` (pallets/subtensor/src/epoch/run_epoch.rs) as a
 * pure function of stakes, u16 weights and the previous epoch's u16 bonds. Yuma 2 (classic bonds, stake-weighted
 * and column-normalised) and Yuma 3 (per-validator bond EMA of its own weights) are selected by `version`.
 *
 * Arithmetic is subtensor's I32F32: every value is an integer count of 2^-32 held in a double, and every
 * product and quotient is computed exactly and rounded as `substrate_fixed` rounds (floor), so the result
 * depends only on the inputs, never on float rounding or summation order. Chain concerns (validator permits,
 * activity cut-off, self-weight and outdated-weight masks, emission in rao) are the caller's: mask them into
 * the inputs. This module must never do I/O, read a clock, or use a float that is not an exact integer.
 */
import { ConsensusError, ConsensusErrorCode } from './errors.js';

/** I32F32 1.0 as a raw integer. */
const ONE = 2 ** 32;
const U16_MAX = 65_535;
const TWO16 = 65_536;

/** Tunables of one epoch; defaults are subtensor's runtime defaults ({@link YUMA_DEFAULTS}). */
export interface YumaParams {
  /** 2: classic Yuma bonds; 3: Yuma 3 bonds (liquid alpha off). */
  version: 2 | 3;
  /** Consensus majority as u16 (32_767 ≈ 0.5): the stake share that must weigh a miner at least its consensus. */
  kappa?: number;
  /** Bonds EMA memory in millionths (900_000 keeps 90 % of the old bonds each epoch). */
  bondsMovingAverage?: number;
  /** u16 share of the out-of-consensus weight removed before bonding (65_535: bonds use clipped weights). */
  bondsPenalty?: number;
}

/** subtensor's runtime defaults (runtime/src/lib.rs `SubtensorInitial*`). */
export const YUMA_DEFAULTS = { kappa: 32_767, bondsMovingAverage: 900_000, bondsPenalty: U16_MAX } as const;

/** One epoch's inputs: V validators, M miners. */
export interface YumaInput {
  /** Stake per validator in base units: non-negative integers (bigint or safe-integer number). */
  stakes: readonly (bigint | number)[];
  /** `weights[i][j]`: validator i's u16 weight on miner j, V rows of M. Rows are normalised here; a zero row abstains. */
  weights: readonly (readonly number[])[];
  /** The previous epoch's {@link YumaOutput.bonds} (u16, V × M); omit on the first epoch. */
  bonds?: readonly (readonly number[])[] | undefined;
  /** Miners whose bonds are cleared before the EMA: UIDs registered since the last epoch, or a bonds reset. */
  resetMiners?: readonly number[] | undefined;
}

/** One epoch's outputs. Every number is an exact I32F32 value (a multiple of 2^-32) except the u16 `bonds`. */
export interface YumaOutput {
  /** Per miner: the stake-weighted kappa-median of the weights it received. */
  consensus: number[];
  /** Per miner: clipped rank over unclipped rank (1 when no validator weighed it above consensus). */
  trust: number[];
  /** Per miner: Σ_i s_i·min(w_ij, c_j), before normalisation (subtensor stores its normalised form, = incentive). */
  rank: number[];
  /** Per miner: normalised rank; sums to 1 (less rounding) when any weight is set. */
  incentive: number[];
  /** Per validator, per miner: weights clipped at consensus. */
  clippedWeights: number[][];
  /** Per validator: the sum of its clipped weights. */
  validatorTrust: number[];
  /** Per validator: share of the dividends; sums to 1 (less rounding) when any bond earns. */
  dividends: number[];
  /** Per validator, per miner: u16 bonds to store and pass back as the next epoch's `bonds`. */
  bonds: number[][];
}

/** floor(a·b / 2^32): I32F32 multiply, exact for |a|, |b| ≤ 2^33 (all products here are of values in [-1, 1]). */
function mul(a: number, b: number): number {
  const bh = Math.floor(b / TWO16);
  const bl = b - bh * TWO16;
  return Math.floor((a * bh + Math.floor((a * bl) / TWO16)) / TWO16);
}

/** Divisors up to here take {@link div}'s two-step path: a remainder r < 2^36 keeps r·2^16 below 2^52. */
const DIV_FAST_MAX = 2 ** 36;

/**
 * floor(a·2^32 / b) for integers 0 ≤ a, 0 < b < 2^50 with a/b < 2^20: I32F32 divide, by long division in chunks
 * small enough that each partial dividend stays below 2^52, where a double's floor(n / b) is exact (the rounding
 * error of n / b is under 1/b while n < 2^53). Every chunking gives the same exact quotient.
 */
function div(a: number, b: number): number {
  let q = Math.floor(a / b);
  let r = a - q * b;
  if (b <= DIV_FAST_MAX) {
    // Every divisor here (u16 row sums, I32F32 sums of shares ≈ 2^32) lands on this path: two 16-bit steps, no log2.
    let n = r * TWO16;
    const d1 = Math.floor(n / b);
    r = n - d1 * b;
    n = r * TWO16;
    return (q * TWO16 + d1) * TWO16 + Math.floor(n / b);
  }
  const chunk = 50 - Math.floor(Math.log2(b));
  for (let bits = 32; bits > 0; ) {
    const s = chunk < bits ? chunk : bits;
    const scale = 2 ** s;
    const n = r * scale;
    const d = Math.floor(n / b);
    r = n - d * b;
    q = q * scale + d;
    bits -= s;
  }
  return q;
}

/** div(x, 65535) for a u16 x in closed form: 2^32 = 65535·65537 + 1, so x·2^32/65535 = 65537·x + x/65535. */
function divU16Max(x: number): number {
  return x * 65_537 + (x === U16_MAX ? 1 : 0);
}

/** In place: x_i ← x_i / Σx (subtensor `inplace_normalize`); a zero vector is left alone. */
function normalize(x: Float64Array): Float64Array {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] as number;
  if (sum !== 0) for (let i = 0; i < x.length; i++) if (x[i] !== 0) x[i] = div(x[i] as number, sum);
  return x;
}

/** Scratch index buffers for {@link weightedMedian}, reused across columns. */
interface MedianScratch {
  a: Int32Array;
  b: Int32Array;
  c: Int32Array;
}

/**
 * Stake-weighted median of `score[0..n)` at `minority` (subtensor `weighted_median`): quickselect around the
 * middle element of the current partition, keeping the partitions in input order so ties break identically.
 * With exact integer stakes it returns the smallest score v whose stake at or below v exceeds `minority` (the
 * largest score if none does), whatever the input order, which is what lets the caller drop zero scores.
 */
function weightedMedian(
  stake: Float64Array,
  score: Float64Array,
  n: number,
  minority: number,
  stakeSum: number,
  scratch: MedianScratch,
): number {
  let cur = scratch.a;
  let lower = scratch.b;
  let upper = scratch.c;
  for (let k = 0; k < n; k++) cur[k] = k;
  let len = n;
  let lo = 0;
  let hi = stakeSum;
  for (let iteration = 0; iteration <= n; iteration++) {
    if (len === 0) return 0;
    if (len === 1) return score[cur[0] as number] as number;
    const pivot = score[cur[len >> 1] as number] as number;
    let loStake = 0;
    let hiStake = 0;
    let nl = 0;
    let nu = 0;
    for (let t = 0; t < len; t++) {
      const idx = cur[t] as number;
      const v = score[idx] as number;
      if (v === pivot) continue;
      if (v < pivot) {
        loStake += stake[idx] as number;
        lower[nl++] = idx;
      } else {
        hiStake += stake[idx] as number;
        upper[nu++] = idx;
      }
    }
    const free = cur;
    if (minority < lo + loStake && nl > 0) {
      cur = lower;
      lower = free;
      len = nl;
      hi = lo + loStake;
    } else if (hi - hiStake <= minority && nu > 0) {
      cur = upper;
      upper = free;
      len = nu;
      lo = hi - hiStake;
    } else {
      return pivot;
    }
  }
  return 0;
}

/**
 * Runs one Yuma Consensus epoch. Pure and deterministic: equal inputs give bit-identical outputs on any
 * platform. Throws {@link ConsensusError} on malformed input (ragged or mis-sized matrices, a negative, fractional
 * or NaN stake, a weight or bond outside u16, parameters out of range).
 */
export function yuma(input: YumaInput, params: YumaParams): YumaOutput {
  const p = checkParams(params);
  const { stakes, weights } = input;
  const V = stakes.length;
  const M = checkMatrix(weights, V, -1, 'weights');
  if (input.bonds !== undefined) checkMatrix(input.bonds, V, M, 'bonds');
  const reset = new Uint8Array(M);
  for (const j of input.resetMiners ?? []) {
    if (!Number.isInteger(j) || j < 0 || j >= M) {
      throw new ConsensusError(
        ConsensusErrorCode.SIZE_MISMATCH,
        `resetMiners holds ${j}; pass miner indices in [0, ${M})`,
        {
          meta: { field: 'resetMiners' },
        },
      );
    }
    reset[j] = 1;
  }

  // Stake: I64F64-normalised, truncated to I32F32, then renormalised as the active stake.
  const stake = normalize(stakeShares(stakes));

  // Weights: u16 rows normalised to sum 1. Zeros stay zero (div(0, s) = 0) and cost no division.
  const W = new Float64Array(V * M);
  for (let i = 0; i < V; i++) {
    const row = weights[i] as readonly number[];
    let sum = 0;
    for (let j = 0; j < M; j++) sum += row[j] as number;
    if (sum > 0) {
      for (let j = 0; j < M; j++) {
        const w = row[j] as number;
        if (w !== 0) W[i * M + j] = div(w, sum);
      }
    }
  }

  // Consensus: per miner, the kappa stake-weighted median over validators with stake.
  const voters: number[] = [];
  for (let i = 0; i < V; i++) if ((stake[i] as number) > 0) voters.push(i);
  const n = voters.length;
  const voterStake = new Float64Array(n);
  for (let k = 0; k < n; k++) voterStake[k] = stake[voters[k] as number] as number;
  normalize(voterStake);
  let voterStakeSum = 0;
  for (let k = 0; k < n; k++) voterStakeSum += voterStake[k] as number;
  const minority = voterStakeSum - div(p.kappa, U16_MAX);
  const C = new Float64Array(M);
  if (n > 0) {
    // The median is a function of the (weight, stake) multiset alone (see weightedMedian), so the voters' zero
    // weights, the smallest value, are folded into one stake total instead of being partitioned in every column.
    // The nonzero weights are gathered column-major (CSC) in one row-major pass, so each column reads contiguously.
    const colStart = new Int32Array(M + 1);
    for (let k = 0; k < n; k++) {
      const base = (voters[k] as number) * M;
      for (let j = 0; j < M; j++) if (W[base + j] !== 0) colStart[j + 1] = (colStart[j + 1] as number) + 1;
    }
    for (let j = 0; j < M; j++) colStart[j + 1] = (colStart[j + 1] as number) + (colStart[j] as number);
    const nnz = colStart[M] as number;
    const colStake = new Float64Array(nnz);
    const colScore = new Float64Array(nnz);
    const fill = colStart.slice(0, M);
    for (let k = 0; k < n; k++) {
      const base = (voters[k] as number) * M;
      const s = voterStake[k] as number;
      for (let j = 0; j < M; j++) {
        const w = W[base + j] as number;
        if (w !== 0) {
          const t = fill[j] as number;
          fill[j] = t + 1;
          colStake[t] = s;
          colScore[t] = w;
        }
      }
    }
    const scratch = { a: new Int32Array(n), b: new Int32Array(n), c: new Int32Array(n) };
    for (let j = 0; j < M; j++) {
      const start = colStart[j] as number;
      const end = colStart[j + 1] as number;
      let nonzeroStake = 0;
      for (let t = start; t < end; t++) nonzeroStake += colStake[t] as number;
      // Some voter gave weight 0 and the stake at 0 already exceeds the minority: the median is 0 (C is
      // zero-filled). Without a zero weight, 0 is no candidate, however negative the minority (kappa near 1).
      const zeroStake = voterStakeSum - nonzeroStake;
      if (end - start < n && zeroStake > minority) continue;
      C[j] = weightedMedian(
        colStake.subarray(start, end),
        colScore.subarray(start, end),
        end - start,
        minority - zeroStake,
        nonzeroStake,
        scratch,
      );
    }
  }

  // Clip at consensus; validator trust, ranks (before and after clipping), trust, incentive.
  const clipped = new Float64Array(V * M);
  const validatorTrust = new Float64Array(V);
  const preranks = new Float64Array(M);
  const ranks = new Float64Array(M);
  for (let i = 0; i < V; i++) {
    const s = stake[i] as number;
    let rowSum = 0;
    for (let j = 0; j < M; j++) {
      const k = i * M + j;
      const w = W[k] as number;
      const c = C[j] as number;
      const cw = w < c ? w : c;
      clipped[k] = cw;
      rowSum += cw;
      if (s !== 0 && w !== 0) {
        preranks[j] = (preranks[j] as number) + mul(s, w);
        ranks[j] = (ranks[j] as number) + mul(s, cw);
      }
    }
    validatorTrust[i] = rowSum;
  }
  const trust = new Float64Array(M);
  for (let j = 0; j < M; j++) {
    const pre = preranks[j] as number;
    if (pre !== 0) trust[j] = div(ranks[j] as number, pre);
  }
  const incentive = normalize(Float64Array.from(ranks));

  // Weights for bonds: interpolate from raw (penalty 0) to clipped (penalty 1).
  const penalty = div(p.bondsPenalty, U16_MAX);
  let bondWeights = W;
  if (penalty === ONE) bondWeights = clipped;
  else if (penalty !== 0) {
    bondWeights = new Float64Array(V * M);
    for (let k = 0; k < V * M; k++) {
      const w = W[k] as number;
      bondWeights[k] = w + mul(penalty, (clipped[k] as number) - w);
    }
  }

  const alpha = ONE - Math.floor((p.bondsMovingAverage * ONE) / 1_000_000);
  const keep = ONE - alpha;
  const prev = input.bonds;
  const ema = new Float64Array(V * M);
  const emaSum = new Float64Array(M);
  const dividends = new Float64Array(V);
  let upscale: Float64Array | undefined;

  // Each step below is subtensor's matrix step (col-normalise, EMA, ...) fused into as few row-major passes as
  // possible, each column normalisation's sums gathered in the pass that produces the matrix: at 64 × 4096 the
  // epoch is memory-bound. Every matrix holds values ≥ 0 and mul(x, 0) = div(0, x) = +0, so zero entries, the
  // bulk of sparse weights, are skipped (the typed arrays start at +0), and a nonzero entry's column sum is > 0.
  // Column sums are exact integers below 2^53, so summing in any order gives the same bits.
  if (p.version === 2) {
    // Stored bonds are column max-upscaled u16, brought back to column shares (B); this epoch's bonds are the
    // stake-weighted bond weights, column-normalised (delta). A column of B that summed to zero stays zero.
    const B = new Float64Array(V * M);
    const bSum = new Float64Array(M);
    const delta = new Float64Array(V * M);
    const dSum = new Float64Array(M);
    for (let i = 0; i < V; i++) {
      const row = prev?.[i];
      const s = stake[i] as number;
      const base = i * M;
      for (let j = 0; j < M; j++) {
        if (row !== undefined && reset[j] === 0) {
          const b = row[j] as number;
          if (b !== 0) {
            B[base + j] = b;
            bSum[j] = (bSum[j] as number) + b;
          }
        }
        const w = bondWeights[base + j] as number;
        if (s !== 0 && w !== 0) {
          const d = mul(s, w);
          delta[base + j] = d;
          dSum[j] = (dSum[j] as number) + d;
        }
      }
    }
    // EMA of the two column shares, then its own column sums.
    for (let i = 0; i < V; i++) {
      const base = i * M;
      for (let j = 0; j < M; j++) {
        let d = delta[base + j] as number;
        let b = B[base + j] as number;
        if (d === 0 && b === 0) continue;
        if (d !== 0) d = div(d, dSum[j] as number);
        if (b !== 0) b = div(b, bSum[j] as number);
        const e = mul(alpha, d) + mul(keep, b);
        ema[base + j] = e;
        emaSum[j] = (emaSum[j] as number) + e;
      }
    }
    // Column-normalise the EMA; dividends Σ_j b_ij·incentive_j and the column maxima in the same pass.
    upscale = new Float64Array(M);
    for (let i = 0; i < V; i++) {
      const base = i * M;
      let d = 0;
      for (let j = 0; j < M; j++) {
        let b = ema[base + j] as number;
        if (b === 0) continue;
        b = div(b, emaSum[j] as number);
        ema[base + j] = b;
        d += mul(b, incentive[j] as number);
        if (b > (upscale[j] as number)) upscale[j] = b;
      }
      dividends[i] = d;
    }
    normalize(dividends);
    // The stored bonds are column max-upscaled (max_i b_ij = 1) when converted to u16 below.
  } else {
    // Stored bonds are u16 proportions of 1; each validator's bonds are an EMA of its own weights.
    for (let i = 0; i < V; i++) {
      const row = prev?.[i];
      const base = i * M;
      for (let j = 0; j < M; j++) {
        const old = row === undefined || reset[j] === 1 ? 0 : divU16Max(row[j] as number);
        const w = bondWeights[base + j] as number;
        if (w === 0 && old === 0) continue;
        const e = mul(alpha, w) + mul(keep, old);
        ema[base + j] = e;
        emaSum[j] = (emaSum[j] as number) + e;
      }
    }
    // Dividends: each validator's column shares of the EMA against incentive, scaled by its stake.
    for (let i = 0; i < V; i++) {
      const base = i * M;
      let total = 0;
      for (let j = 0; j < M; j++) {
        const b = ema[base + j] as number;
        if (b !== 0) total += mul(div(b, emaSum[j] as number), incentive[j] as number);
      }
      dividends[i] = mul(total, stake[i] as number);
    }
    normalize(dividends);
  }

  // To u16 (after the v2 column max-upscale). Rows are `new Array(M).fill(0)`: packed arrays (they come back as
  // the next epoch's input, where a holey array costs a hole check per entry), faster to build than by push.
  const bonds: number[][] = [];
  for (let i = 0; i < V; i++) {
    const row = new Array<number>(M).fill(0);
    const base = i * M;
    for (let j = 0; j < M; j++) {
      let b = ema[base + j] as number;
      if (upscale !== undefined && b !== 0) b = div(b, upscale[j] as number);
      row[j] = Math.floor((b * U16_MAX) / ONE);
    }
    bonds.push(row);
  }

  return {
    consensus: toNumbers(C),
    trust: toNumbers(trust),
    rank: toNumbers(ranks),
    incentive: toNumbers(incentive),
    clippedWeights: Array.from({ length: V }, (_, i) => toNumbers(clipped.subarray(i * M, (i + 1) * M))),
    validatorTrust: toNumbers(validatorTrust),
    dividends: toNumbers(dividends),
    bonds,
  };
}

/** Raw I32F32 → exact double, as a packed array (see `bonds`). */
function toNumbers(x: Float64Array): number[] {
  const out = new Array<number>(x.length).fill(0);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) / ONE;
  return out;
}

/** Stake shares as I32F32: floor(s_i·2^32 / Σs), i.e. subtensor's I64F64 normalise truncated to I32F32. */
function stakeShares(stakes: readonly (bigint | number)[]): Float64Array {
  const big = stakes.map((s, i) => {
    const ok = typeof s === 'bigint' ? s >= 0n : Number.isSafeInteger(s) && s >= 0;
    if (!ok) {
      throw new ConsensusError(
        ConsensusErrorCode.INVALID_STAKE,
        `stakes[${i}] is ${String(s)}; pass stake in base units as a non-negative integer`,
        { meta: { row: i, field: 'stakes' } },
      );
    }
    return BigInt(s);
  });
  const total = big.reduce((a, b) => a + b, 0n);
  const out = new Float64Array(big.length);
  if (total === 0n) return out;
  for (let i = 0; i < big.length; i++) out[i] = Number(((big[i] as bigint) << 32n) / total);
  return out;
}

/** Checks a V × M matrix of u16 integers; `cols` -1 takes the width from the first row. Returns the width. */
function checkMatrix(m: readonly (readonly number[])[], rows: number, cols: number, field: string): number {
  if (!Array.isArray(m) || m.length !== rows) {
    throw new ConsensusError(
      ConsensusErrorCode.SIZE_MISMATCH,
      `${field} has ${Array.isArray(m) ? m.length : 'no'} rows but there are ${rows} stakes; pass one row per validator`,
      { meta: { field } },
    );
  }
  const width = cols >= 0 ? cols : Array.isArray(m[0]) ? m[0].length : 0;
  if (width > U16_MAX || rows > U16_MAX) {
    throw new ConsensusError(
      ConsensusErrorCode.SIZE_MISMATCH,
      `${field} is ${rows} × ${width}; at most 65535 each`,
      {
        meta: { field },
      },
    );
  }
  // Plain indexed loops: this check touches every entry, and per-entry callbacks cost as much as the epoch itself.
  for (let i = 0; i < rows; i++) {
    const row = m[i];
    if (!Array.isArray(row) || row.length !== width) {
      const code = cols >= 0 ? ConsensusErrorCode.SIZE_MISMATCH : ConsensusErrorCode.RAGGED_MATRIX;
      throw new ConsensusError(
        code,
        `${field}[${i}] should have ${width} entries; pass a rectangular matrix`,
        {
          meta: { row: i, field },
        },
      );
    }
    for (let j = 0; j < width; j++) {
      const v = row[j];
      if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > U16_MAX) {
        throw new ConsensusError(
          ConsensusErrorCode.INVALID_VALUE,
          `${field}[${i}][${j}] is ${String(v)}; pass u16 integers in [0, 65535]`,
          { meta: { row: i, col: j, field } },
        );
      }
    }
  }
  return width;
}

function checkParams(params: YumaParams): Required<YumaParams> {
  const p = { ...YUMA_DEFAULTS, ...params };
  const bad = (field: string, want: string): never => {
    throw new ConsensusError(
      ConsensusErrorCode.INVALID_PARAMS,
      `params.${field} is ${String((p as Record<string, unknown>)[field])}; it must be ${want}`,
      { meta: { field } },
    );
  };
  if (p.version !== 2 && p.version !== 3) bad('version', '2 or 3');
  const isU16 = (v: number) => Number.isInteger(v) && v >= 0 && v <= U16_MAX;
  if (!isU16(p.kappa)) bad('kappa', 'an integer in [0, 65535]');
  if (!isU16(p.bondsPenalty)) bad('bondsPenalty', 'an integer in [0, 65535]');
  if (
    !Number.isInteger(p.bondsMovingAverage) ||
    p.bondsMovingAverage < 0 ||
    p.bondsMovingAverage > 1_000_000
  ) {
    bad('bondsMovingAverage', 'an integer in [0, 1000000]');
  }
  return p;
}
