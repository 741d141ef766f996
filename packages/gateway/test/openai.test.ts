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
import type { Meter, Payments } from '../src/payments/service.js';
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
/** A model whose answers depend on the seed: its first token names it, its logprobs rank by it. */
const VARIED = 'test-varied';
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
  /** Every generation asked for, in order. */
  seen: GenerateParams[] = [];
  /** VARIED: seeds whose generation fails before its first event. */
  failSeeds = new Set<number>();
  /** The JSON a miner constrained to the tool_calls schema answers (`tools.ts`), in a few tokens. */
  toolAnswer: unknown = { response: FULL_TEXT };

  /** VARIED: `s<seed>` then ' x' tokens, logprob -(seed mod 10) each (always, as the real router's). */
  private async *varied(params: GenerateParams): AsyncIterable<GenerateEvent> {
    const seed = params.seed ?? 1000 + Math.floor(Math.random() * 1e6);
    if (this.failSeeds.has(seed))
      throw new GatewayError(GatewayErrorCode.UPSTREAM_FAILED, 'every miner failed');
    const max = params.maxTokens ?? 128;
    const n = Math.min(max, 3);
    const logprob = -(seed % 10);
    for (let i = 0; i < n; i++) {
      await new Promise((r) => setImmediate(r));
      yield { type: 'token', text: i === 0 ? `s${seed}` : ' x', logprob };
    }
    yield {
      type: 'done',
      finishReason: max <= 3 ? 'length' : 'stop',
      usage: { promptTokens: PROMPT_TOKENS, completionTokens: n },
    };
  }
  private onAbort: (() => void) | undefined;
  /** Resolves once the signal of the request in progress aborts. */
  aborted: Promise<unknown> = Promise.resolve();

  async *generate(params: GenerateParams, ctx: RouteContext): AsyncIterable<GenerateEvent> {
    this.track(params, ctx);
    this.seen.push(params);
    if (params.model === VARIED) {
      yield* this.varied(params);
      return;
    }
    if (params.model !== MODEL)
      throw new GatewayError(GatewayErrorCode.MODEL_NOT_FOUND, `The model '${params.model}' does not exist.`);
    if (this.mode === 'no-miner')
      throw new GatewayError(GatewayErrorCode.NO_MINER, 'No miner serves this model now; retry shortly.');
    if (this.mode === 'fail-before')
      throw new GatewayError(GatewayErrorCode.UPSTREAM_FAILED, 'every miner failed');
    const format = params.responseFormat;
    if (format?.type === 'json_schema' && format.name === 'tool_calls') {
      const json = JSON.stringify(this.toolAnswer);
      const parts = [json.slice(0, 5), json.slice(5, 20), json.slice(20)];
      for (const text of parts) yield { type: 'token', text };
      yield {
        type: 'done',
        finishReason: 'stop',
        usage: { promptTokens: PROMPT_TOKENS, completionTokens: parts.length },
      };
      return;
    }
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
      { id: VARIED, miners: 3 },
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
        [VARIED, 'model', 'subnet', 'number'],
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
      [{ model: MODEL, messages: [{ role: 'function', content: 'x' }] }, 'messages.0.role'],
      [{ model: MODEL, messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.tool_call_id'],
      [
        { model: MODEL, messages: [{ role: 'assistant', content: 'x', function_call: { name: 'f' } }] },
        'messages.0.function_call',
      ],
      [
        { model: MODEL, messages: [{ role: 'user', content: 'x', cache_control: {} }] },
        'messages.0.cache_control',
      ],
      [
        { model: MODEL, messages: [{ role: 'user', content: [{ type: 'image_url' }] }] },
        'messages.0.content',
      ],
      [{ model: MODEL }, 'messages'],
      [{ model: MODEL, messages, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ model: MODEL, messages, tools: [{ type: 'function' }] }, 'tools.0.function'],
      [{ model: MODEL, messages, tools: [{ type: 'retrieval' }] }, 'tools.0.type'],
      [{ model: MODEL, messages, tool_choice: 'sometimes' }, 'tool_choice'],
    ];
    for (const [body, param] of cases) {
      const e = await envelope(await post('/v1/chat/completions', JSON.stringify(body)), 400);
      assert.equal(e.param, param, JSON.stringify(body));
    }
    const missing = await envelope(await post('/v1/chat/completions', JSON.stringify({ model: MODEL })), 400);
    assert.match(missing.message, /Missing required parameter: 'messages'/);
    const n = await rejects(
      client.chat.completions.create({ model: MODEL, messages, n: 9 }),
      OpenAI.BadRequestError,
    );
    assert.equal(n.param, 'n');
    assert.match(n.message, /at most 8/);
  });

  it('accepts the no-op fields and harmless values of refused ones', async () => {
    const res = await post(
      '/v1/chat/completions',
      JSON.stringify({
        model: MODEL,
        messages,
        frequency_penalty: 0,
        metadata: { a: '1' },
        store: false,
        user: 'u1',
        service_tier: 'auto',
        tools: [],
        tool_choice: 'none',
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

/** The chat prompt of the `n` tests and its limiter estimate per candidate (characters / 4 + max tokens). */
const ONE = [{ role: 'user' as const, content: 'Pick one.' }];
const PER_CANDIDATE = Math.ceil('Pick one.'.length / 4) + 8;

describe('n choices and best_of', () => {
  it('n=3: three generations (seed + i), choices by index, usage summed, limiter charged for all', async () => {
    const seen = router.seen.length;
    const admitted = limiter.admitted.length;
    const settled = limiter.settled.length;
    const r = await client.chat.completions.create({
      model: VARIED,
      messages: ONE,
      n: 3,
      seed: 40,
      max_tokens: 8,
    });
    assert.deepEqual(
      r.choices.map((c) => [c.index, c.message.content, c.finish_reason]),
      [
        [0, 's40 x x', 'stop'],
        [1, 's41 x x', 'stop'],
        [2, 's42 x x', 'stop'],
      ],
    );
    assert.deepEqual(r.usage, {
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: 9,
      total_tokens: PROMPT_TOKENS + 9,
    });
    assert.deepEqual(
      router.seen.slice(seen).map((p) => p.seed),
      [40, 41, 42],
    );
    assert.deepEqual(limiter.admitted.slice(admitted), [{ key: 'k1', tokens: 3 * PER_CANDIDATE }]);
    // Each candidate's prompt is a prefill on some miner: settled as three prompts and all completions.
    assert.deepEqual(limiter.settled.slice(settled), [
      { key: 'k1', estimated: 3 * PER_CANDIDATE, actual: 3 * PROMPT_TOKENS + 9 },
    ]);
    assert.deepEqual(usage.records.at(-1), {
      keyId: 'k1',
      promptTokens: 3 * PROMPT_TOKENS,
      completionTokens: 9,
      ok: true,
    });
  });

  it('n=3 without a seed: independent generations, distinct choices', async () => {
    const seen = router.seen.length;
    const r = await client.chat.completions.create({ model: VARIED, messages: ONE, n: 3, max_tokens: 8 });
    assert.equal(r.choices.length, 3);
    assert.equal(new Set(r.choices.map((c) => c.message.content)).size, 3);
    assert.deepEqual(
      router.seen.slice(seen).map((p) => p.seed),
      [undefined, undefined, undefined],
    );
  });

  it('n=3 streamed: chunks interleaved by index, a finish_reason per choice, one usage chunk', async () => {
    const settled = limiter.settled.length;
    const stream = await client.chat.completions.create({
      model: VARIED,
      messages: ONE,
      n: 3,
      seed: 7,
      max_tokens: 8,
      stream: true,
      stream_options: { include_usage: true },
    });
    const text = ['', '', ''];
    const finish: (string | null)[] = [null, null, null];
    const usages: unknown[] = [];
    const order: number[] = [];
    for await (const chunk of stream) {
      if (chunk.usage) usages.push(chunk.usage);
      for (const c of chunk.choices) {
        text[c.index] += c.delta.content ?? '';
        if (c.finish_reason !== null) finish[c.index] = c.finish_reason;
        order.push(c.index);
      }
    }
    assert.deepEqual(text, ['s7 x x', 's8 x x', 's9 x x']);
    assert.deepEqual(finish, ['stop', 'stop', 'stop']);
    assert.deepEqual(usages, [
      { prompt_tokens: PROMPT_TOKENS, completion_tokens: 9, total_tokens: PROMPT_TOKENS + 9 },
    ]);
    // Interleaved as the candidates produce, not one after another.
    assert.notDeepEqual(order, [...order].sort());
    assert.deepEqual(limiter.settled.slice(settled), [
      { key: 'k1', estimated: 3 * PER_CANDIDATE, actual: 3 * PROMPT_TOKENS + 9 },
    ]);
  });

  it('n: a candidate that fails before its first event fails the request with its status, whole and streamed', async () => {
    router.failSeeds.add(501);
    try {
      for (const stream of [false, true]) {
        const err = await rejects(
          client.chat.completions.create({ model: VARIED, messages: ONE, n: 2, seed: 500, stream }),
          OpenAI.APIError,
        );
        assert.equal(err.status, 502);
      }
    } finally {
      router.failSeeds.clear();
    }
  });

  it('completions n=2: two choices; best_of=4: the two of highest total logprob, all four billed', async () => {
    const two = await client.completions.create({ model: VARIED, prompt: 'p', n: 2, seed: 1, max_tokens: 8 });
    assert.deepEqual(
      two.choices.map((c) => [c.index, c.text]),
      [
        [0, 's1 x x'],
        [1, 's2 x x'],
      ],
    );
    const admitted = limiter.admitted.length;
    // Seeds 7, 8, 9, 10 score -21, -24, -27 and 0: the best are 10 then 7.
    const best = await client.completions.create({
      model: VARIED,
      prompt: 'p',
      n: 2,
      best_of: 4,
      seed: 7,
      max_tokens: 8,
    });
    assert.deepEqual(
      best.choices.map((c) => [c.index, c.text, c.logprobs]),
      [
        [0, 's10 x x', null],
        [1, 's7 x x', null],
      ],
    );
    assert.equal(best.usage?.completion_tokens, 12);
    assert.deepEqual(limiter.admitted.slice(admitted), [{ key: 'k1', tokens: 4 * (1 + 8) }]);
    const withLp = await client.completions.create({
      model: VARIED,
      prompt: 'p',
      best_of: 3,
      seed: 8,
      max_tokens: 8,
      logprobs: 0,
    });
    assert.equal(withLp.choices[0]?.text, 's10 x x');
    assert.deepEqual(withLp.choices[0]?.logprobs?.token_logprobs, [0, 0, 0]);
  });

  it('refuses n and best_of beyond 8, best_of < n and best_of with stream, naming the field', async () => {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      ['/v1/chat/completions', { model: VARIED, messages: ONE, n: 9 }, 'n', /at most 8/],
      ['/v1/chat/completions', { model: VARIED, messages: ONE, n: 0 }, 'n', /./],
      ['/v1/completions', { model: VARIED, prompt: 'p', best_of: 9 }, 'best_of', /at most 8/],
      ['/v1/completions', { model: VARIED, prompt: 'p', n: 3, best_of: 2 }, 'best_of', /at least n/],
      ['/v1/completions', { model: VARIED, prompt: 'p', best_of: 2, stream: true }, 'best_of', /stream/],
    ];
    for (const [path, body, param, message] of cases) {
      const e = await envelope(await post(path, JSON.stringify(body)), 400);
      assert.equal(e.param, param, JSON.stringify(body));
      assert.match(e.message, message);
    }
  });

  it('a bound key reserves and is charged for every candidate', async () => {
    const begun: { promptTokens: number; completionTokens: number }[] = [];
    const charged: { promptTokens: number; completionTokens: number }[] = [];
    const payments = {
      async begin(
        _key: KeyRecord,
        _model: string,
        bounds: { promptTokens: number; completionTokens: number },
      ) {
        begun.push(bounds);
        const meter: Meter = {
          bound: 1n,
          priceBlock: 1,
          async finish(u) {
            if (charged.length === begun.length) return undefined;
            charged.push(u);
            return undefined;
          },
        };
        return meter;
      },
    } as unknown as Payments;
    const paidKeys: KeyAuthority = {
      authenticate: (secret) =>
        secret === 'sk-bound'
          ? { ...(KEYS['sk-good'] as KeyRecord), account: { client: '0x1', digest: '0x2' } }
          : undefined,
    };
    const paid = await createOpenAiServer(
      { host: '127.0.0.1', port: 0, maxBodyBytes: MAX_BODY, requestTimeoutMs: 5000 },
      { router, keys: paidKeys, limiter, usage, payments },
    );
    try {
      const c = clientWith('sk-bound', paid.url);
      await c.chat.completions.create({ model: VARIED, messages: ONE, n: 3, seed: 1, max_tokens: 8 });
      const bytes = Buffer.byteLength('Pick one.');
      assert.deepEqual(begun, [{ promptTokens: 3 * bytes, completionTokens: 3 * (8 + 8) }]);
      assert.deepEqual(charged, [{ promptTokens: 3 * PROMPT_TOKENS, completionTokens: 9 }]);
    } finally {
      await paid.close();
    }
  });
});

describe('responses', () => {
  it('answers a response object: instructions first, input items, output_text, usage', async () => {
    const r = await client.responses.create({
      model: MODEL,
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'No emoji.' },
        { role: 'user', content: [{ type: 'input_text', text: 'Hi' }] },
        { type: 'message', role: 'assistant', content: 'Hello' },
        { role: 'user', content: 'Again' },
      ],
      max_output_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      store: false,
      metadata: { a: 'b' },
    });
    assert.equal(r.output_text, FULL_TEXT);
    assert.match(r.id, /^resp_/);
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.incomplete_details, null);
    assert.equal(r.model, MODEL);
    assert.equal(typeof r.created_at, 'number');
    const out = r.output[0];
    assert.ok(out?.type === 'message');
    assert.match(out.id, /^msg_/);
    assert.equal(out.role, 'assistant');
    assert.equal(out.status, 'completed');
    assert.deepEqual(out.content, [{ type: 'output_text', text: FULL_TEXT, annotations: [], logprobs: [] }]);
    assert.deepEqual(r.usage, {
      input_tokens: PROMPT_TOKENS,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: TOKENS.length,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: PROMPT_TOKENS + TOKENS.length,
    });
    const p = lastParams();
    assert.equal(p.kind, 'chat');
    assert.deepEqual(p.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'No emoji.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'Again' },
    ]);
    assert.equal(p.maxTokens, 64);
    assert.equal(p.temperature, 0.5);
    assert.equal(p.topP, 0.9);
  });

  it('max_output_tokens reached: status incomplete with reason max_output_tokens', async () => {
    const r = await client.responses.create({ model: MODEL, input: 'Hi', max_output_tokens: 2 });
    assert.equal(r.status, 'incomplete');
    assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(r.output_text, 'Hello,');
  });

  it("streams OpenAI's events in order with sequence numbers", async () => {
    const stream = await client.responses.create({ model: MODEL, input: 'Hi', stream: true });
    const types: string[] = [];
    const seqs: number[] = [];
    let deltas = '';
    let final: OpenAI.Responses.Response | undefined;
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
      if (ev.type === 'response.output_text.delta') deltas += ev.delta;
      if (ev.type === 'response.output_text.done') assert.equal(ev.text, FULL_TEXT);
      if (ev.type === 'response.completed') final = ev.response;
    }
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...TOKENS.map(() => 'response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.deepEqual(
      seqs,
      types.map((_, i) => i),
    );
    assert.equal(deltas, FULL_TEXT);
    assert.equal(final?.status, 'completed');
    assert.equal(final?.usage?.output_tokens, TOKENS.length);
    // The client's stream helper assembles the same response.
    const helper = client.responses.stream({ model: MODEL, input: 'Hi' });
    const done = await helper.finalResponse();
    assert.equal(done.output_text, FULL_TEXT);
  });

  it('a failure after streaming began is an error event and the iteration throws', async () => {
    router.mode = 'fail-after';
    try {
      const stream = await client.responses.create({ model: MODEL, input: 'Hi', stream: true });
      const types: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const ev of stream) types.push(ev.type);
        })(),
        /went away mid-answer/,
      );
      assert.deepEqual(types.slice(-2), ['response.output_text.delta', 'response.output_text.delta']);
      assert.ok(!types.includes('response.completed'));
    } finally {
      router.mode = 'ok';
    }
  });

  it('refuses what a stateless gateway cannot do, naming the field', async () => {
    const base = { model: MODEL, input: 'Hi' };
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...base, previous_response_id: 'resp_1' }, 'previous_response_id', /stateless/],
      [{ ...base, store: true }, 'store', /only false/],
      [{ ...base, background: true }, 'background', /background/],
      [{ ...base, conversation: 'conv_1' }, 'conversation', /stateless/],
      [{ ...base, tools: [{ type: 'web_search' }] }, 'tools', /built-in tools are not offered/],
      [
        { ...base, text: { format: { type: 'json_schema', name: 'x', schema: { patternProperties: {} } } } },
        'text.format.schema.patternProperties',
        /patternProperties. is not supported/,
      ],
      [{ ...base, text: { verbosity: 'low' } }, 'text.verbosity', /verbosity/],
      [{ ...base, include: ['reasoning.encrypted_content'] }, 'include', /can be produced/],
      [{ ...base, truncation: 'auto' }, 'truncation', /disabled/],
      [
        { ...base, input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] },
        'input',
        /message items/,
      ],
      [{ ...base, max_output_tokens: 0 }, 'max_output_tokens', /./],
      [{ model: MODEL }, 'input', /Missing/],
    ];
    for (const [body, param, message] of cases) {
      const e = await envelope(await post('/v1/responses', JSON.stringify(body)), 400);
      assert.equal(e.param, param, JSON.stringify(body));
      assert.match(e.message, message, JSON.stringify(body));
    }
    const err = await rejects(
      client.responses.create({ ...base, previous_response_id: 'resp_1' }),
      OpenAI.BadRequestError,
    );
    assert.equal(err.param, 'previous_response_id');
    // Harmless values of refused fields pass.
    const ok = await client.responses.create({
      ...base,
      tools: [],
      tool_choice: 'none',
      include: [],
      text: { format: { type: 'text' } },
      background: false,
      truncation: 'disabled',
    });
    assert.equal(ok.output_text, FULL_TEXT);
  });
});

describe('responses function tools', () => {
  const weather: OpenAI.Responses.FunctionTool = {
    type: 'function',
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
    strict: true,
  };
  const time: OpenAI.Responses.FunctionTool = {
    type: 'function',
    name: 'get_time',
    parameters: { type: 'object', properties: { zone: { type: 'string' } } },
    strict: false,
  };
  const twoCalls = {
    tool_calls: [
      { name: 'get_weather', arguments: { city: 'Paris' } },
      { name: 'get_time', arguments: { zone: 'utc' } },
    ],
  };
  /** The tool_calls schema the router was asked to enforce. */
  function enforced(): { schema: Record<string, unknown> } {
    const f = lastParams().responseFormat;
    assert.ok(f?.type === 'json_schema' && f.name === 'tool_calls', JSON.stringify(f));
    return f as unknown as { schema: Record<string, unknown> };
  }

  it('answers calls as function_call output items and echoes tools, tool_choice, parallel_tool_calls', async () => {
    router.toolAnswer = twoCalls;
    try {
      const r = await client.responses.create({
        model: MODEL,
        input: 'Weather and time in Paris?',
        tools: [weather, time],
      });
      assert.equal(r.status, 'completed');
      assert.equal(r.output.length, 2);
      assert.equal(r.output_text, '');
      const [a, b] = r.output;
      assert.ok(a?.type === 'function_call' && b?.type === 'function_call');
      assert.match(a.id ?? '', /^fc_/);
      assert.match(a.call_id, /^call_/);
      assert.notEqual(a.call_id, b.call_id);
      assert.notEqual(a.id, b.id);
      assert.equal(a.name, 'get_weather');
      assert.deepEqual(JSON.parse(a.arguments), { city: 'Paris' });
      assert.equal(a.status, 'completed');
      assert.equal(b.name, 'get_time');
      assert.deepEqual(JSON.parse(b.arguments), { zone: 'utc' });
      assert.deepEqual(r.tools, [
        { ...weather },
        { type: 'function', name: 'get_time', description: null, parameters: time.parameters, strict: false },
      ]);
      assert.equal(r.tool_choice, 'auto');
      assert.equal(r.parallel_tool_calls, true);
      const p = lastParams();
      assert.equal(p.messages?.[0]?.role, 'system');
      assert.match(p.messages?.[0]?.content ?? '', /get_weather.*get_time/);
      assert.deepEqual(p.messages?.slice(1), [{ role: 'user', content: 'Weather and time in Paris?' }]);
      // auto: the answer may be a call or words (oneOf).
      assert.ok(Array.isArray(enforced().schema.oneOf));
    } finally {
      router.toolAnswer = { response: FULL_TEXT };
    }
  });

  it('auto answered in words: the usual message item', async () => {
    const r = await client.responses.create({ model: MODEL, input: 'Hi', tools: [weather] });
    assert.equal(r.output_text, FULL_TEXT);
    assert.equal(r.output.length, 1);
    assert.equal(r.output[0]?.type, 'message');
    // Streamed: the message events, the words in one delta once the JSON is whole.
    const types: string[] = [];
    let deltas = '';
    const stream = await client.responses.create({
      model: MODEL,
      input: 'Hi',
      tools: [weather],
      stream: true,
    });
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') deltas += ev.delta;
    }
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.equal(deltas, FULL_TEXT);
  });

  it("streams each call as OpenAI's function_call events, in sequence", async () => {
    router.toolAnswer = twoCalls;
    try {
      const stream = await client.responses.create({
        model: MODEL,
        input: 'Weather and time?',
        tools: [weather, time],
        stream: true,
      });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const ev of stream) events.push(ev);
      const call = [
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
      ];
      assert.deepEqual(
        events.map((e) => e.type),
        ['response.created', 'response.in_progress', ...call, ...call, 'response.completed'],
      );
      assert.deepEqual(
        events.map((e) => e.sequence_number),
        events.map((_, i) => i),
      );
      const added = events[2];
      assert.ok(added?.type === 'response.output_item.added' && added.item.type === 'function_call');
      assert.equal(added.output_index, 0);
      assert.equal(added.item.arguments, '');
      assert.equal(added.item.status, 'in_progress');
      const delta = events[3];
      assert.ok(delta?.type === 'response.function_call_arguments.delta');
      assert.equal(delta.item_id, added.item.id);
      assert.deepEqual(JSON.parse(delta.delta), { city: 'Paris' });
      const argsDone = events[8];
      assert.ok(argsDone?.type === 'response.function_call_arguments.done');
      assert.equal(argsDone.output_index, 1);
      assert.deepEqual(JSON.parse(argsDone.arguments), { zone: 'utc' });
      const completed = events.at(-1);
      assert.ok(completed?.type === 'response.completed');
      const out = completed.response.output;
      assert.equal(out.length, 2);
      assert.ok(out[0]?.type === 'function_call');
      assert.equal(out[0].id, added.item.id, 'the same ids in the events and the response');
      assert.equal(out[0].call_id, added.item.call_id);
      // The client's stream helper assembles the same calls.
      const final = await client.responses
        .stream({ model: MODEL, input: 'Weather and time?', tools: [weather, time] })
        .finalResponse();
      assert.deepEqual(
        final.output.map((o) => (o.type === 'function_call' ? [o.name, JSON.parse(o.arguments)] : o.type)),
        [
          ['get_weather', { city: 'Paris' }],
          ['get_time', { zone: 'utc' }],
        ],
      );
    } finally {
      router.toolAnswer = { response: FULL_TEXT };
    }
  });

  it('a round trip: function_call and function_call_output items render as chat tool history', async () => {
    router.toolAnswer = twoCalls;
    let first: OpenAI.Responses.Response;
    try {
      first = await client.responses.create({
        model: MODEL,
        input: 'Weather and time?',
        tools: [weather, time],
      });
    } finally {
      router.toolAnswer = { response: FULL_TEXT };
    }
    const calls = first.output.filter((o) => o.type === 'function_call');
    assert.equal(calls.length, 2);
    const r = await client.responses.create({
      model: MODEL,
      tools: [weather, time],
      input: [
        { role: 'user', content: 'Weather and time?' },
        ...calls,
        { type: 'function_call_output', call_id: calls[0]?.call_id ?? '', output: 'sunny' },
        {
          type: 'function_call_output',
          call_id: calls[1]?.call_id ?? '',
          output: [{ type: 'input_text', text: '12:00' }],
        },
      ],
    });
    assert.equal(r.output_text, FULL_TEXT);
    assert.deepEqual(lastParams().messages?.slice(1), [
      { role: 'user', content: 'Weather and time?' },
      {
        role: 'assistant',
        content:
          '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}},{"name":"get_time","arguments":{"zone":"utc"}}]}',
      },
      {
        role: 'user',
        content: JSON.stringify({
          tool_response: { tool_call_id: calls[0]?.call_id, name: 'get_weather', content: 'sunny' },
        }),
      },
      {
        role: 'user',
        content: JSON.stringify({
          tool_response: { tool_call_id: calls[1]?.call_id, name: 'get_time', content: '12:00' },
        }),
      },
    ]);
    // An output whose call is not in the input is accepted (the client may have trimmed its history).
    const orphan = await client.responses.create({
      model: MODEL,
      input: [{ type: 'function_call_output', call_id: 'call_unknown', output: 'x' }],
    });
    assert.equal(orphan.output_text, FULL_TEXT);
    assert.deepEqual(lastParams().messages, [
      {
        role: 'user',
        content: JSON.stringify({
          tool_response: { tool_call_id: 'call_unknown', name: null, content: 'x' },
        }),
      },
    ]);
  });

  it('tool_choice named, required and none; parallel_tool_calls false; max_tool_calls caps the calls', async () => {
    router.toolAnswer = { tool_calls: [{ name: 'get_time', arguments: { zone: 'cet' } }] };
    try {
      const named = await client.responses.create({
        model: MODEL,
        input: 'Time?',
        tools: [weather, time],
        tool_choice: { type: 'function', name: 'get_time' },
      });
      assert.deepEqual(named.tool_choice, { type: 'function', name: 'get_time' });
      assert.equal(named.output[0]?.type, 'function_call');
      let s = JSON.stringify(enforced().schema);
      assert.ok(!s.includes('get_weather') && !s.includes('"response"'), s);
      assert.match(s, /"maxItems":1/);
      const required = await client.responses.create({
        model: MODEL,
        input: 'Time?',
        tools: [weather, time],
        tool_choice: 'required',
        parallel_tool_calls: false,
        max_tool_calls: 5,
      });
      assert.equal(required.tool_choice, 'required');
      assert.equal(required.parallel_tool_calls, false);
      assert.equal(required.max_tool_calls, 5);
      s = JSON.stringify(enforced().schema);
      assert.ok(!s.includes('"response"'), 'required: no words');
      assert.match(s, /"maxItems":1/);
      await client.responses.create({
        model: MODEL,
        input: 'Time?',
        tools: [weather, time],
        max_tool_calls: 3,
      });
      assert.match(JSON.stringify(enforced().schema), /"maxItems":3/);
    } finally {
      router.toolAnswer = { response: FULL_TEXT };
    }
    for (const extra of [{ tool_choice: 'none' as const }, { max_tool_calls: 0 }]) {
      const none = await client.responses.create({ model: MODEL, input: 'Hi', tools: [weather], ...extra });
      assert.equal(none.output_text, FULL_TEXT);
      assert.equal(lastParams().responseFormat, undefined);
      assert.deepEqual(lastParams().messages, [{ role: 'user', content: 'Hi' }]);
    }
  });

  it('refuses built-in tools and bad tool requests with a 400 naming the field', async () => {
    const base = { model: MODEL, input: 'Hi' };
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...base, tools: [{ type: 'web_search' }] }, 'tools', /built-in tools are not offered/],
      [{ ...base, tools: [weather, { type: 'file_search', vector_store_ids: [] }] }, 'tools', /file_search/],
      [{ ...base, tools: [{ type: 'function', name: 'bad name' }] }, 'tools.0.name', /letters/],
      [{ ...base, tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools.0', /flat/],
      [{ ...base, tools: [weather, weather] }, 'tools.1.name', /declared twice/],
      [
        { ...base, tools: [{ ...weather, parameters: { type: 'object', patternProperties: {} } }] },
        'tools.0.parameters.patternProperties',
        /patternProperties/,
      ],
      [{ ...base, tools: [weather], tool_choice: { type: 'function', name: 'nope' } }, 'tool_choice', /nope/],
      [{ ...base, tools: [weather], tool_choice: { type: 'web_search_preview' } }, 'tool_choice', /built-in/],
      [{ ...base, tool_choice: 'required' }, 'tool_choice', /needs tools/],
      [{ ...base, tools: [weather], tool_choice: 'required', max_tool_calls: 0 }, 'max_tool_calls', /0/],
      [
        { ...base, tools: [weather], text: { format: { type: 'json_object' } } },
        'text.format',
        /cannot be combined with tools/,
      ],
      [{ ...base, input: [{ type: 'function_call', call_id: 'c', name: 'f' }] }, 'input', /function_call/],
    ];
    for (const [body, param, message] of cases) {
      const e = await envelope(await post('/v1/responses', JSON.stringify(body)), 400);
      assert.equal(e.param, param, JSON.stringify(body));
      assert.match(e.message, message, JSON.stringify(body));
    }
  });
});
