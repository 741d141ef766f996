/**
 * Settling an epoch from chain inputs: the split sums to the emission, the spec's input rules (permits,
 * reveals of a previous holder, weights on a newer neuron), determinism, and the incentive properties the
 * subnet relies on (a miner no one weighs earns nothing; a skewed minority validator earns lower dividends).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EpochInputs, type EpochNeuron, OWNER_UID, settleEpoch } from '../src/epoch/settle.js';

const SUB = 10n ** 18n;
const OWNER = '0x00000000000000000000000000000000000000aa' as const;
const hk = (uid: number): `0x${string}` => `0x${uid.toString(16).padStart(40, '0')}`;
const validator = (uid: number, stake: bigint, extra: Partial<EpochNeuron> = {}): EpochNeuron => ({
  uid,
  hotkey: hk(uid),
  role: 'validator',
  stake,
  validatorPermit: true,
  registeredAt: 1,
  ...extra,
});
const miner = (uid: number, extra: Partial<EpochNeuron> = {}): EpochNeuron => ({
  uid,
  hotkey: hk(uid),
  role: 'miner',
  stake: 0n,
  validatorPermit: false,
  registeredAt: 1,
  ...extra,
});
const params = {
  kappa: 32_767,
  bondsMovingAverage: 900_000,
  ownerSplit: 1800,
  minerSplit: 4100,
  validatorSplit: 4100,
};

function epoch(
  e: number,
  neurons: EpochNeuron[],
  reveals: EpochInputs['reveals'],
  emission = 20n * SUB,
): EpochInputs {
  return {
    epoch: e,
    startBlock: 100 + 20 * e,
    owner: OWNER,
    emission,
    yumaVersion: 3,
    params,
    neurons,
    reveals,
  };
}

/** Three validators 0–2, miners 3–6; miner 6 is the cheat the honest validators give nothing. */
const neurons = [
  validator(0, 1000n * SUB),
  validator(1, 1000n * SUB),
  validator(2, 1000n * SUB),
  miner(3),
  miner(4),
  miner(5),
  miner(6),
];
const honest = (uid: number, block = 50) => ({
  uid,
  block,
  uids: [3, 4, 5, 6],
  weights: [65_535, 60_000, 62_000, 0],
});

describe('settleEpoch', () => {
  it('pays exactly the emission: miners by incentive, validators by dividends, the owner the rest', () => {
    const s = settleEpoch([epoch(0, neurons, [honest(0), honest(1), honest(2)])]);
    const sum = s.leaves.reduce((a, l) => a + l.amount, 0n);
    assert.equal(sum, 20n * SUB);
    const byUid = new Map(s.leaves.map((l) => [l.uid, l]));
    assert.equal(byUid.get(6), undefined, 'a miner no validator weighs gets no leaf');
    const owner = byUid.get(OWNER_UID);
    assert.ok(owner !== undefined && owner.account === OWNER);
    assert.ok(owner.amount >= (20n * SUB * 1800n) / 10_000n, 'the owner gets at least its split');
    const minerPaid = [3, 4, 5].reduce((a, uid) => a + (byUid.get(uid)?.amount ?? 0n), 0n);
    assert.ok(minerPaid <= (20n * SUB * 4100n) / 10_000n && minerPaid > (20n * SUB * 4099n) / 10_000n);
    assert.ok((byUid.get(3)?.amount ?? 0n) > (byUid.get(4)?.amount ?? 0n), 'more weight, more incentive');
    assert.deepEqual(
      s.results.map((r) => r.uid),
      [0, 1, 2, 3, 4, 5, 6],
    );
    const r6 = s.results.find((r) => r.uid === 6);
    assert.equal(r6?.incentive, 0);
    assert.equal(r6?.amount, 0n);
    const consensus = (uid: number) => s.results.find((r) => r.uid === uid)?.consensus ?? -1;
    assert.ok(consensus(3) > consensus(4) && consensus(4) > 0 && consensus(6) === 0);
  });

  it('depends only on its inputs: shuffled neurons and reveals give the same settlement', () => {
    const reveals = [
      honest(0),
      honest(1),
      { uid: 2, block: 60, uids: [6, 5, 4, 3], weights: [100, 2, 3, 4] },
    ];
    const a = settleEpoch([epoch(0, neurons, reveals)]);
    const b = settleEpoch([epoch(0, [...neurons].reverse(), [...reveals].reverse())]);
    assert.deepEqual(a.leaves, b.leaves);
    assert.deepEqual(a.results, b.results);
  });

  it('applies the input rules: no permit, a reveal from before the holder registered, weight on a newer miner', () => {
    const ns = [
      validator(0, 1000n * SUB),
      validator(1, 1000n * SUB, { validatorPermit: false }),
      validator(2, 1000n * SUB, { registeredAt: 80 }),
      miner(3),
      miner(4, { registeredAt: 70 }),
    ];
    const s = settleEpoch([
      epoch(0, ns, [
        { uid: 0, block: 60, uids: [3, 4], weights: [65_535, 65_535] },
        { uid: 1, block: 60, uids: [4], weights: [65_535] },
        { uid: 2, block: 60, uids: [4], weights: [65_535] },
      ]),
    ]);
    assert.deepEqual(s.validators, [0, 2], 'uid 1 has no permit');
    assert.equal(
      s.results.find((r) => r.uid === 4)?.incentive,
      0,
      'uid 4 registered after the reveal weighed it',
    );
    assert.equal(s.results.find((r) => r.uid === 3)?.incentive, 65_535);
    // uid 2's reveal predates its registration: it abstains, so uid 0 alone earns dividends.
    assert.equal(s.results.find((r) => r.uid === 2)?.dividends, 0);
    assert.ok((s.results.find((r) => r.uid === 0)?.dividends ?? 0) > 65_000);
  });

  it('a validator under 1/3 of stake with skewed weights earns lower dividends than the honest ones', () => {
    const ns = [
      validator(0, 1000n * SUB),
      validator(1, 1000n * SUB),
      validator(2, 500n * SUB), // 20 % of stake
      miner(3),
      miner(4),
      miner(5),
      miner(6),
    ];
    const skewed = { uid: 2, block: 50, uids: [3, 4, 5, 6], weights: [0, 0, 0, 65_535] };
    const window = [0, 1, 2, 3, 4].map((e) => epoch(e, ns, [honest(0), honest(1), skewed]));
    const s = settleEpoch(window);
    const div = (uid: number) => s.results.find((r) => r.uid === uid)?.dividends ?? 0;
    const perStake = (uid: number, stake: number) => div(uid) / stake;
    assert.ok(perStake(2, 500) < perStake(0, 1000) / 2, `skewed ${div(2)} vs honest ${div(0)}`);
    assert.equal(s.results.find((r) => r.uid === 6)?.incentive, 0, 'the minority cannot pay its favourite');
  });

  it('rejects an empty or gapped window', () => {
    assert.throws(() => settleEpoch([]), /at least/);
    assert.throws(() => settleEpoch([epoch(0, neurons, []), epoch(2, neurons, [])]), /consecutive/);
  });

  it('pays everything to the owner when nobody set weights', () => {
    const s = settleEpoch([epoch(0, neurons, [])]);
    assert.deepEqual(s.leaves, [{ uid: OWNER_UID, account: OWNER, amount: 20n * SUB }]);
  });
});
