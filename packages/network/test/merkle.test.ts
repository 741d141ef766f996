import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Hex } from 'viem';
import {
  EMPTY_RESPONSE_HASH,
  encodeFrame,
  FrameDecoder,
  merkleProofs,
  merkleRoot,
  OversizedFrameError,
  receiptLeaf,
  sha256Hex,
  verifyProof,
} from '../src/synapse/index.js';

const leaf = (i: number) => sha256Hex(`leaf ${i}`);
const h = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const b = (hex: Hex) => Buffer.from(hex.slice(2), 'hex');
/** OpenZeppelin's commutative pair hash, with SHA-256. */
const pair = (x: Buffer, y: Buffer) => (Buffer.compare(x, y) <= 0 ? h(x, y) : h(y, x));

describe('receipt Merkle tree', () => {
  it('a single leaf is its own root with an empty proof', () => {
    assert.equal(merkleRoot([leaf(0)]), leaf(0));
    assert.deepEqual(merkleProofs([leaf(0)]).proofs, [[]]);
    assert.equal(verifyProof(leaf(0), [], leaf(0)), true);
  });

  it('matches a by-hand tree of three leaves (sorted pairs, odd node promoted)', () => {
    const [a, c, d] = [leaf(0), leaf(1), leaf(2)].map(b) as [Buffer, Buffer, Buffer];
    const expected = `0x${pair(pair(a, c), d).toString('hex')}`;
    assert.equal(merkleRoot([leaf(0), leaf(1), leaf(2)]), expected);
    const { proofs } = merkleProofs([leaf(0), leaf(1), leaf(2)]);
    assert.deepEqual(proofs[2], [`0x${pair(a, c).toString('hex')}`]);
  });

  it('every proof verifies for trees of 1 to 33 leaves, and tampering fails', () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leaf(i));
      const { root, proofs } = merkleProofs(leaves);
      assert.equal(root, merkleRoot(leaves));
      leaves.forEach((l, i) => {
        const proof = proofs[i] as Hex[];
        assert.ok(proof.length <= Math.ceil(Math.log2(n)));
        assert.equal(verifyProof(l, proof, root), true, `n=${n} i=${i}`);
        assert.equal(verifyProof(leaf(1000), proof, root), false);
        if (proof.length > 0) assert.equal(verifyProof(l, proof.slice(1), root), false);
      });
    }
  });

  it('refuses an empty tree', () => {
    assert.throws(() => merkleRoot([]), RangeError);
  });

  it('the leaf binds request id, both hashes and the validator', () => {
    const v = '0x00000000000000000000000000000000000000aa';
    const l = receiptLeaf('abc', sha256Hex('q'), EMPTY_RESPONSE_HASH, v);
    const expected = h(Buffer.from('abc'), b(sha256Hex('q')), b(EMPTY_RESPONSE_HASH), b(v));
    assert.equal(l, `0x${expected.toString('hex')}`);
    assert.equal(EMPTY_RESPONSE_HASH, '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.notEqual(receiptLeaf('abd', sha256Hex('q'), EMPTY_RESPONSE_HASH, v), l);
  });
});

describe('frame decoder', () => {
  const frames = ['{"a":1}', '{"b":"é"}', '', JSON.stringify({ big: 'x'.repeat(5000) })];
  const wire = Buffer.concat(frames.map(encodeFrame));

  it('reassembles frames from any split of the bytes', () => {
    for (const size of [1, 2, 3, 4, 5, 7, 64, 1000, wire.length]) {
      const d = new FrameDecoder({ maxFrameBytes: 1 << 20 });
      const out: string[] = [];
      for (let i = 0; i < wire.length; i += size) {
        for (const f of d.push(wire.subarray(i, i + size))) out.push(f.toString());
      }
      assert.deepEqual(out, frames, `chunks of ${size}`);
      assert.equal(d.buffered, 0);
    }
  });

  it('accepts a list of chunks (Uint8ArrayList-like)', () => {
    const d = new FrameDecoder({ maxFrameBytes: 1 << 20 });
    const list = [wire.subarray(0, 10), wire.subarray(10, 11), wire.subarray(11)];
    const chunk = Object.assign(Object.create(null), { [Symbol.iterator]: () => list[Symbol.iterator]() });
    assert.deepEqual(
      d.push(chunk).map((f) => f.toString()),
      frames,
    );
  });

  it('throws on a declared length over the limit, before buffering, and stays failed', () => {
    const d = new FrameDecoder({ maxFrameBytes: 100 });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(101);
    assert.throws(() => d.push(header), OversizedFrameError);
    assert.equal(d.buffered, 0);
    assert.throws(() => d.push(encodeFrame('{}')), { declared: 101, limit: 100 });
  });
});
