/**
 * Translation between OpenAI's wire shapes and the app stack's: requests become {@link GenerateParams} /
 * {@link EmbedParams}; generation events become a `chat.completion` / `text_completion` body or its stream
 * of chunks. The encoders build JSON by hand around one `JSON.stringify` per chunk, since this runs per
 * token: no zod and no per-chunk object graphs on this path.
 */

import type { EmbedParams, EmbedResult, GenerateEvent, GenerateParams } from '../types.js';
import { invalidRequest, type OpenAiErrorBody } from './errors.js';
import type { ChatCompletionRequest, CompletionRequest, EmbeddingRequest } from './schemas.js';

export type TokenEvent = Extract<GenerateEvent, { type: 'token' }>;
export type DoneEvent = Extract<GenerateEvent, { type: 'done' }>;

/** `max_tokens` when a chat request names none (the miner stops earlier at the end of its answer). */
export const DEFAULT_CHAT_MAX_TOKENS = 1024;
/** OpenAI's documented default sampling temperature. */
export const OPENAI_DEFAULT_TEMPERATURE = 1;
/** `max_tokens` when a completion request names none: OpenAI's documented default. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;
/** `system_fingerprint` of every response. */
export const SYSTEM_FINGERPRINT = 'fp_subnet';

/** Identity of one response: its id, creation time (unix seconds) and the model as the client named it. */
export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

/** A generation translated from an OpenAI request, with what the front door needs around it. */
export interface GenerationPlan {
  params: GenerateParams;
  /** Tokens the limiter is asked for: prompt characters / 4 + max tokens. */
  estimate: number;
  stream: boolean;
  includeUsage: boolean;
  /** Chat: whether logprobs were asked for. Completions: the `logprobs` count, or undefined. */
  logprobs: number | undefined;
  /** Completions: length of the prompt (the first token's `text_offset`). */
  promptChars: number;
}

function stopList(stop: string | string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  return typeof stop === 'string' ? [stop] : stop;
}

/** OpenAI accepts any integer seed; miners take an unsigned 32-bit one. */
function seed32(seed: number): number {
  const m = seed % 2 ** 32;
  return m < 0 ? m + 2 ** 32 : m;
}

function sampling(
  r: ChatCompletionRequest | CompletionRequest,
  maxTokens: number,
): Pick<GenerateParams, 'model' | 'maxTokens' | 'temperature' | 'topP' | 'seed' | 'stop'> {
  const out: Pick<GenerateParams, 'model' | 'maxTokens' | 'temperature' | 'topP' | 'seed' | 'stop'> = {
    model: r.model,
    maxTokens,
    stop: stopList(r.stop),
    // OpenAI's default temperature is 1 (the miners' own default, 0, is greedy).
    temperature: r.temperature ?? OPENAI_DEFAULT_TEMPERATURE,
  };
  // top_p 0 means greedy in OpenAI's API; miners take (0, 1].
  if (r.top_p !== null && r.top_p !== undefined) out.topP = r.top_p === 0 ? 1e-9 : r.top_p;
  if (r.seed !== null && r.seed !== undefined) out.seed = seed32(r.seed);
  return out;
}

/** A chat completion request as a generation. */
export function chatToGenerate(r: ChatCompletionRequest): GenerationPlan {
  const maxTokens = r.max_completion_tokens ?? r.max_tokens ?? DEFAULT_CHAT_MAX_TOKENS;
  let chars = 0;
  const messages: NonNullable<GenerateParams['messages']> = [];
  for (const m of r.messages) {
    let content: string;
    if (m.content === null) content = '';
    else if (typeof m.content === 'string') content = m.content;
    else content = m.content.map((p) => p.text).join('\n');
    chars += content.length;
    messages.push({ role: m.role === 'developer' ? 'system' : m.role, content });
  }
  const logprobs = r.logprobs === true;
  const params: GenerateParams = { ...sampling(r, maxTokens), kind: 'chat', messages, logprobs };
  if (logprobs) params.topLogprobs = r.top_logprobs ?? 0;
  return {
    params,
    estimate: Math.ceil(chars / 4) + maxTokens,
    stream: r.stream === true,
    includeUsage: r.stream_options?.include_usage === true,
    logprobs: logprobs ? 1 : undefined,
    promptChars: chars,
  };
}

/** A legacy completion request as a generation. */
export function completionToGenerate(r: CompletionRequest): GenerationPlan {
  const maxTokens = r.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS;
  const prompt = typeof r.prompt === 'string' ? r.prompt : r.prompt[0];
  const logprobs = r.logprobs ?? undefined;
  const params: GenerateParams = {
    ...sampling(r, maxTokens),
    kind: 'completion',
    prompt,
    logprobs: logprobs !== undefined,
  };
  if (logprobs !== undefined) params.topLogprobs = logprobs;
  return {
    params,
    estimate: Math.ceil(prompt.length / 4) + maxTokens,
    stream: r.stream === true,
    includeUsage: r.stream_options?.include_usage === true,
    logprobs,
    promptChars: prompt.length,
  };
}

/** An embeddings request for the router, and the limiter's estimate. */
export function embeddingToEmbed(r: EmbeddingRequest): { params: EmbedParams; estimate: number } {
  const input = typeof r.input === 'string' ? [r.input] : r.input;
  let chars = 0;
  for (const s of input) chars += s.length;
  return { params: { model: r.model, input }, estimate: Math.max(1, Math.ceil(chars / 4)) };
}

/** The embeddings response; base64 is OpenAI's: little-endian float32, as the official client decodes it. */
export function embeddingResponse(r: EmbeddingRequest, result: EmbedResult): string {
  const first = result.embeddings[0];
  if (
    r.dimensions !== null &&
    r.dimensions !== undefined &&
    first !== undefined &&
    first.length !== r.dimensions
  )
    throw invalidRequest(
      `The model '${r.model}' returns ${first.length} dimensions; omit 'dimensions' or set it to ${first.length}.`,
      'dimensions',
    );
  const base64 = r.encoding_format === 'base64';
  const data = result.embeddings.map((v, index) => ({
    object: 'embedding',
    index,
    embedding: base64 ? float32Base64(v) : v,
  }));
  const usage = { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens };
  return JSON.stringify({ object: 'list', data, model: r.model, usage });
}

function float32Base64(v: number[]): string {
  const buf = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i] as number, i * 4);
  return buf.toString('base64');
}

/** One model object of `/v1/models`. */
export function modelObject(
  id: string,
  created: number,
): { id: string; object: 'model'; created: number; owned_by: string } {
  return { id, object: 'model', created, owned_by: 'subnet' };
}

/** The `data:` frame carrying an error inside a stream that already began. */
export function sseError(body: OpenAiErrorBody): string {
  return `data: ${JSON.stringify(body)}\n\n`;
}

const DONE = 'data: [DONE]\n\n';

function usageJson(u: DoneEvent['usage']): string {
  return `{"prompt_tokens":${u.promptTokens},"completion_tokens":${u.completionTokens},"total_tokens":${u.promptTokens + u.completionTokens}}`;
}

/**
 * Turns one generation's events into the response: either collected (`add` per token, then `body`) or
 * streamed (`open`, `chunk` per token, then `close`, each returning SSE text).
 */
export interface GenerationEncoder {
  add(ev: TokenEvent): void;
  /** The JSON body of the whole response. */
  body(done: DoneEvent): string;
  /** SSE text sent before the first token ('' when none). */
  open(): string;
  chunk(ev: TokenEvent): string;
  /** The final chunk, the usage chunk when asked for, and `[DONE]`. */
  close(done: DoneEvent): string;
}

interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

function bytesOf(s: string): number[] {
  return Array.from(Buffer.from(s, 'utf8'));
}

function chatLogprob(ev: TokenEvent): ChatTokenLogprob {
  const top = ev.topLogprobs ?? [];
  return {
    token: ev.text,
    logprob: ev.logprob ?? 0,
    bytes: bytesOf(ev.text),
    top_logprobs: top.map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytesOf(t.token) })),
  };
}

/** `chat.completion` and `chat.completion.chunk`. */
export class ChatEncoder implements GenerationEncoder {
  private readonly text: string[] = [];
  private readonly logprobs: ChatTokenLogprob[] | undefined;
  /** A stream chunk up to its choices array, and what follows that array. */
  private readonly head: string;
  private readonly tail: string;

  constructor(
    private readonly meta: ResponseMeta,
    withLogprobs: boolean,
    private readonly includeUsage: boolean,
  ) {
    this.logprobs = withLogprobs ? [] : undefined;
    this.head = `data: {"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},"model":${JSON.stringify(meta.model)},"system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":[`;
    this.tail = includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  }

  add(ev: TokenEvent): void {
    this.text.push(ev.text);
    this.logprobs?.push(chatLogprob(ev));
  }

  body(done: DoneEvent): string {
    const m = this.meta;
    const logprobs =
      this.logprobs === undefined ? null : `{"content":${JSON.stringify(this.logprobs)},"refusal":null}`;
    const message = `{"role":"assistant","content":${JSON.stringify(this.text.join(''))},"refusal":null,"annotations":[]}`;
    return `{"id":${JSON.stringify(m.id)},"object":"chat.completion","created":${m.created},"model":${JSON.stringify(m.model)},"choices":[{"index":0,"message":${message},"logprobs":${logprobs},"finish_reason":"${done.finishReason}"}],"usage":${usageJson(done.usage)},"system_fingerprint":"${SYSTEM_FINGERPRINT}"}`;
  }

  open(): string {
    return `${this.head}{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}${this.tail}`;
  }

  chunk(ev: TokenEvent): string {
    const logprobs =
      this.logprobs === undefined
        ? 'null'
        : `{"content":[${JSON.stringify(chatLogprob(ev))}],"refusal":null}`;
    return `${this.head}{"index":0,"delta":{"content":${JSON.stringify(ev.text)}},"logprobs":${logprobs},"finish_reason":null}${this.tail}`;
  }

  close(done: DoneEvent): string {
    let out = `${this.head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${done.finishReason}"}${this.tail}`;
    if (this.includeUsage) out += `${this.head}],"usage":${usageJson(done.usage)}}\n\n`;
    return out + DONE;
  }
}

interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

function topObject(ev: TokenEvent): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ev.topLogprobs ?? []) out[t.token] = t.logprob;
  return out;
}

/** `text_completion`, whole and streamed. */
export class CompletionEncoder implements GenerationEncoder {
  private readonly text: string[] = [];
  private readonly logprobs: CompletionLogprobs | undefined;
  /** Offset of the next token in prompt + completion (OpenAI's `text_offset`). */
  private offset: number;
  private readonly head: string;
  private readonly tail: string;

  constructor(
    private readonly meta: ResponseMeta,
    withLogprobs: boolean,
    private readonly includeUsage: boolean,
    promptChars: number,
  ) {
    this.offset = promptChars;
    this.logprobs = withLogprobs
      ? { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] }
      : undefined;
    this.head = `data: {"id":${JSON.stringify(meta.id)},"object":"text_completion","created":${meta.created},"model":${JSON.stringify(meta.model)},"system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":[`;
    this.tail = includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  }

  add(ev: TokenEvent): void {
    this.text.push(ev.text);
    const lp = this.logprobs;
    if (lp !== undefined) {
      lp.tokens.push(ev.text);
      lp.token_logprobs.push(ev.logprob ?? 0);
      lp.top_logprobs.push(topObject(ev));
      lp.text_offset.push(this.offset);
    }
    this.offset += ev.text.length;
  }

  body(done: DoneEvent): string {
    const m = this.meta;
    const logprobs = this.logprobs === undefined ? 'null' : JSON.stringify(this.logprobs);
    return `{"id":${JSON.stringify(m.id)},"object":"text_completion","created":${m.created},"model":${JSON.stringify(m.model)},"choices":[{"text":${JSON.stringify(this.text.join(''))},"index":0,"logprobs":${logprobs},"finish_reason":"${done.finishReason}"}],"usage":${usageJson(done.usage)},"system_fingerprint":"${SYSTEM_FINGERPRINT}"}`;
  }

  open(): string {
    return '';
  }

  chunk(ev: TokenEvent): string {
    let logprobs = 'null';
    if (this.logprobs !== undefined)
      logprobs = JSON.stringify({
        tokens: [ev.text],
        token_logprobs: [ev.logprob ?? 0],
        top_logprobs: [topObject(ev)],
        text_offset: [this.offset],
      });
    this.offset += ev.text.length;
    return `${this.head}{"text":${JSON.stringify(ev.text)},"index":0,"logprobs":${logprobs},"finish_reason":null}${this.tail}`;
  }

  close(done: DoneEvent): string {
    let out = `${this.head}{"text":"","index":0,"logprobs":null,"finish_reason":"${done.finishReason}"}${this.tail}`;
    if (this.includeUsage) out += `${this.head}],"usage":${usageJson(done.usage)}}\n\n`;
    return out + DONE;
  }
}
