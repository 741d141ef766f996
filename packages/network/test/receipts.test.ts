/**
 * Receipts are checked against the hotkey of the miner the validator talked to: a batch signed by any other
 * key is refused and counted, and a kept receipt carries that miner's address (the `network_getReceiptV1`
 * result). Real secp256k1 signatures, the real batcher and store; no network.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { NetworkError, NetworkErrorCode } from '../src/errors.js';
import { type NetworkMetrics, networkMetrics } from '../src/metrics.js';
import { receiptLeaf } from '../src/synapse/merkle.js';
import { type ReceiptFrame, ReceiptFrameSchema } from '../src/synapse/protocol.js';
import {
  createReceiptStore,
  ReceiptBatcher,
  type ReceiptSigner,
  verifyReceipt,
} from '../src/synapse/receipts.js';

const account = () => privateKeyToAccount(`0x${randomBytes(32).toString('hex')}`);
const hash = (): Hex => `0x${randomBytes(32).toString('hex')}`;

async function receiptsCounted(metrics: NetworkMetrics, outcome: string): Promise<number> {
  const { values } = await metrics.receipts.get();
  return values
    .filter((v) => v.labels.side === 'client' && v.labels.outcome === outcome)
    .reduce((sum, v) => sum + v.value, 0);
}

/** Signs one batch over `requests` with `signer` (the miner side) and returns the frame the validator reads. */
async function signBatch(
  signer: ReceiptSigner,
  validator: Address,
  requests: readonly { requestId: string; requestHash: Hex; responseHash: Hex }[],
): Promise<ReceiptFrame> {
  const sent: string[] = [];
  const batcher = new ReceiptBatcher(
    { receiptBatchSize: 1000, receiptIntervalMs: 60_000 },
    { signer, send: (json) => sent.push(json) },
  );
  for (const r of requests)
    batcher.add(r.requestId, receiptLeaf(r.requestId, r.requestHash, r.responseHash, validator));
  await batcher.flush();
  batcher.close();
  assert.equal(sent.length, 1);
  return ReceiptFrameSchema.parse(JSON.parse(sent[0] as string));
}

describe('receipts are the talked-to miner’s', () => {
  it('refuses and counts a batch signed by another key; keeps the miner’s own, carrying its address', async () => {
    const metrics = networkMetrics(new Registry());
    const store = createReceiptStore({}, { metrics });
    const [miner, other, validator] = [account(), account(), account()];
    const minerAddress = miner.address.toLowerCase() as Address;
    const requests = Array.from({ length: 3 }, (_, i) => ({
      requestId: `req-${i}`,
      requestHash: hash(),
      responseHash: hash(),
    }));
    for (const r of requests) store.expect({ ...r, miner: minerAddress, validator: validator.address });

    // Another key signs the miner's requests (a peer relaying someone else's work, or a forged batch).
    const forged = await signBatch(other, validator.address, requests);
    assert.equal(await store.accept(forged, minerAddress), 0);
    assert.equal(await receiptsCounted(metrics, 'invalid'), 3);
    for (const r of requests) {
      assert.throws(
        () => store.get(r.requestId),
        (e: unknown) => e instanceof NetworkError && e.code === NetworkErrorCode.RECEIPT_PENDING,
      );
    }
    // The same batch presented as coming from its signer: the requests went to another miner, none match.
    assert.equal(await store.accept(forged, other.address), 0);
    assert.equal(await receiptsCounted(metrics, 'unmatched'), 3);

    // The miner's own signature over the same requests is kept, with the miner's address on each receipt.
    const own = await signBatch(miner, validator.address, requests);
    assert.equal(await store.accept(own, miner.address), 3);
    assert.equal(await receiptsCounted(metrics, 'valid'), 3);
    for (const r of requests) {
      const receipt = store.get(r.requestId);
      assert.equal(receipt.miner, minerAddress);
      assert.equal(receipt.validator, validator.address);
      assert.equal(await verifyReceipt(receipt), true);
      // A third party checking it against another miner's address refuses it.
      assert.equal(await verifyReceipt({ ...receipt, miner: other.address }), false);
    }
  });
});
