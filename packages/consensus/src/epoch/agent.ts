/**
 * The validator's epoch agent (docs/epoch.md): once per epoch, early in it (on the first block of it the
 * agent sees: before that block's epoch step, or right after it when it proposes as the drawn proposer), it
 * takes the epoch's validator snapshot, which fixes the stakes and the proposer draw (any validator may; the
 * first transaction wins and the others find it taken). Once an epoch has ended it settles it from chain
 * inputs ({@link settleEpoch}) — once the epoch's last block is at the chain stack's confirmation depth (until
 * then it waits), and again whenever a reorg replaced that block (its hash in the epoch view changed) —
 * builds the Merkle tree, and then — by the epoch's status — proposes (when
 * drawn, or anyone once the exclusive window has passed), attests a proposal equal to its own (or, once the
 * sub-deadline has passed with a different proposal leading, proposes its own root as a competing one),
 * records the results of a finalised epoch it proposed (the neurons' pruning score), reports the validators
 * that voted another root than the final one (once per final epoch: the chain stack sends
 * `Slashing.slashWrongRoot` for each; no reward), or claims finalised leaves (its own, or every leaf when it
 * was the proposer and `claim` is `all`; never in an epoch's last two blocks). Every chain action goes
 * through {@link EpochChainPort},
 * which the stack backs with the chain stack's Engine API. The queue of leaves still to claim (each with its
 * proof) is written through a {@link ClaimQueueStore} when one is given, and reloaded from it at creation, so
 * a restart loses no claim (review L10); a leaf leaves the queue only once its claim went through (or was
 * already made), so a claim sent just before a crash is sent again and answered `AlreadyClaimed`.
 */
import type { EpochLeaf } from '@subnet/contracts';
import type { Logger } from '@subnet/utils';
import { errorMessage } from '@subnet/utils';
import { type EpochInputs, type Settlement, settleEpoch } from './settle.js';

/** Bonds are replayed over at most this many epochs (docs/epoch.md). */
export const BOND_WINDOW = 8;

/** The chain's view of one epoch (chain_getEpochV1). */
export interface EpochView {
  epoch: number;
  /** The epoch the chain is in now (`epoch` is the latest ended one, or 0). */
  currentEpoch: number;
  currentBlock: number;
  startBlock: number;
  endBlock: number;
  /**
   * The hash of `endBlock` as the chain has it now (null until it is mined; absent when the chain does not
   * say): when it differs from the hash a settlement was read at, a reorg replaced the inputs.
   */
  endBlockHash?: string | null | undefined;
  deadline: number;
  status: 'open' | 'awaiting' | 'proposed' | 'finalised' | 'expired';
  /** The drawn proposer's hotkey. */
  proposer: string | null;
  proposal: { proposer: string; root: string; resultsHash: string; attestations: readonly string[] } | null;
}

/** A settled epoch with its tree: what the agent proposes or compares, and the proofs claims need. */
export interface SettledEpoch extends Settlement {
  /** The hash of the epoch's last block its inputs were read at (when the chain stack gives it). */
  endBlockHash: string | undefined;
  root: string;
  resultsHash: string;
  resultsHex: string;
  proof(uid: number): string[];
}

/** The tree and encoding of docs/epoch.md (from `@subnet/contracts`). */
export type EpochTreeBuilder = (
  netuid: number,
  settlement: Settlement,
) => { root: string; resultsHash: string; results: string; proof(uid: number): string[] };

/** What the agent needs from the chain stack. Every call takes a signal; a revert throws with `errorName`. */
export interface EpochChainPort {
  hotkey(signal: AbortSignal): Promise<string | null>;
  epoch(netuid: number, signal: AbortSignal): Promise<EpochView>;
  /**
   * An epoch's inputs, read at its last block. Until that block is deep enough (the chain stack's
   * `chain.confirmations`) it throws an error whose `code` is `EPOCH_NOT_CONFIRMED`: the agent waits.
   */
  inputs(netuid: number, epoch: number, signal: AbortSignal): Promise<EpochInputs>;
  /**
   * Takes the current epoch's validator snapshot (chain_snapshotValidatorsV1); `taken: false`, not an error,
   * when it was already taken (sending nothing when the chain says so before the transaction).
   */
  snapshot(
    netuid: number,
    signal: AbortSignal,
  ): Promise<{ epoch: number; taken: boolean; txHash: string | null }>;
  propose(
    p: { netuid: number; epoch: number; root: string; resultsHash: string; total: bigint; results: string },
    signal: AbortSignal,
  ): Promise<{ txHash: string }>;
  attest(
    p: { netuid: number; epoch: number; root: string; resultsHash: string },
    signal: AbortSignal,
  ): Promise<{ txHash: string }>;
  /** Records a finalised epoch's results in the neuron registry (the pruning score). */
  recordResults(
    p: { netuid: number; epoch: number; results: string },
    signal: AbortSignal,
  ): Promise<{ txHash: string }>;
  /**
   * Slashes every validator that proposed or attested another root than final epoch `epoch`'s
   * (chain_slashWrongRootsV1); an empty list when there was none.
   */
  slashWrongRoots(
    p: { netuid: number; epoch: number },
    signal: AbortSignal,
  ): Promise<{ slashed: readonly { hotkey: string; amount: string }[] }>;
  claim(
    p: {
      netuid: number;
      epoch: number;
      uid: number;
      account: string;
      amount: bigint;
      proof: string[];
      toStake: boolean;
    },
    signal: AbortSignal,
  ): Promise<{ txHash: string }>;
}

export interface EpochAgentOpts {
  netuid: number;
  /** `own`: claim this validator's leaf; `all`: the proposer also claims every other leaf; `none`. */
  claim: 'own' | 'all' | 'none';
  /** Add claimed amounts to stake instead of paying them out (own leaf only). */
  claimToStake: boolean;
}

/** A leaf queued for claiming, with the proof the claim needs (so it needs no settlement to send). */
export interface PendingClaim {
  uid: number;
  account: EpochLeaf['account'];
  amount: bigint;
  proof: string[];
  /** Claims of this leaf that failed with something other than `AlreadyClaimed`. */
  attempts: number;
}

/**
 * Where the claim queue lives across restarts: `load` once at creation; `save` each time an epoch's leaves
 * change (an epoch with no leaves left is kept, so it is not queued again); `delete` when it is forgotten.
 */
export interface ClaimQueueStore {
  load(): Map<number, PendingClaim[]>;
  save(epoch: number, leaves: readonly PendingClaim[]): void;
  delete(epoch: number): void;
}

export interface EpochAgentModules {
  chain: EpochChainPort;
  tree: EpochTreeBuilder;
  log: Logger;
  /** Persistence of the claim queue; without it the queue lives in memory only. */
  claims?: ClaimQueueStore | undefined;
}

/** A leaf whose claim failed this often (other than `AlreadyClaimed`) is given up, so it cannot block the queue. */
export const MAX_CLAIM_ATTEMPTS = 5;

/** What the agent did last, for `consensus_getEpochV1` and the dashboard. */
export interface EpochAgentStatus {
  hotkey: string | null;
  lastEpoch: number | null;
  lastStatus: EpochView['status'] | null;
  proposed: number;
  attested: number;
  mismatches: number;
  claimed: number;
  /** Epochs whose results this validator, their proposer, recorded in the neuron registry. */
  recorded: number;
  /** Validator snapshots this validator took (it tries once per epoch; another one's may come first). */
  snapshots: number;
  /** Settlements read again because a reorg replaced the epoch's last block after they were computed. */
  reorgs: number;
  /** Validators this one had slashed for voting a root other than the final one. */
  slashed: number;
  lastError: string | null;
}

export interface EpochAgent {
  /** Looks at the latest ended epoch once and acts on it; errors are logged and counted, never thrown. */
  tick(signal: AbortSignal): Promise<void>;
  status(): EpochAgentStatus;
  /** The settlement of `epoch` if this agent computed it (leaves, results, root, proofs). */
  settled(epoch: number): SettledEpoch | undefined;
}

/**
 * Whether `err` says the epoch's inputs cannot be read yet: its last block is not mined, or not yet at the
 * chain stack's confirmation depth. The agent waits for later blocks; it is no failure.
 */
function notReadable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EPOCH_NOT_CONFIRMED' || code === 'EPOCH_NOT_ENDED';
}

/** The custom error name of a reverted chain call, if that is what `err` is. */
function revertName(err: unknown): string | undefined {
  const data = (err as { data?: { errorName?: unknown } } | null)?.data;
  return typeof data?.errorName === 'string' ? data.errorName : undefined;
}

const same = (a: string | null | undefined, b: string | null | undefined) =>
  a !== null && a !== undefined && b !== null && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** Drops the entries of an epoch-keyed map or set older than `before` (the caches below are bounded so). */
function forgetBefore(m: { keys(): Iterable<number>; delete(epoch: number): unknown }, before: number): void {
  for (const e of m.keys()) if (e < before) m.delete(e);
}

export function createEpochAgent(opts: EpochAgentOpts, modules: EpochAgentModules): EpochAgent {
  const { chain, log } = modules;
  const settledCache = new Map<number, SettledEpoch>();
  /** Finalised epochs' leaves still to claim, by epoch (oldest first; kept once empty). */
  const claimQueue = new Map<number, PendingClaim[]>();
  for (const [epoch, leaves] of [...(modules.claims?.load() ?? new Map<number, PendingClaim[]>())].sort(
    ([a], [b]) => a - b,
  )) {
    claimQueue.set(epoch, leaves);
  }
  /** Writes an epoch's queue through (a failing store is logged; the queue in memory goes on). */
  const saveClaims = (epoch: number): void => {
    const store = modules.claims;
    if (store === undefined) return;
    try {
      const leaves = claimQueue.get(epoch);
      if (leaves === undefined) store.delete(epoch);
      else store.save(epoch, leaves);
    } catch (err) {
      warnOnce(`claims:${errorMessage(err)}`, 'writing the claim queue failed', { err: errorMessage(err) });
    }
  };
  /** Finalised epochs this validator proposed whose results are recorded (or need no recording any more). */
  const resultsRecorded = new Set<number>();
  const warned = new Set<string>();
  const st: EpochAgentStatus = {
    hotkey: null,
    lastEpoch: null,
    lastStatus: null,
    proposed: 0,
    attested: 0,
    mismatches: 0,
    claimed: 0,
    recorded: 0,
    snapshots: 0,
    reorgs: 0,
    slashed: 0,
    lastError: null,
  };
  /** The latest epoch whose snapshot this validator tried to take (one attempt per epoch). */
  let snapshotTried: number | undefined;

  /**
   * The settlement of `view.epoch`, computed once per hash of its last block: when the chain's hash of that
   * block (`view.endBlockHash`) is not the one the cached settlement was read at, a reorg replaced it and the
   * whole window is read again. The inputs themselves are cached by the chain stack, by block hash (the hash
   * of an epoch's last block decides every block before it), so this agent keeps no inputs of its own.
   */
  async function settle(view: EpochView, signal: AbortSignal): Promise<SettledEpoch> {
    const epoch = view.epoch;
    const hit = settledCache.get(epoch);
    const now = view.endBlockHash ?? undefined;
    if (
      hit !== undefined &&
      (now === undefined || hit.endBlockHash === undefined || same(now, hit.endBlockHash))
    )
      return hit;
    // The settled epoch first: until its last block is confirmed nothing else is read.
    const last = await chain.inputs(opts.netuid, epoch, signal);
    const window: EpochInputs[] = [];
    for (let e = Math.max(0, epoch - BOND_WINDOW + 1); e < epoch; e++) {
      window.push(await chain.inputs(opts.netuid, e, signal));
    }
    window.push(last);
    const settlement = settleEpoch(window);
    const tree = modules.tree(opts.netuid, settlement);
    const endBlockHash = last.endBlockHash;
    if (hit !== undefined) {
      st.reorgs++;
      log.warn(
        { epoch, was: hit.endBlockHash, now: endBlockHash, root: tree.root, previousRoot: hit.root },
        "a reorg replaced the epoch's last block: settled it again from the new inputs",
      );
    }
    const settled: SettledEpoch = {
      ...settlement,
      endBlockHash,
      root: tree.root,
      resultsHash: tree.resultsHash,
      resultsHex: tree.results,
      proof: tree.proof,
    };
    settledCache.set(epoch, settled);
    forgetBefore(settledCache, epoch - 16);
    return settled;
  }

  function warnOnce(key: string, message: string, fields: Record<string, unknown>): void {
    if (warned.has(key)) return;
    warned.add(key);
    log.warn(fields, message);
  }

  /** Queues the leaves of a finalised epoch this validator should claim (once per epoch). */
  function enqueueClaims(view: EpochView, s: SettledEpoch, me: string): void {
    if (opts.claim === 'none' || view.proposal === null || claimQueue.has(view.epoch)) return;
    const all = opts.claim === 'all' && same(view.proposal.proposer, me);
    claimQueue.set(
      view.epoch,
      s.leaves
        .filter((l) => all || same(l.account, me))
        .map((l) => ({
          uid: l.uid,
          account: l.account,
          amount: l.amount,
          proof: s.proof(l.uid),
          attempts: 0,
        })),
    );
    saveClaims(view.epoch);
    for (const e of [...claimQueue.keys()]) {
      if (e >= view.epoch - 64) continue;
      claimQueue.delete(e);
      saveClaims(e);
    }
  }

  /**
   * Sends one queued claim, oldest epoch first: one transaction per step, so proposing and attesting (which
   * have deadlines) never wait behind a long run of claims.
   */
  async function claimNext(me: string, signal: AbortSignal): Promise<void> {
    for (const [epoch, leaves] of claimQueue) {
      const leaf = leaves[0];
      if (leaf === undefined) continue;
      try {
        await chain.claim(
          {
            netuid: opts.netuid,
            epoch,
            uid: leaf.uid,
            account: leaf.account,
            amount: leaf.amount,
            proof: leaf.proof,
            toStake: opts.claimToStake && same(leaf.account, me),
          },
          signal,
        );
        st.claimed++;
      } catch (err) {
        // Someone else (the neuron itself, or another validator) claimed it first: nothing left to do.
        if (revertName(err) !== 'AlreadyClaimed') {
          if (signal.aborted) throw err;
          leaf.attempts += 1;
          if (leaf.attempts >= MAX_CLAIM_ATTEMPTS) {
            leaves.shift();
            log.warn(
              { epoch, uid: leaf.uid, err: errorMessage(err) },
              'giving up a claim that keeps failing',
            );
          }
          saveClaims(epoch);
          throw err;
        }
      }
      leaves.shift();
      saveClaims(epoch);
      return;
    }
  }

  async function recordResults(epoch: number, s: SettledEpoch, signal: AbortSignal): Promise<void> {
    try {
      await chain.recordResults({ netuid: opts.netuid, epoch, results: s.resultsHex }, signal);
      st.recorded++;
      log.info({ epoch }, 'recorded epoch results');
    } catch (err) {
      // The subnet's next proposal came first: the results can no longer be recorded, and need not be.
      if (revertName(err) !== 'ResultsUnavailable') throw err;
      log.debug({ epoch }, 'epoch results no longer recordable');
    }
    resultsRecorded.add(epoch);
    forgetBefore(resultsRecorded, epoch - 64);
  }

  /** Proposes `s` when this validator is the drawn proposer, or anyone may (the exclusive window is over). */
  async function propose(view: EpochView, s: SettledEpoch, me: string, signal: AbortSignal): Promise<void> {
    const tempo = view.endBlock - view.startBlock + 1;
    const openToAll = view.currentBlock >= view.endBlock + 1 + Math.max(1, Math.floor(tempo / 4));
    if (!same(view.proposer, me) && !openToAll) return;
    try {
      await chain.propose(
        {
          netuid: opts.netuid,
          epoch: view.epoch,
          root: s.root,
          resultsHash: s.resultsHash,
          total: s.total,
          results: s.resultsHex,
        },
        signal,
      );
      st.proposed++;
      log.info(
        { epoch: view.epoch, root: s.root, total: s.total.toString(), leaves: s.leaves.length },
        'proposed epoch',
      );
    } catch (err) {
      // Another validator's proposal (of this root, too) landed first: it is attested on the next tick.
      const name = revertName(err);
      if (name !== 'AlreadyProposed' && name !== 'RootAlreadyProposed') throw err;
    }
  }

  /** Epochs this validator already voted in (proposed or attested a root: one vote per epoch on chain). */
  const voted = new Set<number>();

  /**
   * Attests a proposal equal to `s`, once; when the proposal differs and the sub-deadline (`competeFrom`: two
   * exclusive windows after the epoch's end) has passed, proposes its own root instead, or attests it when
   * another validator proposed it already (`RootAlreadyProposed`). Returns whether it sent a transaction.
   */
  async function attest(view: EpochView, s: SettledEpoch, me: string, signal: AbortSignal): Promise<boolean> {
    const proposal = view.proposal;
    if (
      proposal === null ||
      voted.has(view.epoch) ||
      same(proposal.proposer, me) ||
      proposal.attestations.some((a) => same(a, me))
    ) {
      return false;
    }
    const args = { netuid: opts.netuid, epoch: view.epoch, root: s.root, resultsHash: s.resultsHash };
    if (!same(proposal.root, s.root) || !same(proposal.resultsHash, s.resultsHash)) {
      st.mismatches++;
      warnOnce(
        `mismatch:${view.epoch}`,
        'the proposal differs from this validator’s settlement; not attesting',
        {
          epoch: view.epoch,
          proposed: proposal.root,
          mine: s.root,
        },
      );
      const tempo = view.endBlock - view.startBlock + 1;
      const competeFrom = view.endBlock + 1 + 2 * Math.max(1, Math.floor(tempo / 4));
      if (view.currentBlock < competeFrom) return false;
      try {
        await chain.propose({ ...args, total: s.total, results: s.resultsHex }, signal);
        st.proposed++;
        log.info({ epoch: view.epoch, root: s.root, against: proposal.root }, 'proposed a competing root');
      } catch (err) {
        const name = revertName(err);
        // Another validator proposed this root first: attest it.
        if (name === 'RootAlreadyProposed') return await sendAttest(view.epoch, args, signal);
        if (name !== 'AlreadyAttested' && name !== 'AlreadyFinalised') throw err;
      }
      voted.add(view.epoch);
      forgetBefore(voted, view.epoch - 64);
      return true;
    }
    return await sendAttest(view.epoch, args, signal);
  }

  async function sendAttest(
    epoch: number,
    args: { netuid: number; epoch: number; root: string; resultsHash: string },
    signal: AbortSignal,
  ): Promise<boolean> {
    try {
      await chain.attest(args, signal);
      st.attested++;
      log.info({ epoch, root: args.root }, 'attested epoch');
    } catch (err) {
      const name = revertName(err);
      if (name !== 'AlreadyAttested' && name !== 'AlreadyFinalised') throw err;
    }
    voted.add(epoch);
    forgetBefore(voted, epoch - 64);
    return true;
  }

  /** Final epochs whose wrong voters this validator reported (one try each, whatever its outcome). */
  const wrongRootsReported = new Set<number>();

  /**
   * Reports the validators that voted another root than final epoch `epoch`'s, once per epoch. A failure is
   * logged (not retried: another validator reports them too, and the votes stay provable only a few tempos).
   */
  async function reportWrongRoots(epoch: number, signal: AbortSignal): Promise<boolean> {
    if (wrongRootsReported.has(epoch)) return false;
    wrongRootsReported.add(epoch);
    forgetBefore(wrongRootsReported, epoch - 64);
    try {
      const r = await chain.slashWrongRoots({ netuid: opts.netuid, epoch }, signal);
      st.slashed += r.slashed.length;
      for (const x of r.slashed)
        log.warn({ epoch, hotkey: x.hotkey, amount: x.amount }, 'slashed a wrong-root validator');
    } catch (err) {
      if (signal.aborted) throw err;
      st.lastError = errorMessage(err);
      warnOnce(`slash:${st.lastError}`, 'reporting wrong-root validators failed', {
        epoch,
        err: st.lastError,
        errorName: revertName(err),
      });
    }
    return true;
  }

  /**
   * A finalised epoch equal to `s`: queues its claims and, as its proposer, records its results (the
   * neurons' pruning score) once, before the subnet's next proposal overwrites the results hash the
   * contract checks them against; then reports the validators that voted another root (once). Returns
   * whether it sent a transaction (or may have).
   */
  async function finalised(
    view: EpochView,
    s: SettledEpoch,
    me: string,
    signal: AbortSignal,
  ): Promise<boolean> {
    const proposal = view.proposal;
    if (proposal === null || !same(proposal.root, s.root)) return false;
    enqueueClaims(view, s, me);
    if (
      same(proposal.proposer, me) &&
      same(proposal.resultsHash, s.resultsHash) &&
      !resultsRecorded.has(view.epoch)
    ) {
      await recordResults(view.epoch, s, signal);
      return true;
    }
    if (endingEpoch(view)) return false;
    return await reportWrongRoots(view.epoch, signal);
  }

  /**
   * Takes the current epoch's validator snapshot unless this validator already tried this epoch: one attempt
   * per epoch, whatever its outcome (the other validators try too; the first transaction wins). Never throws:
   * a failure is logged and counted in `lastError`.
   */
  async function snapshot(view: EpochView, signal: AbortSignal): Promise<void> {
    if (snapshotTried !== undefined && view.currentEpoch <= snapshotTried) return;
    snapshotTried = view.currentEpoch;
    try {
      const r = await chain.snapshot(opts.netuid, signal);
      if (r.taken) {
        st.snapshots++;
        log.info({ epoch: r.epoch, txHash: r.txHash }, 'took the validator snapshot');
      } else {
        log.debug({ epoch: r.epoch }, 'validator snapshot already taken');
      }
    } catch (err) {
      if (signal.aborted) return;
      st.lastError = errorMessage(err);
      warnOnce(`snapshot:${st.lastError}`, 'taking the validator snapshot failed; trying next epoch', {
        epoch: view.currentEpoch,
        err: st.lastError,
        errorName: revertName(err),
      });
    }
  }

  /** Whether the chain is in the last two blocks of the running epoch (`deadline` is its last block). */
  function endingEpoch(view: EpochView): boolean {
    return view.currentEpoch === view.epoch + 1 && view.currentBlock + 1 >= view.deadline;
  }

  /** The step of the latest ended epoch, by its status; returns whether it sent a transaction. */
  async function epochStep(view: EpochView, me: string, signal: AbortSignal): Promise<boolean> {
    if (view.status !== 'awaiting' && view.status !== 'proposed' && view.status !== 'finalised') return false;
    let s: SettledEpoch;
    try {
      s = await settle(view, signal);
    } catch (err) {
      if (!notReadable(err)) throw err;
      // The epoch's last block is not deep enough yet (chain.confirmations): wait for the next blocks.
      log.debug({ epoch: view.epoch, err: errorMessage(err) }, 'epoch inputs not confirmed yet; waiting');
      return false;
    }
    if (view.status === 'awaiting') {
      await propose(view, s, me, signal);
      return true;
    }
    if (view.status === 'proposed') return await attest(view, s, me, signal);
    return await finalised(view, s, me, signal);
  }

  async function tick(signal: AbortSignal): Promise<void> {
    try {
      st.hotkey ??= await chain.hotkey(signal);
      const me = st.hotkey;
      if (me === null) return;
      const view = await chain.epoch(opts.netuid, signal);
      st.lastEpoch = view.epoch;
      st.lastStatus = view.status;
      // The snapshot of the epoch now running (once per epoch) goes before the ended epoch's own step, so it
      // lands early even while a first settlement takes blocks; only the drawn proposer of the ended epoch,
      // whose window is a quarter tempo, proposes first. Never both at once: two transactions of one hotkey
      // in flight together leave a nonce gap when the first fails before it is sent. When the step sent
      // nothing, one queued claim follows: claims never delay the steps with deadlines (nor are they sent in
      // the epoch's last two blocks, where one still in flight when the next epoch starts would hold back
      // this validator's proposal in its exclusive window, should it be drawn).
      const drawn = view.status === 'awaiting' && same(view.proposer, me);
      if (!drawn) await snapshot(view, signal);
      let acted = false;
      try {
        acted = await epochStep(view, me, signal);
      } finally {
        if (drawn) await snapshot(view, signal);
      }
      if (!acted && !endingEpoch(view)) await claimNext(me, signal);
    } catch (err) {
      if (signal.aborted) return;
      st.lastError = errorMessage(err);
      warnOnce(`error:${st.lastError}`, 'epoch agent step failed; retrying on the next block', {
        err: st.lastError,
        errorName: revertName(err),
      });
    }
  }

  return {
    tick,
    status: () => ({ ...st }),
    settled: (epoch) => settledCache.get(epoch),
  };
}
