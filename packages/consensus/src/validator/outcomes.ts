/**
 * Organic outcomes: when this node runs the gateway stack, each routed request's outcome on a miner
 * (`gateway_watchOutcomesV1`) updates that miner's availability and latency, and the share `sampleRate` of
 * successful ones carries the request and answer: their shapes feed the organic mix, and some are audited.
 * Without a gateway (METHOD_NOT_FOUND) it checks again only rarely; a stream that ends or fails is reopened
 * with backoff.
 */
import {
  type EngineApi,
  type EngineClient,
  type EngineError,
  type OutcomeSchema,
  SynapseEmbedParamsSchema,
  SynapseGenerateParamsSchema,
} from '@subnet/engine-api';
import { errorMessage, type Logger, reopen } from '@subnet/utils';
import type { z } from 'zod';
import type { Answer, ChallengeRequest } from './challenge.js';

export type Outcome = z.output<typeof OutcomeSchema>;

export interface OutcomeFollowerOpts {
  /** Wait before asking again when the node has no gateway stack. */
  absentRetryMs: number;
  /** Share of successful outcomes that carry the request and answer (`gateway_watchOutcomesV1`). */
  sampleRate: number;
}

/** Follows the gateway's outcomes into `onOutcome` until `signal` aborts. */
export async function followOutcomes(
  opts: OutcomeFollowerOpts,
  modules: { engine: EngineClient<EngineApi>; logger: Logger; signal: AbortSignal },
  onOutcome: (o: Outcome) => void,
): Promise<void> {
  const { engine, logger, signal } = modules;
  await reopen(
    async ({ signal: s, healthy }) => {
      const stream = await engine.stream(
        'gateway_watchOutcomesV1',
        { sampleRate: opts.sampleRate },
        { signal: s },
      );
      for await (const o of stream) {
        healthy();
        onOutcome(o);
      }
    },
    {
      signal,
      onError: (err, retryInMs) => {
        if ((err as Partial<EngineError>).code === 'METHOD_NOT_FOUND') {
          logger.debug('no gateway stack on this node: organic outcomes are not scored');
          return opts.absentRetryMs;
        }
        logger.warn({ err: errorMessage(err), retryInMs }, 'gateway outcome stream failed; retrying');
        return undefined;
      },
    },
  );
}

/**
 * The request and answer of an outcome's sample, in the form the audit reads; null when there is none or its
 * params do not parse as the synapse's (then nothing can be checked against them).
 */
export function requestOfSample(
  o: Outcome,
): { request: ChallengeRequest; answer: Pick<Answer, 'tokens' | 'finishReason' | 'embeddings'> } | null {
  const s = o.sample;
  if (s === null) return null;
  if (s.kind === 'generate') {
    const p = SynapseGenerateParamsSchema.safeParse(s.params);
    if (!p.success) return null;
    return {
      request: { kind: 'generate', params: p.data },
      answer: {
        tokens: s.tokens.map((t) => ({
          text: t.text,
          logprob: t.logprob ?? undefined,
          ...(t.ids === undefined ? {} : { ids: t.ids }),
        })),
        finishReason: s.finishReason,
        embeddings: null,
      },
    };
  }
  const p = SynapseEmbedParamsSchema.safeParse(s.params);
  if (!p.success) return null;
  return {
    request: { kind: 'embed', params: p.data },
    answer: { tokens: [], finishReason: null, embeddings: s.embeddings },
  };
}
