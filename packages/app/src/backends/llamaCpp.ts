/**
 * The embedded llama.cpp backend (node-llama-cpp): GGUF models loaded in this process for chat, completion,
 * embeddings and teacher-forced scoring (the validator's logprob audit, DESIGN "Verification ladder").
 * Every file is read and validated by our own GGUF reader before llama.cpp sees it, because llama.cpp
 * aborts the whole process on some malformed files; this module must never hand it an unvalidated file.
 * Generation runs token by token on a context sequence, so cancel, stop sequences, logprobs and the token
 * budget are enforced here, between tokens.
 */
import { availableParallelism, cpus, totalmem } from 'node:os';
import { MAX_TOKEN_IDS, type ResponseFormat, SAMPLING_TOP_K } from '@subnet/engine-api';
import { errorMessage, type Logger, silentLogger } from '@subnet/utils';
import type {
  ChatHistoryItem,
  ChatWrapper,
  ControlledEvaluateInputItem,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaModel,
  Token,
} from 'node-llama-cpp';
import { readGgufHeader, validateLlamaGguf } from '../gguf/reader.js';
import {
  AppError,
  AppErrorCode,
  type CallOpts,
  type Capabilities,
  type ChatMessage,
  type EmbedRequest,
  type EmbedResult,
  type GenerateRequest,
  type GenerationEvent,
  type InferenceModule,
  type ModelInfo,
  type ScoreRequest,
  type ScoreResult,
  type TokenizeRequest,
  type TokenizeResult,
  type TokenLogprob,
} from '../module.js';

/** One GGUF model to serve. */
export interface LlamaCppModelOpts {
  id: string;
  path: string;
  /** Context size in tokens; default: the model's training context, capped at 4096. */
  contextLength?: number;
}

/** Config slice of {@link createLlamaCppModule}. */
export interface LlamaCppOpts {
  models: LlamaCppModelOpts[];
  /** `false` (default): CPU only; `'auto'`: a GPU when llama.cpp finds one. */
  gpu?: 'auto' | false;
  /**
   * CPU threads per context. Default: one fewer than the cores (at least 1). Measured on this 2-vCPU machine
   * with a generated model: 1 thread 2,618 tok/s, 2 threads 70 tok/s, llama.cpp's own default 6.6 tok/s —
   * threads that spin against the event loop for the same cores cost far more than they give.
   */
  threads?: number;
  /** Requests served at once per model (context sequences); default 1. Others wait their turn. */
  parallel?: number;
}

/** Collaborators of {@link createLlamaCppModule}. */
export interface LlamaCppModules {
  logger?: Logger;
}

type NodeLlamaCpp = typeof import('node-llama-cpp');

interface Loaded {
  id: string;
  path: string;
  model: LlamaModel;
  context: LlamaContext;
  contextLength: number;
  /** Tokens in the vocabulary (ids are below it): scoring refuses any other id before llama.cpp sees it. */
  vocabSize: number;
  chatWrapper: ChatWrapper;
  free: LlamaContextSequence[];
  waiters: Array<(seq: LlamaContextSequence) => void>;
  embedding?: Promise<LlamaEmbeddingContext>;
  /** Every token llama.cpp ends a generation on (EOS, EOT, …), found on the first scoring of the end. */
  endTokens?: ReadonlySet<Token>;
}

const MAX_DEFAULT_CONTEXT = 4096;
/** Grammars kept built (by format), so a client's repeated schema is compiled once. */
const MAX_GRAMMARS = 64;

/**
 * node-llama-cpp's JSON-schema grammar (3.x), made to end where the JSON value ends and to admit only numbers
 * every JSON reader keeps: the root's trailing newlines (its chat session stops on them; a raw generation
 * would go on) are dropped, so after the value only the end of generation is allowed; integers have at most
 * 15 digits and no exponent (safe integers), fractional numbers an exponent of at most two digits (finite;
 * the generator's 16-digit exponents read as Infinity).
 */
function boundedGrammar(gbnf: string): string {
  return gbnf
    .replace(/ "\\n\\n\\n\\n" \[\\n\]\*/g, '')
    .replace(/^integer-number-rule ::= .*$/m, 'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,14})')
    .replace(
      /^fractional-number-rule ::= .*$/m,
      'fractional-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,14}) ("." [0-9]{1,16})? ([eE] [-+]? [1-9] [0-9]?)?',
    );
}

/**
 * A request's JSON Schema (the subset engine-api's `jsonSchemaProblem` admits) as node-llama-cpp's grammar
 * generator reads it: `anyOf` as `oneOf`, `definitions` as `$defs`, annotations and `required` (every property
 * is generated) left out.
 */
function toGbnfSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toGbnfSchema);
  if (s === null || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s as Record<string, unknown>)) {
    if (['title', '$schema', '$id', '$comment', 'default', 'examples', 'required'].includes(k)) continue;
    // Bounds every generated integer meets (engine-api `impliedBound`): nothing to enforce.
    if (k === 'minimum' || k === 'maximum') continue;
    if (k === 'anyOf') out.oneOf = toGbnfSchema(v);
    else if (k === 'definitions' || k === '$defs')
      out.$defs = { ...(out.$defs as object | undefined), ...(toGbnfSchema(v) as object) };
    else if (k === '$ref' && typeof v === 'string') out.$ref = v.replace('#/definitions/', '#/$defs/');
    else if (k === 'properties' || k === '$defs')
      out[k] = Object.fromEntries(Object.entries(v as object).map(([pk, pv]) => [pk, toGbnfSchema(pv)]));
    else out[k] = k === 'enum' || k === 'const' ? v : toGbnfSchema(v);
  }
  return out;
}

function cancelled(): AppError {
  return new AppError(AppErrorCode.CANCELLED, 'the request was cancelled');
}

function backendFailed(what: string, err: unknown, model?: string): AppError {
  if (err instanceof AppError) return err;
  return new AppError(AppErrorCode.BACKEND_FAILED, `${what} failed in llama.cpp: ${errorMessage(err)}`, {
    cause: err,
    ...(model === undefined ? {} : { meta: { model } }),
  });
}

/** Longest suffix of `text` that is a proper prefix of some stop string (held back until resolved). */
function stopPrefixHold(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const s of stops)
    for (let n = Math.min(s.length - 1, text.length); n > hold; n--)
      if (text.endsWith(s.slice(0, n))) {
        hold = n;
        break;
      }
  return hold;
}

/**
 * The text of a generation as it grows, token by token, the one way generation and scoring by ids decode
 * it: only the tail since the last stable point is decoded (a whole-sequence decode per token is O(n²)),
 * in the context of the tokens before it (the prompt's last ones at first), so a piece's leading space
 * and the bytes of a character split over tokens come out as in one decode of the whole sequence.
 */
class TextTracker {
  readonly #model: LlamaModel;
  readonly #lastPrompt: readonly Token[];
  readonly tokens: Token[] = [];
  #folded = 0;
  #foldedText = '';

  constructor(model: LlamaModel, prompt: readonly Token[]) {
    this.#model = model;
    this.#lastPrompt = prompt.slice(-32);
  }

  /** Adds a token; returns the whole text so far (a partial UTF-8 character at its end decodes to U+FFFD). */
  push(token: Token): string {
    this.tokens.push(token);
    const f = this.#folded;
    const tail = this.#model.detokenize(
      this.tokens.slice(f),
      false,
      f === 0 ? this.#lastPrompt : this.tokens.slice(Math.max(0, f - 32), f),
    );
    const full = this.#foldedText + tail;
    if (this.tokens.length - f >= 8 && tail.length > 0 && tail.charCodeAt(tail.length - 1) !== 0xfffd) {
      this.#foldedText = full;
      this.#folded = this.tokens.length;
    }
    return full;
  }
}

/** `text` less its trailing U+FFFD (a character whose bytes are not all there yet). */
function stableEnd(text: string, from: number): number {
  let end = text.length;
  while (end > from && text.charCodeAt(end - 1) === 0xfffd) end--;
  return end;
}

/**
 * Creates the embedded llama.cpp backend. `init` validates and loads every model (refusing a bad file with
 * MODEL_REFUSED); `close` disposes contexts, models and the llama.cpp binding.
 */
export function createLlamaCppModule(opts: LlamaCppOpts, modules: LlamaCppModules = {}): InferenceModule {
  const logger = modules.logger ?? silentLogger();
  const threads = opts.threads ?? Math.max(1, availableParallelism() - 1);
  const loaded = new Map<string, Loaded>();
  let lib: NodeLlamaCpp | undefined;
  let llama: Llama | undefined;
  let gpuName: string | null = null;
  let state: 'new' | 'ready' | 'closed' = 'new';
  const grammars = new Map<string, Promise<LlamaGrammar>>();

  /** The grammar enforcing a structured format (built once per format), or undefined for plain text. */
  async function grammarOf(format: ResponseFormat | undefined): Promise<LlamaGrammar | undefined> {
    if (format === undefined || format.type === 'text') return undefined;
    if (llama === undefined) throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'llama.cpp is not loaded');
    const key = format.type === 'json_object' ? 'json' : JSON.stringify(format.schema);
    let g = grammars.get(key);
    if (g === undefined) {
      const l = llama;
      const schema =
        format.type === 'json_object' ? { type: 'object', additionalProperties: true } : format.schema;
      g = l
        .createGrammarForJsonSchema(toGbnfSchema(schema) as never)
        .then((generated) => l.createGrammar({ grammar: boundedGrammar(generated.grammar) }));
      // A schema the grammar generator refuses is the request's fault, and is not kept.
      g.catch(() => grammars.delete(key));
      if (grammars.size >= MAX_GRAMMARS) grammars.delete(grammars.keys().next().value as string);
      grammars.set(key, g);
    }
    try {
      return await g;
    } catch (err) {
      throw new AppError(
        AppErrorCode.INVALID_REQUEST,
        `the response format cannot be enforced: ${errorMessage(err)}`,
      );
    }
  }

  function getModel(id: string): Loaded {
    const m = loaded.get(id);
    if (m === undefined)
      throw new AppError(
        AppErrorCode.UNKNOWN_MODEL,
        `model "${id}" is not served here; served: ${[...loaded.keys()].join(', ') || 'none'}`,
        { meta: { model: id } },
      );
    return m;
  }

  async function acquire(m: Loaded, signal: AbortSignal): Promise<LlamaContextSequence> {
    if (signal.aborted) throw cancelled();
    const seq = m.free.pop();
    if (seq !== undefined) return seq;
    return await new Promise<LlamaContextSequence>((resolve, reject) => {
      const waiter = (s: LlamaContextSequence): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      };
      const onAbort = (): void => {
        const i = m.waiters.indexOf(waiter);
        if (i >= 0) m.waiters.splice(i, 1);
        reject(cancelled());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      m.waiters.push(waiter);
    });
  }

  function release(m: Loaded, seq: LlamaContextSequence): void {
    const next = m.waiters.shift();
    if (next !== undefined) next(seq);
    else m.free.push(seq);
  }

  async function withSequence<T>(
    m: Loaded,
    signal: AbortSignal,
    fn: (seq: LlamaContextSequence) => Promise<T>,
  ): Promise<T> {
    const seq = await acquire(m, signal);
    try {
      await seq.clearHistory();
      return await fn(seq);
    } finally {
      release(m, seq);
    }
  }

  function tokenText(m: Loaded, token: Token): string {
    return m.model.detokenize([token], true);
  }

  function topOf(m: Loaded, probs: Map<Token, number> | undefined, k: number): TokenLogprob[] | undefined {
    if (probs === undefined || k <= 0) return undefined;
    const out: TokenLogprob[] = [];
    for (const [token, p] of probs) {
      if (out.length >= k) break;
      out.push({ token: tokenText(m, token), logprob: Math.log(p) });
    }
    return out;
  }

  /** A completion prompt's tokens, with BOS when the model wants one (as LlamaCompletion does). */
  function completionTokens(m: Loaded, prompt: string): Token[] {
    if (lib === undefined) throw new AppError(AppErrorCode.BACKEND_UNAVAILABLE, 'llama.cpp is not loaded');
    const text = lib.LlamaText(
      m.model.tokens.shouldPrependBosToken && m.model.tokens.bos !== null
        ? [new lib.SpecialToken('BOS')]
        : [],
      prompt,
    );
    return text.tokenize(m.model.tokenizer);
  }

  /** A prompt's tokens and the template's stop conditions: text, or single tokens that end a generation. */
  interface Prompt {
    tokens: Token[];
    stops: string[];
    stopTokens: Set<Token>;
  }

  /**
   * A chat's prompt: the conversation rendered with the model's chat template with the assistant turn
   * open, and the template's stop triggers. The one path for chat generation and chat scoring, so the
   * tokens a score follows are the tokens a generation followed.
   */
  function chatPrompt(m: Loaded, messages: readonly ChatMessage[]): Prompt {
    const stopTokens = new Set<Token>();
    const history: ChatHistoryItem[] = messages.map((msg) =>
      msg.role === 'assistant'
        ? { type: 'model', response: [msg.content] }
        : { type: msg.role, text: msg.content },
    );
    history.push({ type: 'model', response: [] });
    const ctx = m.chatWrapper.generateContextState({ chatHistory: history });
    const stops: string[] = [];
    for (const trigger of ctx.stopGenerationTriggers) {
      if (trigger.values.every((v) => typeof v === 'string')) {
        const s = trigger.toString();
        if (s.length > 0) stops.push(s);
      } else {
        const toks = trigger.tokenize(m.model.tokenizer);
        if (toks.length === 1 && toks[0] !== undefined) stopTokens.add(toks[0]);
      }
    }
    return { tokens: ctx.contextText.tokenize(m.model.tokenizer), stops, stopTokens };
  }

  /** Prompt tokens and extra stop conditions for a request (chat goes through the model's template). */
  function promptOf(m: Loaded, req: GenerateRequest): Prompt {
    if (req.kind === 'completion')
      return { tokens: completionTokens(m, req.prompt ?? ''), stops: [], stopTokens: new Set() };
    return chatPrompt(m, req.messages ?? []);
  }

  async function* generate(req: GenerateRequest, call: CallOpts): AsyncGenerator<GenerationEvent> {
    const m = getModel(req.model);
    const { signal } = call;
    const { tokens: promptTokens, stops: templateStops, stopTokens } = promptOf(m, req);
    if (promptTokens.length + 1 > m.contextLength)
      throw new AppError(
        AppErrorCode.CONTEXT_OVERFLOW,
        `the prompt is ${promptTokens.length} tokens; model "${m.id}" has a context of ${m.contextLength}: shorten it`,
        { meta: { model: m.id } },
      );
    const stops = [...req.stop, ...templateStops];
    const budget = Math.min(req.maxTokens, m.contextLength - promptTokens.length);
    const wantProbs = req.logprobs && req.topLogprobs > 0;
    const grammar = await grammarOf(req.responseFormat);
    const seq = await acquire(m, signal);
    const text = new TextTracker(m.model, promptTokens);
    const generated = text.tokens;
    let full = '';
    let emitted = 0;
    // Ids not yet sent: every token event carries the ids generated since the last one.
    let ids: number[] = [];
    const takeIds = (): { ids: number[] } => {
      const out = ids;
      ids = [];
      return { ids: out };
    };
    let cutByStop = false;
    let finishReason: 'stop' | 'length' = 'length';
    try {
      await seq.clearHistory();
      if (signal.aborted) throw cancelled();
      const iterator = seq.evaluateWithMetadata(
        promptTokens,
        { confidence: req.logprobs, probabilities: wantProbs },
        {
          temperature: req.temperature,
          // The wire's sampling (engine-api SAMPLING_TOP_K): top-k, top-p, then temperature, as llama.cpp orders them.
          topK: SAMPLING_TOP_K,
          topP: req.topP,
          ...(req.temperature > 0 ? { seed: req.seed ?? (Math.random() * 2 ** 32) >>> 0 } : {}),
          // Structured output: only tokens that keep the text a prefix of an answer in the format.
          ...(grammar === undefined || lib === undefined
            ? {}
            : { grammarEvaluationState: new lib.LlamaGrammarEvaluationState({ model: m.model, grammar }) }),
          // Without it node-llama-cpp ends the iteration silently on an end-of-generation token, and the
          // answer would claim finishReason 'length' after a few tokens (the audit then calls it truncated).
          yieldEogToken: true,
        },
      );
      try {
        for await (const out of iterator) {
          if (signal.aborted) throw cancelled();
          if (m.model.isEogToken(out.token) || stopTokens.has(out.token)) {
            finishReason = 'stop';
            break;
          }
          full = text.push(out.token);
          ids.push(out.token);
          // `confidence` is the chosen token's probability after llama.cpp's sampler chain: at temperature 0
          // (greedy) the model's raw distribution, what app_scoreV1 reports; above 0 the tempered
          // distribution over top-k (node-llama-cpp's default 40) and the top-p nucleus, renormalised. The
          // raw one would need the whole vocabulary's probabilities out of llama.cpp on every token.
          const meta =
            req.logprobs === true
              ? {
                  logprob: Math.log((out as { confidence?: number }).confidence ?? Number.NaN),
                  ...(wantProbs
                    ? {
                        topLogprobs:
                          topOf(
                            m,
                            (out as { probabilities?: Map<Token, number> }).probabilities,
                            req.topLogprobs,
                          ) ?? [],
                      }
                    : {}),
                }
              : {};
          let cut = -1;
          for (const s of stops) {
            const at = full.indexOf(s, Math.max(0, emitted - s.length + 1));
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
          }
          // The stop-cut event carries the token holding the stop sequence: its ids decode past the text.
          if (cut >= 0) {
            const piece = full.slice(emitted, Math.max(emitted, cut));
            yield { type: 'token', text: piece, ...takeIds(), ...meta };
            emitted = Math.max(emitted, cut);
            finishReason = 'stop';
            cutByStop = true;
            break;
          }
          let safe = stableEnd(full, emitted);
          safe -= stopPrefixHold(full.slice(0, safe), stops);
          const piece = full.slice(emitted, Math.max(emitted, safe));
          emitted = Math.max(emitted, safe);
          // Without logprobs an event whose text is held waits for the next (its ids go with it), but no
          // event carries more than MAX_TOKEN_IDS.
          if (piece.length > 0 || req.logprobs || ids.length >= MAX_TOKEN_IDS)
            yield { type: 'token', text: piece, ...takeIds(), ...meta };
          if (generated.length >= budget) break;
        }
      } finally {
        await iterator.return();
      }
      // Text still held (a partial stop sequence, the bytes of an unfinished character) is the answer's end:
      // sent, so the text is what the ids decode to.
      if (!cutByStop) {
        const rest = full.slice(emitted);
        if (rest.length > 0 || ids.length > 0) yield { type: 'token', text: rest, ...takeIds() };
      }
    } catch (err) {
      if (signal.aborted) throw cancelled();
      throw backendFailed('generation', err, m.id);
    } finally {
      release(m, seq);
    }
    yield {
      type: 'done',
      finishReason,
      usage: { promptTokens: promptTokens.length, completionTokens: generated.length },
    };
  }

  async function score(req: ScoreRequest, call: CallOpts): Promise<ScoreResult> {
    const m = getModel(req.model);
    const { tokens: prompt, stopTokens } =
      req.messages === undefined
        ? { tokens: completionTokens(m, req.prompt), stopTokens: new Set<Token>() }
        : chatPrompt(m, req.messages);
    const byIds = req.continuationIds !== undefined;
    const cont: Token[] = byIds
      ? idsOf(m, req.continuationIds ?? [])
      : m.model.tokenize(req.continuation ?? '', false, 'trimLeadingSpace');
    if (prompt.length === 0 || cont.length === 0)
      throw new AppError(AppErrorCode.INVALID_REQUEST, 'score needs a non-empty prompt and continuation');
    if (prompt.length + cont.length > m.contextLength)
      throw new AppError(
        AppErrorCode.CONTEXT_OVERFLOW,
        `prompt and continuation are ${prompt.length + cont.length} tokens; model "${m.id}" has a context of ${m.contextLength}`,
        { meta: { model: m.id } },
      );
    const all = [...prompt, ...cont];
    const wantEos = req.eos === true;
    // The distribution after input i predicts token i+1: ask for it from the last prompt token on (and
    // after the last continuation token too when the end of generation is scored).
    const input: ControlledEvaluateInputItem[] = (wantEos ? all : all.slice(0, -1)).map((t, i) =>
      i >= prompt.length - 1 ? [t, { generateNext: { probabilities: true } }] : t,
    );
    const k = req.topLogprobs ?? 0;
    // By ids, each token's text is its piece of the whole decode (as a generation sends it), so the pieces
    // join to the text those ids decode to; by text, each token's own text.
    const pieces = byIds ? piecesOf(m, prompt, cont) : cont.map((t) => tokenText(m, t));
    const sizes = { promptTokens: prompt.length, contextLength: m.contextLength };
    return await withSequence(m, call.signal, async (seq) => {
      let outputs: Awaited<ReturnType<LlamaContextSequence['controlledEvaluate']>>;
      try {
        outputs = await seq.controlledEvaluate(input);
      } catch (err) {
        throw backendFailed('scoring', err, m.id);
      }
      if (call.signal.aborted) throw cancelled();
      const tokens: ScoreResult['tokens'] = [];
      let sum = 0;
      for (let j = 0; j < cont.length; j++) {
        const token = cont[j] as Token;
        const probs = outputs[prompt.length - 1 + j]?.next.probabilities;
        const logprob = Math.log(probs?.get(token) ?? 0);
        sum += logprob;
        const top = topOf(m, probs, k);
        tokens.push({
          token: pieces[j] ?? '',
          logprob,
          ...(top === undefined ? {} : { topLogprobs: top }),
        });
      }
      if (!wantEos) return { tokens, sumLogprob: sum, ...sizes };
      const after = outputs[prompt.length - 1 + cont.length]?.next.probabilities;
      return { tokens, sumLogprob: sum, ...sizes, eos: eosOf(m, after, stopTokens) };
    });
  }

  /** The ids as tokens, each checked against the vocabulary (llama.cpp must never see an id outside it). */
  function idsOf(m: Loaded, ids: readonly number[]): Token[] {
    for (const id of ids)
      if (!Number.isInteger(id) || id < 0 || id >= m.vocabSize)
        throw new AppError(
          AppErrorCode.INVALID_REQUEST,
          `token id ${id} is outside the vocabulary of model "${m.id}" (${m.vocabSize} tokens)`,
          { meta: { model: m.id } },
        );
    return ids as Token[];
  }

  /**
   * Each token's piece of the text the tokens decode to after `prompt`, decoded as a generation decodes
   * them ({@link TextTracker}): a piece ends before a character whose bytes are not all there yet (that
   * character goes with the token that completes it); the last takes the rest.
   */
  function piecesOf(m: Loaded, prompt: readonly Token[], tokens: readonly Token[]): string[] {
    const text = new TextTracker(m.model, prompt);
    const pieces: string[] = [];
    let at = 0;
    tokens.forEach((t, j) => {
      const full = text.push(t);
      const end = j === tokens.length - 1 ? full.length : stableEnd(full, at);
      pieces.push(full.slice(at, Math.max(at, end)));
      at = Math.max(at, end);
    });
    return pieces;
  }

  /**
   * How likely the model was to end right there: every token a generation stops on (llama.cpp's
   * end-of-generation tokens, and a chat template's end-of-turn `stopTokens`) together, against the most
   * likely token. Null when the model names no such token.
   */
  function eosOf(
    m: Loaded,
    probs: Map<Token, number> | undefined,
    stopTokens: ReadonlySet<Token>,
  ): { logprob: number; topLogprob: number } | null {
    if (probs === undefined) return null;
    if (m.endTokens === undefined) {
      // The scored distribution holds the whole vocabulary (greedy sampler: nothing is cut).
      const ends = new Set<Token>();
      for (const t of [m.model.tokens.eos, m.model.tokens.eot]) if (t !== null) ends.add(t);
      for (const t of probs.keys()) if (m.model.isEogToken(t)) ends.add(t);
      m.endTokens = ends;
    }
    const ends = new Set([...m.endTokens, ...stopTokens]);
    if (ends.size === 0) return null;
    let p = 0;
    for (const t of ends) p += probs.get(t) ?? 0;
    let top = 0;
    for (const q of probs.values()) if (q > top) top = q;
    return { logprob: Math.log(p), topLogprob: Math.log(top) };
  }

  async function tokenize(req: TokenizeRequest, call: CallOpts): Promise<TokenizeResult> {
    const m = getModel(req.model);
    const counts: number[] = [];
    for (const text of req.texts) {
      if (call.signal.aborted) throw cancelled();
      try {
        counts.push(text === '' ? 0 : m.model.tokenize(text, false).length);
      } catch (err) {
        throw backendFailed('tokenizing', err, m.id);
      }
    }
    return { counts };
  }

  async function embed(req: EmbedRequest, call: CallOpts): Promise<EmbedResult> {
    const m = getModel(req.model);
    if (m.embedding === undefined) {
      m.embedding = m.model.createEmbeddingContext({
        contextSize: m.contextLength,
        threads,
      });
      m.embedding.catch(() => {
        delete m.embedding;
      });
    }
    let ctx: LlamaEmbeddingContext;
    try {
      ctx = await m.embedding;
    } catch (err) {
      throw backendFailed('creating the embedding context', err, m.id);
    }
    const embeddings: number[][] = [];
    let promptTokens = 0;
    for (const text of req.input) {
      if (call.signal.aborted) throw cancelled();
      const tokens = m.model.tokenize(text);
      if (tokens.length > m.contextLength)
        throw new AppError(
          AppErrorCode.CONTEXT_OVERFLOW,
          `an input is ${tokens.length} tokens; model "${m.id}" embeds at most ${m.contextLength}`,
          { meta: { model: m.id } },
        );
      promptTokens += tokens.length;
      try {
        embeddings.push([...(await ctx.getEmbeddingFor(tokens)).vector]);
      } catch (err) {
        throw backendFailed('embedding', err, m.id);
      }
    }
    return { embeddings, usage: { promptTokens } };
  }

  async function loadOne(spec: LlamaCppModelOpts, signal: AbortSignal): Promise<void> {
    if (lib === undefined || llama === undefined) throw new Error('unreachable: llama.cpp not loaded');
    let vocabSize: number;
    try {
      const header = await readGgufHeader(spec.path);
      validateLlamaGguf(header);
      const tokens = header.metadata.get('tokenizer.ggml.tokens')?.value;
      vocabSize = Array.isArray(tokens) ? tokens.length : 0;
    } catch (err) {
      throw new AppError(
        AppErrorCode.MODEL_REFUSED,
        `model "${spec.id}" (${spec.path}) is refused: ${errorMessage(err)}`,
        { cause: err, meta: { model: spec.id } },
      );
    }
    if (signal.aborted) throw cancelled();
    const model = await llama.loadModel({
      modelPath: spec.path,
      ...(opts.gpu === 'auto' ? {} : { gpuLayers: 0 }),
    });
    try {
      const contextLength = spec.contextLength ?? Math.min(model.trainContextSize, MAX_DEFAULT_CONTEXT);
      const parallel = opts.parallel ?? 1;
      const context = await model.createContext({
        contextSize: contextLength,
        sequences: parallel,
        threads,
      });
      const free: LlamaContextSequence[] = [];
      for (let i = 0; i < parallel; i++) free.push(context.getSequence());
      const chatWrapper = lib.resolveChatWrapper(model);
      loaded.set(spec.id, {
        id: spec.id,
        path: spec.path,
        model,
        context,
        contextLength: context.contextSize,
        vocabSize,
        chatWrapper,
        free,
        waiters: [],
      });
      logger.info(
        { model: spec.id, contextLength: context.contextSize, chatWrapper: chatWrapper.wrapperName },
        'llama.cpp model loaded',
      );
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  async function close(): Promise<void> {
    if (state === 'closed') return;
    state = 'closed';
    for (const m of [...loaded.values()].reverse()) {
      try {
        const e = await m.embedding?.catch(() => undefined);
        await e?.dispose();
        await m.context.dispose();
        await m.model.dispose();
      } catch (err) {
        logger.warn({ model: m.id, err: errorMessage(err) }, 'disposing a llama.cpp model failed');
      }
    }
    loaded.clear();
    await llama?.dispose();
    llama = undefined;
  }

  return {
    backend: 'llama.cpp',

    async init(call: CallOpts): Promise<void> {
      if (state !== 'new') return;
      const ids = new Set<string>();
      for (const spec of opts.models) {
        if (ids.has(spec.id))
          throw new AppError(AppErrorCode.INVALID_REQUEST, `model id "${spec.id}" is configured twice`);
        ids.add(spec.id);
      }
      try {
        lib = await import('node-llama-cpp');
        llama = await lib.getLlama({
          gpu: opts.gpu === 'auto' ? 'auto' : false,
          build: 'never',
          logLevel: lib.LlamaLogLevel.error,
        });
        gpuName = llama.gpu === false ? null : llama.gpu;
        if (gpuName !== null) {
          const names = await llama.getGpuDeviceNames().catch(() => []);
          if (names.length > 0) gpuName = `${gpuName}: ${names.join(', ')}`;
        }
      } catch (err) {
        throw new AppError(
          AppErrorCode.BACKEND_UNAVAILABLE,
          `llama.cpp could not start: ${errorMessage(err)}; check that node-llama-cpp's prebuilt binaries are installed`,
          { cause: err },
        );
      }
      try {
        for (const spec of opts.models) {
          if (call.signal.aborted) throw cancelled();
          await loadOne(spec, call.signal).catch((err: unknown) => {
            throw err instanceof AppError ? err : backendFailed(`loading model "${spec.id}"`, err, spec.id);
          });
        }
      } catch (err) {
        await close();
        throw err;
      }
      state = 'ready';
    },

    async health(): Promise<{ ok: boolean; detail?: string }> {
      if (state !== 'ready') return { ok: false, detail: `llama.cpp backend is ${state}` };
      return { ok: true, detail: `${loaded.size} model(s) loaded` };
    },

    capabilities(): Capabilities {
      const models: ModelInfo[] = [...loaded.values()].map((m) => ({
        id: m.id,
        taskTypes: ['chat', 'completion', 'embedding'],
        contextLength: m.contextLength,
        modelType: 'llm',
        features: ['json_object', 'json_schema'],
      }));
      return {
        backend: 'llama.cpp',
        models,
        hardware: { cpus: cpus().length, memoryBytes: totalmem(), gpu: gpuName },
      };
    },

    generate,
    embed,
    score,
    tokenize,
    close,
  };
}
