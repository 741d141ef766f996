/**
 * The consensus stack: serves `consensus_*` over the Engine API and runs the validator's loops on one shared
 * view of the chain (metagraph, blocks, hyperparameters: {@link createChainView}). Two loops: the
 * validator loop (synthetic challenges, verification, scores, weight commit-reveal) and the epoch agent
 * (settle each ended epoch, propose or attest it, claim; docs/epoch.md). Their state — scores, the
 * verification log, pending claims — lives in one SQLite file ({@link createConsensusStore}), loaded at
 * creation and written through, so a restart resumes where the validator was. `consensus_getRoutingV1` tells
 * the gateway which miners may get organic traffic. It reaches the chain, network, app and gateway stacks
 * only through `modules.engine`; it never imports them.
 */
import { join } from 'node:path';
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
import { createConsensusStore } from './store.js';
import { validatorMetrics } from './validator/metrics.js';
import { createValidatorState } from './validator/state.js';
import { createValidatorLoop } from './validator/validatorLoop.js';

export const consensusApi = defineApi(consensusMethods);

/** What the consensus stack reads from the node config. */
export interface ConsensusStackOpts {
  netuid: number;
  consensus: Config['consensus'];
  /** The state file: `consensus.stateFile`, or one per subnet and signing key under the data dir. */
  stateFile: string;
  /** The gateway's request deadline: challenges use it as their synapse deadline, like organic requests. */
  requestTimeoutMs: number;
}

/** The default state file: one per subnet and wallet hotkey, so nodes sharing a data dir never share it. */
export function defaultStateFile(dataDir: string, netuid: number, wallet: string, hotkey: string): string {
  return join(dataDir, 'consensus', `${netuid}-${wallet}-${hotkey}.sqlite`);
}

export default defineStack({
  api: consensusApi,
  options: (config): ConsensusStackOpts => {
    const c = config as Config;
    return {
      netuid: c.network.netuid,
      requestTimeoutMs: c.gateway.requestTimeoutMs,
      consensus: c.consensus,
      stateFile:
        c.consensus.stateFile ??
        defaultStateFile(c.dataDir, c.network.netuid, c.chain.wallet, c.chain.hotkey),
    };
  },
  create: (opts: ConsensusStackOpts, modules) => {
    const engine = modules.engine as unknown as EngineClient<EngineApi>;
    const { logger } = modules;
    const chain = createChainView({ netuid: opts.netuid }, { engine, logger });
    const store = createConsensusStore({ file: opts.stateFile }, { logger });
    let state: ReturnType<typeof createValidatorState>;
    let validator: ReturnType<typeof createValidatorLoop>;
    let epochs: ReturnType<typeof createEpochLoop> | undefined;
    try {
      state = createValidatorState(opts.consensus, { store, logger });
      validator = createValidatorLoop(
        { netuid: opts.netuid, requestTimeoutMs: opts.requestTimeoutMs, ...opts.consensus },
        { engine, logger, chain, metrics: validatorMetrics(modules.registry), state },
      );
      epochs = opts.consensus.settleEpochs
        ? createEpochLoop(
            { netuid: opts.netuid, claim: opts.consensus.claim, claimToStake: opts.consensus.claimToStake },
            { engine, logger, chain, claims: store.claims },
          )
        : undefined;
    } catch (err) {
      store.close();
      throw err;
    }
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
      consensus_getRoutingV1: () => {
        if (chain.metagraph() === undefined) {
          throw EngineError.of(consensusErrors.NOT_READY, 'no metagraph yet: is the chain stack running?');
        }
        return {
          miners: state.board
            .list()
            .map(({ uid, hotkey, score, routable, reason }) => ({ uid, hotkey, score, routable, reason })),
          at: Date.now(),
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
            slashed: status?.slashed ?? 0,
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
        state.start();
        for (const loop of loops) loop.start();
        logger.info({ netuid: opts.netuid, loops: loops.map((l) => l.name) }, 'consensus stack running');
      },
      stop: async () => {
        for (const loop of [...loops].reverse()) await loop.stop();
        state.stop();
        store.close();
        await chain.stop();
      },
    };
  },
});
