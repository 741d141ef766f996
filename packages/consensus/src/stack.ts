/**
 * The consensus stack: serves `consensus_*` over the Engine API and runs the validator's loops on one shared
 * view of the chain (metagraph, blocks, hyperparameters: {@link createChainView}). Two loops: the
 * validator loop (synthetic challenges, verification, scores, weight commit-reveal) and the epoch agent
 * (settle each ended epoch, propose or attest it, claim; docs/epoch.md). It reaches the chain,
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
import { createEpochLoop } from './epoch/loop.js';
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
    const epochs = opts.consensus.settleEpochs
      ? createEpochLoop(
          { netuid: opts.netuid, claim: opts.consensus.claim, claimToStake: opts.consensus.claimToStake },
          { engine, logger, chain },
        )
      : undefined;
    const loops: Loop[] = epochs === undefined ? [validator] : [validator, epochs];

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
      consensus_getEpochV1: ({ epoch }) => {
        const status = epochs?.agent.status();
        const wanted = epoch ?? status?.lastEpoch ?? undefined;
        const s = wanted === undefined ? undefined : epochs?.agent.settled(wanted);
        return {
          agent: {
            enabled: epochs !== undefined,
            lastEpoch: status?.lastEpoch ?? null,
            lastStatus: status?.lastStatus ?? null,
            proposed: status?.proposed ?? 0,
            attested: status?.attested ?? 0,
            mismatches: status?.mismatches ?? 0,
            claimed: status?.claimed ?? 0,
            recorded: status?.recorded ?? 0,
            lastError: status?.lastError ?? null,
          },
          settlement:
            s === undefined
              ? null
              : {
                  epoch: s.epoch,
                  root: s.root,
                  resultsHash: s.resultsHash,
                  total: s.total.toString(),
                  validators: s.validators,
                  miners: s.miners,
                  leaves: s.leaves.map((l) => ({
                    uid: l.uid,
                    account: l.account,
                    amount: l.amount.toString(),
                    proof: s.proof(l.uid),
                  })),
                  results: s.results.map((r) => ({ ...r, amount: r.amount.toString() })),
                },
        };
      },
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
