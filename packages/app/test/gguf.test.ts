import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  generateModel,
  ModelErrorCode,
  readGgufHeader,
  readGgufHeaderBytes,
  validateLlamaGguf,
  writeGguf,
} from '../src/index.js';

function small(): Uint8Array {
  return writeGguf({
    metadata: [
      { key: 'general.architecture', type: 'string', value: 'test' },
      { key: 'general.alignment', type: 'u32', value: 32 },
      { key: 'a.i32', type: 'i32', value: -7 },
      { key: 'a.f32', type: 'f32', value: 1.5 },
      { key: 'a.bool', type: 'bool', value: true },
      { key: 'a.u64', type: 'u64', value: 2n ** 60n },
      { key: 'a.strs', type: 'string[]', value: ['x', 'héllo', ''] },
      { key: 'a.f32s', type: 'f32[]', value: [0.5, -2] },
      { key: 'a.i32s', type: 'i32[]', value: [1, -1, 3] },
    ],
    tensors: [
      { name: 't0', dims: [3], type: 'F32', data: new Float32Array([1, 2, 3]) },
      { name: 't1', dims: [2, 2], type: 'F32', data: new Float32Array([4, 5, 6, 7]) },
    ],
  });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.equal((err as Error).name, 'ModelError', String(err));
    return (err as { code: string }).code;
  }
}

describe('GGUF writer and reader', () => {
  it('round-trips metadata and tensor infos, with aligned tensor data', () => {
    const bytes = small();
    const h = readGgufHeaderBytes(bytes);
    assert.equal(h.version, 3);
    assert.equal(h.metadata.get('general.architecture')?.value, 'test');
    assert.equal(h.metadata.get('a.i32')?.value, -7);
    assert.equal(h.metadata.get('a.f32')?.value, 1.5);
    assert.equal(h.metadata.get('a.bool')?.value, true);
    assert.equal(h.metadata.get('a.u64')?.value, 2n ** 60n);
    assert.deepEqual(h.metadata.get('a.strs')?.value, ['x', 'héllo', '']);
    assert.deepEqual(h.metadata.get('a.f32s')?.value, [0.5, -2]);
    assert.deepEqual(h.metadata.get('a.i32s')?.value, [1, -1, 3]);
    assert.equal(h.dataOffset % 32, 0);
    assert.deepEqual(
      h.tensors.map((t) => [t.name, t.dims, t.typeName, t.offset, t.byteSize]),
      [
        ['t0', [3], 'F32', 0, 12],
        ['t1', [2, 2], 'F32', 32, 16],
      ],
    );
    const t1 = h.tensors[1];
    assert.ok(t1 !== undefined);
    const data = new Float32Array(
      bytes.slice(h.dataOffset + t1.offset, h.dataOffset + t1.offset + 16).buffer,
    );
    assert.deepEqual([...data], [4, 5, 6, 7]);
  });

  it('refuses every truncated prefix with TRUNCATED', () => {
    const bytes = small();
    for (let n = 0; n < bytes.length; n++) {
      assert.equal(
        codeOf(() => readGgufHeaderBytes(bytes.subarray(0, n))),
        ModelErrorCode.TRUNCATED,
        `prefix ${n}`,
      );
    }
  });

  it('refuses a bad magic, version, lengths and types with the right code', () => {
    const patch = (at: number, write: (v: DataView) => void): Uint8Array => {
      const b = small().slice();
      write(new DataView(b.buffer, at));
      return b;
    };
    assert.equal(
      codeOf(() => readGgufHeaderBytes(patch(0, (v) => v.setUint8(0, 0x47 ^ 1)))),
      ModelErrorCode.BAD_MAGIC,
    );
    assert.equal(
      codeOf(() => readGgufHeaderBytes(patch(4, (v) => v.setUint32(0, 4, true)))),
      ModelErrorCode.UNSUPPORTED_VERSION,
    );
    assert.equal(
      codeOf(() => readGgufHeaderBytes(patch(8, (v) => v.setBigUint64(0, 2n ** 62n, true)))),
      ModelErrorCode.MALFORMED,
    );
    assert.equal(
      codeOf(() => readGgufHeaderBytes(patch(16, (v) => v.setBigUint64(0, 2n ** 40n, true)))),
      ModelErrorCode.MALFORMED,
    );
    // First key's length (at 24): huge → MALFORMED; just past the end → TRUNCATED.
    assert.equal(
      codeOf(() => readGgufHeaderBytes(patch(24, (v) => v.setBigUint64(0, 2n ** 63n, true)))),
      ModelErrorCode.MALFORMED,
    );
    assert.equal(
      codeOf(() => readGgufHeaderBytes(patch(24, (v) => v.setBigUint64(0, 5000n, true)))),
      ModelErrorCode.TRUNCATED,
    );
    // First value's type (after the 20-byte key "general.architecture"): unknown → MALFORMED.
    assert.equal(
      codeOf(() => readGgufHeaderBytes(patch(24 + 8 + 20, (v) => v.setUint32(0, 99, true)))),
      ModelErrorCode.MALFORMED,
    );
    // A header larger than maxMetadataBytes.
    assert.equal(
      codeOf(() => readGgufHeaderBytes(small(), { maxMetadataBytes: 64 })),
      ModelErrorCode.MALFORMED,
    );
    // Random corruption never crashes: every outcome is a ModelError or a parse.
    const base = small();
    for (let i = 0; i < base.length; i += 3) {
      const b = base.slice();
      b[i] = (b[i] ?? 0) ^ 0xff;
      codeOf(() => readGgufHeaderBytes(b));
    }
  });

  it('validates the llama keys and flags a missing head_count', async () => {
    const bytes = generateModel({ kind: 'random', seed: 3 });
    const h = await readGgufHeader(bytes);
    validateLlamaGguf(h);
    h.metadata.delete('llama.attention.head_count');
    assert.throws(() => validateLlamaGguf(h), { code: ModelErrorCode.MISSING_KEY, message: /head_count/ });
    const h2 = readGgufHeaderBytes(bytes);
    h2.metadata.delete('llama.feed_forward_length');
    assert.throws(() => validateLlamaGguf(h2), {
      code: ModelErrorCode.MISSING_KEY,
      message: /feed_forward_length/,
    });
    const bigram = readGgufHeaderBytes(generateModel({ kind: 'bigram', corpus: 'the cat sat on the mat' }));
    validateLlamaGguf(bigram);
    assert.deepEqual(bigram.tensors.find((t) => t.name === 'token_embd.weight')?.dims, [264, 260]);
  });
});
