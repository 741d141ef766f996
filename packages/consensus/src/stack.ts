/**
 * The consensus stack: serves `consensus_*` over the Engine API and runs the validator's loops on one shared
 * view of the chain (metagraph, blocks, hyperparameters: {@link createChainView}). Today one loop: the
 * validator loop (synthetic challenges, verification, scores, weight commit-reveal). A further loop (the
 * epoch agent) is one more entry in `loops` and its handlers merged into `handlers`. It reaches the chain,
 * network, app and gateway stacks only through `modules.engine`; it never imports them.
 */
import type { Config } from '@subnet/config';
import {
  consensusErrors,
  consensusMethods,
  defineApi,
  defineStack,
  type EngineApi,
  type EngineClient,
  EngineError,
  type Handlers,
} from '@subnet/engine-api';
import { createChainView } from './chainView.js';
import type { Loop } from './loop.js';
import { validatorMetrics } from './validator/metrics.js';
import { createValidatorLoop } from './validator/validatorLoop.js';

export const consensusApi = defineApi(consensusMethods);

/** What the consensus stack reads from the node config. */
export interface ConsensusStackOpts {
  netuid: number;
  consensus: Config['consensus'];
}

export default defineStack({
  api: consensusApi,
  options: (config): ConsensusStackOpts => {
    const c = config as Config;
    return { netuid: c.network.netuid, consensus: c.consensus };
  },
  create: (opts: ConsensusStackOpts, modules) => {
    const engine = modules.engine as unknown as EngineClient<EngineApi>;
    const { logger } = modules;
    const chain = createChainView({ netuid: opts.netuid }, { engine, logger });
    const validator = createValidatorLoop(
      { netuid: opts.netuid, ...opts.consensus },
      { engine, logger, chain, metrics: validatorMetrics(modules.registry) },
    );
    const loops: Loop[] = [validator];

    const handlers: Handlers<typeof consensusApi> = {
      consensus_getStatusV1: () => {
        if (chain.metagraph() === undefined) {
          throw EngineError.of(consensusErrors.NOT_READY, 'no metagraph yet: is the chain stack running?');
        }
        const block = chain.block()?.number ?? null;
        return {
          netuid: opts.netuid,
          hotkey: chain.hotkey() ?? null,
          uid: chain.uid(),
          block,
          epoch: block === null ? null : (chain.epochOf(block) ?? null),
          miners: validator.scores(),
          weights: validator.weights(),
          challenges: validator.counters(),
        };
      },
      consensus_listVerificationsV1: ({ uid, limit }) => ({
        verifications: validator.verifications({ uid, limit }),
      }),
    };

    return {
      handlers,
      start: async () => {
        chain.start();
        for (const loop of loops) loop.start();
        logger.info({ netuid: opts.netuid, loops: loops.map((l) => l.name) }, 'consensus stack running');
      },
      stop: async () => {
        for (const loop of [...loops].reverse()) await loop.stop();
        await chain.stop();
      },
    };
  },
});
