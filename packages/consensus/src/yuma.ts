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

/**
 * floor(a·2^32 / b) for integers 0 ≤ a, 0 < b < 2^50 with a/b < 2^20: I32F32 divide, by long division in chunks
 * small enough that each partial dividend stays below 2^52, where a double's floor(n / b) is exact.
 */
function div(a: number, b: number): number {
  let q = Math.floor(a / b);
  let r = a - q * b;
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

/** In place: x_i ← x_i / Σx (subtensor `inplace_normalize`); a zero vector is left alone. */
function normalize(x: Float64Array): Float64Array {
  let sum = 0;
  for (const v of x) sum += v;
  if (sum !== 0) for (let i = 0; i < x.length; i++) x[i] = div(x[i] as number, sum);
  return x;
}

/** In place on a row-major V × M matrix: each column divided by its sum (subtensor `inplace_col_normalize`). */
function colNormalize(x: Float64Array, rows: number, cols: number): Float64Array {
  const sums = new Float64Array(cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) sums[j] = (sums[j] as number) + (x[i * cols + j] as number);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const s = sums[j] as number;
      const k = i * cols + j;
      if (s !== 0 && x[k] !== 0) x[k] = div(x[k] as number, s);
    }
  }
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

  // Weights: u16 rows normalised to sum 1.
  const W = new Float64Array(V * M);
  for (let i = 0; i < V; i++) {
    const row = weights[i] as readonly number[];
    let sum = 0;
    for (const w of row) sum += w;
    if (sum > 0) for (let j = 0; j < M; j++) W[i * M + j] = div(row[j] as number, sum);
  }

  // Consensus: per miner, the kappa stake-weighted median over validators with stake.
  const voters: number[] = [];
  for (let i = 0; i < V; i++) if ((stake[i] as number) > 0) voters.push(i);
  const n = voters.length;
  const voterStake = new Float64Array(n);
  for (let k = 0; k < n; k++) voterStake[k] = stake[voters[k] as number] as number;
  normalize(voterStake);
  let voterStakeSum = 0;
  for (const s of voterStake) voterStakeSum += s;
  const minority = voterStakeSum - div(p.kappa, U16_MAX);
  const scratch = { a: new Int32Array(n), b: new Int32Array(n), c: new Int32Array(n) };
  const column = new Float64Array(n);
  const C = new Float64Array(M);
  if (n > 0) {
    for (let j = 0; j < M; j++) {
      for (let k = 0; k < n; k++) column[k] = W[(voters[k] as number) * M + j] as number;
      C[j] = weightedMedian(voterStake, column, n, minority, voterStakeSum, scratch);
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
  const dividends = new Float64Array(V);
  const bonds: number[][] = [];

  if (p.version === 2) {
    // Stored bonds are column max-upscaled u16; bring them back to column shares.
    const B = new Float64Array(V * M);
    if (prev !== undefined) {
      for (let i = 0; i < V; i++) {
        const row = prev[i] as readonly number[];
        for (let j = 0; j < M; j++) if (reset[j] === 0) B[i * M + j] = row[j] as number;
      }
      colNormalize(B, V, M);
      // B held u16 integers; a column that summed to zero stays zero, so the scale is now I32F32 throughout.
    }
    const delta = new Float64Array(V * M);
    for (let i = 0; i < V; i++) {
      const s = stake[i] as number;
      if (s === 0) continue;
      for (let j = 0; j < M; j++) delta[i * M + j] = mul(s, bondWeights[i * M + j] as number);
    }
    colNormalize(delta, V, M);
    for (let k = 0; k < V * M; k++) ema[k] = mul(alpha, delta[k] as number) + mul(keep, B[k] as number);
    colNormalize(ema, V, M);
    for (let i = 0; i < V; i++) {
      let d = 0;
      for (let j = 0; j < M; j++) {
        const b = ema[i * M + j] as number;
        if (b !== 0) d += mul(b, incentive[j] as number);
      }
      dividends[i] = d;
    }
    normalize(dividends);
    // Column max-upscale for storage: max_i b_ij = 1.
    const max = new Float64Array(M);
    for (let k = 0; k < V * M; k++)
      if ((ema[k] as number) > (max[k % M] as number)) max[k % M] = ema[k] as number;
    for (let k = 0; k < V * M; k++) {
      const m = max[k % M] as number;
      if (m !== 0) ema[k] = div(ema[k] as number, m);
    }
  } else {
    // Stored bonds are u16 proportions of 1; each validator's bonds are an EMA of its own weights.
    for (let i = 0; i < V; i++) {
      const row = prev?.[i];
      for (let j = 0; j < M; j++) {
        const k = i * M + j;
        const old = row === undefined || reset[j] === 1 ? 0 : div(row[j] as number, U16_MAX);
        ema[k] = mul(alpha, bondWeights[k] as number) + mul(keep, old);
      }
    }
    const shares = colNormalize(Float64Array.from(ema), V, M);
    for (let i = 0; i < V; i++) {
      let total = 0;
      for (let j = 0; j < M; j++) {
        const b = shares[i * M + j] as number;
        if (b !== 0) total += mul(b, incentive[j] as number);
      }
      dividends[i] = mul(total, stake[i] as number);
    }
    normalize(dividends);
  }
  for (let i = 0; i < V; i++) {
    const row = new Array<number>(M);
    for (let j = 0; j < M; j++) row[j] = Math.floor(((ema[i * M + j] as number) * U16_MAX) / ONE);
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

/** Raw I32F32 → exact double. */
function toNumbers(x: Float64Array): number[] {
  const out = new Array<number>(x.length);
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
  m.forEach((row, i) => {
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
    row.forEach((v, j) => {
      if (!Number.isInteger(v) || v < 0 || v > U16_MAX) {
        throw new ConsensusError(
          ConsensusErrorCode.INVALID_VALUE,
          `${field}[${i}][${j}] is ${String(v)}; pass u16 integers in [0, 65535]`,
          { meta: { row: i, col: j, field } },
        );
      }
    });
  });
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
