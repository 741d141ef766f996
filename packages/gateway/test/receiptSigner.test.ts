/**
 * The gateway's receipt signer (`payments/receiptSigner.ts`) and `verifyUsageReceipt`: a receipt signed with
 * the delegated ed25519 key verifies; a changed field, another gateway's delegation, an expired delegation, a
 * delegation by another key and another chain or escrow are each refused, saying why. The chain stack's one
 * method here (`chain_signReceiptKeyV1`) is a viem account signing the same typed data as the chain stack
 * does (packages/chain/test/payments.test.ts tests the real one on anvil; the payment devnet end to end).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  receiptKeyTypedData,
  type SignedUsageReceipt,
  type UsageReceipt,
  verifyUsageReceipt,
} from '@subnet/contracts';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createReceiptSigner } from '../src/payments/receiptSigner.js';

const CHAIN_ID = 31337;
const ESCROW = '0x00000000000000000000000000000000000e5c20' as Address;
const HOTKEY = privateKeyToAccount(`0x${'11'.repeat(32)}`);
const OTHER = privateKeyToAccount(`0x${'33'.repeat(32)}`);

/** The chain stack's `chain_signReceiptKeyV1` as `signer` would answer it; counts its calls. */
function chainStack(signer = HOTKEY) {
  const calls = { n: 0 };
  return {
    calls,
    engine: {
      call: (async (method: string, params: { key: Hex; expires: number }) => {
        assert.equal(method, 'chain_signReceiptKeyV1');
        calls.n++;
        const signature = await signer.signTypedData(
          receiptKeyTypedData({
            chainId: CHAIN_ID,
            paymentEscrow: ESCROW,
            receiptKey: { gateway: signer.address, key: params.key, expires: BigInt(params.expires) },
          }),
        );
        return { gateway: signer.address, key: params.key, expires: params.expires, signature };
      }) as never,
    },
  };
}

const receipt = (over: Partial<UsageReceipt> = {}): UsageReceipt => ({
  requestId: `0x${'ab'.repeat(32)}`,
  client: `0x${'cc'.repeat(20)}`,
  gateway: HOTKEY.address,
  miner: `0x${'dd'.repeat(20)}`,
  netuid: 1,
  model: 'devnet-chat',
  promptTokens: 12,
  completionTokens: 7,
  priceBlock: 40n,
  cost: 5n,
  cumulative: 120n,
  ...over,
});
const domain = { chainId: CHAIN_ID, paymentEscrow: ESCROW };
const check = (s: SignedUsageReceipt, over: Partial<Parameters<typeof verifyUsageReceipt>[1]> = {}) =>
  verifyUsageReceipt(s, { ...domain, gateway: HOTKEY.address, ...over });

describe('receipt signer', () => {
  it('signs receipts with one delegated key: they verify, and the hotkey signs once', async () => {
    const { engine, calls } = chainStack();
    const signer = createReceiptSigner({ engine });
    const a = await signer.sign(receipt(), domain);
    const b = await signer.sign(receipt({ cost: 6n, cumulative: 126n }), domain);
    assert.equal((await check(a)).cost, 5n);
    assert.equal((await check(b)).cumulative, 126n);
    assert.equal(calls.n, 1, 'one delegation for many receipts');
    assert.equal(a.key.key, b.key.key);
    assert.match(a.signature, /^0x[0-9a-f]{128}$/, 'a 64-byte ed25519 signature');
  });

  it('refuses a changed field, another gateway, another chain or escrow, a foreign delegation', async () => {
    const { engine } = chainStack();
    const s = await createReceiptSigner({ engine }).sign(receipt(), domain);
    const tampered = { ...s, receipt: { ...s.receipt, cost: '4' } };
    await assert.rejects(check(tampered), /not by the delegated key/);
    await assert.rejects(check(s, { gateway: OTHER.address }), /names gateway/);
    await assert.rejects(check(s, { chainId: 1 }), /not delegated by the gateway hotkey/);
    await assert.rejects(
      check(s, { paymentEscrow: `0x${'ee'.repeat(20)}` as Address }),
      /not delegated by the gateway hotkey/,
    );
    // A key another account delegated, presented as the hotkey's.
    const foreign = await createReceiptSigner({ engine: chainStack(OTHER).engine }).sign(
      receipt({ gateway: HOTKEY.address }),
      domain,
    );
    await assert.rejects(check(foreign), /not delegated by the gateway hotkey/);
    // The hotkey's delegation with a key swapped in: the delegation no longer matches.
    const other = await createReceiptSigner({ engine }).sign(receipt(), domain);
    await assert.rejects(check({ ...s, key: { ...s.key, key: other.key.key } }), /not delegated/);
  });

  it('an expired delegation is refused, and the signer renews it before it expires', async () => {
    let now = Date.UTC(2026, 11, 7);
    const { engine, calls } = chainStack();
    const signer = createReceiptSigner({ engine, now: () => now });
    const s = await signer.sign(receipt(), domain);
    await assert.rejects(check(s, { at: s.key.expires + 1 }), /expired/);
    now += 86_000_000 - 3_600_000 + 1000;
    const renewed = await signer.sign(receipt(), domain);
    assert.equal(calls.n, 2, 'renewed within the last hour of the delegation');
    assert.ok(renewed.key.expires > s.key.expires);
  });

  it('a failed delegation fails that receipt only; the next one asks again', async () => {
    let fail = true;
    const { engine } = chainStack();
    const flaky = {
      call: (async (m: string, p: never) => {
        if (fail) throw new Error('chain stack restarting');
        return (engine.call as (m: string, p: never) => Promise<unknown>)(m, p);
      }) as never,
    };
    const signer = createReceiptSigner({ engine: flaky });
    await assert.rejects(signer.sign(receipt(), domain), /restarting/);
    fail = false;
    await check(await signer.sign(receipt(), domain));
  });
});
