/**
 * The epoch agent as a loop of the consensus stack: backs {@link EpochChainPort} with the chain stack's
 * `chain_*Epoch*` methods and `chain_snapshotValidatorsV1`, builds the Merkle tree with `@subnet/contracts`, and runs one agent step per new
 * block (never two at once; a block that arrives during a step is folded into the next). A reverted call is
 * the chain stack's REVERTED error, whose `data.errorName` the agent reads.
 */
import { buildEpochTree, type EpochLeaf, encodeResults, resultsHash } from '@subnet/contracts';
import type { EngineApi, EngineClient } from '@subnet/engine-api';
import type { Logger } from '@subnet/utils';
import type { ChainView } from '../chainView.js';
import type { Loop } from '../loop.js';
import {
  type ClaimQueueStore,
  createEpochAgent,
  type EpochAgent,
  type EpochChainPort,
  type EpochTreeBuilder,
} from './agent.js';
import type { EpochInputs } from './settle.js';

const CALL_TIMEOUT_MS = 30_000;
type Address = EpochLeaf['account'];

/** The agent's chain port over the Engine API. */
export function engineEpochPort(engine: EngineClient<EngineApi>): EpochChainPort {
  const opts = (signal: AbortSignal) => ({ signal, timeoutMs: CALL_TIMEOUT_MS });
  return {
    hotkey: async (signal) => (await engine.call('chain_getStatusV1', {}, opts(signal))).hotkey,
    epoch: async (netuid, signal) => {
      const e = await engine.call('chain_getEpochV1', { netuid }, opts(signal));
      return {
        ...e,
        proposal:
          e.proposal === null
            ? null
            : { ...e.proposal, attestations: e.proposal.attestations.map((a) => a.hotkey) },
      };
    },
    inputs: async (netuid, epoch, signal): Promise<EpochInputs> => {
      const x = await engine.call('chain_getEpochInputsV1', { netuid, epoch }, opts(signal));
      return {
        epoch: x.epoch,
        startBlock: x.startBlock,
        endBlockHash: x.endBlockHash,
        // The schema has checked these are 0x-prefixed 20-byte addresses.
        owner: x.owner as Address,
        emission: BigInt(x.emission),
        yumaVersion: x.yumaVersion === 2 ? 2 : 3,
        params: x.params,
        neurons: x.neurons.map((n) => ({ ...n, hotkey: n.hotkey as Address, stake: BigInt(n.stake) })),
        reveals: x.reveals,
      };
    },
    snapshot: (netuid, signal) => engine.call('chain_snapshotValidatorsV1', { netuid }, opts(signal)),
    propose: (p, signal) =>
      engine.call('chain_proposeEpochV1', { ...p, total: p.total.toString() }, opts(signal)),
    attest: (p, signal) => engine.call('chain_attestEpochV1', p, opts(signal)),
    recordResults: (p, signal) => engine.call('chain_recordEpochResultsV1', p, opts(signal)),
    slashWrongRoots: (p, signal) => engine.call('chain_slashWrongRootsV1', p, opts(signal)),
    claim: (p, signal) =>
      engine.call('chain_claimEmissionV1', { ...p, amount: p.amount.toString() }, opts(signal)),
  };
}

/** The tree and results encoding of docs/epoch.md, from `@subnet/contracts`. */
export const contractsTree: EpochTreeBuilder = (netuid, s) => {
  const tree = buildEpochTree(netuid, BigInt(s.epoch), s.leaves);
  const results = encodeResults(s.results);
  return { root: tree.root, resultsHash: resultsHash(results), results, proof: (uid) => tree.proof(uid) };
};

export interface EpochLoopOpts {
  netuid: number;
  claim: 'own' | 'all' | 'none';
  claimToStake: boolean;
}

export interface EpochLoop extends Loop {
  readonly agent: EpochAgent;
}

export function createEpochLoop(
  opts: EpochLoopOpts,
  modules: {
    engine: EngineClient<EngineApi>;
    logger: Logger;
    chain: ChainView;
    /** Where the claim queue survives restarts (the consensus store); in memory only without it. */
    claims?: ClaimQueueStore | undefined;
  },
): EpochLoop {
  const log = modules.logger.child({ loop: 'epoch' });
  const agent = createEpochAgent(opts, {
    chain: engineEpochPort(modules.engine),
    tree: contractsTree,
    log,
    claims: modules.claims,
  });
  let abort: AbortController | undefined;
  let unsubscribe: (() => void) | undefined;
  let running: Promise<void> | undefined;
  let again = false;

  function step(): void {
    if (abort === undefined) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    const signal = abort.signal;
    running = agent.tick(signal).finally(() => {
      running = undefined;
      if (again && !signal.aborted) {
        again = false;
        step();
      }
    });
  }

  return {
    name: 'epoch',
    agent,
    start() {
      if (abort !== undefined) return;
      abort = new AbortController();
      unsubscribe = modules.chain.onBlock(step);
    },
    async stop() {
      unsubscribe?.();
      abort?.abort();
      abort = undefined;
      await running;
    },
  };
}
