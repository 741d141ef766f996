/**
 * The one interface every inference backend implements (embedded llama.cpp, Ollama, OpenAI-compatible
 * HTTP, the pretrained embedding model), and the shapes it speaks. Requests follow OpenAI's parameters so
 * the gateway can pass them through; generation is a stream of events ending in exactly one `done`.
 * A backend must honour `signal` (cancel reaches the model), never throw a non-`AppError`, and never keep
 * state for a request after its stream ends.
 */
import { ChatMessageSchema, GenerateRequestSchema, type StructuredFeature } from '@subnet/engine-api';
import { SubnetError } from '@subnet/utils';
import { z } from 'zod';

/** Task types served today. */
export const TaskType = { chat: 'chat', completion: 'completion', embedding: 'embedding' } as const;
export type TaskType = (typeof TaskType)[keyof typeof TaskType];

export const AppErrorCode = {
  UNKNOWN_MODEL: 'APP_UNKNOWN_MODEL',
  UNSUPPORTED_TASK: 'APP_UNSUPPORTED_TASK',
  CONTEXT_OVERFLOW: 'APP_CONTEXT_OVERFLOW',
  INVALID_REQUEST: 'APP_INVALID_REQUEST',
  OVERLOADED: 'APP_OVERLOADED',
  DEADLINE_EXCEEDED: 'APP_DEADLINE_EXCEEDED',
  CANCELLED: 'APP_CANCELLED',
  BACKEND_UNAVAILABLE: 'APP_BACKEND_UNAVAILABLE',
  BACKEND_FAILED: 'APP_BACKEND_FAILED',
  MODEL_REFUSED: 'APP_MODEL_REFUSED',
} as const;
export type AppErrorCode = (typeof AppErrorCode)[keyof typeof AppErrorCode];

/** Errors of the app stack; `retryAfterMs` is set on OVERLOADED. */
export class AppError extends SubnetError<AppErrorCode, { retryAfterMs?: number; model?: string }> {
  override readonly name = 'AppError';
}

// The request shapes are defined once, with the app_* methods of the Engine API.
export { ChatMessageSchema, GenerateRequestSchema };
export type ChatMessage = z.output<typeof ChatMessageSchema>;
export type GenerateRequest = z.output<typeof GenerateRequestSchema>;
export type GenerateRequestInput = z.input<typeof GenerateRequestSchema>;

export interface TokenLogprob {
  token: string;
  logprob: number;
}

/**
 * A piece of generated text; `logprob`/`topLogprobs` when asked for. `ids`: the model token ids the event
 * covers, in order (backends that hold the tokenizer); `logprob` is their sum (one id: that token's).
 */
export interface TokenEvent {
  type: 'token';
  text: string;
  ids?: number[];
  logprob?: number;
  topLogprobs?: TokenLogprob[];
}

export interface DoneEvent {
  type: 'done';
  finishReason: 'stop' | 'length';
  usage: { promptTokens: number; completionTokens: number };
}

export type GenerationEvent = TokenEvent | DoneEvent;

export const EmbedRequestSchema = z.object({
  model: z.string().min(1).max(256),
  input: z.array(z.string().max(100_000)).min(1).max(2048),
});
export type EmbedRequest = z.output<typeof EmbedRequestSchema>;

export interface EmbedResult {
  embeddings: number[][];
  usage: { promptTokens: number };
}

/**
 * What every teacher-forced scoring names: the model, what is scored (text, tokenized by the model, or
 * exactly the token ids given) and what to report.
 */
type ScoreFields = {
  model: string;
  topLogprobs?: number;
  /** Also score the end of generation right after the continuation (`ScoreResult.eos`). */
  eos?: boolean;
} & (
  | { continuation: string; continuationIds?: undefined }
  | { continuationIds: number[]; continuation?: undefined }
);

/**
 * Teacher forcing: the model's log-probability of each token of `continuation` after exactly one of
 * `prompt` (raw text, tokenized as a completion prompt) or `messages` (a chat, rendered with the model's
 * chat template with the assistant turn open, exactly as a `chat` generation renders it).
 */
export type ScoreRequest = ScoreFields &
  ({ prompt: string; messages?: undefined } | { messages: ChatMessage[]; prompt?: undefined });
export interface ScoreResult {
  tokens: Array<TokenLogprob & { topLogprobs?: TokenLogprob[] }>;
  sumLogprob: number;
  /** Tokens of the prompt as a generation counts them (BOS, chat template). */
  promptTokens?: number;
  /** The model's context length. */
  contextLength?: number;
  /**
   * With `eos`: the log-probability that the model ends its answer right after the continuation (its
   * end-of-generation tokens together, and for a chat the template's end-of-turn tokens) and the log-probability of the most likely token there; null when
   * the model has no end-of-generation token.
   */
  eos?: { logprob: number; topLogprob: number } | null;
}

/** Token counts of texts with a model's own tokenizer (no BOS, no chat template). */
export interface TokenizeRequest {
  model: string;
  texts: string[];
}
export interface TokenizeResult {
  counts: number[];
}

/** What one model can do. */
export interface ModelInfo {
  id: string;
  taskTypes: TaskType[];
  contextLength: number;
  /** From the namespace registry: chat/LLM, embedding, diffusion, …, or unknown. */
  modelType: string;
  /** Structured outputs the backend enforces for this model (`responseFormat` types); none when absent. */
  features?: StructuredFeature[];
}

export interface Capabilities {
  backend: string;
  models: ModelInfo[];
  hardware: { cpus: number; memoryBytes: number; gpu: string | null };
}

export interface CallOpts {
  signal: AbortSignal;
}

/** An inference backend. Lifecycle: `init` once, then any number of calls, then `close`. */
export interface InferenceModule {
  readonly backend: string;
  init(opts: CallOpts): Promise<void>;
  health(opts: CallOpts): Promise<{ ok: boolean; detail?: string }>;
  /**
   * Whether the model can serve now (absent: always, once `init` resolved). A module whose serving process
   * can go away (a pipeline group that lost a member) turns false until it is back: the stack then neither
   * advertises nor routes the model.
   */
  ready?(): boolean;
  capabilities(): Capabilities;
  /** Chat or completion as a stream of events ending with one `done`; throws AppError before the first event. */
  generate(req: GenerateRequest, opts: CallOpts): AsyncIterable<GenerationEvent>;
  /** Embeddings, one vector per input. */
  embed(req: EmbedRequest, opts: CallOpts): Promise<EmbedResult>;
  /** Teacher-forced scoring (only backends with local weights). */
  score?(req: ScoreRequest, opts: CallOpts): Promise<ScoreResult>;
  /** Token counts with the model's tokenizer (backends that hold one; others leave it out: UNSUPPORTED_TASK). */
  tokenize?(req: TokenizeRequest, opts: CallOpts): Promise<TokenizeResult>;
  close(): Promise<void>;
}

/** Collects a generation into text, logprobs and its done event (tests, non-streaming callers). */
export async function collect(events: AsyncIterable<GenerationEvent>): Promise<{
  text: string;
  tokens: TokenEvent[];
  done: DoneEvent;
}> {
  let text = '';
  const tokens: TokenEvent[] = [];
  let done: DoneEvent | undefined;
  for await (const ev of events) {
    if (ev.type === 'token') {
      text += ev.text;
      tokens.push(ev);
    } else done = ev;
  }
  if (done === undefined)
    throw new AppError(AppErrorCode.BACKEND_FAILED, 'the generation ended without a done event');
  return { text, tokens, done };
}
