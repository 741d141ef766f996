/**
 * Commit-reveal of the validator's weights, once per epoch, driven by new blocks: when the epoch changed
 * (and `weightsRateLimit` blocks passed since the last commit) it normalises the current scores over the
 * metagraph's miners (`normalizeWeights`) and calls `chain_commitWeightsV1`; once the reveal epoch (commit
 * epoch + `commitRevealPeriod`) opens it calls `chain_revealWeightsV1`. It does not commit while a commit
 * waits for its reveal (a new commit would replace it). Reverts are logged with their `errorName` and retried
 * on a later block, or given up when they cannot succeed (RevealTooLate, NoCommit).
 * The salt and vector of a commit are the chain stack's: it writes them durably before the commit is sent.
 * A new setter (after a restart or a kill) first asks the chain stack to reveal whatever commit the chain
 * holds for this hotkey: it reveals at once when the window is open, learns the reveal epoch from
 * `RevealTooEarly` when it is not (and waits for it instead of committing over it), and goes on to commit
 * when there is nothing to reveal.
 */
import type { EngineApi, EngineClient, EngineError } from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';
import type { Block, ChainView } from '../chainView.js';
import type { ValidatorMetrics } from './metrics.js';
import { normalizeWeights } from './weights.js';

export interface WeightSetterOpts {
  netuid: number;
}

export interface WeightSetterModules {
  engine: EngineClient<EngineApi>;
  logger: Logger;
  chain: ChainView;
  /** Current score of each miner uid. */
  scores: () => ReadonlyMap<number, number>;
  metrics?: ValidatorMetrics | undefined;
}

export interface WeightTx {
  epoch: number;
  txHash: string;
  at: number;
}

export interface WeightSetterStatus {
  commits: number;
  reveals: number;
  failures: number;
  lastCommit: WeightTx | null;
  lastReveal: WeightTx | null;
  pendingRevealEpoch: number | null;
}

export interface WeightSetter {
  /** Handles one new block; overlapping calls are skipped while one is under way. */
  onBlock(b: Block): void;
  status(): WeightSetterStatus;
  /** u16 weight of each uid in the last commit. */
  lastWeights(): ReadonlyMap<number, number>;
  /** Resolves when the step under way (if any) has ended. */
  idle(): Promise<void>;
}

function revertName(err: unknown): string | undefined {
  const e = err as Partial<EngineError>;
  if (e.code !== 'REVERTED') return undefined;
  return (e.data as { errorName?: string } | undefined)?.errorName ?? 'unknown';
}

export function createWeightSetter(
  opts: WeightSetterOpts,
  modules: WeightSetterModules & { signal: AbortSignal },
): WeightSetter {
  const { engine, logger, chain, signal } = modules;
  const st: WeightSetterStatus = {
    commits: 0,
    reveals: 0,
    failures: 0,
    lastCommit: null,
    lastReveal: null,
    pendingRevealEpoch: null,
  };
  let pending: { commitEpoch: number; revealEpoch: number } | null = null;
  let lastCommitEpoch: number | null = null;
  let lastCommitBlock: number | null = null;
  /** No transaction before this block (rate limit, backoff after a failure). */
  let notBefore = 0;
  let weights = new Map<number, number>();
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  /** Whether the commit left by a previous instance (if any) has been looked for. */
  let resumed = false;

  const failed = (kind: 'commit' | 'reveal', err: unknown, b: Block, backoffBlocks: number) => {
    st.failures += 1;
    const name = revertName(err);
    modules.metrics?.weightTxs.inc({ kind, outcome: name === undefined ? 'failed' : 'reverted' });
    logger.warn(
      { block: b.number, errorName: name, err: errorMessage(err), retryAtBlock: b.number + backoffBlocks },
      `weight ${kind} failed`,
    );
    notBefore = Math.max(notBefore, b.number + backoffBlocks);
  };

  async function reveal(b: Block): Promise<void> {
    try {
      const r = await engine.call(
        'chain_revealWeightsV1',
        { netuid: opts.netuid },
        { signal, timeoutMs: 60_000 },
      );
      st.reveals += 1;
      st.lastReveal = { epoch: r.epoch, txHash: r.txHash, at: Date.now() };
      modules.metrics?.weightTxs.inc({ kind: 'reveal', outcome: 'ok' });
      logger.info({ epoch: r.epoch, txHash: r.txHash }, 'weights revealed');
      pending = null;
      st.pendingRevealEpoch = null;
    } catch (err) {
      if (signal.aborted) return;
      const name = revertName(err);
      if (name === 'RevealTooEarly') {
        // Our epoch estimate ran ahead of the chain's (a tempo change): wait and try again.
        notBefore = b.number + 1;
        return;
      }
      const hopeless =
        (err as Partial<EngineError>).code === 'NO_COMMIT' ||
        name === 'RevealTooLate' ||
        name === 'NoCommit' ||
        name === 'CommitHashMismatch';
      failed('reveal', err, b, hopeless ? 0 : 2);
      if (hopeless) {
        pending = null;
        st.pendingRevealEpoch = null;
      }
    }
  }

  /** Reveals, or waits for, a commit a previous instance left on chain; true once the question is settled. */
  async function resume(b: Block, commitRevealPeriod: number): Promise<boolean> {
    try {
      const r = await engine.call(
        'chain_revealWeightsV1',
        { netuid: opts.netuid },
        { signal, timeoutMs: 60_000 },
      );
      st.reveals += 1;
      st.lastReveal = { epoch: r.epoch, txHash: r.txHash, at: Date.now() };
      modules.metrics?.weightTxs.inc({ kind: 'reveal', outcome: 'ok' });
      logger.info({ epoch: r.epoch, txHash: r.txHash }, 'weights revealed (commit left by a previous run)');
      lastCommitEpoch = r.epoch;
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      const e = err as Partial<EngineError>;
      const name = revertName(err);
      if (name === 'RevealTooEarly') {
        const revealEpoch = Number((e.data as { args?: string[] } | undefined)?.args?.[1]);
        if (Number.isFinite(revealEpoch)) {
          pending = { commitEpoch: revealEpoch - commitRevealPeriod, revealEpoch };
          st.pendingRevealEpoch = revealEpoch;
          lastCommitEpoch = pending.commitEpoch;
          logger.info(
            { revealEpoch },
            'found a pending weight commit from a previous run; waiting to reveal it',
          );
          return true;
        }
      }
      if (e.code === 'NO_COMMIT' || e.code === 'NO_ACCOUNT' || name !== undefined) return true; // nothing to reveal
      logger.warn({ block: b.number, err: errorMessage(err) }, 'looking for a pending weight commit failed');
      notBefore = b.number + 1;
      return false;
    }
  }

  async function commit(b: Block, epoch: number): Promise<void> {
    const subnet = chain.subnet();
    const metagraph = chain.metagraph();
    if (subnet === undefined || metagraph === undefined || chain.uid() === null) return;
    const minerUids = metagraph.neurons.filter((n) => n.role === 'miner').map((n) => n.uid);
    const vector = normalizeWeights(modules.scores(), minerUids, {
      minAllowedWeights: subnet.params.minAllowedWeights,
      maxWeightLimit: subnet.params.maxWeightLimit,
      maxAllowedUids: subnet.params.maxAllowedUids,
    });
    if (vector === null) return; // no miner has earned anything yet
    try {
      const r = await engine.call(
        'chain_commitWeightsV1',
        { netuid: opts.netuid, uids: vector.uids, weights: vector.weights },
        { signal, timeoutMs: 60_000 },
      );
      st.commits += 1;
      st.lastCommit = { epoch: r.epoch, txHash: r.txHash, at: Date.now() };
      modules.metrics?.weightTxs.inc({ kind: 'commit', outcome: 'ok' });
      lastCommitEpoch = Math.max(r.epoch, epoch);
      lastCommitBlock = b.number;
      weights = new Map(vector.uids.map((u, i) => [u, vector.weights[i] as number]));
      pending = {
        commitEpoch: r.epoch,
        revealEpoch: r.epoch + subnet.params.commitRevealPeriod,
      };
      st.pendingRevealEpoch = pending.revealEpoch;
      logger.info(
        { epoch: r.epoch, txHash: r.txHash, uids: vector.uids, weights: vector.weights },
        'weights committed',
      );
    } catch (err) {
      if (signal.aborted) return;
      const e = err as Partial<EngineError>;
      if (revertName(err) === 'RateLimited') {
        const next = Number((e.data as { args?: string[] } | undefined)?.args?.[2]);
        failed('commit', err, b, Number.isFinite(next) && next > b.number ? next - b.number : 1);
        return;
      }
      failed('commit', err, b, 1);
    }
  }

  async function step(b: Block): Promise<void> {
    if (b.number < notBefore) return;
    const subnet = chain.subnet();
    const epoch = chain.epochOf(b.number);
    if (subnet === undefined || epoch === undefined) return;
    if (!resumed) {
      resumed = await resume(b, subnet.params.commitRevealPeriod);
      return;
    }
    if (pending !== null) {
      if (epoch >= pending.revealEpoch) await reveal(b);
      return;
    }
    if (lastCommitEpoch !== null && epoch <= lastCommitEpoch) return;
    if (lastCommitBlock !== null && b.number < lastCommitBlock + subnet.params.weightsRateLimit) return;
    await commit(b, epoch);
  }

  return {
    onBlock(b) {
      if (busy || signal.aborted) return;
      busy = true;
      running = step(b)
        .catch((err: unknown) => logger.error({ err: errorMessage(err) }, 'weight step failed'))
        .finally(() => {
          busy = false;
        });
    },
    status: () => ({ ...st }),
    lastWeights: () => weights,
    idle: () => running,
  };
}
