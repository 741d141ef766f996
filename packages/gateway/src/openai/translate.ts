/**
 * Translation between OpenAI's wire shapes and the app stack's: requests become {@link GenerateParams} /
 * {@link EmbedParams}; generation events become a `chat.completion` / `text_completion` body or its stream
 * of chunks. The encoders build JSON by hand around one `JSON.stringify` per chunk, since this runs per
 * token: no zod and no per-chunk object graphs on this path.
 */

import type { EmbedParams, EmbedResult, GenerateEvent, GenerateParams } from '../types.js';
import { invalidRequest, type OpenAiErrorBody } from './errors.js';
import type {
  ChatCompletionRequest,
  ChatResponseFormat,
  CompletionRequest,
  EmbeddingRequest,
  ResponseTextFormat,
} from './schemas.js';
import { decodeToolAnswer, type ToolAwareMessage, type ToolMode, toolPlan } from './tools.js';

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
  /** The first candidate's params; candidate i is {@link candidateParams}(plan, i). */
  params: GenerateParams;
  /** Choices returned (`n`). */
  choices: number;
  /** Generations run (`best_of`, else `n`): each its own request through the router. */
  candidates: number;
  /** Tokens the limiter is asked for: (prompt characters / 4 + max tokens) per candidate. */
  estimate: number;
  stream: boolean;
  includeUsage: boolean;
  /** Chat: whether logprobs were asked for. Completions: the `logprobs` count, or undefined. */
  logprobs: number | undefined;
  /** Completions: length of the prompt (the first token's `text_offset`). */
  promptChars: number;
  /** Chat with tools: how the answer is read ({@link toolPlan}); plain text otherwise. */
  toolMode?: ToolMode;
}

/**
 * Candidate i's params: with a seed, candidate i samples with seed + i so the choices differ (and each stays
 * reproducible); without one, every candidate gets its own random seed from the router.
 */
export function candidateParams(plan: GenerationPlan, i: number): GenerateParams {
  const p = plan.params;
  if (i === 0 || p.seed === undefined) return p;
  return { ...p, seed: seed32(p.seed + i) };
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
  const texts: ToolAwareMessage[] = r.messages.map((m) => {
    let content: string;
    if (m.content === null || m.content === undefined) content = '';
    else if (typeof m.content === 'string') content = m.content;
    else content = m.content.map((p) => p.text).join('\n');
    chars += content.length;
    if (m.role === 'tool') return { role: 'tool', content, tool_call_id: m.tool_call_id };
    if (m.role === 'assistant') return { role: 'assistant', content, tool_calls: m.tool_calls };
    return { role: m.role, content };
  });
  const tools = toolPlan(texts, r.tools, r.tool_choice, r.parallel_tool_calls);
  chars += tools.extraChars;
  const logprobs = r.logprobs === true;
  const params: GenerateParams = {
    ...sampling(r, maxTokens),
    kind: 'chat',
    messages: tools.messages,
    logprobs,
  };
  if (logprobs) params.topLogprobs = r.top_logprobs ?? 0;
  const format = responseFormatOf(r.response_format);
  if (format !== undefined && tools.responseFormat !== undefined)
    throw invalidRequest(
      'response_format cannot be combined with tools (unless tool_choice is none)',
      'response_format',
    );
  const enforced = tools.responseFormat ?? format;
  if (enforced !== undefined) params.responseFormat = enforced;
  const n = r.n ?? 1;
  return {
    params,
    choices: n,
    candidates: n,
    estimate: n * (Math.ceil(chars / 4) + maxTokens),
    stream: r.stream === true,
    includeUsage: r.stream_options?.include_usage === true,
    logprobs: logprobs ? 1 : undefined,
    promptChars: chars,
    toolMode: tools.mode,
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
  const n = r.n ?? 1;
  const candidates = Math.max(n, r.best_of ?? 1);
  return {
    params,
    choices: n,
    candidates,
    estimate: candidates * (Math.ceil(prompt.length / 4) + maxTokens),
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

/** Token counts of a whole response, as OpenAI reports them: the prompt once, completions summed. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

function usageJson(u: Usage): string {
  return `{"prompt_tokens":${u.promptTokens},"completion_tokens":${u.completionTokens},"total_tokens":${u.promptTokens + u.completionTokens}}`;
}

/**
 * Turns a request's generations (choice `i` each) into the response: either collected (`add` per token,
 * then `body`) or streamed (`open` once, `chunk` per token, `finish` per choice as it ends, then `close`,
 * each returning SSE text).
 */
export interface GenerationEncoder {
  add(i: number, ev: TokenEvent): void;
  /** The JSON body of the whole response: choices in the order given (`order[k]` is the k-th returned). */
  body(order: readonly number[], dones: readonly DoneEvent[], usage: Usage): string;
  /** SSE text sent before the first token ('' when none). */
  open(): string;
  chunk(i: number, ev: TokenEvent): string;
  /** The last chunk of choice `i`. */
  finish(i: number, done: DoneEvent): string;
  /** The usage chunk when asked for, and the stream's end. */
  close(usage: Usage, dones: readonly DoneEvent[]): string;
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

function streamHead(meta: ResponseMeta, object: string): string {
  return `data: {"id":${JSON.stringify(meta.id)},"object":"${object}","created":${meta.created},"model":${JSON.stringify(meta.model)},"system_fingerprint":"${SYSTEM_FINGERPRINT}","choices":[`;
}

function bodyJson(meta: ResponseMeta, object: string, choices: string[], usage: Usage): string {
  return `{"id":${JSON.stringify(meta.id)},"object":"${object}","created":${meta.created},"model":${JSON.stringify(meta.model)},"choices":[${choices.join(',')}],"usage":${usageJson(usage)},"system_fingerprint":"${SYSTEM_FINGERPRINT}"}`;
}

/** `chat.completion` and `chat.completion.chunk`. */
export class ChatEncoder implements GenerationEncoder {
  private readonly text: string[][] = [];
  private readonly logprobs: ChatTokenLogprob[][] | undefined;
  /** A stream chunk up to its choices array, and what follows that array. */
  private readonly head: string;
  private readonly tail: string;

  /** Tool mode: answers are JSON read at the end ({@link decodeToolAnswer}), so nothing streams before. */
  private readonly tools: boolean;

  constructor(
    private readonly meta: ResponseMeta,
    withLogprobs: boolean,
    private readonly includeUsage: boolean,
    private readonly choices = 1,
    toolMode: ToolMode = { kind: 'none' },
  ) {
    this.tools = toolMode.kind === 'tools';
    for (let i = 0; i < choices; i++) this.text.push([]);
    this.logprobs = withLogprobs ? this.text.map(() => []) : undefined;
    this.head = streamHead(meta, 'chat.completion.chunk');
    this.tail = includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  }

  add(i: number, ev: TokenEvent): void {
    this.text[i]?.push(ev.text);
    this.logprobs?.[i]?.push(chatLogprob(ev));
  }

  body(order: readonly number[], dones: readonly DoneEvent[], usage: Usage): string {
    const choices = order.map((i, index) => {
      const lp = this.logprobs?.[i];
      const logprobs = lp === undefined ? null : `{"content":${JSON.stringify(lp)},"refusal":null}`;
      const text = (this.text[i] ?? []).join('');
      let finish: string = dones[i]?.finishReason ?? 'stop';
      let message = `{"role":"assistant","content":${JSON.stringify(text)},"refusal":null,"annotations":[]}`;
      if (this.tools) {
        const a = decodeToolAnswer(text);
        const calls = a.toolCalls.length > 0 ? `,"tool_calls":${JSON.stringify(a.toolCalls)}` : '';
        if (a.toolCalls.length > 0) finish = 'tool_calls';
        message = `{"role":"assistant","content":${JSON.stringify(a.content)},"refusal":null,"annotations":[]${calls}}`;
      }
      return `{"index":${index},"message":${message},"logprobs":${logprobs},"finish_reason":"${finish}"}`;
    });
    return bodyJson(this.meta, 'chat.completion', choices, usage);
  }

  open(): string {
    let out = '';
    for (let i = 0; i < this.choices; i++)
      out += `${this.head}{"index":${i},"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}${this.tail}`;
    return out;
  }

  chunk(i: number, ev: TokenEvent): string {
    if (this.tools) {
      // The answer is JSON until it is whole: read at the end (finish), where its calls or words go out.
      this.text[i]?.push(ev.text);
      return '';
    }
    const logprobs =
      this.logprobs === undefined
        ? 'null'
        : `{"content":[${JSON.stringify(chatLogprob(ev))}],"refusal":null}`;
    return `${this.head}{"index":${i},"delta":{"content":${JSON.stringify(ev.text)}},"logprobs":${logprobs},"finish_reason":null}${this.tail}`;
  }

  finish(i: number, done: DoneEvent): string {
    if (!this.tools)
      return `${this.head}{"index":${i},"delta":{},"logprobs":null,"finish_reason":"${done.finishReason}"}${this.tail}`;
    const a = decodeToolAnswer((this.text[i] ?? []).join(''));
    let out = '';
    if (a.toolCalls.length === 0) {
      if (a.content !== null && a.content !== '')
        out += `${this.head}{"index":${i},"delta":{"content":${JSON.stringify(a.content)}},"logprobs":null,"finish_reason":null}${this.tail}`;
      return `${out}${this.head}{"index":${i},"delta":{},"logprobs":null,"finish_reason":"${done.finishReason}"}${this.tail}`;
    }
    // OpenAI's shape: each call opens with its id, type, name and empty arguments, then its arguments follow.
    for (const [k, c] of a.toolCalls.entries()) {
      const open = {
        index: k,
        id: c.id,
        type: 'function',
        function: { name: c.function.name, arguments: '' },
      };
      out += `${this.head}{"index":${i},"delta":{"tool_calls":[${JSON.stringify(open)}]},"logprobs":null,"finish_reason":null}${this.tail}`;
      const args = { index: k, function: { arguments: c.function.arguments } };
      out += `${this.head}{"index":${i},"delta":{"tool_calls":[${JSON.stringify(args)}]},"logprobs":null,"finish_reason":null}${this.tail}`;
    }
    return `${out}${this.head}{"index":${i},"delta":{},"logprobs":null,"finish_reason":"tool_calls"}${this.tail}`;
  }

  close(usage: Usage): string {
    return (this.includeUsage ? `${this.head}],"usage":${usageJson(usage)}}\n\n` : '') + DONE;
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
  private readonly text: string[][] = [];
  private readonly logprobs: CompletionLogprobs[] | undefined;
  /** Offset of each choice's next token in prompt + completion (OpenAI's `text_offset`). */
  private readonly offset: number[] = [];
  private readonly head: string;
  private readonly tail: string;

  constructor(
    private readonly meta: ResponseMeta,
    withLogprobs: boolean,
    private readonly includeUsage: boolean,
    promptChars: number,
    candidates = 1,
  ) {
    for (let i = 0; i < candidates; i++) {
      this.text.push([]);
      this.offset.push(promptChars);
    }
    this.logprobs = withLogprobs
      ? this.text.map(() => ({ tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] }))
      : undefined;
    this.head = streamHead(meta, 'text_completion');
    this.tail = includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  }

  add(i: number, ev: TokenEvent): void {
    this.text[i]?.push(ev.text);
    const lp = this.logprobs?.[i];
    if (lp !== undefined) {
      lp.tokens.push(ev.text);
      lp.token_logprobs.push(ev.logprob ?? 0);
      lp.top_logprobs.push(topObject(ev));
      lp.text_offset.push(this.offset[i] ?? 0);
    }
    this.offset[i] = (this.offset[i] ?? 0) + ev.text.length;
  }

  body(order: readonly number[], dones: readonly DoneEvent[], usage: Usage): string {
    const choices = order.map((i, index) => {
      const lp = this.logprobs?.[i];
      const logprobs = lp === undefined ? 'null' : JSON.stringify(lp);
      return `{"text":${JSON.stringify((this.text[i] ?? []).join(''))},"index":${index},"logprobs":${logprobs},"finish_reason":"${dones[i]?.finishReason}"}`;
    });
    return bodyJson(this.meta, 'text_completion', choices, usage);
  }

  open(): string {
    return '';
  }

  chunk(i: number, ev: TokenEvent): string {
    let logprobs = 'null';
    const offset = this.offset[i] ?? 0;
    if (this.logprobs !== undefined)
      logprobs = JSON.stringify({
        tokens: [ev.text],
        token_logprobs: [ev.logprob ?? 0],
        top_logprobs: [topObject(ev)],
        text_offset: [offset],
      });
    this.offset[i] = offset + ev.text.length;
    return `${this.head}{"text":${JSON.stringify(ev.text)},"index":${i},"logprobs":${logprobs},"finish_reason":null}${this.tail}`;
  }

  finish(i: number, done: DoneEvent): string {
    return `${this.head}{"text":"","index":${i},"logprobs":null,"finish_reason":"${done.finishReason}"}${this.tail}`;
  }

  close(usage: Usage): string {
    return (this.includeUsage ? `${this.head}],"usage":${usageJson(usage)}}\n\n` : '') + DONE;
  }
}

/**
 * The generation's `responseFormat` for OpenAI's (chat's `response_format`, or the Responses API's
 * `text.format`, whose json_schema fields sit one level up); undefined for plain text. A json_schema without
 * a schema is any JSON object, as OpenAI reads it.
 */
export function responseFormatOf(
  f: ChatResponseFormat | ResponseTextFormat | null | undefined,
): GenerateParams['responseFormat'] {
  if (f === null || f === undefined || f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  const spec = 'json_schema' in f ? f.json_schema : f;
  if (spec.schema === null || spec.schema === undefined) return { type: 'json_object' };
  return { type: 'json_schema', name: spec.name, schema: spec.schema, strict: spec.strict === true };
}
