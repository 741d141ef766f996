/**
 * The OpenAI-compatible front door against the official `openai` client: chat and completions (whole and
 * streamed, with usage and logprobs), embeddings (float and the client's default base64), models, and every
 * error the way OpenAI reports it (status, envelope, the client's error class), over a deterministic
 * in-test Router, KeyAuthority and Limiter. Also: deadlines and client aborts reach the router's signal,
 * body limits, and a server that survives hostile input.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { Registry } from 'prom-client';
import { GatewayError, GatewayErrorCode } from '../src/errors.js';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
import type {
  EmbedParams,
  EmbedResult,
  GenerateEvent,
  GenerateParams,
  KeyAuthority,
  KeyRecord,
  LimitDecision,
  Limiter,
  RouteContext,
  Router,
  UsageSink,
} from '../src/types.js';

const MODEL = 'test-model';
const EMBED_MODEL = 'test-embed';
const TOKENS = ['Hello', ',', ' world', '!', ' How', ' are', ' you', '?'];
const FULL_TEXT = TOKENS.join('');
const PROMPT_TOKENS = 11;
const DIMS = 4;
const MAX_BODY = 64 * 1024;

type Mode = 'ok' | 'fail-before' | 'fail-after' | 'hang' | 'no-miner' | 'no-done';

/** Yields TOKENS with logprobs, honours maxTokens and stop, and fails or hangs when told to. */
class TestRouter implements Router {
  mode: Mode = 'ok';
  last: { params: GenerateParams | EmbedParams; ctx: RouteContext } | undefined;
  private onAbort: (() => void) | undefined;
  /** Resolves once the signal of the request in progress aborts. */
  aborted: Promise<unknown> = Promise.resolve();

  async *generate(params: GenerateParams, ctx: RouteContext): AsyncIterable<GenerateEvent> {
    this.track(params, ctx);
    if (params.model !== MODEL)
      throw new GatewayError(GatewayErrorCode.MODEL_NOT_FOUND, `The model '${params.model}' does not exist.`);
    if (this.mode === 'no-miner')
      throw new GatewayError(GatewayErrorCode.NO_MINER, 'No miner serves this model now; retry shortly.');
    if (this.mode === 'fail-before')
      throw new GatewayError(GatewayErrorCode.UPSTREAM_FAILED, 'every miner failed');
    const max = params.maxTokens ?? 128;
    const top = params.topLogprobs ?? 0;
    let n = 0;
    for (const [i, text] of TOKENS.entries()) {
      if (n >= max) {
        yield {
          type: 'done',
          finishReason: 'length',
          usage: { promptTokens: PROMPT_TOKENS, completionTokens: n },
        };
        return;
      }
      if (params.stop?.some((s) => text.includes(s)) === true) break;
      if (i === 2 && this.mode === 'fail-after')
        throw new GatewayError(GatewayErrorCode.UPSTREAM_FAILED, 'the miner went away mid-answer');
      if (i === 2 && this.mode === 'hang') await this.hang(ctx.signal);
      n++;
      const ev: GenerateEvent = { type: 'token', text };
      if (params.logprobs === true) {
        ev.logprob = -0.5 * (i + 1);
        ev.topLogprobs = [
          { token: text, logprob: -0.5 * (i + 1) },
          { token: 'é', logprob: -7 },
          { token: '_', logprob: -9 },
        ].slice(0, top);
      }
      yield ev;
    }
    if (this.mode === 'no-done') return;
    yield { type: 'done', finishReason: 'stop', usage: { promptTokens: PROMPT_TOKENS, completionTokens: n } };
  }

  /** The whole generation (the real router fails over at any point here; this one just collects). */
  async complete(params: GenerateParams, ctx: RouteContext): Promise<GenerateEvent[]> {
    const events: GenerateEvent[] = [];
    for await (const ev of this.generate(params, ctx)) events.push(ev);
    return events;
  }

  async embed(params: EmbedParams, ctx: RouteContext): Promise<EmbedResult> {
    this.track(params, ctx);
    if (params.model !== EMBED_MODEL)
      throw new GatewayError(GatewayErrorCode.MODEL_NOT_FOUND, `The model '${params.model}' does not exist.`);
    return {
      embeddings: params.input.map((s, i) => [s.length, i, 0.25, -1.5].slice(0, DIMS)),
      usage: { promptTokens: params.input.length * 3 },
    };
  }

  async models(): Promise<{ id: string; miners: number }[]> {
    return [
      { id: MODEL, miners: 2 },
      { id: EMBED_MODEL, miners: 1 },
      { id: 'org/with-slash', miners: 1 },
    ];
  }

  private track(params: GenerateParams | EmbedParams, ctx: RouteContext): void {
    this.last = { params, ctx };
    this.aborted = new Promise((resolve) => {
      if (ctx.signal.aborted) resolve(ctx.signal.reason);
      ctx.signal.addEventListener('abort', () => resolve(ctx.signal.reason), { once: true });
    });
  }

  private hang(signal: AbortSignal): Promise<never> {
    return new Promise((_, reject) => {
      this.onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', this.onAbort, { once: true });
    });
  }
}

const KEYS: Record<string, KeyRecord> = {
  'sk-good': { id: 'k1', name: 'good', requestsPerMinute: 1000, tokensPerMinute: 1_000_000 },
  'sk-limited': { id: 'k2', name: 'limited', requestsPerMinute: 1, tokensPerMinute: 10 },
  'sk-revoked': { id: 'k3', name: 'revoked', requestsPerMinute: 1000, tokensPerMinute: 1_000_000 },
};
const revoked = new Set(['sk-revoked']);
const keys: KeyAuthority = {
  authenticate: (secret) => (revoked.has(secret) ? undefined : KEYS[secret]),
};

class TestLimiter implements Limiter {
  admitted: { key: string; tokens: number }[] = [];
  settled: { key: string; estimated: number; actual: number }[] = [];
  admit(key: KeyRecord, tokens: number): LimitDecision {
    if (key.id === 'k2') return { ok: false, retryAfterS: 6.2, reason: 'tokens' };
    this.admitted.push({ key: key.id, tokens });
    return { ok: true };
  }
  settle(key: KeyRecord, estimated: number, actual: number): void {
    this.settled.push({ key: key.id, estimated, actual });
  }
}

class TestUsage implements UsageSink {
  records: { keyId: string; promptTokens: number; completionTokens: number; ok: boolean }[] = [];
  rejections: string[] = [];
  record(keyId: string, u: { promptTokens: number; completionTokens: number; ok: boolean }): void {
    this.records.push({ keyId, ...u });
  }
  rejected(keyId: string): void {
    this.rejections.push(keyId);
  }
}

const router = new TestRouter();

/** The generation params the router saw last. */
function lastParams(): GenerateParams {
  assert.ok(router.last !== undefined);
  return router.last.params as GenerateParams;
}

const limiter = new TestLimiter();
const usage = new TestUsage();
const registry = new Registry();
let front: OpenAiServer;
let client: OpenAI;

function clientWith(apiKey: string, url = front.url): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
}

before(async () => {
  front = await createOpenAiServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: MAX_BODY, requestTimeoutMs: 5000 },
    { router, keys, limiter, usage, registry },
  );
  client = clientWith('sk-good');
});

after(async () => {
  await front.close();
});

/** Awaits a rejection of the client and returns the error, asserting its class and status. */
async function rejects<E extends Error>(
  p: Promise<unknown>,
  cls: abstract new (...a: never[]) => E,
): Promise<E> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${cls.name}`);
}

async function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${front.url}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-good', 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(5000),
  });
}

interface SocketResult {
  status: number;
  body: string;
  written: number;
}

/**
 * Sends a request head, then body chunks until answered; resolves once the server hung up (so a server that
 * waits for the rest of the body fails the test by timing out).
 */
function rawSocketRequest(head: string, next: () => string | undefined): Promise<SocketResult> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(new URL(front.url).port), '127.0.0.1');
    let received = '';
    let written = 0;
    let answered = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer; got ${JSON.stringify(received.slice(0, 200))}`));
    }, 5000);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      received += d;
      answered ||= received.includes('\r\n\r\n');
    });
    socket.on('error', () => {}); // EPIPE / ECONNRESET once the server hung up on the rest of the body
    socket.on('close', () => {
      clearTimeout(timer);
      const end = received.indexOf('\r\n\r\n');
      resolve({
        status: Number(received.split(' ', 2)[1]),
        body: received.slice(end + 4),
        written,
      });
    });
    socket.write(head);
    const pump = (): void => {
      while (!answered && !socket.destroyed) {
        const chunk = next();
        if (chunk === undefined) return;
        written += Buffer.byteLength(chunk);
        if (!socket.write(chunk)) {
          socket.once('drain', () => setImmediate(pump));
          return;
        }
      }
    };
    setImmediate(pump);
  });
}

type ErrorEnvelope = { error: { message: string; type: string; param: string | null; code: string | null } };

async function envelope(res: Response, status: number): Promise<ErrorEnvelope['error']> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as ErrorEnvelope;
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  return body.error;
}

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'developer', content: 'Be brief.' },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'Say' },
      { type: 'text', text: 'hello' },
    ],
  },
];

describe('chat completions', () => {
  it('answers a whole completion in the exact shape, and translates the request', async () => {
    const before = usage.records.length;
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_completion_tokens: 50,
      temperature: 0.7,
      top_p: 0.9,
      seed: -1,
      user: 'ignored',
    });
    assert.match(r.id, /^chatcmpl-[0-9a-f]{24}$/);
    assert.equal(r.object, 'chat.completion');
    assert.ok(Math.abs(r.created - Date.now() / 1000) < 5);
    assert.equal(r.model, MODEL);
    assert.equal(typeof r.system_fingerprint, 'string');
    assert.deepEqual(r.choices, [
      {
        index: 0,
        message: { role: 'assistant', content: FULL_TEXT, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ]);
    assert.deepEqual(r.usage, { prompt_tokens: PROMPT_TOKENS, completion_tokens: 8, total_tokens: 19 });
    assert.equal(r._request_id, router.last?.ctx.requestId);
    assert.deepEqual(router.last?.params, {
      model: MODEL,
      kind: 'chat',
      maxTokens: 50,
      temperature: 0.7,
      topP: 0.9,
      seed: 2 ** 32 - 1,
      stop: [],
      logprobs: false,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say\nhello' },
      ],
    });
    const estimate = Math.ceil('Be brief.Say\nhello'.length / 4) + 50;
    assert.deepEqual(limiter.settled.at(-1), { key: 'k1', estimated: estimate, actual: 19 });
    assert.deepEqual(usage.records.slice(before), [
      { keyId: 'k1', promptTokens: PROMPT_TOKENS, completionTokens: 8, ok: true },
    ]);
  });

  it('honours max_tokens (finish_reason length) and stop', async () => {
    const cut = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 3 });
    assert.equal(cut.choices[0]?.message.content, 'Hello, world');
    assert.equal(cut.choices[0]?.finish_reason, 'length');
    const stopped = await client.chat.completions.create({ model: MODEL, messages, stop: '!' });
    assert.equal(stopped.choices[0]?.message.content, 'Hello, world');
    assert.equal(stopped.choices[0]?.finish_reason, 'stop');
  });

  it('streams chunks: role first, content deltas, finish_reason, the usage chunk, [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(chunks.length, 1 + TOKENS.length + 2);
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1);
    assert.match([...ids][0] ?? '', /^chatcmpl-/);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, MODEL);
    }
    assert.deepEqual(chunks[0]?.choices, [
      {
        index: 0,
        delta: { role: 'assistant', content: '', refusal: null },
        logprobs: null,
        finish_reason: null,
      },
    ]);
    assert.equal(chunks[0]?.usage, null);
    const deltas = chunks.slice(1, -2).map((c) => c.choices[0]?.delta.content);
    assert.deepEqual(deltas, TOKENS);
    assert.deepEqual(chunks.at(-2)?.choices, [
      { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' },
    ]);
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.deepEqual(last?.usage, {
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: TOKENS.length,
      total_tokens: PROMPT_TOKENS + TOKENS.length,
    });
  });

  it('streams without a usage chunk unless asked', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      stream: true,
      max_tokens: 2,
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(chunks.length, 1 + 2 + 1);
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'length');
    assert.ok(chunks.every((c) => c.usage === undefined));
  });

  it('returns logprobs and top_logprobs with bytes, whole and streamed', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 2,
      logprobs: true,
      top_logprobs: 2,
    });
    assert.deepEqual(r.choices[0]?.logprobs, {
      content: [
        {
          token: 'Hello',
          logprob: -0.5,
          bytes: [72, 101, 108, 108, 111],
          top_logprobs: [
            { token: 'Hello', logprob: -0.5, bytes: [72, 101, 108, 108, 111] },
            { token: 'é', logprob: -7, bytes: [0xc3, 0xa9] },
          ],
        },
        {
          token: ',',
          logprob: -1,
          bytes: [44],
          top_logprobs: [
            { token: ',', logprob: -1, bytes: [44] },
            { token: 'é', logprob: -7, bytes: [0xc3, 0xa9] },
          ],
        },
      ],
      refusal: null,
    });
    assert.equal(lastParams().topLogprobs, 2);
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 2,
      logprobs: true,
      top_logprobs: 1,
      stream: true,
    });
    const content: OpenAI.Chat.ChatCompletionTokenLogprob[] = [];
    for await (const c of stream) content.push(...(c.choices[0]?.logprobs?.content ?? []));
    assert.deepEqual(
      content.map((c) => [c.token, c.logprob, c.top_logprobs.length]),
      [
        ['Hello', -0.5, 1],
        [',', -1, 1],
      ],
    );
  });
});

describe('completions', () => {
  const prompt = 'Once upon';

  it('answers a whole completion with legacy logprobs', async () => {
    const r = await client.completions.create({ model: MODEL, prompt: [prompt], max_tokens: 3, logprobs: 2 });
    assert.match(r.id, /^cmpl-/);
    assert.equal(r.object, 'text_completion');
    assert.equal(r.model, MODEL);
    assert.deepEqual(r.choices, [
      {
        text: 'Hello, world',
        index: 0,
        logprobs: {
          tokens: ['Hello', ',', ' world'],
          token_logprobs: [-0.5, -1, -1.5],
          top_logprobs: [
            { Hello: -0.5, é: -7 },
            { ',': -1, é: -7 },
            { ' world': -1.5, é: -7 },
          ],
          text_offset: [prompt.length, prompt.length + 5, prompt.length + 6],
        },
        finish_reason: 'length',
      },
    ]);
    assert.deepEqual(r.usage, { prompt_tokens: PROMPT_TOKENS, completion_tokens: 3, total_tokens: 14 });
    const params = lastParams();
    assert.equal(params.kind, 'completion');
    assert.equal(params.prompt, prompt);
  });

  it('defaults max_tokens to 16 and streams text_completion chunks with usage', async () => {
    const stream = await client.completions.create({
      model: MODEL,
      prompt,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Completion[] = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(lastParams().maxTokens, 16);
    assert.equal(chunks.length, TOKENS.length + 2);
    assert.ok(chunks.every((c) => c.object === 'text_completion' && c.id === chunks[0]?.id));
    assert.equal(
      chunks
        .slice(0, -1)
        .map((c) => c.choices[0]?.text)
        .join(''),
      FULL_TEXT,
    );
    assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)?.choices, []);
    assert.equal(chunks.at(-1)?.usage?.total_tokens, PROMPT_TOKENS + TOKENS.length);
  });

  it('refuses echo, batches and token prompts naming the field', async () => {
    const echo = await rejects(
      client.completions.create({ model: MODEL, prompt, echo: true }),
      OpenAI.BadRequestError,
    );
    assert.equal(echo.param, 'echo');
    const batch = await rejects(
      client.completions.create({ model: MODEL, prompt: ['a', 'b'] }),
      OpenAI.BadRequestError,
    );
    assert.equal(batch.param, 'prompt');
    const tokens = await rejects(
      client.completions.create({ model: MODEL, prompt: [1, 2] }),
      OpenAI.BadRequestError,
    );
    assert.equal(tokens.param, 'prompt');
  });
});

describe('embeddings', () => {
  it('returns floats when asked', async () => {
    const r = await client.embeddings.create({
      model: EMBED_MODEL,
      input: ['ab', 'cde'],
      encoding_format: 'float',
    });
    assert.deepEqual(r, {
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [2, 0, 0.25, -1.5] },
        { object: 'embedding', index: 1, embedding: [3, 1, 0.25, -1.5] },
      ],
      model: EMBED_MODEL,
      usage: { prompt_tokens: 6, total_tokens: 6 },
    });
    assert.deepEqual(router.last?.params, { model: EMBED_MODEL, input: ['ab', 'cde'] });
  });

  it("round-trips the client's default base64 (little-endian float32)", async () => {
    const r = await client.embeddings.create({ model: EMBED_MODEL, input: 'abcd', dimensions: DIMS });
    assert.deepEqual(Array.from(r.data[0]?.embedding ?? []), [4, 0, 0.25, -1.5]);
    const raw = await post(
      '/v1/embeddings',
      JSON.stringify({ model: EMBED_MODEL, input: 'x', encoding_format: 'base64' }),
    );
    const body = (await raw.json()) as { data: { embedding: string }[] };
    const buf = Buffer.from(body.data[0]?.embedding ?? '', 'base64');
    assert.equal(buf.length, DIMS * 4);
    assert.equal(buf.readFloatLE(12), -1.5);
  });

  it('refuses token arrays and a wrong dimensions with 400 naming the field', async () => {
    const tokens = await rejects(
      client.embeddings.create({ model: EMBED_MODEL, input: [1, 2, 3] }),
      OpenAI.BadRequestError,
    );
    assert.equal(tokens.param, 'input');
    const dims = await rejects(
      client.embeddings.create({ model: EMBED_MODEL, input: 'x', dimensions: 8 }),
      OpenAI.BadRequestError,
    );
    assert.equal(dims.param, 'dimensions');
  });
});

describe('models', () => {
  it('lists and retrieves the served models', async () => {
    const page = await client.models.list();
    assert.deepEqual(
      page.data.map((m) => [m.id, m.object, m.owned_by, typeof m.created]),
      [
        [MODEL, 'model', 'subnet', 'number'],
        [EMBED_MODEL, 'model', 'subnet', 'number'],
        ['org/with-slash', 'model', 'subnet', 'number'],
      ],
    );
    const one = await client.models.retrieve(MODEL);
    assert.deepEqual(one, { id: MODEL, object: 'model', created: page.data[0]?.created, owned_by: 'subnet' });
    assert.equal((await client.models.retrieve('org/with-slash')).id, 'org/with-slash');
    const missing = await rejects(client.models.retrieve('nope'), OpenAI.NotFoundError);
    assert.equal(missing.code, 'model_not_found');
  });
});

describe('errors', () => {
  it('unknown model: 404 model_not_found, whole and streamed', async () => {
    const err = await rejects(
      client.chat.completions.create({ model: 'nope', messages }),
      OpenAI.NotFoundError,
    );
    assert.equal(err.code, 'model_not_found');
    assert.equal(err.param, 'model');
    assert.equal(err.type, 'invalid_request_error');
    const streamed = await rejects(
      client.chat.completions.create({ model: 'nope', messages, stream: true }),
      OpenAI.NotFoundError,
    );
    assert.equal(streamed.code, 'model_not_found');
  });

  it('invalid JSON: 400 with no param', async () => {
    const e = await envelope(await post('/v1/chat/completions', '{"model": '), 400);
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.param, null);
    assert.match(e.message, /JSON/);
    const notObject = await envelope(await post('/v1/chat/completions', '[1]'), 400);
    assert.equal(notObject.param, null);
  });

  it('invalid fields: 400 naming the path', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ model: MODEL, messages, temperature: 'hot' }, 'temperature'],
      [{ model: MODEL, messages, temperature: 3 }, 'temperature'],
      [{ model: MODEL, messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.role'],
      [
        { model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
        'messages.0.content',
      ],
      [{ model: MODEL }, 'messages'],
      [{ model: MODEL, messages, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ model: MODEL, messages, tools: [{ type: 'function' }] }, 'tools'],
    ];
    for (const [body, param] of cases) {
      const e = await envelope(await post('/v1/chat/completions', JSON.stringify(body)), 400);
      assert.equal(e.param, param, JSON.stringify(body));
    }
    const missing = await envelope(await post('/v1/chat/completions', JSON.stringify({ model: MODEL })), 400);
    assert.match(missing.message, /Missing required parameter: 'messages'/);
    const n = await rejects(
      client.chat.completions.create({ model: MODEL, messages, n: 2 }),
      OpenAI.BadRequestError,
    );
    assert.equal(n.param, 'n');
  });

  it('ignores unknown fields the client may send', async () => {
    const res = await post(
      '/v1/chat/completions',
      JSON.stringify({
        model: MODEL,
        messages,
        frequency_penalty: 0,
        metadata: { a: 1 },
        store: false,
        n: null,
      }),
    );
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });

  it('missing, unknown and revoked keys: 401 invalid_api_key', async () => {
    const missing = await envelope(
      await fetch(`${front.url}/v1/models`, { signal: AbortSignal.timeout(5000) }),
      401,
    );
    assert.equal(missing.code, 'invalid_api_key');
    for (const key of ['sk-unknown', 'sk-revoked']) {
      const err = await rejects(clientWith(key).models.list(), OpenAI.AuthenticationError);
      assert.equal(err.code, 'invalid_api_key');
      assert.equal(err.type, 'invalid_request_error');
    }
  });

  it('limiter refusal: 429 rate_limit_exceeded with Retry-After, counted as rejected', async () => {
    const before = usage.rejections.length;
    const err = await rejects(
      clientWith('sk-limited').chat.completions.create({ model: MODEL, messages }),
      OpenAI.RateLimitError,
    );
    assert.equal(err.code, 'rate_limit_exceeded');
    assert.equal(err.type, 'tokens');
    assert.equal(err.headers.get('retry-after'), '7');
    assert.deepEqual(usage.rejections.slice(before), ['k2']);
  });

  it('no miner: 503; upstream failure before the first token: 502', async () => {
    router.mode = 'no-miner';
    try {
      const err = await rejects(client.chat.completions.create({ model: MODEL, messages }), OpenAI.APIError);
      assert.equal(err.status, 503);
      assert.match(err.message, /No miner serves this model/);
      router.mode = 'fail-before';
      const streamed = await rejects(
        client.chat.completions.create({ model: MODEL, messages, stream: true }),
        OpenAI.InternalServerError,
      );
      assert.equal(streamed.status, 502);
      assert.equal(usage.records.at(-1)?.ok, false);
    } finally {
      router.mode = 'ok';
    }
  });

  it('oversized bodies: 413 by Content-Length and by a chunked body', async () => {
    const big = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY) }] });
    const e = await envelope(await post('/v1/chat/completions', big), 413);
    assert.equal(e.code, 'request_too_large');
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const res = await fetch(`${front.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-good' },
      body: chunked,
      duplex: 'half',
      signal: AbortSignal.timeout(5000),
    } as RequestInit);
    assert.equal((await envelope(res, 413)).code, 'request_too_large');
    const err = await rejects(
      client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY) }],
      }),
      OpenAI.APIError,
    );
    assert.equal(err.status, 413);
  });

  it('refuses by Content-Length before reading, and a chunked body as soon as it passes the limit', async () => {
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-good\r\n';
    const declared = await rawSocketRequest(
      `${head}Content-Length: ${100 * 1024 * 1024}\r\n\r\n`,
      () => undefined,
    );
    assert.equal(declared.status, 413);
    assert.equal(declared.written, 0);
    const piece = 'x'.repeat(16 * 1024);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    let sent = 0;
    const chunked = await rawSocketRequest(`${head}Transfer-Encoding: chunked\r\n\r\n`, () => {
      if (sent >= 256 * 1024 * 1024) return undefined;
      sent += piece.length;
      return chunk;
    });
    assert.equal(chunked.status, 413);
    assert.match(chunked.body, /request_too_large/);
    assert.ok(chunked.written > MAX_BODY, 'the limit was passed');
    assert.ok(chunked.written < 32 * 1024 * 1024, `answered after ${chunked.written} bytes, not at the end`);
  });

  it('unknown route 404, wrong method 405', async () => {
    const e404 = await envelope(await post('/v1/nothing', '{}'), 404);
    assert.match(e404.message, /Invalid URL \(POST \/v1\/nothing\)/);
    const res = await fetch(`${front.url}/v1/chat/completions`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.headers.get('allow'), 'POST');
    await envelope(res, 405);
  });

  it('a failure after streaming began arrives as an error event and the iteration throws', async () => {
    router.mode = 'fail-after';
    try {
      const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
      const got: string[] = [];
      const err = await rejects(
        (async () => {
          for await (const c of stream) got.push(c.choices[0]?.delta.content ?? '');
        })(),
        OpenAI.APIError,
      );
      assert.match(err.message, /went away mid-answer/);
      assert.equal(err.code, 'upstream_failed');
      assert.equal(got.join(''), 'Hello,');
    } finally {
      router.mode = 'ok';
    }
  });

  it('a stream that ends without its done event is an error, not a complete answer', async () => {
    router.mode = 'no-done';
    try {
      const stream = await client.completions.create({ model: MODEL, prompt: 'x', stream: true });
      await rejects(
        (async () => {
          for await (const _ of stream);
        })(),
        OpenAI.APIError,
      );
    } finally {
      router.mode = 'ok';
    }
  });

  it("a client abort mid-stream aborts the router's signal", async () => {
    router.mode = 'hang';
    try {
      const ac = new AbortController();
      const stream = await client.chat.completions.create(
        { model: MODEL, messages, stream: true },
        { signal: ac.signal },
      );
      const tokens: string[] = [];
      for await (const c of stream) {
        const t = c.choices[0]?.delta.content;
        if (t) tokens.push(t);
        if (tokens.length === 2) ac.abort();
      }
      const reason = await router.aborted;
      assert.equal((reason as GatewayError).code, GatewayErrorCode.CANCELLED);
      assert.deepEqual(tokens, ['Hello', ',']);
    } finally {
      router.mode = 'ok';
    }
  });

  it('the deadline aborts the router and answers 504, or an error event once streaming', async () => {
    const quick = await createOpenAiServer(
      { host: '127.0.0.1', port: 0, maxBodyBytes: MAX_BODY, requestTimeoutMs: 150 },
      { router, keys, limiter, usage },
    );
    router.mode = 'hang';
    try {
      const c = clientWith('sk-good', quick.url);
      const err = await rejects(
        c.completions.create({ model: MODEL, prompt: 'x', max_tokens: 5 }),
        OpenAI.InternalServerError,
      );
      assert.equal(err.status, 504);
      assert.equal(((await router.aborted) as GatewayError).code, GatewayErrorCode.TIMEOUT);
      const stream = await c.chat.completions.create({ model: MODEL, messages, stream: true });
      const streamErr = await rejects(
        (async () => {
          for await (const _ of stream);
        })(),
        OpenAI.APIError,
      );
      assert.equal(streamErr.code, 'timeout');
    } finally {
      router.mode = 'ok';
      await quick.close();
    }
  });
  it('close() ends an open stream with an error event and returns promptly', async () => {
    const other = await createOpenAiServer(
      { host: '127.0.0.1', port: 0, maxBodyBytes: MAX_BODY, requestTimeoutMs: 5000 },
      { router, keys, limiter, usage },
    );
    router.mode = 'hang';
    try {
      const stream = await clientWith('sk-good', other.url).chat.completions.create({
        model: MODEL,
        messages,
        stream: true,
      });
      const it = stream[Symbol.asyncIterator]();
      assert.equal((await it.next()).value?.choices[0]?.delta.role, 'assistant');
      await other.close();
      const err = await rejects(
        (async () => {
          for (;;) if ((await it.next()).done === true) return;
        })(),
        OpenAI.APIError,
      );
      assert.equal(err.code, 'cancelled');
      assert.equal(((await router.aborted) as GatewayError).code, GatewayErrorCode.CANCELLED);
    } finally {
      router.mode = 'ok';
      await other.close();
    }
  });
});

describe('robustness', () => {
  it('survives hostile input, then still answers a good request', async () => {
    const bodies = [
      `${'['.repeat(30_000)}${']'.repeat(30_000)}`,
      `{"model":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      `{"model":"${MODEL}","messages":[{"role":"user","content":"x"}],"__proto__":{"stream":true}}`,
      '\u0000\uffff',
      'null',
      JSON.stringify({ model: MODEL, messages, max_tokens: 1e308 * 10 }),
    ];
    for (const body of bodies) {
      const res = await post('/v1/chat/completions', body);
      assert.ok([200, 400].includes(res.status), `status ${res.status} for ${body.slice(0, 40)}`);
      await res.body?.cancel();
    }
    await new Promise<void>((resolve) => {
      const s: Socket = connect(Number(new URL(front.url).port), '127.0.0.1', () =>
        s.end('GARBAGE / NOT-HTTP\r\n\r\n'),
      );
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    await new Promise<void>((resolve) => {
      const s: Socket = connect(Number(new URL(front.url).port), '127.0.0.1', () => {
        s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-good\r\n');
        s.write('Content-Length: 100\r\n\r\n{"model":');
        s.destroy();
        resolve();
      });
    });
    const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 1 });
    assert.equal(r.choices[0]?.message.content, 'Hello');
    const metrics = await registry.getSingleMetricAsString('gateway_openai_requests_total');
    assert.match(metrics, /route="\/v1\/chat\/completions",status="200"/);
  });
});
