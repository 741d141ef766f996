/**
 * `gateway_getPaymentsV1` against the real payment store (SQLite, `payments/store.ts`) and key store: per
 * account-bound key its authorization and charged / collected / settled totals, per miner the cost served
 * and settled, the settlements with their split (newest first, a bounded list), totals over every key, the
 * report surviving a restart, and the result valid under the method's schema (no `x402` block while the
 * store records none; one when it does).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gateway_getPaymentsV1 } from '@subnet/engine-api';
import { createKeyStore, type KeyStore } from '../src/index.js';
import { planSettlement } from '../src/payments/policy.js';
import { paymentsReport } from '../src/payments/report.js';
import { createPaymentStore, type PaymentStore } from '../src/payments/store.js';

const CLIENT_A = '0x2222222222222222222222222222222222222222';
const CLIENT_B = '0x3333333333333333333333333333333333333333';
const MINER_1 = '0x1111111111111111111111111111111111111111';
const MINER_2 = '0x4444444444444444444444444444444444444444';
const DEFAULTS = { requestsPerMinute: 60, tokensPerMinute: 100_000 };
const digestOf = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

describe('gateway_getPaymentsV1 (payment report)', () => {
  let dir: string;
  let file: string;
  let keys: KeyStore;
  let store: PaymentStore;
  let t = 1_700_000_000_000;
  const now = () => t;
  const bind = (name: string, client: string, n: number, cap: string, collected = '0') =>
    keys.createBound({
      name,
      client,
      digest: digestOf(n),
      authorization: { client, gateway: MINER_1, cap, expiry: '1900000000', nonce: digestOf(n) },
      signature: `0x${'aa'.repeat(65)}`,
      collected,
    }).info;
  const settle = (id: number) => {
    const plan = planSettlement(store.all(), store.miners());
    assert.ok(plan);
    // The default split (validator 10 %, owner 10 %, burn 5 %, floored; the rest to the miners).
    const [vf, of, burned] = [1000n, 1000n, 500n].map((bps) => (plan.total * bps) / 10000n) as [
      bigint,
      bigint,
      bigint,
    ];
    store.settled(plan, true, {
      settlementId: id,
      txHash: `0x${id.toString(16).padStart(64, '0')}`,
      total: plan.total.toString(),
      validatorFee: vf.toString(),
      ownerFee: of.toString(),
      burned: burned.toString(),
      minerTotal: (plan.total - vf - of - burned).toString(),
    });
    return plan;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-payreport-'));
    file = join(dir, 'gateway.sqlite');
    keys = createKeyStore({ file, defaults: DEFAULTS }, { now });
    store = createPaymentStore(keys.db, now);
  });
  after(() => {
    keys.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is empty with no bound key, and free admin keys are not listed', () => {
    keys.create({ name: 'admin-free' });
    const r = gateway_getPaymentsV1.result.parse(paymentsReport(store, keys));
    assert.deepEqual(r.keys, []);
    assert.deepEqual(r.miners, []);
    assert.deepEqual(r.settlements, []);
    assert.deepEqual(r.totals, { charged: '0', collected: '0', settled: '0', settlements: 0 });
    assert.equal(r.x402, undefined);
  });

  it('reports spend per key, cost per miner and settlements with their split, to the unit', () => {
    const a = bind('alice', CLIENT_A, 1, '1000000');
    t += 1000;
    const b = bind('bob', CLIENT_B, 2, '500000', '300');
    store.charge(digestOf(1), 1200n, MINER_1);
    store.charge(digestOf(1), 800n, MINER_2);
    store.charge(digestOf(2), 50n, MINER_1);
    t += 1000;
    const plan1 = settle(1);
    assert.equal(plan1.total, 2050n);
    // After the settlement: more charged, unsettled.
    store.charge(digestOf(1), 33n, MINER_2);
    keys.revoke(b.id);

    const r = gateway_getPaymentsV1.result.parse(paymentsReport(store, keys));
    assert.deepEqual(
      r.keys.map((k) => [
        k.id,
        k.name,
        k.client,
        k.cap,
        k.charged,
        k.collected,
        k.settled,
        k.revokedAt !== null,
      ]),
      [
        [a.id, 'alice', CLIENT_A, '1000000', '2033', '2000', '2000', false],
        [b.id, 'bob', CLIENT_B, '500000', '350', '350', '350', true],
      ],
    );
    assert.equal(r.keys[0]?.expiry, '1900000000');
    assert.equal(r.keys[0]?.digest, digestOf(1));
    assert.deepEqual(r.miners, [
      { miner: MINER_1, served: '1250', settled: '1250' },
      { miner: MINER_2, served: '833', settled: '800' },
    ]);
    assert.deepEqual(r.totals, { charged: '2383', collected: '2350', settled: '2350', settlements: 1 });
    assert.equal(r.settlements.length, 1);
    const s = r.settlements[0];
    assert.equal(s?.settlementId, 1);
    assert.equal(s?.total, '2050');
    assert.equal(s?.vouchers, 2);
    assert.deepEqual([s?.validatorFee, s?.ownerFee, s?.burned, s?.minerTotal], ['205', '205', '102', '1538']);
    assert.equal(
      BigInt(s?.validatorFee ?? 0) +
        BigInt(s?.ownerFee ?? 0) +
        BigInt(s?.burned ?? 0) +
        BigInt(s?.minerTotal ?? 0),
      2050n,
    );
    assert.equal(s?.at, t);
  });

  it('lists settlements newest first, bounded, and keeps everything across a restart', () => {
    t += 1000;
    settle(2);
    const r = paymentsReport(store, keys, 1);
    assert.deepEqual(
      r.settlements.map((s) => [s.settlementId, s.total]),
      [[2, '33']],
    );
    assert.equal(r.totals.settlements, 2);
    keys.close();
    keys = createKeyStore({ file, defaults: DEFAULTS }, { now });
    store = createPaymentStore(keys.db, now);
    const again = paymentsReport(store, keys);
    assert.deepEqual(again.totals, { charged: '2383', collected: '2383', settled: '2383', settlements: 2 });
    assert.deepEqual(
      again.settlements.map((s) => s.settlementId),
      [2, 1],
    );
    assert.equal(again.keys[0]?.name, 'alice');
  });

  it('adds the x402 block once a request was paid with x402', () => {
    store.x402Charge({
      payer: `0x${'ab'.repeat(20)}`,
      paid: 900n,
      cost: 640n,
      miner: undefined,
      txHash: '0x01',
    });
    store.x402Charge({
      payer: `0x${'ab'.repeat(20)}`,
      paid: 300n,
      cost: 300n,
      miner: undefined,
      txHash: '0x02',
    });
    const r = gateway_getPaymentsV1.result.parse(paymentsReport(store, keys));
    assert.deepEqual(r.x402, { payments: 2, paid: '1200', charged: '940', credited: '0', settled: '0' });
    const open = store.x402Open();
    assert.equal(open.direct, 940n);
    assert.deepEqual(
      open.credits.map((c) => [c.payer, c.amount]),
      [[`0x${'ab'.repeat(20)}`, 260n]],
    );
    store.x402Credited(open.credits.flatMap((c) => c.ids));
    assert.equal(paymentsReport(store, keys).x402?.credited, '260');
  });
});
