/**
 * The Merkle tree of synapse receipts: SHA-256 with commutative (sorted) pair hashing, so a proof is a
 * plain list of sibling hashes and verifies exactly like OpenZeppelin's `MerkleProof.verify` with
 * `sha256` in place of `keccak256` (an EVM contract checks it through the SHA-256 precompile at 0x02).
 * A level with an odd node promotes it unchanged. Pure: no I/O, no state.
 */
import { createHash, type Hash, hash } from 'node:crypto';
import type { Address, Hex } from 'viem';

const EMPTY = Buffer.alloc(0);

function fromHex(hex: string): Buffer {
  return Buffer.from(hex.startsWith('0x') ? hex.slice(2) : hex, 'hex');
}

function toHex(buf: Uint8Array): Hex {
  return `0x${Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('hex')}`;
}

/** SHA-256 of bytes (or of a string's UTF-8 bytes), 0x-hex. */
export function sha256Hex(data: Uint8Array | string): Hex {
  return `0x${hash('sha256', data, 'hex')}`;
}

/** The hash of a pair, order-independent: sha256(min(a, b) ‖ max(a, b)). */
function hashPair(a: Buffer, b: Buffer): Buffer {
  const pair = Buffer.compare(a, b) <= 0 ? Buffer.concat([a, b], 64) : Buffer.concat([b, a], 64);
  return hash('sha256', pair, 'buffer');
}

/** Every level of the tree, leaves first, root last. */
function levels(leaves: readonly Hex[]): Buffer[][] {
  if (leaves.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const out: Buffer[][] = [leaves.map(fromHex)];
  let level = out[0] as Buffer[];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i] as Buffer;
      const b = level[i + 1];
      next.push(b === undefined ? a : hashPair(a, b));
    }
    out.push(next);
    level = next;
  }
  return out;
}

/** The root of the tree over `leaves` (32-byte hashes, 0x-hex), in their order. */
export function merkleRoot(leaves: readonly Hex[]): Hex {
  const all = levels(leaves);
  return toHex((all[all.length - 1] as Buffer[])[0] as Buffer);
}

/** The root and every leaf's proof (sibling hashes from the leaf up), index for index. */
export function merkleProofs(leaves: readonly Hex[]): { root: Hex; proofs: Hex[][] } {
  const all = levels(leaves);
  const proofs: Hex[][] = leaves.map(() => []);
  for (let leaf = 0; leaf < leaves.length; leaf++) {
    let index = leaf;
    for (let depth = 0; depth < all.length - 1; depth++) {
      const level = all[depth] as Buffer[];
      const sibling = level[index ^ 1];
      if (sibling !== undefined) (proofs[leaf] as Hex[]).push(toHex(sibling));
      index >>= 1;
    }
  }
  return { root: toHex((all[all.length - 1] as Buffer[])[0] as Buffer), proofs };
}

/** True when `proof` leads from `leaf` to `root` (OpenZeppelin `MerkleProof.verify` semantics, SHA-256). */
export function verifyProof(leaf: Hex, proof: readonly Hex[], root: Hex): boolean {
  let node = fromHex(leaf);
  for (const sibling of proof) node = hashPair(node, fromHex(sibling));
  return toHex(node) === root.toLowerCase();
}

/**
 * The leaf of one synapse: sha256(utf8(requestId) ‖ requestHash ‖ responseHash ‖ validator), with the
 * hashes as 32 raw bytes and the validator's hotkey address as 20 raw bytes.
 */
export function receiptLeaf(requestId: string, requestHash: Hex, responseHash: Hex, validator: Address): Hex {
  const idLen = Buffer.byteLength(requestId);
  const buf = Buffer.alloc(idLen + 84);
  buf.write(requestId, 0, 'utf8');
  buf.write(requestHash.slice(2), idLen, 32, 'hex');
  buf.write(responseHash.slice(2), idLen + 32, 32, 'hex');
  buf.write(validator.slice(2), idLen + 64, 20, 'hex');
  return `0x${hash('sha256', buf, 'hex')}`;
}

/** sha256 of the empty string: the response hash of a response with no events. */
export const EMPTY_RESPONSE_HASH: Hex = sha256Hex(EMPTY);

/**
 * SHA-256 over a sequence of frames (a response's event frames), cheap for the common one-frame response:
 * a single frame is hashed in one shot, more go through an incremental hash.
 */
export class FrameHash {
  #first: string | Uint8Array | null = null;
  #hash: Hash | null = null;

  update(frame: string | Uint8Array): void {
    if (this.#hash !== null) this.#hash.update(frame);
    else if (this.#first === null) this.#first = frame;
    else {
      this.#hash = createHash('sha256').update(this.#first).update(frame);
      this.#first = null;
    }
  }

  /** The hash, 0x-hex (of the empty string when nothing was added). */
  digest(): Hex {
    if (this.#hash !== null) return `0x${this.#hash.digest('hex')}`;
    if (this.#first !== null) return sha256Hex(this.#first);
    return EMPTY_RESPONSE_HASH;
  }
}
