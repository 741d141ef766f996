/**
 * Signs usage receipts in the gateway, off the Engine API: an ed25519 key made in memory at start, delegated
 * by the node's hotkey for a day at a time (`chain_signReceiptKeyV1`, EIP-712 `ReceiptKey`), signs each
 * receipt's EIP-712 digest (`@subnet/contracts` `usageReceiptDigest`, the typed data's digest
 * computed fast). A secp256k1 signature by the hotkey
 * per request cost about a millisecond of CPU, as much as relaying the request (`npm run bench:gateway`); an
 * ed25519 signature in Node's native crypto costs a few dozen microseconds, and the hotkey never leaves the
 * chain stack. A client checks a receipt with `verifyUsageReceipt`. The key is never written anywhere: a
 * restart makes a new one.
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { type SignedUsageReceipt, type UsageReceipt, usageReceiptDigest } from '@subnet/contracts';
import type { EngineApi, EngineClient } from '@subnet/engine-api';
import { type Address, type Hex, hexToBytes, toHex } from 'viem';

/** How long a delegation is asked for (the chain stack's most is a day). */
const DELEGATION_S = 86_000;
/** A delegation is renewed this long before it expires. */
const RENEW_BEFORE_S = 3_600;

export interface ReceiptSigner {
  /** The signed receipt (the header's JSON) of `receipt` in the escrow's receipt domain on `chainId`. */
  sign(
    receipt: UsageReceipt,
    domain: { chainId: number; paymentEscrow: Address },
  ): Promise<SignedUsageReceipt>;
}

export function createReceiptSigner(modules: {
  engine: Pick<EngineClient<EngineApi>, 'call'>;
  now?: () => number;
}): ReceiptSigner {
  const now = modules.now ?? Date.now;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // The raw 32-byte key is the last 32 bytes of its SubjectPublicKeyInfo DER.
  const raw = toHex(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  let delegation: Promise<SignedUsageReceipt['key']> | undefined;
  let expires = 0;

  function delegated(): Promise<SignedUsageReceipt['key']> {
    const nowS = Math.floor(now() / 1000);
    if (delegation === undefined || nowS >= expires - RENEW_BEFORE_S) {
      const until = nowS + DELEGATION_S;
      delegation = modules.engine.call('chain_signReceiptKeyV1', { key: raw, expires: until }).then((d) => {
        expires = d.expires;
        return { key: d.key as Hex, expires: d.expires, signature: d.signature as Hex };
      });
      // A failed delegation is asked again on the next receipt.
      delegation.catch(() => {
        delegation = undefined;
      });
      expires = until;
    }
    return delegation;
  }

  return {
    async sign(receipt, domain) {
      const key = await delegated();
      const digest = usageReceiptDigest({ ...domain, receipt });
      const signature = toHex(sign(null, hexToBytes(digest), privateKey as KeyObject));
      return {
        receipt: {
          ...receipt,
          priceBlock: Number(receipt.priceBlock),
          cost: receipt.cost.toString(),
          cumulative: receipt.cumulative.toString(),
        },
        signature,
        key,
      };
    },
  };
}
