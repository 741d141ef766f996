/**
 * Settles one epoch from on-chain inputs alone (docs/epoch.md): the Yuma matrices (permitted validators ×
 * miners, sorted by uid), bonds replayed over the window of epochs given, the emission split into owner, miner
 * and validator amounts, and the per-uid results the metagraph shows. Pure and deterministic: every validator
 * that reads the same blocks computes the same leaves and results, hence the same root.
 */
import { type EpochLeaf, OWNER_UID, type ResultEntry } from '@subnet/contracts';
import { ConsensusError, ConsensusErrorCode } from '../errors.js';
import { type YumaOutput, yuma } from '../yuma.js';

export { OWNER_UID };

/** An account as the leaves hash it (a 0x-prefixed 20-byte address). */
type Account = EpochLeaf['account'];
const SPLIT_TOTAL = 10_000n;
const U16_MAX = 65_535;
const ONE = 2 ** 32;
const U96_MAX = (1n << 96n) - 1n;

/** One neuron as of the epoch's last block. */
export interface EpochNeuron {
  uid: number;
  hotkey: Account;
  role: 'validator' | 'miner';
  stake: bigint;
  validatorPermit: boolean;
  registeredAt: number;
}

/** A validator's latest counted reveal (already filtered to the epoch's window and its holder's registration). */
export interface EpochReveal {
  uid: number;
  block: number;
  uids: readonly number[];
  weights: readonly number[];
}

/** One epoch's inputs, read at its last block. */
export interface EpochInputs {
  epoch: number;
  startBlock: number;
  /** The hash of the block the inputs were read at (the epoch's last), when the chain stack gives it. */
  endBlockHash?: string | undefined;
  owner: Account;
  /** A(e): the amount to distribute (only the settled, last epoch of a window uses it). */
  emission: bigint;
  yumaVersion: 2 | 3;
  params: {
    kappa: number;
    bondsMovingAverage: number;
    ownerSplit: number;
    minerSplit: number;
    validatorSplit: number;
  };
  neurons: readonly EpochNeuron[];
  reveals: readonly EpochReveal[];
}

export interface Settlement {
  epoch: number;
  total: bigint;
  /** The Merkle leaves (`@subnet/contracts` hashes them; the owner's leaf has uid {@link OWNER_UID}). */
  leaves: EpochLeaf[];
  /** What the metagraph shows per uid: u16 fractions (value / 65535) and the amount. */
  results: ResultEntry[];
  /** The Yuma output of the settled epoch, in the order of `validators` × `miners`. */
  yuma: YumaOutput;
  validators: number[];
  miners: number[];
}

type Bonds = Map<number, Map<number, number>>;

/** An I32F32 value in [0, 1] (a multiple of 2^-32, so `x · 65535` is exact) as a u16 fraction, floored. */
const toU16 = (x: number): number => Math.min(U16_MAX, Math.floor(x * U16_MAX));
/** An I32F32 value as its raw integer count of 2^-32 (exact: Yuma's outputs are such multiples). */
const raw = (x: number): bigint => BigInt(Math.round(x * ONE));

function runEpoch(x: EpochInputs, carried: Bonds | undefined) {
  const byUid = new Map(x.neurons.map((n) => [n.uid, n]));
  const validators = x.neurons
    .filter((n) => n.role === 'validator' && n.validatorPermit)
    .map((n) => n.uid)
    .sort((a, b) => a - b);
  const miners = x.neurons
    .filter((n) => n.role === 'miner')
    .map((n) => n.uid)
    .sort((a, b) => a - b);
  const column = new Map(miners.map((uid, j) => [uid, j]));
  const revealOf = new Map(x.reveals.map((r) => [r.uid, r]));
  const weights = validators.map((v) => {
    const row = new Array<number>(miners.length).fill(0);
    const reveal = revealOf.get(v);
    const holder = byUid.get(v);
    if (reveal === undefined || holder === undefined || reveal.block < holder.registeredAt) return row;
    reveal.uids.forEach((uid, k) => {
      const j = column.get(uid);
      const target = byUid.get(uid);
      if (j === undefined || target === undefined || target.registeredAt > reveal.block) return;
      row[j] = reveal.weights[k] ?? 0;
    });
    return row;
  });
  const bonds =
    carried === undefined ? undefined : validators.map((v) => miners.map((m) => carried.get(v)?.get(m) ?? 0));
  // With no validator the weight matrix has no columns at all, so there is no miner index to reset.
  const resetMiners =
    validators.length === 0
      ? []
      : miners.flatMap((m, j) => ((byUid.get(m)?.registeredAt ?? 0) >= x.startBlock ? [j] : []));
  const stakes = validators.map((v) => byUid.get(v)?.stake ?? 0n);
  const out = yuma(
    { stakes, weights, bonds, resetMiners },
    { version: x.yumaVersion, kappa: x.params.kappa, bondsMovingAverage: x.params.bondsMovingAverage },
  );
  const next: Bonds = new Map(
    validators.map((v, i) => [v, new Map(miners.map((m, j) => [m, out.bonds[i]?.[j] ?? 0]))]),
  );
  return { out, next, validators, miners, byUid };
}

/**
 * Settles the last epoch of `window` (ascending, consecutive epochs ending at the one to settle; docs/epoch.md
 * replays at most 8), replaying bonds from none over the earlier ones.
 */
export function settleEpoch(window: readonly EpochInputs[]): Settlement {
  const last = window.at(-1);
  if (last === undefined) {
    throw new ConsensusError(
      ConsensusErrorCode.SIZE_MISMATCH,
      'settleEpoch needs at least the epoch to settle',
    );
  }
  window.forEach((x, k) => {
    if (k > 0 && x.epoch !== (window[k - 1] as EpochInputs).epoch + 1) {
      throw new ConsensusError(
        ConsensusErrorCode.SIZE_MISMATCH,
        `epochs must be consecutive; ${x.epoch} follows ${(window[k - 1] as EpochInputs).epoch}`,
      );
    }
  });
  let bonds: Bonds | undefined;
  let run: ReturnType<typeof runEpoch> | undefined;
  for (const x of window) {
    run = runEpoch(x, bonds);
    bonds = run.next;
  }
  const { out, validators, miners, byUid } = run as ReturnType<typeof runEpoch>;

  const total = last.emission;
  const p = last.params;
  const minerPool = (total * BigInt(p.minerSplit)) / SPLIT_TOTAL;
  const validatorPool = (total * BigInt(p.validatorSplit)) / SPLIT_TOTAL;
  const amounts = new Map<number, bigint>();
  let paid = 0n;
  miners.forEach((uid, j) => {
    const a = (minerPool * raw(out.incentive[j] ?? 0)) >> 32n;
    amounts.set(uid, a);
    paid += a;
  });
  validators.forEach((uid, i) => {
    const a = (validatorPool * raw(out.dividends[i] ?? 0)) >> 32n;
    amounts.set(uid, a);
    paid += a;
  });
  // The owner's pool plus whatever nobody earned (rounding, or a pool without incentive/dividends).
  const ownerAmount = total - paid;

  const results: ResultEntry[] = [];
  miners.forEach((uid, j) => {
    results.push({
      uid,
      incentive: toU16(out.incentive[j] ?? 0),
      dividends: 0,
      trust: toU16(out.trust[j] ?? 0),
      consensus: toU16(out.consensus[j] ?? 0),
      amount: amounts.get(uid) ?? 0n,
    });
  });
  validators.forEach((uid, i) => {
    results.push({
      uid,
      incentive: 0,
      dividends: toU16(out.dividends[i] ?? 0),
      trust: toU16(out.validatorTrust[i] ?? 0),
      consensus: 0,
      amount: amounts.get(uid) ?? 0n,
    });
  });
  results.sort((a, b) => a.uid - b.uid);
  for (const r of results) {
    if (r.amount > U96_MAX)
      throw new ConsensusError(ConsensusErrorCode.INVALID_STAKE, `uid ${r.uid}'s amount exceeds u96`);
  }

  const leaves: EpochLeaf[] = results
    .filter((r) => r.amount > 0n)
    .map((r) => ({ uid: r.uid, account: (byUid.get(r.uid) as EpochNeuron).hotkey, amount: r.amount }));
  if (ownerAmount > 0n) leaves.push({ uid: OWNER_UID, account: last.owner, amount: ownerAmount });
  return { epoch: last.epoch, total, leaves, results, yuma: out, validators, miners };
}
