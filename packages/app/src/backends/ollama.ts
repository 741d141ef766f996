/**
 * The Ollama backend: an `InferenceModule` over Ollama's native HTTP API (`/api/tags`, `/api/show`,
 * `/api/chat`, `/api/generate`, `/api/embed`), speaking NDJSON streams through one keep-alive undici pool.
 * It must never hold state for a request after its stream ends, and never let a non-`AppError` escape:
 * aborting the caller's signal destroys the HTTP request, so the cancel reaches the Ollama server.
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
  type TaskType,
  type TokenLogprob,
} from '../module.js';
import { ndjsonLines, probeHealth, remoteCapabilities, toAppError } from './http.js';

/** Config slice of {@link createOllamaModule}. */
export interface OllamaOpts {
  /** Server root, e.g. `http://127.0.0.1:11434`. */
  baseUrl: string;
  /** Models to serve; default: every model `/api/tags` lists at `init`. */
  models?: string[];
  /** Limit on connecting, on waiting for response headers and on any silence between stream chunks. */
  timeoutMs: number;
  /** Keep-alive connections to the server (default 16). */
  connections?: number;
}

/** Collaborators of {@link createOllamaModule}. */
export interface OllamaModules {
  logger: Logger;
}

/** Context length assumed when `/api/show` does not say (Ollama's default `num_ctx`). */
const DEFAULT_CONTEXT = 2048;

interface OllamaLogprob {
  token: string;
  logprob: number;
  top_logprobs?: Array<{ token: string; logprob: number }>;
}

/** One NDJSON line of `/api/chat` or `/api/generate`. */
interface OllamaChunk {
  error?: string;
  message?: { role?: string; content?: string };
  response?: string;
  logprobs?: OllamaLogprob[] | null;
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
}

/**
 * Creates the Ollama backend. `init` lists the served models (and reads each one's context length and
 * capabilities from `/api/show`); `generate` streams `/api/chat` (chat) or raw `/api/generate`
 * (completion); `embed` calls `/api/embed`. Logprobs are requested with Ollama's `logprobs`/`top_logprobs`
 * (Ollama ≥ 0.12.11); older servers ignore them and the token events carry none.
 */
export function createOllamaModule(opts: OllamaOpts, modules: OllamaModules): InferenceModule {
  const base = new URL(opts.baseUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connections: opts.connections ?? 16,
    connectTimeout: opts.timeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
  let models: ModelInfo[] = [];
  let closed = false;

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal: AbortSignal,
    model?: string,
  ): Promise<Awaited<ReturnType<Pool['request']>>> {
    if (closed) throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'the Ollama backend is closed');
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await pool.request({
        method,
        path: prefix + path,
        signal,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      throw toAppError(err, signal, model);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    const text = await res.body.text().catch(() => '');
    throw statusError(res.statusCode, text, model);
  }

  async function readJson<T>(res: Awaited<ReturnType<Pool['request']>>, signal: AbortSignal): Promise<T> {
    try {
      return (await res.body.json()) as T;
    } catch (err) {
      if (err instanceof SyntaxError)
        throw new AppError(AppErrorCode.BACKEND_FAILED, `Ollama sent invalid JSON: ${err.message}`, {
          cause: err,
        });
      throw toAppError(err, signal);
    }
  }

  async function describe(name: string, signal: AbortSignal): Promise<ModelInfo> {
    try {
      const res = await call('POST', '/api/show', { model: name }, signal, name);
      const show = await readJson<{ capabilities?: string[]; model_info?: Record<string, unknown> }>(
        res,
        signal,
      );
      let contextLength = DEFAULT_CONTEXT;
      for (const [key, value] of Object.entries(show.model_info ?? {}))
        if (key.endsWith('.context_length') && typeof value === 'number') contextLength = value;
      const caps = show.capabilities;
      const taskTypes: TaskType[] =
        caps === undefined
          ? ['chat', 'completion', 'embedding']
          : [
              ...(caps.includes('completion') ? (['chat', 'completion'] as const) : []),
              ...(caps.includes('embedding') ? (['embedding'] as const) : []),
            ];
      return {
        id: name,
        taskTypes,
        contextLength,
        modelType: taskTypes[0] === 'embedding' ? 'embedding' : 'llm',
        features: taskTypes.includes('chat') ? ['json_object', 'json_schema'] : [],
      };
    } catch (err) {
      if (err instanceof AppError && err.code === AppErrorCode.CANCELLED) throw err;
      modules.logger.warn({ model: name, err: String(err) }, 'ollama /api/show failed; assuming defaults');
      return {
        id: name,
        taskTypes: ['chat', 'completion', 'embedding'],
        contextLength: DEFAULT_CONTEXT,
        modelType: 'unknown',
        features: ['json_object', 'json_schema'],
      };
    }
  }

  return {
    backend: 'ollama',

    async init({ signal }) {
      let names = opts.models;
      if (names === undefined) {
        const res = await call('GET', '/api/tags', undefined, signal);
        const tags = await readJson<{ models?: Array<{ name?: string; model?: string }> }>(res, signal);
        names = (tags.models ?? []).map((m) => m.name ?? m.model ?? '').filter((n) => n !== '');
      }
      models = await Promise.all(names.map((n) => describe(n, signal)));
      modules.logger.info({ baseUrl: opts.baseUrl, models: names }, 'ollama backend ready');
    },

    health: ({ signal }) => probeHealth((sig) => call('GET', '/api/tags', undefined, sig), signal),

    capabilities: (): Capabilities => remoteCapabilities('ollama', models),

    async *generate(req: GenerateRequest, { signal }: CallOpts): AsyncGenerator<GenerationEvent> {
      const options: Record<string, unknown> = {
        temperature: req.temperature,
        top_p: req.topP,
        num_predict: req.maxTokens,
        ...(req.seed === undefined ? {} : { seed: req.seed }),
        ...(req.stop.length === 0 ? {} : { stop: req.stop }),
      };
      const logprobs = req.logprobs ? { logprobs: true, top_logprobs: req.topLogprobs } : {};
      const chat = req.kind === 'chat';
      // Structured outputs: Ollama's `format` takes "json" or a JSON schema (enforced by its grammar sampler).
      const f = req.responseFormat;
      const format =
        f === undefined || f.type === 'text' ? {} : { format: f.type === 'json_object' ? 'json' : f.schema };
      const body = chat
        ? { model: req.model, messages: req.messages, stream: true, options, ...logprobs, ...format }
        : { model: req.model, prompt: req.prompt, raw: true, stream: true, options, ...logprobs, ...format };
      const res = await call('POST', chat ? '/api/chat' : '/api/generate', body, signal, req.model);
      try {
        for await (const line of ndjsonLines(res.body, signal)) {
          let chunk: OllamaChunk;
          try {
            chunk = JSON.parse(line) as OllamaChunk;
          } catch {
            throw new AppError(
              AppErrorCode.BACKEND_FAILED,
              `Ollama sent a malformed stream line: ${line.slice(0, 200)}`,
            );
          }
          if (typeof chunk !== 'object' || chunk === null)
            throw new AppError(
              AppErrorCode.BACKEND_FAILED,
              'Ollama sent a stream line that is not an object',
            );
          if (typeof chunk.error === 'string')
            throw new AppError(AppErrorCode.BACKEND_FAILED, `Ollama failed mid-stream: ${chunk.error}`, {
              meta: { model: req.model },
            });
          const text = (chat ? chunk.message?.content : chunk.response) ?? '';
          yield* tokenEvents(text, chunk.logprobs ?? undefined);
          if (chunk.done === true) {
            yield {
              type: 'done',
              finishReason: chunk.done_reason === 'length' ? 'length' : 'stop',
              usage: { promptTokens: chunk.prompt_eval_count ?? 0, completionTokens: chunk.eval_count ?? 0 },
            };
            return;
          }
        }
        throw new AppError(AppErrorCode.BACKEND_FAILED, 'the Ollama stream ended without a done line');
      } finally {
        // Early exit (consumer broke off, error): drop the connection so the server stops generating.
        if (!res.body.destroyed) res.body.destroy();
      }
    },

    async embed(req: EmbedRequest, { signal }: CallOpts): Promise<EmbedResult> {
      const res = await call('POST', '/api/embed', { model: req.model, input: req.input }, signal, req.model);
      const out = await readJson<{ embeddings?: unknown; prompt_eval_count?: number }>(res, signal);
      const embeddings = out.embeddings;
      if (
        !Array.isArray(embeddings) ||
        embeddings.length !== req.input.length ||
        !embeddings.every((e) => Array.isArray(e) && e.every((x) => typeof x === 'number'))
      )
        throw new AppError(AppErrorCode.BACKEND_FAILED, 'Ollama /api/embed returned no usable embeddings', {
          meta: { model: req.model },
        });
      return { embeddings: embeddings as number[][], usage: { promptTokens: out.prompt_eval_count ?? 0 } };
    },

    async close() {
      if (closed) return;
      closed = true;
      await pool.destroy();
    },
  };
}

/** Token events for one chunk: one per logprob entry when they spell the text, else one plain event. */
function* tokenEvents(text: string, logprobs: OllamaLogprob[] | undefined): Generator<GenerationEvent> {
  if (logprobs !== undefined && logprobs.length > 0 && logprobs.map((l) => l.token).join('') === text) {
    for (const lp of logprobs) {
      const top: TokenLogprob[] | undefined = lp.top_logprobs?.map((t) => ({
        token: t.token,
        logprob: t.logprob,
      }));
      yield {
        type: 'token',
        text: lp.token,
        logprob: lp.logprob,
        ...(top === undefined ? {} : { topLogprobs: top }),
      };
    }
    return;
  }
  if (text !== '') yield { type: 'token', text };
}

/** Maps an HTTP error status and Ollama's `{error}` body to an AppError. */
function statusError(status: number, text: string, model: string | undefined): AppError {
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // not JSON: keep the raw text
  }
  const meta = model === undefined ? {} : { meta: { model } };
  if (status === 404)
    return new AppError(
      AppErrorCode.UNKNOWN_MODEL,
      `Ollama does not have this model (pull it first): ${message}`,
      meta,
    );
  if (status === 400)
    return new AppError(AppErrorCode.INVALID_REQUEST, `Ollama rejected the request: ${message}`, meta);
  if (status === 429 || status === 503)
    return new AppError(AppErrorCode.OVERLOADED, `Ollama is overloaded (${status}): ${message}`, meta);
  return new AppError(AppErrorCode.BACKEND_FAILED, `Ollama answered HTTP ${status}: ${message}`, meta);
}
