/**
 * One synthetic challenge: a seeded prompt sent at once to `redundancy` miners over `network_sendSynapseV1`
 * (greedy: temperature 0, a fixed seed, logprobs asked for), then the verification ladder — the redundancy
 * majority and, for models this node serves itself, the logprob audit against its reference model
 * (`app_scoreV1`, teacher forcing). Returns the record; fetching receipts is the caller's (they are signed
 * in batches, later). Every call takes the round's signal; nothing waits past the challenge deadline.
 */
import type { EngineApi, EngineClient, EngineError } from '@subnet/engine-api';
import { errorMessage, type Logger, withTimeout } from '@subnet/utils';
import { ValidatorError, ValidatorErrorCode } from './errors.js';
import { challengePrompt } from './prompt.js';
import type { Verification, VerificationMiner } from './records.js';
import { type AuditResult, auditAnswer, type MinerToken, majority } from './verify.js';

export interface ChallengeOpts {
  maxTokens: number;
  challengeTimeoutMs: number;
  auditFraction: number;
  auditTolerance: number;
  auditMinMatch: number;
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

/** What one miner answered (or why it did not). */
export interface Answer {
  target: ChallengeTarget;
  text: string | null;
  tokens: MinerToken[];
  latencyMs: number | null;
  requestId: string | null;
  errorCode: string | null;
}

function codeOf(err: unknown): string {
  const code = (err as Partial<EngineError>).code;
  return typeof code === 'string' ? code : 'INTERNAL_ERROR';
}

/** Sends the challenge to one miner and collects its text, tokens, logprobs, latency and request id. */
export async function askMiner(
  engine: EngineClient<EngineApi>,
  target: ChallengeTarget,
  params: Record<string, unknown>,
  opts: { timeoutMs: number; signal: AbortSignal },
): Promise<Answer> {
  const tokens: MinerToken[] = [];
  const signal = withTimeout(opts.signal, opts.timeoutMs + 5000) as AbortSignal;
  try {
    const stream = await engine.stream(
      'network_sendSynapseV1',
      { uid: target.uid, kind: 'generate', params, timeoutMs: opts.timeoutMs },
      { signal },
    );
    for await (const ev of stream) {
      if (ev.type === 'done') {
        return {
          target,
          text: tokens.map((t) => t.text).join(''),
          tokens,
          latencyMs: ev.latencyMs,
          requestId: ev.requestId,
          errorCode: null,
        };
      }
      const data = ev.data as { type?: string; text?: unknown; logprob?: unknown };
      if (data.type === 'token' && typeof data.text === 'string') {
        tokens.push({
          text: data.text,
          logprob: typeof data.logprob === 'number' ? data.logprob : undefined,
        });
      }
    }
    throw new ValidatorError(ValidatorErrorCode.NO_DONE, 'the synapse ended without a done event');
  } catch (err) {
    if (opts.signal.aborted) throw err;
    return { target, text: null, tokens: [], latencyMs: null, requestId: null, errorCode: codeOf(err) };
  }
}

/** Scores `text` after `prompt` with the reference model and audits the miner's tokens against it. */
export async function auditWithReference(
  engine: EngineClient<EngineApi>,
  req: { model: string; prompt: string; answer: Answer },
  opts: ChallengeOpts & { signal: AbortSignal },
): Promise<AuditResult> {
  const ref = await engine.call(
    'app_scoreV1',
    {
      model: req.model,
      prompt: req.prompt,
      continuation: req.answer.text as string,
      topLogprobs: 1,
      priority: 'challenge',
    },
    { signal: opts.signal, timeoutMs: opts.challengeTimeoutMs },
  );
  return auditAnswer(ref.tokens, req.answer.tokens, {
    tolerance: opts.auditTolerance,
    minMatch: opts.auditMinMatch,
  });
}

/** The verdict of one answer, given the majority text and its audit (an audit, when made, decides). */
export function judge(
  answer: Answer,
  majorityText: string | null,
  audit: AuditResult | null,
): Pick<VerificationMiner, 'verdict' | 'reason'> {
  if (answer.text === null) return { verdict: 'error', reason: answer.errorCode ?? 'INTERNAL_ERROR' };
  const side = majorityText === null ? null : answer.text === majorityText ? 'majority' : 'minority';
  if (audit !== null) {
    return { verdict: audit.passed ? 'pass' : 'fail', reason: side === null ? 'audit' : `audit, ${side}` };
  }
  if (side === null) return { verdict: 'unverified', reason: 'no majority' };
  return { verdict: side === 'majority' ? 'pass' : 'fail', reason: side };
}

/**
 * Runs one challenge of `model` on `targets`: asks them all at once, then judges each answer. `reference`
 * says whether this node's app stack serves `model` (only then are answers audited).
 */
export async function runChallenge(
  opts: ChallengeOpts,
  modules: ChallengeModules,
  req: {
    model: string;
    seed: number;
    targets: readonly ChallengeTarget[];
    reference: boolean;
    signal: AbortSignal;
  },
): Promise<Omit<Verification, 'id'>> {
  const { engine, logger } = modules;
  const random = modules.random ?? Math.random;
  const prompt = challengePrompt(req.seed);
  const at = Date.now();
  const params = {
    model: req.model,
    kind: 'completion',
    prompt,
    maxTokens: opts.maxTokens,
    temperature: 0,
    seed: req.seed,
    logprobs: true,
    priority: 'challenge',
  };
  const answers = await Promise.all(
    req.targets.map((t) =>
      askMiner(engine, t, params, { timeoutMs: opts.challengeTimeoutMs, signal: req.signal }),
    ),
  );
  const majorityText = majority(answers.map((a) => a.text));
  const miners = await Promise.all(
    answers.map(async (a): Promise<VerificationMiner> => {
      let audit: AuditResult | null = null;
      if (req.reference && a.text !== null && a.text.length > 0 && random() < opts.auditFraction) {
        try {
          audit = await auditWithReference(
            engine,
            { model: req.model, prompt, answer: a },
            { ...opts, signal: req.signal },
          );
        } catch (err) {
          if (req.signal.aborted) throw err;
          logger.warn(
            { model: req.model, uid: a.target.uid, err: errorMessage(err) },
            'reference scoring failed',
          );
        }
      }
      return {
        uid: a.target.uid,
        peerId: a.target.peerId,
        ...judge(a, majorityText, audit),
        text: a.text,
        tokens: a.tokens.length,
        latencyMs: a.latencyMs,
        requestId: a.requestId,
        audit,
        receipt: null,
      };
    }),
  );
  return {
    at,
    model: req.model,
    seed: req.seed,
    prompt,
    maxTokens: opts.maxTokens,
    majority: majorityText,
    miners,
  };
}
