/**
 * One synthetic challenge: request params shaped like the organic mix (see `mix.ts`: kind, lengths and
 * sampling drawn from what the gateway routes, content from the corpus, seed set, logprobs asked for, no
 * priority), sent over `network_sendSynapseV1` to each target at its own random time with the gateway's
 * request deadline, then judged. Returns the record; fetching receipts is the caller's.
 *
 * Sybil rule: an answer earns a correctness verdict (pass or fail) only from an audit against this node's
 * reference model (`reference.ts`). The redundancy majority is recorded as evidence, never as a verdict:
 * without a reference every answer is 'unverified', so two colluding uids in a set of three win nothing
 * (and cannot make the honest third fail). A validator without the reference model scores availability
 * and latency only; correctness comes from the validators that hold it, through Yuma consensus.
 */
import type { EngineApi, EngineClient, EngineError } from '@subnet/engine-api';
import { errorMessage, type Logger, sleep, withTimeout } from '@subnet/utils';
import type { Audit, AuditedToken } from './audit.js';
import { ValidatorError, ValidatorErrorCode } from './errors.js';
import type { EmbedParams, GenerateParams } from './mix.js';
import type { Verification, VerificationMiner } from './records.js';
import {
  auditEmbedWithReference,
  auditGenerateWithReference,
  type ReferenceAuditOpts,
  unscorable,
} from './reference.js';
import { majority } from './verify.js';

export interface ChallengeOpts {
  /** The synapse deadline: the gateway's `gateway.requestTimeoutMs`, as for organic requests. */
  requestTimeoutMs: number;
  /** Deadline of each reference call of an audit. */
  challengeTimeoutMs: number;
  auditFraction: number;
  auditTolerance: number;
  auditMinMatch: number;
  auditPlausibleRatio: number;
  embedMinCosine: number;
}

export interface ChallengeModules {
  engine: EngineClient<EngineApi>;
  logger: Logger;
  /** In [0, 1): decides which answers are audited when `auditFraction` < 1. */
  random?: () => number;
}

export interface ChallengeTarget {
  uid: number;
  peerId: string | null;
}

/** A challenge request: the canonical synapse params of one kind. */
export type ChallengeRequest =
  | { kind: 'generate'; params: GenerateParams }
  | { kind: 'embed'; params: EmbedParams };

/** What one miner answered (or why it did not). */
export interface Answer {
  target: ChallengeTarget;
  text: string | null;
  /** Token events as relayed, with the model token ids each covered when the miner sent them. */
  tokens: AuditedToken[];
  finishReason: 'stop' | 'length' | null;
  embeddings: number[][] | null;
  latencyMs: number | null;
  requestId: string | null;
  errorCode: string | null;
}

/** The error's code: the miner's own (`remoteCode`) for a REMOTE_ERROR, so OVER_LIMIT shows as such. */
function codeOf(err: unknown): string {
  const e = err as Partial<EngineError>;
  const remote = (e.data as { remoteCode?: unknown } | undefined)?.remoteCode;
  if (e.code === 'REMOTE_ERROR' && typeof remote === 'string') return remote;
  return typeof e.code === 'string' ? e.code : 'INTERNAL_ERROR';
}

/**
 * Error codes that prove a miner broke the protocol rather than failed to answer: a bound it exceeded (the
 * network stack cut it off, `OVER_LIMIT`), a usage count it forged (`USAGE_FORGED`, seen by the gateway) or a
 * structured answer that breaks its format (`FORMAT_VIOLATED`, seen by the gateway).
 * They are failed verdicts, not mere unavailability.
 */
export const VIOLATIONS: ReadonlySet<string> = new Set(['OVER_LIMIT', 'USAGE_FORGED', 'FORMAT_VIOLATED']);

/** The reference audit options of the challenge options. */
export const referenceOpts = (o: ChallengeOpts): ReferenceAuditOpts => ({
  timeoutMs: o.challengeTimeoutMs,
  tolerance: o.auditTolerance,
  minMatch: o.auditMinMatch,
  plausibleRatio: o.auditPlausibleRatio,
  minCosine: o.embedMinCosine,
});

/** Sends the request to one miner and collects its tokens (or embeddings), latency and request id. */
export async function askMiner(
  engine: EngineClient<EngineApi>,
  target: ChallengeTarget,
  req: ChallengeRequest,
  opts: { timeoutMs: number; signal: AbortSignal },
): Promise<Answer> {
  const tokens: AuditedToken[] = [];
  let finishReason: Answer['finishReason'] = null;
  let embeddings: number[][] | null = null;
  const signal = withTimeout(opts.signal, opts.timeoutMs + 5000) as AbortSignal;
  try {
    const stream = await engine.stream(
      'network_sendSynapseV1',
      { uid: target.uid, kind: req.kind, params: req.params, timeoutMs: opts.timeoutMs },
      { signal },
    );
    let reported: unknown;
    for await (const ev of stream) {
      if (ev.type === 'done') {
        // The miner's own count of its tokens is never used, but one that differs from the ids it sent is
        // a lie the validator can prove (the gateway reports the same on organic answers).
        const ids = tokens.every((t) => t.ids !== undefined)
          ? tokens.reduce((n, t) => n + (t.ids?.length ?? 0), 0)
          : null;
        const forged = req.kind === 'generate' && ids !== null && reported !== ids;
        return {
          target,
          text: req.kind === 'generate' ? tokens.map((t) => t.text).join('') : null,
          tokens,
          finishReason,
          embeddings,
          latencyMs: ev.latencyMs,
          requestId: ev.requestId,
          errorCode: forged ? 'USAGE_FORGED' : null,
        };
      }
      const data = ev.data as {
        type?: string;
        text?: unknown;
        ids?: unknown;
        logprob?: unknown;
        finishReason?: unknown;
        embeddings?: unknown;
        usage?: { completionTokens?: unknown };
      };
      if (data.type === 'token' && typeof data.text === 'string') {
        // The network client bounded the ids already (per event and per answer).
        tokens.push({
          text: data.text,
          logprob: typeof data.logprob === 'number' ? data.logprob : undefined,
          ...(Array.isArray(data.ids) ? { ids: data.ids as number[] } : {}),
        });
      } else if (data.type === 'done' && (data.finishReason === 'stop' || data.finishReason === 'length')) {
        finishReason = data.finishReason;
        reported = data.usage?.completionTokens;
      } else if (Array.isArray(data.embeddings)) {
        embeddings = data.embeddings as number[][];
      }
    }
    throw new ValidatorError(ValidatorErrorCode.NO_DONE, 'the synapse ended without a done event');
  } catch (err) {
    if (opts.signal.aborted) throw err;
    return {
      target,
      text: null,
      tokens: [],
      finishReason: null,
      embeddings: null,
      latencyMs: null,
      requestId: null,
      errorCode: codeOf(err),
    };
  }
}

/**
 * Audits one answer against the reference. Null when it cannot be audited: an empty answer, or a
 * request the reference cannot score (a chat with a reference that lacks chat scoring, an overflow).
 */
export async function auditAnswerOf(
  engine: EngineClient<EngineApi>,
  req: ChallengeRequest,
  answer: Pick<Answer, 'tokens' | 'finishReason' | 'embeddings'>,
  opts: ReferenceAuditOpts & { signal: AbortSignal; logger: Logger },
): Promise<Audit | null> {
  try {
    if (req.kind === 'embed') {
      return answer.embeddings === null
        ? null
        : await auditEmbedWithReference(engine, req.params, answer.embeddings, opts);
    }
    return await auditGenerateWithReference(engine, req.params, answer, opts);
  } catch (err) {
    if (opts.signal.aborted) throw err;
    const level = unscorable(err) ? 'debug' : 'warn';
    opts.logger[level]({ model: req.params.model, err: errorMessage(err) }, 'reference audit not made');
    return null;
  }
}

/** The verdict of one answer: only an audit decides (the Sybil rule in the module header). */
export function judge(
  answer: Pick<Answer, 'text' | 'errorCode'>,
  majorityText: string | null,
  audit: Audit | null,
): Pick<VerificationMiner, 'verdict' | 'reason'> {
  if (answer.errorCode !== null) {
    return VIOLATIONS.has(answer.errorCode)
      ? { verdict: 'fail', reason: `violation ${answer.errorCode}` }
      : { verdict: 'error', reason: answer.errorCode };
  }
  const side =
    majorityText === null || answer.text === null
      ? null
      : answer.text === majorityText
        ? 'majority'
        : 'minority';
  if (audit !== null) {
    const why = audit.failure === null ? 'audit' : `audit ${audit.failure}: ${audit.detail}`;
    return {
      verdict: audit.failure === null ? 'pass' : 'fail',
      reason: side === null ? why : `${why}, ${side}`,
    };
  }
  return { verdict: 'unverified', reason: `${side ?? 'no majority'}, not audited` };
}

/** The record's prompt text: the completion prompt, else the JSON of the messages or inputs. */
export function promptOf(req: ChallengeRequest): string {
  if (req.kind === 'embed') return JSON.stringify(req.params.input);
  return req.params.kind === 'completion'
    ? (req.params.prompt ?? '')
    : JSON.stringify(req.params.messages ?? []);
}

/**
 * Runs one challenge on `targets`: each gets the same request after its own delay (`delaysMs`, default
 * none), then every answer is judged. `reference` says whether this node's app stack serves the model.
 */
export async function runChallenge(
  opts: ChallengeOpts,
  modules: ChallengeModules,
  req: ChallengeRequest & {
    seed: number;
    targets: readonly ChallengeTarget[];
    reference: boolean;
    delaysMs?: readonly number[];
    signal: AbortSignal;
  },
): Promise<Omit<Verification, 'id'>> {
  const { engine, logger } = modules;
  const random = modules.random ?? Math.random;
  const request = { kind: req.kind, params: req.params } as ChallengeRequest;
  const at = Date.now();
  const answers = await Promise.all(
    req.targets.map(async (t, i) => {
      const delay = req.delaysMs?.[i] ?? 0;
      if (delay > 0) await sleep(delay, { signal: req.signal });
      return await askMiner(engine, t, request, { timeoutMs: opts.requestTimeoutMs, signal: req.signal });
    }),
  );
  const majorityText = majority(answers.map((a) => a.text));
  const miners = await Promise.all(
    answers.map(async (a): Promise<VerificationMiner> => {
      const audit =
        req.reference && a.errorCode === null && random() < opts.auditFraction
          ? await auditAnswerOf(engine, request, a, { ...referenceOpts(opts), signal: req.signal, logger })
          : null;
      return {
        uid: a.target.uid,
        peerId: a.target.peerId,
        ...judge(a, majorityText, audit),
        text: a.text,
        tokens: req.kind === 'embed' ? (a.embeddings?.length ?? 0) : a.tokens.length,
        latencyMs: a.latencyMs,
        requestId: a.requestId,
        audit: audit?.stats ?? null,
        receipt: null,
      };
    }),
  );
  return {
    at,
    model: req.params.model,
    seed: req.seed,
    prompt: promptOf(request),
    maxTokens: req.kind === 'generate' ? req.params.maxTokens : 0,
    majority: majorityText,
    miners,
  };
}
