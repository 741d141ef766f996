/**
 * The app stack's handlers on an in-process Engine API server with generated llama.cpp models:
 * capabilities, streaming generation, embeddings, scoring (raw prompts and chats), hot swap, unknown models,
 * overload and cancel.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigSchema } from '@subnet/config';
import {
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  EngineError,
} from '@subnet/engine-api';
import { silentLogger } from '@subnet/utils';
import { Registry } from 'prom-client';
import { type AppService, appApi, createAppHandlers, generateModel } from '../src/index.js';
import { startFakeOllama } from './fixtures/ollamaServer.js';

const CORPUS = 'quick-brown '.repeat(50);
/** A corpus whose bytes have several successors, so the logprobs of a greedy answer differ token to token. */
const FOX = 'the quick brown fox jumps over the lazy dog. '.repeat(40);

async function expectCode(p: Promise<unknown>, name: string): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `not an EngineError: ${String(err)}`);
    assert.equal(err.code, name, err.message);
    return err;
  }
  assert.fail(`expected ${name}`);
}

function setup(dir: string, scheduler: { concurrency: number; queueCapacity: number }) {
  const opts = ConfigSchema.parse({
    app: {
      models: [{ id: 'bigram', backend: 'llama.cpp', path: join(dir, 'bigram.gguf'), contextLength: 256 }],
      scheduler,
    },
  }).app;
  const registry = new Registry();
  const app = createAppHandlers(opts, {
    logger: silentLogger(),
    registry,
    detectGpu: async () => null,
    detectGpus: async () => [],
  });
  const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 16 });
  server.register(appApi, app.handlers);
  const client = createEngineClient(appApi, createInProcessTransport(server));
  return { app, client, registry };
}

describe('app stack', { timeout: 120_000 }, () => {
  let dir: string;
  let app: AppService;
  let client: ReturnType<typeof setup>['client'];
  let registry: Registry;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-appstack-'));
    writeFileSync(join(dir, 'bigram.gguf'), generateModel({ kind: 'bigram', corpus: CORPUS }));
    writeFileSync(join(dir, 'second.gguf'), generateModel({ kind: 'bigram', corpus: CORPUS }));
    writeFileSync(join(dir, 'fox.gguf'), generateModel({ kind: 'bigram', corpus: FOX }));
    ({ app, client, registry } = setup(dir, { concurrency: 2, queueCapacity: 4 }));
    await app.start(new AbortController().signal);
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports capabilities and models', async () => {
    const caps = await client.call('app_getCapabilitiesV1', {});
    assert.equal(caps.models.length, 1);
    assert.deepEqual(caps.models[0], {
      id: 'bigram',
      backend: 'llama.cpp',
      taskTypes: ['chat', 'completion', 'embedding'],
      contextLength: 256,
      modelType: 'llm',
      features: ['json_object', 'json_schema'],
    });
    assert.ok(caps.hardware.cpus > 0);
    assert.equal(caps.hardware.gpu, null);
    assert.deepEqual(caps.hardware.gpus, []);
    assert.ok((caps.hardware.freeMemoryBytes ?? 0) > 0);
    assert.deepEqual((await client.call('app_listModelsV1', {})).models, caps.models);
  });

  it('streams a generation ending with finishReason and usage, and counts tokens', async () => {
    const events = [];
    for await (const ev of await client.stream('app_generateV1', {
      model: 'bigram',
      kind: 'completion',
      prompt: 'quick',
      maxTokens: 6,
    }))
      events.push(ev);
    const done = events.at(-1);
    assert.ok(done?.type === 'done');
    assert.equal(done.finishReason, 'length');
    assert.equal(done.usage.completionTokens, 6);
    assert.ok(done.usage.promptTokens > 0);
    assert.ok(events.slice(0, -1).every((e) => e.type === 'token'));
    const text = await registry.metrics();
    assert.match(text, /app_tokens_total\{model="bigram"\} [1-9]/);
    assert.match(text, /app_time_to_first_token_seconds_count\{model="bigram"\} [1-9]/);
  });

  it('embeds and scores', async () => {
    const e = await client.call('app_embedV1', { model: 'bigram', input: ['quick', 'brown'] });
    assert.equal(e.embeddings.length, 2);
    assert.ok((e.embeddings[0]?.length ?? 0) > 0);
    const s = await client.call('app_scoreV1', { model: 'bigram', prompt: 'quick', continuation: '-brown' });
    assert.ok(s.tokens.length > 0);
    assert.ok(s.sumLogprob <= 0);
  });

  it('scores the end of generation and counts tokens over the Engine API', async () => {
    const s = await client.call('app_scoreV1', {
      model: 'bigram',
      prompt: 'quick',
      continuation: '-brown',
      eos: true,
    });
    assert.ok(s.eos !== undefined && s.eos !== null);
    assert.ok(s.eos.logprob < s.eos.topLogprob && s.eos.topLogprob <= 0);
    const plain = await client.call('app_scoreV1', { model: 'bigram', prompt: 'quick', continuation: '-b' });
    assert.equal(plain.eos, undefined);
    const { counts } = await client.call('app_tokenizeV1', { model: 'bigram', texts: ['quick', ''] });
    assert.deepEqual(counts, [5, 0]);
    await expectCode(client.call('app_tokenizeV1', { model: 'nope', texts: ['x'] }), 'UNKNOWN_MODEL');
    await expectCode(client.call('app_tokenizeV1', { model: 'bigram', texts: [] }), 'INVALID_PARAMS');
  });

  it('scores a chat answer after the chat template, token for token as app_generateV1 generated it', async () => {
    await client.call('app_loadModelV1', {
      id: 'fox',
      backend: 'llama.cpp',
      path: join(dir, 'fox.gguf'),
      contextLength: 256,
    });
    try {
      const messages = [
        { role: 'system' as const, content: 'answer briefly' },
        { role: 'user' as const, content: 'the lazy dog' },
      ];
      const events = [];
      for await (const ev of await client.stream('app_generateV1', {
        model: 'fox',
        kind: 'chat',
        messages,
        maxTokens: 24,
        logprobs: true,
        topLogprobs: 1,
      }))
        events.push(ev);
      const done = events.at(-1);
      assert.ok(done?.type === 'done');
      assert.equal(done.finishReason, 'length');
      const generated = events.filter((e) => e.type === 'token');
      // The generated vocabulary is one token per byte: one event per generated token.
      assert.equal(generated.length, 24);
      const text = generated.map((e) => e.text).join('');
      const s = await client.call('app_scoreV1', {
        model: 'fox',
        messages,
        continuation: text,
        topLogprobs: 1,
        eos: true,
      });
      assert.equal(s.tokens.length, generated.length);
      s.tokens.forEach((t, i) => {
        const g = generated[i];
        assert.equal(t.token, g?.text, `token ${i}`);
        assert.equal(t.topLogprobs?.[0]?.token, t.token, `token ${i} is the argmax`);
        assert.ok(
          g?.logprob !== undefined && Math.abs(t.logprob - g.logprob) < 1e-3,
          `token ${i}: ${t.logprob}`,
        );
      });
      // Greedy logprobs are the raw distribution's: they vary with the context (the test can fail).
      assert.ok(new Set(s.tokens.map((t) => t.logprob.toFixed(6))).size > 1);
      assert.ok(s.eos !== undefined && s.eos !== null && s.eos.logprob < s.eos.topLogprob);
      // The same text after the user's words as a raw prompt is a different context: the template counts.
      const raw = await client.call('app_scoreV1', {
        model: 'fox',
        prompt: 'the lazy dog',
        continuation: text,
      });
      assert.ok(Math.abs(raw.sumLogprob - s.sumLogprob) > 1e-3);
      // An answer the model would not write scores lower, token by token and in sum.
      const odd = await client.call('app_scoreV1', {
        model: 'fox',
        messages,
        continuation: 'dog. lazy fox brown quick',
        topLogprobs: 1,
      });
      assert.ok(odd.sumLogprob < s.sumLogprob);
      assert.ok(odd.tokens.some((t) => t.topLogprobs?.[0]?.token !== t.token));
    } finally {
      await client.call('app_unloadModelV1', { id: 'fox' });
    }
  });

  it('takes exactly one of prompt and messages in app_scoreV1', async () => {
    const messages = [{ role: 'user' as const, content: 'quick' }];
    const both = await expectCode(
      client.call('app_scoreV1', { model: 'bigram', prompt: 'quick', messages, continuation: '-b' }),
      'INVALID_PARAMS',
    );
    assert.match(both.message, /exactly one of prompt .* and messages/);
    await expectCode(client.call('app_scoreV1', { model: 'bigram', continuation: '-b' }), 'INVALID_PARAMS');
    await expectCode(
      client.call('app_scoreV1', { model: 'bigram', messages: [], continuation: '-b' }),
      'INVALID_PARAMS',
    );
    const ok = await client.call('app_scoreV1', { model: 'bigram', messages, continuation: 'quick' });
    assert.equal(ok.tokens.length, 5);
  });

  it('answers UNKNOWN_MODEL for a model not loaded', async () => {
    await expectCode(client.call('app_embedV1', { model: 'nope', input: ['x'] }), 'UNKNOWN_MODEL');
    await expectCode(client.call('app_unloadModelV1', { id: 'nope' }), 'UNKNOWN_MODEL');
    await expectCode(
      (async () => {
        for await (const _ of await client.stream('app_generateV1', {
          model: 'nope',
          kind: 'completion',
          prompt: 'x',
        }));
      })(),
      'UNKNOWN_MODEL',
    );
    assert.match(await registry.metrics(), /app_errors_total\{code="UNKNOWN_MODEL"\} [1-9]/);
  });

  it('hot swaps: loads and unloads a second model while a stream on the first runs', async () => {
    const stream = await client.stream('app_generateV1', {
      model: 'bigram',
      kind: 'completion',
      prompt: 'quick',
      maxTokens: 64,
    });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    const loaded = await client.call('app_loadModelV1', {
      id: 'second',
      backend: 'llama.cpp',
      path: join(dir, 'second.gguf'),
      contextLength: 128,
    });
    assert.equal(loaded.replaced, false);
    assert.ok(loaded.model.contextLength >= 128);
    const e = await client.call('app_embedV1', { model: 'second', input: ['x'] });
    assert.equal(e.embeddings.length, 1);
    assert.deepEqual(await client.call('app_unloadModelV1', { id: 'second' }), { unloaded: true });
    await expectCode(client.call('app_embedV1', { model: 'second', input: ['x'] }), 'UNKNOWN_MODEL');
    let last: unknown;
    for (let r = await it.next(); r.done !== true; r = await it.next()) last = r.value;
    assert.deepEqual((last as { type: string }).type, 'done');
    assert.deepEqual(
      (await client.call('app_listModelsV1', {})).models.map((m) => m.id),
      ['bigram'],
    );
  });

  it('cancel: a consumer that breaks out aborts the job and frees the slot', async () => {
    for await (const ev of await client.stream('app_generateV1', {
      model: 'bigram',
      kind: 'completion',
      prompt: 'quick',
      maxTokens: 2000,
    })) {
      assert.equal(ev.type, 'token');
      break;
    }
    for (let i = 0; i < 100; i++) {
      const stats = (await client.call('app_getStatsV1', {})).models.bigram;
      if (stats?.running === 0 && stats.cancelled >= 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const stats = await client.call('app_getStatsV1', {});
    assert.equal(stats.models.bigram?.running, 0);
    assert.equal(stats.models.bigram?.queued, 0);
    assert.ok((stats.models.bigram?.cancelled ?? 0) >= 1);
    assert.ok(stats.process.rssBytes > 0);
  });
});

describe('app stack overload', { timeout: 120_000 }, () => {
  let dir: string;
  let app: AppService;
  let client: ReturnType<typeof setup>['client'];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-appstack-'));
    writeFileSync(join(dir, 'bigram.gguf'), generateModel({ kind: 'bigram', corpus: CORPUS }));
    ({ app, client } = setup(dir, { concurrency: 1, queueCapacity: 1 }));
    await app.start(new AbortController().signal);
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers OVERLOADED with retryAfterMs beyond concurrency + queue', async () => {
    const score = () =>
      client.call('app_scoreV1', { model: 'bigram', prompt: 'quick', continuation: '-brown '.repeat(20) });
    const results = await Promise.allSettled([score(), score(), score(), score()]);
    const rejected = results.filter((r) => r.status === 'rejected');
    assert.ok(rejected.length >= 2, `expected at least 2 rejections, got ${rejected.length}`);
    for (const r of rejected) {
      const err = r.reason as EngineError;
      assert.equal(err.code, 'OVERLOADED', err.message);
      const data = err.data as { retryAfterMs: number };
      assert.ok(data.retryAfterMs > 0);
    }
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
  });
});

describe('app stack with a configured use model', { timeout: 120_000 }, () => {
  it('serves embeddings from the packaged Universal Sentence Encoder and rejects bad use entries', async () => {
    const opts = ConfigSchema.parse({ app: { models: [{ id: 'use-embed', backend: 'use' }] } }).app;
    const app = createAppHandlers(opts, {
      logger: silentLogger(),
      registry: new Registry(),
      detectGpu: async () => null,
    });
    const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 16 });
    server.register(appApi, app.handlers);
    const client = createEngineClient(appApi, createInProcessTransport(server));
    try {
      await app.start(new AbortController().signal);
      assert.deepEqual((await client.call('app_listModelsV1', {})).models, [
        {
          id: 'use-embed',
          backend: 'use',
          taskTypes: ['embedding'],
          contextLength: 8192,
          modelType: 'embedding',
          features: [],
        },
      ]);
      const { embeddings, usage } = await client.call('app_embedV1', {
        model: 'use-embed',
        input: ['the cat sat on the mat', 'a kitten rests on a rug'],
      });
      assert.equal(embeddings.length, 2);
      for (const v of embeddings) {
        assert.equal(v.length, 512);
        assert.ok(v.every(Number.isFinite));
      }
      assert.ok(usage.promptTokens > 0);
      // Counted with the embedder's own tokenizer, the one embeddings are billed with.
      const { counts } = await client.call('app_tokenizeV1', {
        model: 'use-embed',
        texts: ['the cat sat on the mat', 'a kitten rests on a rug', ''],
      });
      assert.equal(counts.length, 3);
      assert.equal((counts[0] ?? 0) + (counts[1] ?? 0), usage.promptTokens);
      assert.equal(counts[2], 0);
      await expectCode(
        (async () => {
          for await (const _ of await client.stream('app_generateV1', {
            model: 'use-embed',
            kind: 'completion',
            prompt: 'hello',
          }));
        })(),
        'UNSUPPORTED_TASK',
      );
    } finally {
      await app.close();
    }
    assert.equal(
      ConfigSchema.safeParse({ app: { models: [{ id: 'u', backend: 'use', path: '/x.gguf' }] } }).success,
      false,
    );
  });
});

describe('app stack with an HTTP backend', { timeout: 30_000 }, () => {
  it('answers UNSUPPORTED_TASK to app_tokenizeV1 and app_scoreV1 (prompt or messages): no local weights', async () => {
    const fake = await startFakeOllama(['echo']);
    const opts = ConfigSchema.parse({
      app: { models: [{ id: 'echo', backend: 'ollama', baseUrl: fake.url, model: 'echo' }] },
    }).app;
    const app = createAppHandlers(opts, {
      logger: silentLogger(),
      registry: new Registry(),
      detectGpu: async () => null,
    });
    const server = createEngineServer({ streamDeadlineMs: 60_000, maxStreams: 16 });
    server.register(appApi, app.handlers);
    const client = createEngineClient(appApi, createInProcessTransport(server));
    try {
      await app.start(new AbortController().signal);
      assert.equal((await client.call('app_listModelsV1', {})).models.length, 1);
      await expectCode(
        client.call('app_tokenizeV1', { model: 'echo', texts: ['hello'] }),
        'UNSUPPORTED_TASK',
      );
      const s = await expectCode(
        client.call('app_scoreV1', { model: 'echo', prompt: 'a', continuation: 'b', eos: true }),
        'UNSUPPORTED_TASK',
      );
      assert.match(s.message, /local weights/);
      const chat = await expectCode(
        client.call('app_scoreV1', {
          model: 'echo',
          messages: [{ role: 'user', content: 'a' }],
          continuation: 'b',
        }),
        'UNSUPPORTED_TASK',
      );
      assert.match(chat.message, /local weights/);
    } finally {
      await app.close();
      await fake.close();
    }
  });
});
