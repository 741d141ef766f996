/**
 * Usage as the validator counts it: what a key is billed and rate-limited by. Never the miner's claim (a
 * miner could report 2^53-1 to lock a key out, or 0 to serve for free): prompt tokens come from the request,
 * completion tokens from the text this gateway relayed, both counted with the served model's tokenizer on
 * the validator's own node (`app_tokenizeV1`). When this node has no such model (no app stack, another
 * model, or a backend whose tokenizer is remote), a bound that needs nothing from the miner:
 *
 * - completion = the number of token events relayed (a miner gains nothing by splitting text: each event
 *   is one token on an honest miner, and the network client caps the text of one event);
 * - prompt = ceil(UTF-8 bytes / 4) (the usual ~4 bytes per token of English BPE vocabularies).
 *
 * Every count is clamped: completion ≤ maxTokens + {@link COMPLETION_SLACK} and ≤ the relayed UTF-8 bytes,
 * prompt ≤ the prompt's UTF-8 bytes (no tokenizer makes more tokens than bytes), and both ≤
 * {@link MAX_COUNT}. It must never throw: billing never fails a request.
 */
import { type EngineApi, type EngineClient, EngineError, MAX_TOKENIZE_CHARS } from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';

/** Token events a generation may hold beyond its `maxTokens` (the network stack's `tokenSlack` default). */
export const COMPLETION_SLACK = 8;
/** No count of one request exceeds this (a sane bound for the limiter and the key store). */
export const MAX_COUNT = 1 << 26;
/** Texts of one `app_tokenizeV1` call (its schema's bound). */
const MAX_TEXTS = 2048;
/** How long a model this node cannot count is counted by the bound without asking again. */
const NEGATIVE_TTL_MS = 10_000;
/** Deadline of one count on this node (in-process: it never waits on a model). */
const TOKENIZE_TIMEOUT_MS = 2000;

/** Errors meaning "this node cannot count for that model": the bound applies. */
const NO_TOKENIZER = new Set(['METHOD_NOT_FOUND', 'UNKNOWN_MODEL', 'UNSUPPORTED_TASK']);

export interface GenerationUsage {
  promptTokens: number;
  completionTokens: number;
}

/** What was relayed of one generation. */
export interface Relayed {
  /** The prompt as the miner got it: the completion prompt, or the messages' contents. */
  prompt: string[];
  /** The relayed token texts, in order. */
  tokens: readonly string[];
  maxTokens: number;
}

export interface UsageCounter {
  /** Counts a generation: prompt from the request, completion from the relayed tokens. */
  generation(model: string, relayed: Relayed, signal: AbortSignal): Promise<GenerationUsage>;
  /** Counts an embedding request's inputs. */
  embedding(model: string, input: readonly string[], signal: AbortSignal): Promise<number>;
}

export interface UsageCounterModules {
  engine: Pick<EngineClient<EngineApi>, 'call'>;
  logger: Logger;
  /** Unix ms; for tests. */
  now?: () => number;
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
const clamp = (n: number, max: number): number =>
  Number.isFinite(n) ? Math.min(Math.max(0, Math.trunc(n)), max, MAX_COUNT) : 0;

/** The bound for a prompt no tokenizer here can count: ceil(UTF-8 bytes / 4). */
export function promptBound(texts: readonly string[]): number {
  let b = 0;
  for (const t of texts) b += bytes(t);
  return clamp(Math.ceil(b / 4), MAX_COUNT);
}

/** The bound for a completion no tokenizer here can count: the relayed events, clamped. */
export function completionBound(relayed: Pick<Relayed, 'tokens' | 'maxTokens'>): number {
  return clamp(relayed.tokens.length, relayed.maxTokens + COMPLETION_SLACK);
}

/** Clamps counts from any source to what the relayed data allows. */
export function clampUsage(u: GenerationUsage, relayed: Relayed): GenerationUsage {
  let promptBytes = 0;
  for (const t of relayed.prompt) promptBytes += bytes(t);
  let textBytes = 0;
  for (const t of relayed.tokens) textBytes += bytes(t);
  return {
    promptTokens: clamp(u.promptTokens, promptBytes),
    completionTokens: clamp(
      u.completionTokens,
      Math.min(relayed.maxTokens + COMPLETION_SLACK, Math.max(textBytes, relayed.tokens.length)),
    ),
  };
}

/** Creates the counter over this node's Engine API. */
export function createUsageCounter(modules: UsageCounterModules): UsageCounter {
  const { engine, logger } = modules;
  const now = modules.now ?? Date.now;
  /** Models this node cannot count, until when. */
  const uncountable = new Map<string, number>();

  /** Token counts of `texts`, or undefined when this node cannot count them for `model`. */
  async function tokenize(
    model: string,
    texts: string[],
    signal: AbortSignal,
  ): Promise<number[] | undefined> {
    const until = uncountable.get(model);
    if (until !== undefined && until > now()) return undefined;
    let chars = 0;
    for (const t of texts) chars += t.length;
    if (texts.length === 0 || texts.length > MAX_TEXTS || chars > MAX_TOKENIZE_CHARS) return undefined;
    try {
      const { counts } = await engine.call(
        'app_tokenizeV1',
        { model, texts },
        { signal, timeoutMs: TOKENIZE_TIMEOUT_MS },
      );
      if (counts.length !== texts.length) return undefined;
      uncountable.delete(model);
      return counts;
    } catch (err) {
      if (err instanceof EngineError && NO_TOKENIZER.has(err.code)) {
        uncountable.set(model, now() + NEGATIVE_TTL_MS);
        if (uncountable.size > 4096) uncountable.delete(uncountable.keys().next().value as string);
      } else logger.debug({ model, err: errorMessage(err) }, 'counting tokens failed; using the bound');
      return undefined;
    }
  }

  return {
    async generation(model, relayed, signal) {
      const completion = relayed.tokens.join('');
      const counts = await tokenize(model, [...relayed.prompt, completion], signal);
      const u =
        counts === undefined
          ? { promptTokens: promptBound(relayed.prompt), completionTokens: completionBound(relayed) }
          : {
              promptTokens: counts.slice(0, -1).reduce((a, b) => a + b, 0),
              completionTokens: counts.at(-1) ?? 0,
            };
      return clampUsage(u, relayed);
    },

    async embedding(model, input, signal) {
      const counts = await tokenize(model, [...input], signal);
      let b = 0;
      for (const t of input) b += bytes(t);
      if (counts === undefined) return promptBound(input);
      return clamp(
        counts.reduce((a, c) => a + c, 0),
        b,
      );
    },
  };
}
