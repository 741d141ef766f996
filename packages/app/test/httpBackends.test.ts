import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@subnet/utils';
import {
  AppError,
  AppErrorCode,
  collect,
  createOllamaModule,
  createOpenAiModule,
  type GenerateRequestInput,
  GenerateRequestSchema,
  type InferenceModule,
} from '../src/index.js';
import { fakeEmbedding, startFakeOllama } from './fixtures/ollamaServer.js';
import { startFakeOpenAi } from './fixtures/openaiServer.js';

interface Fake {
  url: string;
  knobs: { delayMs: number; failStatus?: number; malformed: boolean; llamaIds?: { badId?: boolean } };
  requests: Array<{ path: string; body: Record<string, unknown> }>;
  disconnects: number;
  nextDisconnect(): Promise<void>;
  close(): Promise<void>;
}

const signal = () => AbortSignal.timeout(5000);
const req = (r: GenerateRequestInput) => GenerateRequestSchema.parse(r);
const chat = (content: string, extra: Partial<GenerateRequestInput> = {}) =>
  req({ model: 'echo', kind: 'chat', messages: [{ role: 'user', content }], ...extra });

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

async function deadPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

const backends = [
  {
    name: 'ollama',
    start: () => startFakeOllama(['echo', 'nomic-embed']) as Promise<Fake>,
    create: (baseUrl: string) => createOllamaModule({ baseUrl, timeoutMs: 2000 }, { logger: silentLogger() }),
    chatPath: '/api/chat',
    completionPath: '/api/generate',
    mapped: (b: Record<string, unknown>) => {
      const o = b.options as Record<string, unknown>;
      return {
        maxTokens: o.num_predict,
        stop: o.stop,
        temperature: o.temperature,
        topP: o.top_p,
        seed: o.seed,
      };
    },
  },
  {
    name: 'openai',
    start: () => startFakeOpenAi(['echo', 'nomic-embed']) as Promise<Fake>,
    create: (baseUrl: string) =>
      createOpenAiModule(
        { baseUrl: `${baseUrl}/v1`, apiKey: 'sk-test', timeoutMs: 2000 },
        { logger: silentLogger() },
      ),
    chatPath: '/v1/chat/completions',
    completionPath: '/v1/completions',
    mapped: (b: Record<string, unknown>) => ({
      maxTokens: b.max_tokens,
      stop: b.stop,
      temperature: b.temperature,
      topP: b.top_p,
      seed: b.seed,
    }),
  },
] as const;

for (const backend of backends) {
  describe(`${backend.name} backend over HTTP`, { timeout: 10_000 }, () => {
    let fake: Fake;
    let mod: InferenceModule;

    before(async () => {
      fake = await backend.start();
      mod = backend.create(fake.url);
      await mod.init({ signal: signal() });
    });
    after(async () => {
      await mod.close();
      await mod.close(); // idempotent
      await fake.close();
    });

    it('lists models and capabilities', async () => {
      const caps = mod.capabilities();
      assert.equal(caps.backend, backend.name);
      assert.deepEqual(
        caps.models.map((m) => m.id),
        ['echo', 'nomic-embed'],
      );
      const echo = caps.models[0];
      assert.ok(echo?.taskTypes.includes('chat'));
      assert.ok((echo?.contextLength ?? 0) >= 4096);
      if (backend.name === 'ollama') assert.deepEqual(caps.models[1]?.taskTypes, ['embedding']);
      assert.deepEqual(await mod.health({ signal: signal() }), { ok: true });
    });

    it('streams a chat: tokens in order, then done with usage', async () => {
      const events = [];
      for await (const ev of mod.generate(chat('hello brave new world'), { signal: signal() }))
        events.push(ev);
      assert.deepEqual(
        events.map((e) => (e.type === 'token' ? e.text : e.type)),
        ['hello ', 'brave ', 'new ', 'world ', 'done'],
      );
      assert.deepEqual(events.at(-1), {
        type: 'done',
        finishReason: 'stop',
        usage: { promptTokens: 5, completionTokens: 4 },
      });
      const sent = fake.requests.at(-1);
      assert.equal(sent?.path, backend.chatPath);
      assert.equal(sent?.body.stream, true);
    });

    it('runs a completion', async () => {
      const out = await collect(
        mod.generate(req({ model: 'echo', kind: 'completion', prompt: 'one two three' }), {
          signal: signal(),
        }),
      );
      assert.equal(out.text, 'one two three ');
      assert.equal(out.done.usage.completionTokens, 3);
      assert.equal(fake.requests.at(-1)?.path, backend.completionPath);
      if (backend.name === 'ollama') assert.equal(fake.requests.at(-1)?.body.raw, true);
    });

    it('embeds, one vector per input in order', async () => {
      const out = await mod.embed({ model: 'nomic-embed', input: ['a b', 'c d e'] }, { signal: signal() });
      assert.deepEqual(out.embeddings, [fakeEmbedding('a b'), fakeEmbedding('c d e')]);
      assert.equal(out.usage.promptTokens, 5);
    });

    it("passes a structured output format through in the backend's own field, and advertises it", async () => {
      const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
      const formats = [
        { type: 'json_object' },
        { type: 'json_schema', name: 'thing', schema, strict: true },
      ] as const;
      for (const [i, f] of formats.entries()) {
        await collect(mod.generate(chat('a b', { responseFormat: f }), { signal: signal() }));
        const body = fake.requests.at(-1)?.body as Record<string, unknown>;
        if (backend.name === 'ollama') assert.deepEqual(body.format, i === 0 ? 'json' : schema);
        else
          assert.deepEqual(
            body.response_format,
            i === 0
              ? { type: 'json_object' }
              : { type: 'json_schema', json_schema: { name: 'thing', schema, strict: true } },
          );
      }
      await collect(mod.generate(chat('a b', {}), { signal: signal() }));
      const plain = fake.requests.at(-1)?.body as Record<string, unknown>;
      assert.equal(plain.format, undefined);
      assert.equal(plain.response_format, undefined);
      const echo = mod.capabilities().models.find((m) => m.id === 'echo');
      assert.deepEqual(echo?.features, ['json_object', 'json_schema']);
    });

    it('maps maxTokens, stop, temperature, topP and seed', async () => {
      const a = await collect(
        mod.generate(chat('a b c d e f', { maxTokens: 2, temperature: 0.5, topP: 0.9, seed: 7 }), {
          signal: signal(),
        }),
      );
      assert.equal(a.text, 'a b ');
      assert.equal(a.done.finishReason, 'length');
      const sent = backend.mapped(fake.requests.at(-1)?.body ?? {});
      assert.deepEqual(sent, { maxTokens: 2, stop: undefined, temperature: 0.5, topP: 0.9, seed: 7 });
      const b = await collect(mod.generate(chat('a b STOP c', { stop: ['STOP'] }), { signal: signal() }));
      assert.equal(b.text, 'a b ');
      assert.equal(b.done.finishReason, 'stop');
      assert.deepEqual(backend.mapped(fake.requests.at(-1)?.body ?? {}).stop, ['STOP']);
    });

    it('passes logprobs through', async () => {
      const out = await collect(
        mod.generate(chat('x y', { logprobs: true, topLogprobs: 2 }), { signal: signal() }),
      );
      assert.equal(out.tokens.length, 2);
      for (const t of out.tokens) {
        assert.equal(typeof t.logprob, 'number');
        assert.equal(t.topLogprobs?.length, 2);
        assert.equal(t.topLogprobs?.[0]?.token, t.text);
      }
      if (backend.name === 'openai') {
        assert.deepEqual(
          out.tokens.map((t) => t.logprob),
          [-0.25, -0.5],
        );
        const c = await collect(
          mod.generate(
            req({ model: 'echo', kind: 'completion', prompt: 'p q', logprobs: true, topLogprobs: 1 }),
            {
              signal: signal(),
            },
          ),
        );
        assert.equal(fake.requests.at(-1)?.body.logprobs, 1);
        assert.deepEqual(c.tokens[1]?.topLogprobs, [{ token: 'q ', logprob: -0.5 }]);
        assert.equal(out.tokens[0]?.ids, undefined, 'OpenAI sends no token ids');
        // llama.cpp's server names each token's id: passed through (audits compare ids); a bad one is dropped.
        fake.knobs.llamaIds = { badId: true };
        try {
          const l = await collect(
            mod.generate(chat('x y', { logprobs: true, topLogprobs: 1 }), { signal: signal() }),
          );
          assert.deepEqual(
            l.tokens.map((t) => t.ids),
            [undefined, [101]],
          );
        } finally {
          delete fake.knobs.llamaIds;
        }
      }
    });

    it('cancels mid-stream: the server sees the disconnect, the stream ends promptly', async () => {
      fake.knobs.delayMs = 200;
      try {
        const ctl = new AbortController();
        const disconnected = fake.nextDisconnect();
        const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
        const seen: string[] = [];
        await rejectsWith(
          (async () => {
            for await (const ev of mod.generate(chat(words), { signal: ctl.signal })) {
              if (ev.type === 'token') seen.push(ev.text);
              if (seen.length === 1) ctl.abort();
            }
          })(),
          AppErrorCode.CANCELLED,
        );
        assert.deepEqual(seen, ['w0 ']);
        await disconnected;
        assert.ok(fake.disconnects >= 1);
      } finally {
        fake.knobs.delayMs = 0;
      }
    });

    it('breaking out of the stream also drops the request', async () => {
      fake.knobs.delayMs = 100;
      try {
        const disconnected = fake.nextDisconnect();
        for await (const ev of mod.generate(chat('a b c d e f g h'), { signal: signal() })) {
          assert.equal(ev.type, 'token');
          break;
        }
        await disconnected;
      } finally {
        fake.knobs.delayMs = 0;
      }
    });

    it('unknown model → UNKNOWN_MODEL', async () => {
      await rejectsWith(
        collect(mod.generate(chat('hi', { model: 'nope' }), { signal: signal() })),
        AppErrorCode.UNKNOWN_MODEL,
      );
      await rejectsWith(
        mod.embed({ model: 'nope', input: ['x'] }, { signal: signal() }),
        AppErrorCode.UNKNOWN_MODEL,
      );
    });

    it('malformed stream → BACKEND_FAILED', async () => {
      fake.knobs.malformed = true;
      try {
        await rejectsWith(
          collect(mod.generate(chat('a b c'), { signal: signal() })),
          AppErrorCode.BACKEND_FAILED,
        );
      } finally {
        fake.knobs.malformed = false;
      }
    });

    it('maps error statuses', async () => {
      const cases: Array<[number, string]> = [
        [400, AppErrorCode.INVALID_REQUEST],
        [429, AppErrorCode.OVERLOADED],
        [500, AppErrorCode.BACKEND_FAILED],
      ];
      if (backend.name === 'openai') cases.push([401, AppErrorCode.BACKEND_UNAVAILABLE]);
      try {
        for (const [status, code] of cases) {
          fake.knobs.failStatus = status;
          const err = await rejectsWith(collect(mod.generate(chat('a'), { signal: signal() })), code);
          if (backend.name === 'openai' && status === 429) assert.equal(err.meta?.retryAfterMs, 2000);
        }
      } finally {
        delete fake.knobs.failStatus;
      }
    });

    it('server down → BACKEND_UNAVAILABLE', async () => {
      const down = backend.create(await deadPort());
      try {
        await rejectsWith(down.init({ signal: signal() }), AppErrorCode.BACKEND_UNAVAILABLE);
        await rejectsWith(
          collect(down.generate(chat('a'), { signal: signal() })),
          AppErrorCode.BACKEND_UNAVAILABLE,
        );
        assert.equal((await down.health({ signal: signal() })).ok, false);
      } finally {
        await down.close();
      }
    });
  });
}

describe('openai backend auth', () => {
  it('sends the API key as a bearer token', async () => {
    const fake = await startFakeOpenAi(['echo']);
    const mod = createOpenAiModule(
      { baseUrl: fake.url, apiKey: 'sk-abc', timeoutMs: 2000 },
      { logger: silentLogger() },
    );
    try {
      await mod.init({ signal: signal() });
      assert.equal(fake.requests[0]?.authorization, 'Bearer sk-abc');
      assert.equal(fake.requests[0]?.path, '/v1/models');
    } finally {
      await mod.close();
      await fake.close();
    }
  });
});
