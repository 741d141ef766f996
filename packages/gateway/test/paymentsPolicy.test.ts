/**
 * The pure payment policy (`payments/policy.ts`) with exact bigint figures: cost rounding, the quota rule
 * (cap, balance shared by a client's authorizations, expiry), reserve/charge arithmetic, a price change
 * mid-request (the price at the request's start applies), and settlement plans that never count an
 * increase twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AuthorizationState,
  applySettlement,
  charge,
  costOf,
  decideQuota,
  planSettlement,
  reserve,
} from '../src/payments/policy.js';

// devnet-chat: 0.10 sUSD / 0.40 sUSD per million prompt / completion tokens (6 decimals).
const CHAT = { promptPerMillion: 100_000n, completionPerMillion: 400_000n };

const auth = (o: Partial<AuthorizationState> = {}): AuthorizationState => ({
  cap: 1_000_000n,
  expiry: 10_000n,
  collected: 0n,
  charged: 0n,
  reserved: 0n,
  ...o,
});

describe('payments policy', () => {
  it('costs ceil((p·pp + c·cp) / 1e6), exactly', () => {
    assert.equal(costOf(0, 0, CHAT), 0n);
    // 11 × 100000 + 8 × 400000 = 4,300,000 → 4.3 → 5 units.
    assert.equal(costOf(11, 8, CHAT), 5n);
    assert.equal(costOf(10, 0, CHAT), 1n); // 1,000,000 / 1e6 exactly
    assert.equal(costOf(1, 0, CHAT), 1n); // 0.1 rounds up
    assert.equal(costOf(1_000_000, 1_000_000, CHAT), 500_000n);
    assert.equal(costOf(2 ** 26, 2 ** 26, CHAT), 33_554_432n);
    assert.throws(() => costOf(-1, 0, CHAT), RangeError);
  });

  it('admits up to the cap and up to the spendable balance, to the unit', () => {
    const a = auth({ cap: 100n, charged: 40n, reserved: 10n });
    // cap left = 100 − 40 − 10 = 50
    assert.deepEqual(decideQuota(a, [a], 1_000n, 50n, 0n), { ok: true });
    assert.deepEqual(decideQuota(a, [a], 1_000n, 51n, 0n), { ok: false, reason: 'cap', available: 50n });
    // balance left = spendable − (charged − collected + reserved) = 70 − 50 = 20
    assert.deepEqual(decideQuota(a, [a], 70n, 20n, 0n), { ok: true });
    assert.deepEqual(decideQuota(a, [a], 70n, 21n, 0n), { ok: false, reason: 'balance', available: 20n });
    // what was collected on chain already left the balance: it is not owed twice
    const settled = auth({ cap: 100n, collected: 40n, charged: 40n });
    assert.deepEqual(decideQuota(settled, [settled], 60n, 60n, 0n), { ok: true });
  });

  it('shares one balance among a client’s authorizations', () => {
    const a = auth({ charged: 30n });
    const b = auth({ charged: 25n, reserved: 5n });
    // owed = 30 + 30 = 60 of 100 spendable
    assert.deepEqual(decideQuota(a, [a, b], 100n, 40n, 0n), { ok: true });
    assert.equal(decideQuota(a, [a, b], 100n, 41n, 0n).ok, false);
  });

  it('refuses an expired authorization, and the last margin seconds before expiry', () => {
    const a = auth({ expiry: 1000n });
    assert.equal(decideQuota(a, [a], 1000n, 1n, 999n).ok, true);
    assert.deepEqual(decideQuota(a, [a], 1000n, 1n, 1000n), { ok: false, reason: 'expired', available: 0n });
    assert.deepEqual(decideQuota(a, [a], 1000n, 1n, 940n, 60n), {
      ok: false,
      reason: 'expired',
      available: 0n,
    });
  });

  it('reserves the bound, charges the exact cost and releases the rest', () => {
    let a = auth();
    const bound = costOf(400, 72, CHAT); // 40,000,000 + 28,800,000 → 68.8 → 69
    assert.equal(bound, 69n);
    a = reserve(a, bound);
    assert.equal(a.reserved, 69n);
    const r = charge(a, bound, costOf(11, 8, CHAT));
    assert.deepEqual(r.state, { ...a, reserved: 0n, charged: 5n });
    assert.equal(r.charged, 5n);
    // never more than the bound, even if a count came out above it
    assert.equal(charge(reserve(auth(), 3n), 3n, 9n).charged, 3n);
  });

  it('charges at the price of the request start when the price changes mid-request', () => {
    const atStart = CHAT;
    const later = { promptPerMillion: 1_000_000n, completionPerMillion: 4_000_000n };
    const bound = costOf(400, 72, atStart);
    let a = reserve(auth(), bound);
    // A request started before the change keeps its start price: 5 units, not 44.
    const r = charge(a, bound, costOf(11, 8, atStart));
    assert.equal(r.charged, 5n);
    assert.equal(costOf(11, 8, later), 43n);
    a = r.state;
    // The next one pays the new price.
    const b2 = costOf(400, 72, later);
    a = reserve(a, b2);
    a = charge(a, b2, costOf(11, 8, later)).state;
    assert.equal(a.charged, 48n);
    assert.equal(a.reserved, 0n);
  });

  it('concurrent requests never exceed the quota together', () => {
    let a = auth({ cap: 100n });
    const bound = 40n;
    assert.equal(decideQuota(a, [a], 1_000n, bound, 0n).ok, true);
    a = reserve(a, bound);
    assert.equal(decideQuota(a, [a], 1_000n, bound, 0n).ok, true);
    a = reserve(a, bound);
    assert.equal(decideQuota(a, [a], 1_000n, bound, 0n).ok, false); // 80 reserved + 40 > 100
    a = charge(a, bound, 10n).state; // first one cost 10: 30 released
    assert.equal(decideQuota(a, [a], 1_000n, bound, 0n).ok, true); // 10 + 40 + 40 ≤ 100
  });

  it('plans settlements of what grew only, and never counts an increase twice', () => {
    const auths = [
      { digest: '0xa', charged: 120n, settled: 100n },
      { digest: '0xb', charged: 50n, settled: 50n },
      { digest: '0xc', charged: 7n, settled: 0n },
    ];
    const miners = [
      { miner: '0x1', served: 90n, settled: 70n },
      { miner: '0x2', served: 7n, settled: 0n },
      { miner: '0x3', served: 5n, settled: 5n },
    ];
    const plan = planSettlement(auths, miners);
    assert.ok(plan !== undefined);
    assert.deepEqual(plan.vouchers, [
      { digest: '0xa', cumulative: 120n, increase: 20n },
      { digest: '0xc', cumulative: 7n, increase: 7n },
    ]);
    assert.equal(plan.total, 27n);
    assert.deepEqual(plan.miners, [
      { miner: '0x1', weight: 20n, served: 90n },
      { miner: '0x2', weight: 7n, served: 7n },
    ]);
    const byA = new Map(auths.map((a) => [a.digest, a]));
    const byM = new Map(miners.map((m) => [m.miner, m]));
    const after = applySettlement(plan, byA, byM);
    assert.deepEqual(
      after.auths.map((a) => [a.digest, a.settled]),
      [
        ['0xa', 120n],
        ['0xc', 7n],
      ],
    );
    // Settled state: nothing left to plan.
    for (const a of after.auths) byA.set(a.digest, a);
    for (const m of after.miners) byM.set(m.miner, m);
    assert.equal(planSettlement([...byA.values()], [...byM.values()]), undefined);
    // Applying the same plan again changes nothing (sets, never adds).
    const again = applySettlement(plan, byA, byM);
    assert.deepEqual(
      again.auths.map((a) => a.settled),
      [120n, 7n],
    );
    assert.deepEqual(
      again.miners.map((m) => m.settled),
      [90n, 7n],
    );
    // A charge after the snapshot is settled next time, only its increase.
    byA.set('0xa', { digest: '0xa', charged: 125n, settled: 120n });
    byM.set('0x1', { miner: '0x1', served: 95n, settled: 90n });
    const next = planSettlement([...byA.values()], [...byM.values()]);
    assert.equal(next?.total, 5n);
    assert.deepEqual(next?.miners, [{ miner: '0x1', weight: 5n, served: 95n }]);
  });
});
