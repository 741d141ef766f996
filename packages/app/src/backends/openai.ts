/**
 * The OpenAI-compatible backend: an `InferenceModule` over any server speaking OpenAI's HTTP API
 * (vLLM, llama.cpp server, …): `/v1/models`, streaming `/v1/chat/completions` and `/v1/completions`
 * (SSE, `data: [DONE]`), `/v1/embeddings`, through one keep-alive undici pool. It must never let a
 * non-`AppError` escape, never log the API key, and must drop the HTTP request when the signal aborts.
 */
import type { Logger } from '@subnet/utils';
import { Pool } from 'undici';
import {
  AppError,
  AppErrorCode,
  type CallOpts,
  type Capabilities,
  type EmbedRequest,
  type EmbedResult,
  type GenerateRequest,
  type GenerationEvent,
  type InferenceModule,
  type ModelInfo,
  type TokenLogprob,
} from '../module.js';
import { ndjsonLines, probeHealth, remoteCapabilities, toAppError } from './http.js';

/** Config slice of {@link createOpenAiModule}. */
export interface OpenAiOpts {
  /** Server root, with or without the trailing `/v1` (e.g. `http://127.0.0.1:8000` or `…:8000/v1`). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** Models to serve; default: every model `/v1/models` lists at `init`. */
  models?: string[];
  /** Limit on connecting, on waiting for response headers and on any silence between stream chunks. */
  timeoutMs: number;
  /** Keep-alive connections to the server (default 16). */
  connections?: number;
}

/** Collaborators of {@link createOpenAiModule}. */
export interface OpenAiModules {
  logger: Logger;
}

/** Context length assumed when `/v1/models` does not say (vLLM: `max_model_len`, llama.cpp: `meta.n_ctx_train`). */
const DEFAULT_CONTEXT = 4096;

type Response = Awaited<ReturnType<Pool['request']>>;

interface ChatLogprob {
  /** The token's id (llama.cpp's server sends it; OpenAI and vLLM do not). */
  id?: number;
  token: string;
  logprob: number;
  top_logprobs?: Array<{ token: string; logprob: number }>;
}

/** One SSE `data:` payload of a streaming chat or text completion. */
interface StreamChunk {
  error?: { message?: string; type?: string; code?: unknown };
  choices?: Array<{
    delta?: { content?: string | null };
    text?: string;
    logprobs?: {
      content?: ChatLogprob[] | null;
      tokens?: string[];
      token_logprobs?: Array<number | null>;
      top_logprobs?: Array<Record<string, number> | null> | null;
    } | null;
    finish_reason?: string | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

/**
 * Creates the OpenAI-compatible backend. `generate` streams `/v1/chat/completions` (chat) or
 * `/v1/completions` (completion) with `stream_options.include_usage`, passing logprobs through when asked;
 * `embed` calls `/v1/embeddings`. Error envelopes `{error:{message,type,code}}` map to AppError codes.
 */
export function createOpenAiModule(opts: OpenAiOpts, modules: OpenAiModules): InferenceModule {
  const base = new URL(opts.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  const pool = new Pool(base.origin, {
    connections: opts.connections ?? 16,
    connectTimeout: opts.timeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(opts.apiKey === undefined ? {} : { authorization: `Bearer ${opts.apiKey}` }),
  };
  let models: ModelInfo[] = [];
  let closed = false;

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
    model?: string,
  ): Promise<Response> {
    if (closed)
      throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'the OpenAI-compatible backend is closed');
    let res: Response;
    try {
      res = await pool.request({
        method,
        path: `${prefix}/v1${path}`,
        signal,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw toAppError(err, signal, model);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    const text = await res.body.text().catch(() => '');
    throw statusError(res.statusCode, text, res.headers['retry-after'], model);
  }

  async function readJson<T>(res: Response, signal: AbortSignal): Promise<T> {
    try {
      return (await res.body.json()) as T;
    } catch (err) {
      if (err instanceof SyntaxError)
        throw new AppError(AppErrorCode.BACKEND_FAILED, `the server sent invalid JSON: ${err.message}`, {
          cause: err,
        });
      throw toAppError(err, signal);
    }
  }

  return {
    backend: 'openai',

    async init({ signal }) {
      const res = await call('GET', '/models', undefined, signal);
      const list = await readJson<{
        data?: Array<{ id?: string; max_model_len?: number; meta?: { n_ctx_train?: number } | null }>;
      }>(res, signal);
      const listed = new Map<string, number>();
      for (const m of list.data ?? [])
        if (typeof m.id === 'string')
          listed.set(m.id, m.max_model_len ?? m.meta?.n_ctx_train ?? DEFAULT_CONTEXT);
      const names = opts.models ?? [...listed.keys()];
      for (const n of names)
        if (!listed.has(n))
          modules.logger.warn(
            { model: n },
            'configured model is not listed by /v1/models; serving it anyway',
          );
      models = names.map((id) => ({
        id,
        taskTypes: ['chat', 'completion', 'embedding'],
        contextLength: listed.get(id) ?? DEFAULT_CONTEXT,
        modelType: 'unknown',
        // Passed through as `response_format` (vLLM, llama.cpp's server, OpenAI enforce it); a server that
        // ignores it answers text, which the validator's check of the answer catches.
        features: ['json_object', 'json_schema'],
      }));
      modules.logger.info({ baseUrl: opts.baseUrl, models: names }, 'openai-compatible backend ready');
    },

    health: ({ signal }) => probeHealth((sig) => call('GET', '/models', undefined, sig), signal),

    capabilities: (): Capabilities => remoteCapabilities('openai', models),

    async *generate(req: GenerateRequest, { signal }: CallOpts): AsyncGenerator<GenerationEvent> {
      const chat = req.kind === 'chat';
      const common = {
        model: req.model,
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: req.maxTokens,
        temperature: req.temperature,
        top_p: req.topP,
        ...(req.seed === undefined ? {} : { seed: req.seed }),
        ...(req.stop.length === 0 ? {} : { stop: req.stop }),
        ...responseFormatOf(req),
      };
      const body = chat
        ? {
            ...common,
            messages: req.messages,
            ...(req.logprobs ? { logprobs: true, top_logprobs: req.topLogprobs } : {}),
          }
        : { ...common, prompt: req.prompt, ...(req.logprobs ? { logprobs: req.topLogprobs } : {}) };
      const res = await call('POST', chat ? '/chat/completions' : '/completions', body, signal, req.model);
      let finishReason: 'stop' | 'length' | undefined;
      let usage = { promptTokens: 0, completionTokens: 0 };
      let sawDone = false;
      try {
        // Not destroyed when the loop is left at [DONE]: the rest of the body (its last chunk) is read below,
        // which keeps the connection for the next request and builds no AbortError per request.
        for await (const line of ndjsonLines(res.body.iterator({ destroyOnReturn: false }), signal)) {
          if (!line.startsWith('data:')) continue; // comments, `event:`/`id:` fields
          const data = line.slice(5).trim();
          if (data === '[DONE]') {
            sawDone = true;
            yield { type: 'done', finishReason: finishReason ?? 'stop', usage };
            return;
          }
          let chunk: StreamChunk;
          try {
            chunk = JSON.parse(data) as StreamChunk;
          } catch {
            throw new AppError(
              AppErrorCode.BACKEND_FAILED,
              `the server sent a malformed SSE event: ${data.slice(0, 200)}`,
            );
          }
          if (typeof chunk !== 'object' || chunk === null)
            throw new AppError(
              AppErrorCode.BACKEND_FAILED,
              'the server sent an SSE event that is not an object',
            );
          if (chunk.error !== undefined)
            throw new AppError(
              AppErrorCode.BACKEND_FAILED,
              `the server failed mid-stream: ${chunk.error.message ?? JSON.stringify(chunk.error)}`,
              { meta: { model: req.model } },
            );
          if (chunk.usage != null)
            usage = {
              promptTokens: chunk.usage.prompt_tokens ?? 0,
              completionTokens: chunk.usage.completion_tokens ?? 0,
            };
          const choice = chunk.choices?.[0];
          if (choice === undefined) continue;
          yield* tokenEvents(
            chat ? (choice.delta?.content ?? '') : (choice.text ?? ''),
            choice.logprobs ?? undefined,
          );
          if (choice.finish_reason != null)
            finishReason = choice.finish_reason === 'length' ? 'length' : 'stop';
        }
        // Some servers end the stream without `[DONE]`; a finish reason is then enough.
        if (finishReason !== undefined) {
          yield { type: 'done', finishReason, usage };
          return;
        }
        throw new AppError(
          AppErrorCode.BACKEND_FAILED,
          'the SSE stream ended without a finish reason or [DONE]',
        );
      } finally {
        // After [DONE] only the body's end is left (a server that sends more is cut at 64 KiB); anything
        // else (an error, a consumer that stopped early) closes the connection so the server stops at once.
        if (sawDone) res.body.dump({ limit: 64 * 1024 }).catch(() => {});
        else if (!res.body.destroyed) res.body.on('error', () => {}).destroy();
      }
    },

    async embed(req: EmbedRequest, { signal }: CallOpts): Promise<EmbedResult> {
      const res = await call(
        'POST',
        '/embeddings',
        { model: req.model, input: req.input },
        signal,
        req.model,
      );
      const out = await readJson<{
        data?: Array<{ embedding?: unknown; index?: number }>;
        usage?: { prompt_tokens?: number };
      }>(res, signal);
      const embeddings: number[][] = [];
      for (const [i, d] of (out.data ?? []).entries()) {
        const e = d.embedding;
        if (!Array.isArray(e) || !e.every((x) => typeof x === 'number')) break;
        embeddings[d.index ?? i] = e as number[];
      }
      if (embeddings.length !== req.input.length || embeddings.some((e) => e === undefined))
        throw new AppError(
          AppErrorCode.BACKEND_FAILED,
          '/v1/embeddings returned no usable float embeddings',
          {
            meta: { model: req.model },
          },
        );
      return { embeddings, usage: { promptTokens: out.usage?.prompt_tokens ?? 0 } };
    },

    async close() {
      if (closed) return;
      closed = true;
      await pool.destroy();
    },
  };
}

/** Token events for one choice delta, splitting it per token when logprobs spell its text. */
function* tokenEvents(
  text: string,
  logprobs: NonNullable<NonNullable<StreamChunk['choices']>[number]['logprobs']> | undefined,
): Generator<GenerationEvent> {
  const entries: Array<{ token: string; logprob: number; id?: number; top?: TokenLogprob[] }> = [];
  if (logprobs?.content != null)
    for (const c of logprobs.content)
      entries.push({
        token: c.token,
        logprob: c.logprob,
        ...(Number.isSafeInteger(c.id) && (c.id as number) >= 0 ? { id: c.id as number } : {}),
        ...(c.top_logprobs === undefined
          ? {}
          : { top: c.top_logprobs.map((t) => ({ token: t.token, logprob: t.logprob })) }),
      });
  else if (logprobs?.tokens !== undefined)
    for (const [i, token] of logprobs.tokens.entries()) {
      const top = logprobs.top_logprobs?.[i];
      entries.push({
        token,
        logprob: logprobs.token_logprobs?.[i] ?? 0,
        ...(top == null ? {} : { top: Object.entries(top).map(([t, lp]) => ({ token: t, logprob: lp })) }),
      });
    }
  if (entries.length > 0 && entries.map((e) => e.token).join('') === text) {
    for (const e of entries)
      yield {
        type: 'token',
        text: e.token,
        ...(e.id === undefined ? {} : { ids: [e.id] }),
        logprob: e.logprob,
        ...(e.top === undefined ? {} : { topLogprobs: e.top }),
      };
    return;
  }
  if (text !== '') yield { type: 'token', text };
}

/** Maps an HTTP error status and the OpenAI error envelope to an AppError. */
function statusError(
  status: number,
  text: string,
  retryAfter: string | string[] | undefined,
  model: string | undefined,
): AppError {
  let message = text.slice(0, 500);
  let code: unknown;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown; code?: unknown } | string };
    if (typeof parsed.error === 'string') message = parsed.error;
    else if (typeof parsed.error?.message === 'string') {
      message = parsed.error.message;
      code = parsed.error.code;
    }
  } catch {
    // not JSON: keep the raw text
  }
  const m = model === undefined ? {} : { model };
  if (status === 404 || code === 'model_not_found')
    return new AppError(AppErrorCode.UNKNOWN_MODEL, `the server does not serve this model: ${message}`, {
      meta: m,
    });
  if (status === 400 || status === 422) {
    const overflow =
      code === 'context_length_exceeded' || /context length|context window|maximum context/i.test(message);
    return overflow
      ? new AppError(
          AppErrorCode.CONTEXT_OVERFLOW,
          `the prompt does not fit the model's context: ${message}`,
          { meta: m },
        )
      : new AppError(AppErrorCode.INVALID_REQUEST, `the server rejected the request: ${message}`, {
          meta: m,
        });
  }
  if (status === 401 || status === 403)
    return new AppError(
      AppErrorCode.BACKEND_UNAVAILABLE,
      `the server refused our credentials (${status}); check the backend's apiKey: ${message}`,
      { meta: m },
    );
  if (status === 429) {
    const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    const retryAfterMs = Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000;
    return new AppError(AppErrorCode.OVERLOADED, `the server is rate-limiting us: ${message}`, {
      meta: { ...m, retryAfterMs },
    });
  }
  if (status === 503)
    return new AppError(AppErrorCode.BACKEND_UNAVAILABLE, `the server is not ready (503): ${message}`, {
      meta: m,
    });
  return new AppError(AppErrorCode.BACKEND_FAILED, `the server answered HTTP ${status}: ${message}`, {
    meta: m,
  });
}

/**
 * OpenAI's `response_format` for a structured request (vLLM and llama.cpp's server take it on both routes and
 * enforce it by guided decoding); nothing for plain text.
 */
function responseFormatOf(req: GenerateRequest): { response_format?: unknown } {
  const f = req.responseFormat;
  if (f === undefined || f.type === 'text') return {};
  if (f.type === 'json_object') return { response_format: { type: 'json_object' } };
  return {
    response_format: {
      type: 'json_schema',
      json_schema: { name: f.name ?? 'response', schema: f.schema, strict: f.strict },
    },
  };
}
