/**
 * Organic outcomes: when this node runs the gateway stack, each routed request's outcome on a miner
 * (`gateway_watchOutcomesV1`) updates that miner's availability and latency. Without a gateway
 * (METHOD_NOT_FOUND) it checks again only rarely; a stream that ends or fails is reopened with backoff.
 */
import type { EngineApi, EngineClient, EngineError, OutcomeSchema } from '@subnet/engine-api';
import { errorMessage, type Logger, sleep } from '@subnet/utils';
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
  let delayMs = 250;
  while (!signal.aborted) {
    let wait = delayMs;
    try {
      const stream = await engine.stream('gateway_watchOutcomesV1', {}, { signal });
      for await (const o of stream) {
        delayMs = 250;
        onOutcome(o);
      }
    } catch (err) {
      if (signal.aborted) return;
      if ((err as Partial<EngineError>).code === 'METHOD_NOT_FOUND') {
        wait = opts.absentRetryMs;
        logger.debug('no gateway stack on this node: organic outcomes are not scored');
      } else {
        logger.warn(
          { err: errorMessage(err), retryInMs: delayMs },
          'gateway outcome stream failed; retrying',
        );
      }
    }
    await sleep(wait, { signal }).catch(() => {});
    delayMs = Math.min(delayMs * 2, 10_000);
  }
}
