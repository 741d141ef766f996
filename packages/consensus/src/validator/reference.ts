/**
 * Audits against this node's reference model over the Engine API: teacher-forced scores of a generate
 * answer (`app_scoreV1`, with the end-of-generation check and, when needed, each stop sequence) or the
 * reference's own embeddings (`app_embedV1`), judged by the rules of `audit.ts`. An answer whose every token
 * event carries the model's token ids is scored by those ids (`continuationIds`), else by its text. One code path for
 * challenges and for organic requests audited after the fact. Nothing here sends anything to a miner.
 */
import type { EngineApi, EngineClient, EngineError } from '@subnet/engine-api';
import {
  type Audit,
  type AuditedAnswer,
  answerIds,
  auditEmbeddings,
  auditEnding,
  auditTokens,
  auditTokensByIds,
  endsThere,
  type GenerateAuditOpts,
  type ReferenceScore,
  SAMPLING_TOP_K,
  textOfIds,
} from './audit.js';
import type { EmbedParams, GenerateParams } from './mix.js';
import type { ReferenceToken } from './verify.js';

export interface ReferenceAuditOpts extends GenerateAuditOpts {
  /** Deadline of each reference call. */
  timeoutMs: number;
  /** Least cosine similarity of an embedding to the reference's. */
  minCosine: number;
}

/** Top logprobs asked of the reference: the argmax for greedy; the sampler's top-k for sampled (exact chain). */
const topLogprobsFor = (temperature: number) => (temperature <= 0 ? 1 : SAMPLING_TOP_K);

/** The codes that say the reference cannot score this request (not the miner's fault, not audited). */
const UNSCORABLE = new Set(['INVALID_PARAMS', 'CONTEXT_OVERFLOW', 'UNSUPPORTED_TASK', 'UNKNOWN_MODEL']);

/** Whether `err` says the reference cannot score the request (the audit is skipped, not failed). */
export function unscorable(err: unknown): boolean {
  const code = (err as Partial<EngineError>).code;
  return typeof code === 'string' && UNSCORABLE.has(code);
}

async function score(
  engine: EngineClient<EngineApi>,
  params: GenerateParams,
  continuation: { continuation: string } | { continuationIds: number[] },
  opts: ReferenceAuditOpts & { signal: AbortSignal },
): Promise<ReferenceScore> {
  // Exactly one of them: a chat's `messages` (the reference renders them with the model's chat template,
  // as the miner did before generating) or a completion's raw `prompt`.
  const input =
    params.kind === 'chat' && params.messages !== undefined
      ? { messages: params.messages }
      : { prompt: params.prompt ?? '' };
  return await engine.call(
    'app_scoreV1',
    {
      model: params.model,
      ...input,
      ...continuation,
      topLogprobs: topLogprobsFor(params.temperature),
      eos: true,
      priority: 'challenge',
    },
    { signal: opts.signal, timeoutMs: opts.timeoutMs },
  );
}

/**
 * Audits one generate answer of `params` against the reference model. Null when there is nothing to audit
 * (an empty answer); throws what the reference call throws (see {@link unscorable}).
 */
export async function auditGenerateWithReference(
  engine: EngineClient<EngineApi>,
  params: GenerateParams,
  answer: AuditedAnswer,
  opts: ReferenceAuditOpts & { signal: AbortSignal },
): Promise<Audit | null> {
  const text = answer.tokens.map((t) => t.text).join('');
  if (text.length === 0) return null;
  const ids = answerIds(answer);
  if (ids !== null) {
    const byIds = await auditByIds(engine, params, answer, ids, text, opts);
    if (byIds !== null) return byIds;
  }
  const ref = await score(engine, params, { continuation: text }, opts);
  const tokens = auditTokens(params, answer, ref, opts);
  return await ending(engine, params, answer, text, ref, tokens, opts);
}

/**
 * The audit by token ids; null where it cannot decide and the text path must: ids the reference refuses
 * (INVALID_PARAMS: outside its vocabulary), or a chat cut by a text stop of the model's chat template
 * (the ids decode past the text by a stop sequence the request does not name).
 */
async function auditByIds(
  engine: EngineClient<EngineApi>,
  params: GenerateParams,
  answer: AuditedAnswer,
  ids: number[],
  text: string,
  opts: ReferenceAuditOpts & { signal: AbortSignal },
): Promise<Audit | null> {
  let ref: ReferenceScore;
  try {
    ref = await score(engine, params, { continuationIds: ids }, opts);
  } catch (err) {
    if ((err as Partial<EngineError>).code === 'INVALID_PARAMS') return null;
    throw err;
  }
  const decoded = ref.tokens.map((t) => t.token).join('');
  const relation = textOfIds(decoded, text, params, answer.finishReason);
  if (
    relation === 'mismatch' &&
    params.kind === 'chat' &&
    answer.finishReason === 'stop' &&
    decoded.startsWith(text) &&
    decoded.length > text.length
  )
    return null;
  const tokens = auditTokensByIds(params, answer, ref, opts);
  // Cut at a stop sequence: the ids hold it, so the stop is explained (the model wrote it).
  if (relation === 'stop') return tokens;
  return await ending(engine, params, answer, text, ref, tokens, opts);
}

/** The ending rule, scoring each stop sequence after the text when the reference would not end there. */
async function ending(
  engine: EngineClient<EngineApi>,
  params: GenerateParams,
  answer: AuditedAnswer,
  text: string,
  ref: ReferenceScore,
  tokens: Audit,
  opts: ReferenceAuditOpts & { signal: AbortSignal },
): Promise<Audit> {
  const stopScores: ReferenceToken[][] = [];
  if (
    tokens.failure === null &&
    answer.finishReason === 'stop' &&
    endsThere(ref.eos, params, opts) === false
  ) {
    for (const s of params.stop) {
      const r = await score(engine, params, { continuation: text + s }, opts);
      stopScores.push([...r.tokens]);
      if (auditEnding(tokens, params, answer, ref, stopScores, opts).failure === null) break;
    }
  }
  return auditEnding(tokens, params, answer, ref, stopScores, opts);
}

/** Audits embeddings the miner returned for `params` against the reference's own. */
export async function auditEmbedWithReference(
  engine: EngineClient<EngineApi>,
  params: EmbedParams,
  embeddings: readonly (readonly number[])[],
  opts: ReferenceAuditOpts & { signal: AbortSignal },
): Promise<Audit> {
  const ref = await engine.call(
    'app_embedV1',
    { model: params.model, input: params.input, priority: 'challenge' },
    { signal: opts.signal, timeoutMs: opts.timeoutMs },
  );
  return auditEmbeddings(embeddings, ref.embeddings, opts.minCosine);
}
