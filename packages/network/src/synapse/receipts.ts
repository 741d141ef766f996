/**
 * Synapse receipts: the miner's signed acknowledgement of what it returned to whom. The miner side
 * ({@link ReceiptBatcher}) collects the leaves of finished requests per validator stream and signs one
 * Merkle root per batch (a secp256k1 signature costs ~0.3 ms, a recovery ~2.5 ms, so one per request
 * would dominate the hot path). The validator side ({@link ReceiptStore}) holds its own hashes of each
 * request until the receipt arrives, then keeps it only if the leaf, the proof and the signature all
 * check out. {@link verifyReceipt} lets anyone else (consensus, a dispute) check a receipt alone.
 * Never trusts a receipt's claims without recomputing them from the verifier's own bytes.
 */
import { ReceiptSchema } from '@subnet/engine-api';
import { type Address, type Hex, recoverMessageAddress } from 'viem';
import type { z } from 'zod';
import { NetworkError, NetworkErrorCode } from '../errors.js';
import type { NetworkMetrics } from '../metrics.js';
import { merkleProofs, receiptLeaf, verifyProof } from './merkle.js';
import { type ReceiptFrame, receiptMessage } from './protocol.js';

/** A verified receipt: the `network_getReceiptV1` result shape. */
export type Receipt = z.output<typeof ReceiptSchema>;

/** What signs receipt roots: a viem `LocalAccount` (the hotkey) fits. */
export interface ReceiptSigner {
  readonly address: Address;
  signMessage(args: { message: { raw: Hex } }): Promise<Hex>;
}

/** The receipt limits of the `network.synapse` config slice. */
export interface ReceiptBatcherOpts {
  receiptBatchSize: number;
  receiptIntervalMs: number;
}

export interface ReceiptBatcherModules {
  signer: ReceiptSigner;
  /** Sends one `rcpt` frame (JSON text) to the validator. */
  send: (json: string) => void;
  metrics?: NetworkMetrics | undefined;
  /** Told when signing fails (the batch is dropped). */
  onError?: ((err: unknown) => void) | undefined;
}

/**
 * Batches the leaves of one validator's finished requests (miner side): signs when `receiptBatchSize`
 * leaves are pending or `receiptIntervalMs` after the first pending leaf, whichever comes first.
 */
export class ReceiptBatcher {
  readonly #opts: ReceiptBatcherOpts;
  readonly #modules: ReceiptBatcherModules;
  #ids: string[] = [];
  #leaves: Hex[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: ReceiptBatcherOpts, modules: ReceiptBatcherModules) {
    this.#opts = opts;
    this.#modules = modules;
  }

  /** Pending leaves. */
  get size(): number {
    return this.#ids.length;
  }

  /** Adds a finished request's leaf (see {@link receiptLeaf}). */
  add(requestId: string, leaf: Hex): void {
    if (this.#closed) return;
    this.#ids.push(requestId);
    this.#leaves.push(leaf);
    if (this.#ids.length >= this.#opts.receiptBatchSize) void this.flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#opts.receiptIntervalMs);
      this.#timer.unref();
    }
  }

  /** Signs and sends the pending batch now (no-op when empty); resolves once it is sent. Never rejects. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#ids.length === 0 || this.#closed) return Promise.resolve();
    const ids = this.#ids;
    const leaves = this.#leaves;
    this.#ids = [];
    this.#leaves = [];
    return this.#sign(ids, leaves);
  }

  /** Drops the pending batch and stops batching (the stream is gone). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#ids = [];
    this.#leaves = [];
  }

  async #sign(ids: string[], leaves: Hex[]): Promise<void> {
    try {
      const { root, proofs } = merkleProofs(leaves);
      const sig = (
        await this.#modules.signer.signMessage({ message: { raw: receiptMessage(root) } })
      ).toLowerCase();
      if (this.#closed) return;
      let items = '';
      for (let i = 0; i < ids.length; i++) {
        items += `${i === 0 ? '' : ','}{"id":"${ids[i]}","proof":${JSON.stringify(proofs[i])}}`;
      }
      this.#modules.send(
        `{"t":"rcpt","root":"${root}","sig":"${sig}","at":${Date.now()},"items":[${items}]}`,
      );
      this.#modules.metrics?.receipts.inc({ side: 'server', outcome: 'signed' });
    } catch (err) {
      this.#modules.metrics?.receipts.inc({ side: 'server', outcome: 'failed' });
      this.#modules.onError?.(err);
    }
  }
}

/** The hashes a validator keeps for a request until its receipt arrives. */
export interface PendingReceipt {
  requestId: string;
  /** Hotkey address of the miner (from its peer id). */
  miner: Address;
  /** Hotkey address of this validator. */
  validator: Address;
  requestHash: Hex;
  responseHash: Hex;
}

export interface ReceiptStoreOpts {
  /** Requests remembered (pending or receipted); the oldest are forgotten first. Default 100 000. */
  capacity?: number;
}

export interface ReceiptStoreModules {
  metrics?: NetworkMetrics | undefined;
}

/** The validator's receipts, by request id. */
export interface ReceiptStore {
  /** Requests remembered (pending and receipted). */
  readonly size: number;
  /** Records a finished request's own hashes; its receipt is pending until {@link accept} matches it. */
  expect(pending: PendingReceipt): void;
  /**
   * Checks a receipt batch from `miner` against the pending requests it names and keeps the valid ones.
   * Returns how many were kept. Invalid ones are counted and dropped (their requests stay pending).
   */
  accept(frame: ReceiptFrame, miner: Address): Promise<number>;
  /** The receipt of a request; throws RECEIPT_PENDING or RECEIPT_NOT_FOUND. */
  get(requestId: string): Receipt;
}

/** A bounded in-memory {@link ReceiptStore}. */
export function createReceiptStore(
  opts: ReceiptStoreOpts = {},
  modules: ReceiptStoreModules = {},
): ReceiptStore {
  const capacity = opts.capacity ?? 100_000;
  const entries = new Map<string, PendingReceipt | Receipt>();
  const count = (outcome: string, n = 1) => {
    if (n > 0) modules.metrics?.receipts.inc({ side: 'client', outcome }, n);
  };
  return {
    get size() {
      return entries.size;
    },
    expect(pending) {
      entries.delete(pending.requestId);
      entries.set(pending.requestId, pending);
      if (entries.size > capacity) {
        const oldest = entries.keys().next();
        if (oldest.done !== true) entries.delete(oldest.value);
      }
    },
    async accept(frame, miner) {
      const who = miner.toLowerCase() as Address;
      const matched: { pending: PendingReceipt; proof: Hex[] }[] = [];
      let unmatched = 0;
      for (const item of frame.items) {
        const e = entries.get(item.id);
        if (e === undefined || 'root' in e || e.miner !== who) unmatched++;
        else matched.push({ pending: e, proof: item.proof as Hex[] });
      }
      count('unmatched', unmatched);
      if (matched.length === 0) return 0;
      const root = frame.root as Hex;
      let signer: string | null = null;
      try {
        signer = (await recoverReceiptSigner(root, frame.sig as Hex)).toLowerCase();
      } catch {
        signer = null;
      }
      if (signer !== who) {
        count('invalid', matched.length);
        return 0;
      }
      const leaves = matched.map(({ pending: p }) =>
        receiptLeaf(p.requestId, p.requestHash, p.responseHash, p.validator),
      );
      // The usual case: the batch is exactly this validator's requests, in order. Rebuilding the tree from
      // our own leaves costs one hash per item (checking each proof costs log2(n)); its proofs are the
      // miner's proofs whenever its root is the signed one.
      let proofs: Hex[][] | null = null;
      if (unmatched === 0) {
        const rebuilt = merkleProofs(leaves);
        if (rebuilt.root === root) proofs = rebuilt.proofs;
      }
      let kept = 0;
      for (let i = 0; i < matched.length; i++) {
        const { pending, proof } = matched[i] as (typeof matched)[number];
        const valid =
          proofs !== null ? sameProof(proofs[i] as Hex[], proof) : verifyProof(leaves[i] as Hex, proof, root);
        // A later entry (or eviction) may have replaced it while the signature was being recovered.
        if (entries.get(pending.requestId) !== pending || !valid) {
          count('invalid');
          continue;
        }
        entries.set(pending.requestId, {
          ...pending,
          root,
          proof,
          signature: frame.sig as Hex,
          signedAt: frame.at,
        });
        kept++;
      }
      count('valid', kept);
      return kept;
    },
    get(requestId) {
      const e = entries.get(requestId);
      if (e === undefined) {
        throw new NetworkError(
          NetworkErrorCode.RECEIPT_NOT_FOUND,
          `no receipt is held for request ${requestId}: it was never sent from this node, failed, or was evicted`,
        );
      }
      if (!('root' in e)) {
        throw new NetworkError(
          NetworkErrorCode.RECEIPT_PENDING,
          `the receipt for request ${requestId} is not in yet (miners sign in batches); retry shortly`,
        );
      }
      return e;
    },
  };
}

function sameProof(a: readonly Hex[], b: readonly Hex[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The address that signed a receipt root (EIP-191 over {@link receiptMessage}). */
export function recoverReceiptSigner(root: Hex, signature: Hex): Promise<Address> {
  return recoverMessageAddress({ message: { raw: receiptMessage(root) }, signature });
}

/**
 * Checks a receipt on its own: the leaf rebuilt from its hashes and addresses, the proof up to the root,
 * and the root's signature by `miner`. For third parties (consensus, disputes); never throws.
 */
export async function verifyReceipt(receipt: Receipt): Promise<boolean> {
  const parsed = ReceiptSchema.safeParse(receipt);
  if (!parsed.success) return false;
  const r = parsed.data;
  try {
    const leaf = receiptLeaf(
      r.requestId,
      r.requestHash as Hex,
      r.responseHash as Hex,
      r.validator as Address,
    );
    if (!verifyProof(leaf, r.proof as Hex[], r.root as Hex)) return false;
    const signer = await recoverReceiptSigner(r.root as Hex, r.signature as Hex);
    return signer.toLowerCase() === r.miner.toLowerCase();
  } catch {
    return false;
  }
}
