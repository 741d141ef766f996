/**
 * The simulator's invariants, checked once per epoch after its deadline `D(e)` is mined. Each failure has a
 * name (the `invariant` of a {@link Violation}). They read the chain's events and views and the validators'
 * own settlements, never the contract's verdict alone:
 *
 * - `SAFETY_FINALISED_WITHOUT_TWO_THIRDS`: a finalised root whose voters (its proposer and the validators
 *   whose `attest` calldata named it, up to the finalising block) hold less than 2/3 of the epoch's snapshot
 *   stake (`ValidatorsSnapshotted.totalStake`; each voter's stake read with `snapshotStake` at that block),
 *   or an epoch finalised with no snapshot at all.
 * - `SAFETY_DOUBLE_CLAIM`: an (epoch, uid) leaf claimed twice, or claims of an epoch above its total, or
 *   claims of an epoch never finalised.
 * - `SAFETY_DIVERGENT_RESULTS`: two honest validators settled an epoch to different roots or results hashes,
 *   or the finalised root is not the honest one.
 * - `SAFETY_EMISSION_CAP`: the finalised totals exceed the emission cap, or a finalised total is not the
 *   honest settlement's total.
 * - `LIVENESS_NOT_FINALISED`: an epoch not finalised by its deadline (one epoch after it ended: no epoch may
 *   lag more) although honest validators holding at least 2/3 of its snapshot stake were running and
 *   connected from its start to its deadline.
 */
import { epochConsensusAbi } from '@subnet/contracts';
import type { Address, Hex } from 'viem';
import { NETUID, type SimChain } from './chain.js';

/** A failed invariant, with what to replay. */
export interface Violation {
  invariant:
    | 'SAFETY_FINALISED_WITHOUT_TWO_THIRDS'
    | 'SAFETY_DOUBLE_CLAIM'
    | 'SAFETY_DIVERGENT_RESULTS'
    | 'SAFETY_EMISSION_CAP'
    | 'LIVENESS_NOT_FINALISED';
  epoch: number;
  detail: string;
}

/** What the checks need besides the chain: who is honest, who was up, what each honest validator settled. */
export interface EpochWitness {
  epoch: number;
  /** Honest (not byzantine) validators' settlements of the epoch: hotkey → root and results hash. */
  honestRoots: ReadonlyMap<string, { root: string; resultsHash: string; total: bigint }>;
  /** Honest validators running and connected from `S(e)` to `D(e)`. */
  honestUp: readonly Address[];
}

/** Counts of checks that passed, by name. */
export type CheckCounts = Record<Violation['invariant'], number>;

export const emptyCounts = (): CheckCounts => ({
  SAFETY_FINALISED_WITHOUT_TWO_THIRDS: 0,
  SAFETY_DOUBLE_CLAIM: 0,
  SAFETY_DIVERGENT_RESULTS: 0,
  SAFETY_EMISSION_CAP: 0,
  LIVENESS_NOT_FINALISED: 0,
});

/** What the checks carry from one epoch to the next. */
export interface CheckState {
  finalisedTotal: bigint;
  /** Claimed leaves, `epoch:uid`. */
  claimed: Set<string>;
  /** Claims looked at so far, by epoch. */
  claimsSeen: Map<number, number>;
  /** Claimed amount so far, by epoch. */
  claimedSum: Map<number, bigint>;
  firstEpoch: number;
  /** Epochs where 2/3 of the snapshot's stake was honest and up (so finalisation was required). */
  livenessExpected: number;
}

export const emptyState = (firstEpoch: number): CheckState => ({
  finalisedTotal: 0n,
  claimed: new Set(),
  claimsSeen: new Map(),
  claimedSum: new Map(),
  firstEpoch,
  livenessExpected: 0,
});

/** Looks at the claims of epochs `firstEpoch..upTo` not looked at yet: none twice, none unfinalised, none above the total. */
export function sweepClaims(chain: SimChain, upTo: number, state: CheckState): Violation[] {
  const out: Violation[] = [];
  for (let e = state.firstEpoch; e <= upTo; e++) {
    const ev = chain.events(e);
    const seen = state.claimsSeen.get(e) ?? 0;
    if (seen === ev.claims.length) continue;
    let sum = state.claimedSum.get(e) ?? 0n;
    for (const c of ev.claims.slice(seen)) {
      const key = `${e}:${c.uid}`;
      if (state.claimed.has(key))
        out.push({
          invariant: 'SAFETY_DOUBLE_CLAIM',
          epoch: e,
          detail: `uid ${c.uid} claimed twice (block ${c.block})`,
        });
      state.claimed.add(key);
      sum += c.amount;
    }
    state.claimsSeen.set(e, ev.claims.length);
    state.claimedSum.set(e, sum);
    const fin = ev.finalised;
    if (fin === undefined)
      out.push({ invariant: 'SAFETY_DOUBLE_CLAIM', epoch: e, detail: 'claims of an epoch never finalised' });
    else if (sum > fin.total)
      out.push({
        invariant: 'SAFETY_DOUBLE_CLAIM',
        epoch: e,
        detail: `claimed ${sum} of a total of ${fin.total}`,
      });
  }
  return out;
}

/** Checks epoch `w.epoch` (its deadline mined); returns the violations, and counts the checks that passed. */
export async function checkEpoch(
  chain: SimChain,
  w: EpochWitness,
  state: CheckState,
  passed: CheckCounts,
): Promise<Violation[]> {
  const out: Violation[] = [];
  const e = w.epoch;
  const ev = chain.events(e);
  const deadline = chain.startOf(e + 2) - 1;
  const ec = chain.addresses.epochConsensus;
  const fail = (invariant: Violation['invariant'], detail: string) =>
    out.push({ invariant, epoch: e, detail });
  const before = out.length;

  // SAFETY: two thirds of the snapshot's stake behind the finalised root.
  const fin = ev.finalised;
  if (fin !== undefined) {
    if (ev.snapshot === undefined) fail('SAFETY_FINALISED_WITHOUT_TWO_THIRDS', 'finalised with no snapshot');
    else {
      const voters = new Set<Address>();
      for (const p of ev.proposals) if (p.root === fin.root && p.block <= fin.block) voters.add(p.proposer);
      for (const a of ev.attestations)
        if (a.root === fin.root && a.block <= fin.block) voters.add(a.validator);
      let stake = 0n;
      for (const v of voters) {
        stake += await chain.read<bigint>(
          ec,
          epochConsensusAbi,
          'snapshotStake',
          [NETUID, BigInt(e), v],
          fin.block,
        );
      }
      const total = ev.snapshot.totalStake;
      if (3n * stake < 2n * total)
        fail(
          'SAFETY_FINALISED_WITHOUT_TWO_THIRDS',
          `finalised without 2/3: root ${fin.root} at block ${fin.block} had ${voters.size} voters with ${stake} of ${total} snapshot stake`,
        );
    }
  }
  if (out.length === before) passed.SAFETY_FINALISED_WITHOUT_TWO_THIRDS++;

  // SAFETY: no leaf claimed twice (the claims of every epoch so far, each looked at once).
  const mark = out.length;
  for (const v of sweepClaims(chain, e, state)) out.push(v);
  if (out.length === mark) passed.SAFETY_DOUBLE_CLAIM++;

  // SAFETY: bit-identical honest results, and the final root is theirs.
  const mark2 = out.length;
  const roots = [...w.honestRoots.values()];
  const first = roots[0];
  for (const [hotkey, r] of w.honestRoots) {
    if (first !== undefined && (r.root !== first.root || r.resultsHash !== first.resultsHash))
      fail(
        'SAFETY_DIVERGENT_RESULTS',
        `${hotkey} settled ${r.root}/${r.resultsHash}, another ${first.root}/${first.resultsHash}`,
      );
  }
  if (fin !== undefined && first !== undefined && fin.root !== first.root)
    fail('SAFETY_DIVERGENT_RESULTS', `finalised root ${fin.root} is not the honest root ${first.root}`);
  if (out.length === mark2) passed.SAFETY_DIVERGENT_RESULTS++;

  // SAFETY: emission within the cap, and each final total the honest one.
  const mark3 = out.length;
  if (fin !== undefined) {
    state.finalisedTotal += fin.total;
    if (first !== undefined && fin.total !== first.total)
      fail('SAFETY_EMISSION_CAP', `finalised total ${fin.total} is not the honest total ${first.total}`);
  }
  if (state.finalisedTotal > chain.emissionCap)
    fail(
      'SAFETY_EMISSION_CAP',
      `finalised ${state.finalisedTotal} in all, above the cap ${chain.emissionCap}`,
    );
  if (out.length === mark3) passed.SAFETY_EMISSION_CAP++;

  // LIVENESS: finalised by D(e) when 2/3 of the snapshot's stake is honest and up throughout.
  const mark4 = out.length;
  if (ev.snapshot !== undefined && !ev.snapshot.late) {
    let up = 0n;
    for (const v of w.honestUp) {
      up += await chain.read<bigint>(
        ec,
        epochConsensusAbi,
        'snapshotStake',
        [NETUID, BigInt(e), v],
        deadline,
      );
    }
    const expected = 3n * up >= 2n * ev.snapshot.totalStake;
    if (expected) state.livenessExpected++;
    if (expected && fin === undefined)
      fail(
        'LIVENESS_NOT_FINALISED',
        `not finalised by its deadline (block ${deadline}) with ${up} of ${ev.snapshot.totalStake} snapshot stake honest and connected; proposals ${ev.proposals.length}, attestations ${ev.attestations.length}`,
      );
  }
  if (out.length === mark4) passed.LIVENESS_NOT_FINALISED++;
  return out;
}

/** The digest line of an epoch: everything the chain decided about it, in a fixed order. */
export function epochDigestLine(chain: SimChain, e: number, honestRoot: string | undefined): string {
  const ev = chain.events(e);
  const hex = (x: Hex | string) => x.toLowerCase();
  return JSON.stringify({
    e,
    end: chain.hashOf(chain.startOf(e + 1) - 1),
    snap:
      ev.snapshot === undefined
        ? null
        : [ev.snapshot.totalStake.toString(), ev.snapshot.block, ev.snapshot.late],
    prop: ev.proposals.map((p) => [hex(p.proposer), p.root, p.block]),
    att: ev.attestations.map((a) => [hex(a.validator), a.root, a.block]),
    fin:
      ev.finalised === undefined
        ? null
        : [ev.finalised.root, ev.finalised.total.toString(), ev.finalised.block],
    claims: ev.claims.map((c) => [c.uid, c.amount.toString(), c.block]),
    honestRoot: honestRoot ?? null,
  });
}
