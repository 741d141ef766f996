/**
 * Audits against this node's reference model over the Engine API: teacher-forced scores of a generate
 * answer (`app_scoreV1`, with the end-of-generation check and, when needed, each stop sequence) or the
 * reference's own embeddings (`app_embedV1`), judged by the rules of `audit.ts`. An answer whose every token
 * event carries the model's token ids is scored by those ids (`continuationIds`), else by its text. One code path for
 * challenges and for organic requests audited after the fact. Nothing here sends anything to a miner.
 */
import {
  type EngineApi,
  type EngineClient,
  type EngineError,
  structuredAnswerProblem,
} from '@subnet/engine-api';
import { withTimeout } from '@subnet/utils';
import {
  type Audit,
  type AuditedAnswer,
  AuditFailure,
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
  if (params.responseFormat !== undefined && params.responseFormat.type !== 'text')
    return await auditStructured(engine, params, answer, text, opts);
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
  const result = auditEnding(tokens, params, answer, ref, stopScores, opts);
  if (result.failure !== null || answer.finishReason !== 'stop' || params.temperature <= 0) return result;
  if (stopScores.length > 0) return result; // a requested stop sequence explained it
  // A sampled answer that ends on the end token: "plausible there" is not enough, since a truncator stops
  // wherever the end token is plausible. The validator fixed the seed, so the draw is reproducible: the
  // reference draws the answer again and must stop at the same place.
  const n = answerIds(answer)?.length ?? answer.tokens.length;
  const again = await reproduce(engine, params, n + 1, opts);
  if (again === null || (again.finishReason === 'stop' && again.text === text)) return result;
  return {
    stats: { ...result.stats, passed: false },
    failure: AuditFailure.EARLY_STOP,
    detail: `the reference, drawing with the same seed, ${again.finishReason === 'stop' ? `stops after ${JSON.stringify(again.text.slice(0, 40))}` : 'does not stop there'}`,
  };
}

/**
 * A structured answer (responseFormat): its tokens were drawn under a grammar, so the per-token rules (argmax,
 * plausibility, logprobs after the sampler) do not apply to the model's raw distribution. Instead:
 * - an answer that ended on its own must meet its format, one cut by maxTokens be the start of one
 *   (FORMAT_VIOLATED), and have had no room left (TRUNCATED);
 * - the reference decodes the same request under the same grammar and seed and must reproduce the answer
 *   (NOT_REPRODUCED). Where the two part, the answer may still be honest when the reference's token and the
 *   miner's are a near-tie: both are teacher-forced (raw logprobs, `app_scoreV1` by ids) and must lie within
 *   `tolerance` of each other there; the rest cannot be compared and is not.
 * Null when the reference cannot decode under that format (its model lacks the feature).
 */
async function auditStructured(
  engine: EngineClient<EngineApi>,
  params: GenerateParams,
  answer: AuditedAnswer,
  text: string,
  opts: ReferenceAuditOpts & { signal: AbortSignal },
): Promise<Audit | null> {
  const ids = answerIds(answer);
  const n = ids?.length ?? answer.tokens.length;
  const base = { tokens: n, argmaxMatched: 0, logprobsCompared: 0, logprobsMatched: 0, maxLogprobDiff: null };
  const fail = (failure: AuditFailure, detail: string, matched = 0): Audit => ({
    stats: { ...base, argmaxMatched: matched, passed: false },
    failure,
    detail,
  });
  const problem = structuredAnswerProblem(params.responseFormat, text, answer.finishReason !== 'length');
  if (problem !== null) return fail(AuditFailure.FORMAT_VIOLATED, problem);
  const again = await reproduce(engine, params, params.maxTokens, opts);
  if (again === null)
    return {
      stats: { ...base, passed: true },
      failure: null,
      detail: 'the reference cannot decode this format',
    };
  if (again.text === text && (answer.finishReason === again.finishReason || answer.finishReason === null))
    return {
      stats: { ...base, argmaxMatched: n, passed: true },
      failure: null,
      detail: 'reproduced exactly',
    };
  if (answer.finishReason === 'length' && again.text.startsWith(text) && n < params.maxTokens)
    return fail(
      AuditFailure.TRUNCATED,
      `cut at ${n} of ${params.maxTokens} tokens where the reference goes on`,
      n,
    );
  if (ids === null || again.ids === null)
    return fail(
      AuditFailure.NOT_REPRODUCED,
      'the reference decodes another answer (and there are no ids to compare)',
    );
  let at = 0;
  while (at < ids.length && at < again.ids.length && ids[at] === again.ids[at]) at++;
  if (at === ids.length && answer.finishReason === 'stop')
    return fail(AuditFailure.EARLY_STOP, `stops after ${at} tokens where the reference goes on`, at);
  if (at >= ids.length || at >= again.ids.length)
    return fail(AuditFailure.NOT_REPRODUCED, `the answers part after ${at} tokens`, at);
  // Both teacher-forced at the first place they part: a near-tie there is numerical noise, not a cheat.
  const mine = await score(engine, params, { continuationIds: ids.slice(0, at + 1) }, opts);
  const theirs = await score(engine, params, { continuationIds: again.ids.slice(0, at + 1) }, opts);
  const a = mine.tokens[at]?.logprob ?? Number.NEGATIVE_INFINITY;
  const b = theirs.tokens[at]?.logprob ?? Number.NEGATIVE_INFINITY;
  const diff = Math.abs(a - b);
  if (Number.isFinite(diff) && diff <= opts.tolerance)
    return {
      stats: {
        ...base,
        argmaxMatched: at,
        logprobsCompared: 1,
        logprobsMatched: 1,
        maxLogprobDiff: diff,
        passed: true,
      },
      failure: null,
      detail: `reproduced ${at} tokens, then a near-tie (${diff.toFixed(4)} nats)`,
    };
  return {
    ...fail(
      AuditFailure.NOT_REPRODUCED,
      `after ${at} tokens the miner chose a token ${Number.isFinite(diff) ? `${diff.toFixed(3)} nats` : 'infinitely'} less likely than the reference's under the same grammar`,
      at,
    ),
  };
}

/**
 * The reference's own answer to `params` (same seed and format), at most `maxTokens` tokens, with its token ids
 * (null when an event came without them); null when it cannot generate it (the request does not fit it, or
 * its model lacks the format).
 */
async function reproduce(
  engine: EngineClient<EngineApi>,
  params: GenerateParams,
  maxTokens: number,
  opts: ReferenceAuditOpts & { signal: AbortSignal },
): Promise<{ text: string; ids: number[] | null; finishReason: 'stop' | 'length' } | null> {
  try {
    let text = '';
    let ids: number[] | null = [];
    const stream = await engine.stream(
      'app_generateV1',
      { ...params, maxTokens: Math.min(params.maxTokens, maxTokens), priority: 'challenge' },
      { signal: withTimeout(opts.signal, opts.timeoutMs) as AbortSignal, deadlineMs: opts.timeoutMs },
    );
    for await (const ev of stream) {
      if (ev.type === 'token') {
        text += ev.text;
        if (ids !== null) {
          if (ev.ids === undefined) ids = null;
          else ids.push(...ev.ids);
        }
      } else return { text, ids, finishReason: ev.finishReason };
    }
    return null;
  } catch (err) {
    if (opts.signal.aborted) throw err;
    if (unscorable(err) || (err as Partial<EngineError>).code === 'METHOD_NOT_FOUND') return null;
    throw err;
  }
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
