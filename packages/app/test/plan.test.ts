/**
 * Placement plans: the memory estimate of generated and hand-written GGUF models (figures worked out by
 * hand), and the placement rule: one node, one node's GPUs, layers across nodes with exact counts, no fit
 * (naming the shortfall), and hostile input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  COMPUTE_BASE_BYTES,
  estimateModelMemory,
  type GgufMetadataEntry,
  generateModel,
  type ModelMemoryEstimate,
  membersFromHardware,
  type PlacementMember,
  PlanError,
  planPlacement,
  readGgufHeaderBytes,
  writeGguf,
} from '../src/index.js';

/** A llama GGUF with `blocks` blocks (zero weights), written directly: generate.ts makes 1 or 2 blocks. */
function llamaGguf(
  o: { blocks: number; embd?: number; heads?: number; headsKv?: number; ff?: number; ctx?: number },
  extraTensor?: string,
): Uint8Array {
  const embd = o.embd ?? 32;
  const ff = o.ff ?? 64;
  const vocab = 8;
  const metadata: GgufMetadataEntry[] = [
    { key: 'general.architecture', type: 'string', value: 'llama' },
    { key: 'llama.context_length', type: 'u32', value: o.ctx ?? 8192 },
    { key: 'llama.embedding_length', type: 'u32', value: embd },
    { key: 'llama.block_count', type: 'u32', value: o.blocks },
    { key: 'llama.feed_forward_length', type: 'u32', value: ff },
    { key: 'llama.attention.head_count', type: 'u32', value: o.heads ?? 4 },
    { key: 'llama.attention.head_count_kv', type: 'u32', value: o.headsKv ?? 2 },
    {
      key: 'tokenizer.ggml.tokens',
      type: 'string[]',
      value: Array.from({ length: vocab }, (_, i) => `t${i}`),
    },
  ];
  const shapes: Array<[string, number[]]> = [['token_embd.weight', [embd, vocab]]];
  for (let b = 0; b < o.blocks; b++)
    shapes.push(
      [`blk.${b}.attn_norm.weight`, [embd]],
      [`blk.${b}.attn_q.weight`, [embd, embd]],
      [`blk.${b}.ffn_up.weight`, [embd, ff]],
    );
  shapes.push(['output.weight', [embd, vocab]]);
  if (extraTensor !== undefined) shapes.push([extraTensor, [embd]]);
  return writeGguf({
    metadata,
    tensors: shapes.map(([name, dims]) => ({
      name,
      dims,
      type: 'F32' as const,
      data: new Float32Array(dims.reduce((a, b) => a * b, 1)),
    })),
  });
}

/** A hand-made estimate where layers dominate: 10 layers of 100 bytes, nothing else. */
function flat(layers = 10, perLayer = 100): ModelMemoryEstimate {
  return {
    architecture: 'llama',
    contextLength: 1,
    kvType: 'f16',
    layers,
    weightsBytes: layers * perLayer,
    outputBytes: 0,
    layerWeightsBytes: new Array(layers).fill(perLayer),
    kvBytesPerToken: 0,
    kvBytes: 0,
    computeBufferBytes: 0,
    totalBytes: layers * perLayer,
    bytesPerLayer: perLayer,
  };
}

function planCode(fn: () => unknown, code: string, message?: RegExp): PlanError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PlanError, `not a PlanError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('estimateModelMemory', () => {
  it('sizes the generated random model: weights, KV cache, compute buffer, per layer', () => {
    const header = readGgufHeaderBytes(generateModel({ kind: 'random' }));
    const e = estimateModelMemory(header);
    // embd 64, ff 128, 4 heads (kv 4), 2 blocks, vocab 260, context 512 (the model's own, under 4096).
    const outputElems = 64 * 260 * 2 + 64; // token_embd, output, output_norm
    const blockElems = 64 + 4 * 64 * 64 + 64 + 3 * 64 * 128; // norms, q k v o, gate up down
    assert.equal(e.layers, 2);
    assert.equal(e.contextLength, 512);
    assert.equal(e.outputBytes, outputElems * 4);
    assert.deepEqual(e.layerWeightsBytes, [blockElems * 4, blockElems * 4]);
    assert.equal(e.weightsBytes, (outputElems + 2 * blockElems) * 4);
    assert.equal(e.weightsBytes, header.fileSize - header.dataOffset); // F32 tensors, aligned, back to back
    assert.equal(e.kvBytesPerToken, 2 * 4 * (16 + 16) * 2); // n_layer × kv heads × (k + v dims) × f16
    assert.equal(e.kvBytes, e.kvBytesPerToken * 512);
    assert.equal(e.computeBufferBytes, COMPUTE_BASE_BYTES + 4 * 512 * (260 + 4 * 512 + 4 * 64 + 2 * 128));
    assert.equal(e.totalBytes, e.weightsBytes + e.kvBytes + e.computeBufferBytes);
    assert.equal(e.bytesPerLayer, blockElems * 4 + e.kvBytes / 2);
    const f32 = estimateModelMemory(header, { contextLength: 4096, kvType: 'f32' });
    assert.equal(f32.kvBytes, 2 * 4 * 32 * 4 * 4096);
  });

  it('reads grouped-query attention and caps the default context at 4096', () => {
    const header = readGgufHeaderBytes(llamaGguf({ blocks: 12 }));
    const e = estimateModelMemory(header);
    assert.equal(e.layers, 12);
    assert.equal(e.contextLength, 4096); // the model says 8192
    assert.equal(e.kvBytesPerToken, 12 * 2 * (8 + 8) * 2); // 2 kv heads of 32 / 4 = 8 dims
    assert.equal(estimateModelMemory(header, { contextLength: 100 }).kvBytes, e.kvBytesPerToken * 100);
  });

  it('sizes a tensor of a type it does not know from the layout', () => {
    const header = readGgufHeaderBytes(llamaGguf({ blocks: 1 }));
    const known = estimateModelMemory(header);
    const unknown = header.tensors.map((t) =>
      t.name === 'blk.0.attn_q.weight' ? { ...t, byteSize: undefined, typeName: 'IQ4_XS' } : t,
    );
    assert.equal(estimateModelMemory({ ...header, tensors: unknown }).weightsBytes, known.weightsBytes);
    planCode(
      () => estimateModelMemory({ metadata: header.metadata, tensors: unknown.slice(0, 3) }),
      'PLAN_BAD_MODEL',
    );
  });

  it('refuses models it cannot plan: 0 layers, no architecture, a block beyond block_count', () => {
    planCode(
      () => estimateModelMemory(readGgufHeaderBytes(llamaGguf({ blocks: 0 }))),
      'PLAN_BAD_MODEL',
      /block_count is 0/,
    );
    const header = readGgufHeaderBytes(llamaGguf({ blocks: 2 }));
    const noArch = new Map(header.metadata);
    noArch.delete('general.architecture');
    planCode(() => estimateModelMemory({ ...header, metadata: noArch }), 'PLAN_BAD_MODEL', /architecture/);
    const noEmbd = new Map(header.metadata);
    noEmbd.delete('llama.embedding_length');
    planCode(
      () => estimateModelMemory({ ...header, metadata: noEmbd }),
      'PLAN_BAD_MODEL',
      /embedding_length/,
    );
    planCode(
      () => estimateModelMemory(readGgufHeaderBytes(llamaGguf({ blocks: 2 }, 'blk.7.extra.weight'))),
      'PLAN_BAD_MODEL',
      /block 7 but llama.block_count is 2/,
    );
    planCode(() => estimateModelMemory(header, { contextLength: 0 }), 'PLAN_BAD_OPTIONS');
    planCode(() => estimateModelMemory(header, { contextLength: Number.NaN }), 'PLAN_BAD_OPTIONS');
  });
});

describe('planPlacement', () => {
  const e12 = estimateModelMemory(readGgufHeaderBytes(llamaGguf({ blocks: 12 })));

  it('places a model that fits on the lead on the lead alone', () => {
    const plan = planPlacement(e12, [
      { id: 'lead', freeMemoryBytes: 2 * e12.totalBytes },
      { id: 'big', freeMemoryBytes: 10 * e12.totalBytes },
    ]);
    assert.equal(plan.strategy, 'single-node');
    assert.equal(plan.lead, 'lead');
    assert.deepEqual(plan.members, ['lead']);
    assert.equal(plan.tensorSplit, null);
    assert.deepEqual(
      plan.shares.map((s) => [s.member, s.firstLayer, s.layers, s.bytes]),
      [['lead', 0, 12, e12.totalBytes]],
    );
    assert.match(plan.reasons.join('\n'), /fits on lead \(the lead\): needs .* of .* free/);
  });

  it('moves to the member with most free memory when the lead is too small, and says why', () => {
    const plan = planPlacement(
      flat(),
      [
        { id: 'lead', freeMemoryBytes: 500 },
        { id: 'mid', freeMemoryBytes: 1500 },
        { id: 'big', freeMemoryBytes: 2000 },
      ],
      { safetyMargin: 0 },
    );
    assert.equal(plan.strategy, 'single-node');
    assert.deepEqual(plan.members, ['big']);
    assert.match(plan.reasons.join('\n'), /not on lead alone: its RAM has 500 B free, 500 B short/);
  });

  it('plans on a GPU: one that fits, else a tensor split across one node’s GPUs', () => {
    const gpu = (free: number) => ({ name: 'G', memoryBytes: free, freeMemoryBytes: free });
    const one = planPlacement(flat(), [{ id: 'n', freeMemoryBytes: 0, gpus: [gpu(100), gpu(1000)] }], {
      safetyMargin: 0,
    });
    assert.equal(one.strategy, 'single-node');
    assert.equal(one.shares[0]?.gpu, 1);
    // 10 layers of 100 bytes on GPUs with 600 and 400 free: proportional, 6 + 4; RAM never counted.
    const split = planPlacement(
      flat(),
      [
        { id: 'cpu-only', freeMemoryBytes: 900 },
        { id: 'n', freeMemoryBytes: 10 ** 12, gpus: [gpu(400), gpu(600)] },
      ],
      { safetyMargin: 0 },
    );
    assert.equal(split.strategy, 'tensor-split');
    assert.deepEqual(split.members, ['n']);
    assert.deepEqual(split.tensorSplit, [4, 6]); // by GPU index
    assert.deepEqual(
      split.shares.map((s) => [s.gpu, s.firstLayer, s.layers, s.lead]),
      [
        [1, 0, 6, true],
        [0, 6, 4, false],
      ],
    );
  });

  it('splits layers across the fewest nodes in proportion to free memory, every layer once', () => {
    const plan = planPlacement(
      flat(),
      [
        { id: 'a', freeMemoryBytes: 600 },
        { id: 'b', freeMemoryBytes: 300 },
        { id: 'c', freeMemoryBytes: 100 },
        { id: 'd', freeMemoryBytes: 50 },
      ],
      { safetyMargin: 0 },
    );
    assert.equal(plan.strategy, 'layer-split');
    assert.deepEqual(plan.members, ['a', 'b', 'c']); // a + b hold 9 layers: one more member is needed
    assert.deepEqual(plan.tensorSplit, [6, 3, 1]);
    assert.deepEqual(
      plan.shares.map((s) => [s.member, s.firstLayer, s.layers]),
      [
        ['a', 0, 6],
        ['b', 6, 3],
        ['c', 9, 1],
      ],
    );
    assert.match(plan.reasons.join('\n'), /layer split across 3 members/);
  });

  it('keeps a compute buffer on every member and the output head on the lead (real estimate)', () => {
    const { computeBufferBytes: c, outputBytes: o, bytesPerLayer: p } = e12;
    const plan = planPlacement(
      e12,
      [
        { id: 'small', freeMemoryBytes: c + o + 2 * p },
        { id: 'a', freeMemoryBytes: c + o + 6 * p },
        { id: 'b', freeMemoryBytes: c + 4 * p },
      ],
      { safetyMargin: 0 },
    );
    assert.equal(plan.strategy, 'layer-split');
    // The compute buffers dominate, so the quotas are near 4 each; a holds 6 at most, b 4, small 2.
    assert.deepEqual(plan.members, ['small', 'a', 'b']);
    assert.deepEqual(plan.tensorSplit, [2, 6, 4]);
    for (const s of plan.shares) assert.ok(s.bytes <= s.freeMemoryBytes, `${s.member} overfilled`);
    assert.equal(plan.shares[0]?.bytes, c + o + (plan.shares[0]?.layers ?? 0) * p);
    assert.equal(plan.lead, 'small');
    // The lead is not among the fewest: the largest leads.
    const without = planPlacement(
      e12,
      [
        { id: 'tiny', freeMemoryBytes: 1 },
        { id: 'a', freeMemoryBytes: c + o + 7 * p },
        { id: 'b', freeMemoryBytes: c + 6 * p },
      ],
      { safetyMargin: 0 },
    );
    assert.equal(without.lead, 'a');
    assert.deepEqual(without.members, ['a', 'b']);
  });

  it('is deterministic', () => {
    const members: PlacementMember[] = [
      { id: 'x', freeMemoryBytes: 500 },
      { id: 'y', freeMemoryBytes: 500 },
      { id: 'z', freeMemoryBytes: 501 },
    ];
    const a = planPlacement(flat(), members);
    assert.deepEqual(planPlacement(flat(), members), a);
    assert.equal(
      a.tensorSplit?.reduce((x, y) => x + y, 0),
      10,
    );
  });

  it('names the shortfall when no combination fits', () => {
    const err = planCode(
      () =>
        planPlacement(
          flat(),
          [
            { id: 'a', freeMemoryBytes: 300 },
            { id: 'b', freeMemoryBytes: 200 },
          ],
          { safetyMargin: 0 },
        ),
      'PLAN_DOES_NOT_FIT',
      /all 2 members together have 500 B free but it needs about 1000 B .*: 500 B missing/,
    );
    assert.deepEqual(err.meta, { neededBytes: 1000, availableBytes: 500, missingBytes: 500 });
    const margin = planCode(
      () => planPlacement(flat(), [{ id: 'a', freeMemoryBytes: 1000 }]),
      'PLAN_DOES_NOT_FIT',
      /a has 1000 B free but it needs about 1\.1 KiB .*: 100 B missing/,
    );
    assert.equal(margin.meta?.missingBytes, 100);
  });

  it('counts a compute buffer on every GPU when a node with GPUs cannot hold the model', () => {
    const estimate = { ...flat(), computeBufferBytes: 500, totalBytes: 1500 };
    const err = planCode(
      () =>
        planPlacement(
          estimate,
          [
            {
              id: 'box',
              freeMemoryBytes: 10 ** 9,
              gpus: [{ freeMemoryBytes: 800 }, { freeMemoryBytes: 800 }],
            },
          ],
          { safetyMargin: 0 },
        ),
      'PLAN_DOES_NOT_FIT',
      /box has 1\.6 KiB free but it needs about 2\.0 KiB .*each of 2 devices.*: 400 B missing/,
    );
    assert.deepEqual(err.meta, { neededBytes: 2000, availableBytes: 1600, missingBytes: 400 });
  });

  it('refuses hostile input with named errors', () => {
    planCode(() => planPlacement(flat(), []), 'PLAN_NO_MEMBERS');
    planCode(() => planPlacement(flat(), undefined as never), 'PLAN_NO_MEMBERS');
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, 1.5, '5' as never])
      planCode(
        () => planPlacement(flat(), [{ id: 'a', freeMemoryBytes: bad }]),
        'PLAN_BAD_MEMBER',
        /freeMemoryBytes of member a/,
      );
    planCode(
      () =>
        planPlacement(flat(), [
          { id: 'a', freeMemoryBytes: 1 },
          { id: 'a', freeMemoryBytes: 2 },
        ]),
      'PLAN_BAD_MEMBER',
      /named twice/,
    );
    planCode(() => planPlacement(flat(), [{ id: '', freeMemoryBytes: 1 }]), 'PLAN_BAD_MEMBER');
    planCode(
      () => planPlacement(flat(), [{ id: 'a', freeMemoryBytes: 1, gpus: [{ freeMemoryBytes: -5 }] }]),
      'PLAN_BAD_MEMBER',
      /gpus\[0\]\.freeMemoryBytes/,
    );
    planCode(
      () => planPlacement(flat(), [{ id: 'a', freeMemoryBytes: 1, gpus: [null as never] }]),
      'PLAN_BAD_MEMBER',
    );
    planCode(
      () =>
        planPlacement(flat(), [
          { id: 'a', freeMemoryBytes: 1, gpus: Array(17).fill({ freeMemoryBytes: 1 }) },
        ]),
      'PLAN_BAD_MEMBER',
    );
    const many = Array.from({ length: 257 }, (_, i) => ({ id: `m${i}`, freeMemoryBytes: 1 }));
    planCode(() => planPlacement(flat(), many), 'PLAN_BAD_MEMBER');
    planCode(() => planPlacement(flat(0), [{ id: 'a', freeMemoryBytes: 1 }]), 'PLAN_BAD_MODEL', /0 layers/);
    planCode(
      () => planPlacement({ ...flat(), totalBytes: Number.NaN }, [{ id: 'a', freeMemoryBytes: 1 }]),
      'PLAN_BAD_MODEL',
    );
    planCode(
      () => planPlacement(flat(), [{ id: 'a', freeMemoryBytes: 1 }], { safetyMargin: 2 }),
      'PLAN_BAD_OPTIONS',
    );
  });

  it('takes members from reported hardware, skipping nodes that do not say their free memory', () => {
    const { members, skipped } = membersFromHardware([
      { id: 'self', hardware: { cpus: 2, memoryBytes: 10, freeMemoryBytes: 5, gpu: null, gpus: [] } },
      { id: 'old', hardware: { cpus: 2, memoryBytes: 10, gpu: null } },
      { id: 'silent', hardware: null },
    ]);
    assert.deepEqual(members, [{ id: 'self', freeMemoryBytes: 5, gpus: [] }]);
    assert.equal(skipped.length, 2);
    assert.match(skipped[0] ?? '', /^old: .*older node/);
  });
});
