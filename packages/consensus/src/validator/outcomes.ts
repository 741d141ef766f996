/**
 * Organic outcomes: when this node runs the gateway stack, each routed request's outcome on a miner
 * (`gateway_watchOutcomesV1`) updates that miner's availability and latency. Without a gateway
 * (METHOD_NOT_FOUND) it checks again only rarely; a stream that ends or fails is reopened with backoff.
 */
import type { EngineApi, EngineClient, EngineError, OutcomeSchema } from '@subnet/engine-api';
import { errorMessage, type Logger, reopen } from '@subnet/utils';
import type { z } from 'zod';

export type Outcome = z.output<typeof OutcomeSchema>;

export interface OutcomeFollowerOpts {
  /** Wait before asking again when the node has no gateway stack. */
  absentRetryMs: number;
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
      const stream = await engine.stream('gateway_watchOutcomesV1', {}, { signal: s });
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
