/**
 * One simulated validator: the real epoch agent (`createEpochAgent`), the real weight setter
 * (`createWeightSetter`, commit-reveal) and the real scoreboard (`createScoreboard`), wired to the simulated
 * chain through the seams the consensus stack uses (the agent's {@link EpochChainPort}, the setter's Engine
 * API client and chain view). The "chain stack" part is modelled here: a write is simulated against the
 * pending block (a revert throws the REVERTED error the real chain stack throws, with its `errorName`), then
 * goes to the mempool, or is delayed or dropped as the seeded network says; the weight commit's salt and
 * vector live in that part and survive a restart of the consensus part, as the real chain stack's weights
 * store does. Hostile behaviours (a byzantine proposer's wrong tree, a copier's copied weights) are chosen
 * here and nowhere in production code.
 */

import { epochConsensusAbi, packU16, slashingAbi, weightsAbi, weightsCommitHash } from '@subnet/contracts';
import type { EngineApi, EngineClient } from '@subnet/engine-api';
import { silentLogger } from '@subnet/utils';
import { encodeFunctionData, type Hex, keccak256, toHex } from 'viem';
import type { Block, ChainView } from '../../src/chainView.js';
import {
  type ClaimQueueStore,
  createEpochAgent,
  type EpochAgent,
  type EpochChainPort,
  type PendingClaim,
} from '../../src/epoch/agent.js';
import { contractsTree } from '../../src/epoch/loop.js';
import { createScoreboard, type Scoreboard, weightScore } from '../../src/validator/scores.js';
import { createWeightSetter, type WeightSetter } from '../../src/validator/weightSetter.js';
import { NETUID, type SimChain, type SimNeuron, type TxOutcome } from './chain.js';
import type { Rng } from './rng.js';

/** How a validator behaves. */
export type ValidatorKind = 'honest' | 'byzantine' | 'copier';

/** What the seeded network does to this validator's transactions, per transaction. */
export interface NetworkFaults {
  /** Probability a transaction is dropped (the chain stack's receipt wait then fails). */
  drop: number;
  /** Probability a transaction reaches the chain 1–3 blocks late. */
  delay: number;
}

/** A claim queue kept on "disk": it outlives the consensus part across a crash. */
export function memoryClaimStore(): ClaimQueueStore {
  const saved = new Map<number, PendingClaim[]>();
  return {
    load: () => new Map([...saved].map(([e, l]) => [e, l.map((c) => ({ ...c, proof: [...c.proof] }))])),
    save: (e, l) =>
      saved.set(
        e,
        l.map((c) => ({ ...c, proof: [...c.proof] })),
      ),
    delete: (e) => saved.delete(e),
  };
}

export interface SimValidatorOpts {
  neuron: SimNeuron;
  kind: ValidatorKind;
  /** For a copier: the validator whose revealed weights it copies. */
  copyFrom?: number;
  net: NetworkFaults;
}

export interface SimValidator {
  readonly neuron: SimNeuron;
  readonly kind: ValidatorKind;
  /** The agent now running (a new one after each restart). */
  agent(): EpochAgent;
  scoreboard: Scoreboard;
  /**
   * One block's work: the weight setter's step and the agent's tick, each started unless the previous one
   * still waits for a receipt (the block is folded into it, as the consensus stack's loops do), each run
   * until it ends or waits for a receipt.
   */
  step(b: Block, signal: AbortSignal): Promise<void>;
  /** After a block is mined: hands the receipts it holds (or a dropped one's timeout) to whoever waits. */
  deliver(): Promise<void>;
  /** A crash and restart: agent and setter are created anew, the claim queue reloaded from its store. */
  restart(): void;
  /** Whether the validator can reach the chain (a partition cuts it off). */
  connected: boolean;
  /** Whether the process runs (a crash stops it until its restart). */
  alive: boolean;
  /** Transactions sent, dropped, delayed; `agentFaults`: the epoch agent's dropped or delayed ones. */
  stats: { sent: number; dropped: number; delayed: number; agentFaults: number; restarts: number };
}

/** The scoring parameters of the simulated validators (the validator loop's defaults). */
const SCORING = { alpha: 0.1, latencyTargetMs: 2000, recoveryPasses: 3, minCorrectness: 0.5 };

/**
 * A validator of the simulated subnet: its agent, weight setter and scoreboard, its modelled chain stack, and
 * its faults (`kind`, the network's drops and delays; crashes and partitions are set by the simulator).
 */
export function createSimValidator(opts: SimValidatorOpts, chain: SimChain, rng: Rng): SimValidator {
  const me = opts.neuron.hotkey;
  const claims = memoryClaimStore();
  const scoreboard = createScoreboard(SCORING);
  scoreboard.retain(chain.miners.map((m) => ({ uid: m.uid, hotkey: m.hotkey, registeredAt: 0 })));
  /** The chain stack's weights store: the salt and vector of the pending commit. */
  let pendingCommit: { uids: number[]; weights: number[]; salt: Hex; epoch: number } | undefined;
  let salts = 0;
  const stats = { sent: 0, dropped: 0, delayed: 0, agentFaults: 0, restarts: 0 };

  const offline = () =>
    Object.assign(new Error('connect ECONNREFUSED (partitioned from the chain)'), { code: 'ECONNREFUSED' });

  const agentActor = new Actor();
  const setterActor = new Actor();

  /**
   * The chain stack's send: simulate against the latest block, send, wait for the receipt (a mined revert
   * throws with its custom error); the seeded network may delay the transaction or drop it (the receipt
   * wait then times out a few blocks later).
   */
  async function write(actor: Actor, to: Hex, data: Hex, what: string): Promise<{ txHash: string }> {
    if (!self.connected) throw offline();
    await chain.simulate(me, to, data, what);
    if (rng.chance(opts.net.drop)) {
      stats.dropped++;
      if (actor === agentActor) stats.agentFaults++;
      return await actor.park({ ticket: null, until: chain.head() + 4, what });
    }
    const delay = rng.chance(opts.net.delay) ? 1 + rng.int(3) : 0;
    if (delay > 0) stats.delayed++;
    if (delay > 0 && actor === agentActor) stats.agentFaults++;
    stats.sent++;
    const ticket = await chain.send(me, to, data, delay);
    return await actor.park({ ticket, until: Number.POSITIVE_INFINITY, what });
  }
  const ec = chain.addresses.epochConsensus;
  const enc = (fn: string, args: readonly unknown[]) =>
    encodeFunctionData({ abi: epochConsensusAbi, functionName: fn, args } as never);

  const port: EpochChainPort = {
    hotkey: async () => {
      if (!self.connected) throw offline();
      return me.toLowerCase();
    },
    epoch: async () => {
      if (!self.connected) throw offline();
      return await chain.view();
    },
    inputs: async (_netuid, epoch) => {
      if (!self.connected) throw offline();
      return await chain.inputs(epoch);
    },
    async snapshot() {
      if (!self.connected) throw offline();
      const epoch = chain.epochOf(chain.head() + 1);
      const [taken] = await chain.read<[boolean]>(ec, epochConsensusAbi, 'getSnapshot', [
        NETUID,
        BigInt(epoch),
      ]);
      // Taken, or another validator's snapshot transaction is already on its way into this block.
      if (taken || chain.inMempool(ec, 'snapshotValidators')) return { epoch, taken: false, txHash: null };
      try {
        const r = await write(agentActor, ec, enc('snapshotValidators', [NETUID]), 'snapshotValidators');
        return { epoch, taken: true, txHash: r.txHash };
      } catch (err) {
        if ((err as { data?: { errorName?: string } }).data?.errorName === 'SnapshotTaken')
          return { epoch, taken: false, txHash: null };
        throw err;
      }
    },
    propose: (p) =>
      write(
        agentActor,
        ec,
        enc('propose', [NETUID, BigInt(p.epoch), p.root, p.resultsHash, p.total, p.results]),
        'propose',
      ),
    attest: (p) =>
      write(agentActor, ec, enc('attest', [NETUID, BigInt(p.epoch), p.root, p.resultsHash]), 'attest'),
    recordResults: (p) =>
      write(agentActor, ec, enc('recordResults', [NETUID, BigInt(p.epoch), p.results]), 'recordResults'),
    async slashWrongRoots(p) {
      // The chain stack's chain_slashWrongRootsV1: the voters of another root than the final one, not slashed yet.
      const ev = chain.events(p.epoch);
      const final = ev.finalised?.root;
      if (final === undefined) return { slashed: [] };
      const wrong = new Set<string>();
      for (const x of ev.proposals) if (x.root !== final) wrong.add(x.proposer);
      for (const x of ev.attestations) if (x.root !== final) wrong.add(x.validator);
      const slashed: { hotkey: string; amount: string }[] = [];
      for (const hotkey of [...wrong].sort()) {
        const done = await chain.read<boolean>(chain.addresses.slashing, slashingAbi, 'isSlashed', [
          NETUID,
          BigInt(p.epoch),
          hotkey,
        ]);
        if (done) continue;
        try {
          await write(
            agentActor,
            chain.addresses.slashing,
            encodeFunctionData({
              abi: slashingAbi,
              functionName: 'slashWrongRoot',
              args: [NETUID, BigInt(p.epoch), hotkey as Hex],
            }),
            'slashWrongRoot',
          );
          slashed.push({ hotkey, amount: '0' });
        } catch (err) {
          if ((err as { data?: { errorName?: string } }).data?.errorName !== 'AlreadySlashed') throw err;
        }
      }
      return { slashed };
    },
    claim: (p) =>
      write(
        agentActor,
        ec,
        enc('claim', [NETUID, BigInt(p.epoch), p.uid, p.account, p.amount, p.proof, p.toStake]),
        'claim',
      ),
  };

  /** A byzantine validator's tree: its own leaves with one amount moved, so its root differs. */
  const tree: typeof contractsTree =
    opts.kind === 'byzantine'
      ? (netuid, s) => {
          const leaves = s.leaves.map((l) => ({ ...l }));
          const [a, b] = leaves;
          if (a !== undefined && b !== undefined && a.amount > 0n) {
            a.amount -= 1n;
            b.amount += 1n;
          }
          return contractsTree(netuid, { ...s, leaves });
        }
      : contractsTree;

  /** The chain stack's commit and reveal (salt and vector kept in its store), over the simulated chain. */
  const engine = {
    async call(method: string, params: { uids?: number[]; weights?: number[] }) {
      if (!self.connected) throw offline();
      const head = chain.head();
      if (method === 'chain_commitWeightsV1') {
        const uids = params.uids ?? [];
        const weights = params.weights ?? [];
        const epoch = chain.epochOf(head + 1);
        const salt = keccak256(toHex(`${me}:${salts++}:${rng.int(2 ** 31)}`));
        const commitHash = weightsCommitHash({
          chainId: 31337n,
          contract: chain.addresses.weights,
          netuid: NETUID,
          committer: me,
          epoch: BigInt(epoch),
          uids,
          weights,
          salt,
        });
        const data = encodeFunctionData({
          abi: weightsAbi,
          functionName: 'commitWeights',
          args: [NETUID, commitHash],
        });
        const r = await write(setterActor, chain.addresses.weights, data, 'commitWeights');
        pendingCommit = { uids, weights, salt, epoch };
        return { epoch, txHash: r.txHash };
      }
      if (method === 'chain_revealWeightsV1') {
        const c = pendingCommit;
        if (c === undefined) throw Object.assign(new Error('no pending commit'), { code: 'NO_COMMIT' });
        const data = encodeFunctionData({
          abi: weightsAbi,
          functionName: 'revealWeights',
          args: [NETUID, packU16(c.uids), packU16(c.weights), c.salt, 1n],
        });
        try {
          const r = await write(setterActor, chain.addresses.weights, data, 'revealWeights');
          pendingCommit = undefined;
          return { epoch: c.epoch, txHash: r.txHash };
        } catch (err) {
          const name = (err as { data?: { errorName?: string } }).data?.errorName;
          if (name === 'RevealTooLate' || name === 'NoCommit' || name === 'CommitHashMismatch')
            pendingCommit = undefined;
          throw err;
        }
      }
      throw new Error(`the simulated chain stack has no ${method}`);
    },
  } as unknown as EngineClient<EngineApi>;

  /** The weights a copier commits: another validator's latest revealed vector, as scores. */
  const copiedScores = (): ReadonlyMap<number, number> => {
    const from = opts.copyFrom;
    const last = [...chain.reveals()].reverse().find((r) => r.uid === from);
    return new Map(last === undefined ? [] : last.uids.map((u, k) => [u, last.weights[k] ?? 0]));
  };
  const scores = (): ReadonlyMap<number, number> =>
    opts.kind === 'copier'
      ? copiedScores()
      : new Map(
          scoreboard
            .list()
            .map((s) => [
              s.uid,
              weightScore(s, { judged: [], advertised: [], minCorrectness: SCORING.minCorrectness }),
            ]),
        );

  const view = {
    netuid: NETUID,
    subnet: () => ({
      params: {
        minAllowedWeights: 1,
        maxWeightLimit: 65_535,
        maxAllowedUids: chain.validators.length + chain.miners.length,
        commitRevealPeriod: 1,
        weightsRateLimit: 0,
      },
    }),
    metagraph: () => ({ neurons: chain.miners.map((m) => ({ uid: m.uid, role: 'miner' })) }),
    uid: () => opts.neuron.uid,
    epochOf: (n: number) => chain.epochOf(n),
  } as unknown as ChainView;

  let agent: EpochAgent;
  let setter: WeightSetter;
  let lifetime = new AbortController();
  const create = () => {
    agent = createEpochAgent(
      { netuid: NETUID, claim: 'own', claimToStake: false },
      { chain: port, tree, log: silentLogger(), claims },
    );
    setter = createWeightSetter(
      { netuid: NETUID },
      { engine, logger: silentLogger(), chain: view, scores, signal: lifetime.signal },
    );
  };
  create();

  const self: SimValidator = {
    neuron: opts.neuron,
    kind: opts.kind,
    agent: () => agent,
    scoreboard,
    connected: true,
    alive: true,
    stats,
    async step(b, signal) {
      await setterActor.run(async () => {
        setter.onBlock(b);
        await setter.idle();
      });
      await agentActor.run(() => agent.tick(signal));
    },
    async deliver() {
      for (const actor of [setterActor, agentActor]) {
        await actor.deliver(chain.head(), (t) => chain.outcome(t), self.connected ? undefined : offline);
      }
    },
    restart() {
      lifetime.abort();
      lifetime = new AbortController();
      agentActor.abandon();
      setterActor.abandon();
      stats.restarts++;
      create();
    },
  };
  return self;
}

/** A transaction an actor waits for: its ticket (null when dropped) and when a dropped one's wait times out. */
interface Wait {
  ticket: number | null;
  until: number;
  what: string;
}

/**
 * One loop of a validator (the weight setter's or the epoch agent's) as the simulator drives it: at most one
 * step at a time; a step runs until it ends or parks on a receipt, and resumes when {@link Actor.deliver}
 * hands it the receipt. The simulator awaits each actor in turn, so steps never interleave and a run is a
 * function of the seed.
 */
class Actor {
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #parked: (Wait & { resolve: (r: { txHash: string }) => void; reject: (e: unknown) => void }) | undefined;
  #generation = 0;

  /** Starts `fn` unless a step is under way, then waits until the step ends or parks. */
  async run(fn: () => Promise<void>): Promise<void> {
    if (this.#running !== undefined) return;
    const generation = this.#generation;
    // The steps catch their own errors (the agent's tick and the setter's step log them); never unhandled.
    this.#running = fn()
      .catch(() => {})
      .finally(() => {
        if (this.#generation === generation) this.#running = undefined;
      });
    await this.#settle();
  }

  /** Called by a write: parks the step until its receipt is delivered. */
  park(w: Wait): Promise<{ txHash: string }> {
    return new Promise((resolve, reject) => {
      this.#parked = { ...w, resolve, reject };
      this.#wake?.();
    });
  }

  /** Resumes a parked step whose receipt is in (or whose dropped transaction timed out); waits as in run. */
  async deliver(
    head: number,
    outcome: (ticket: number) => TxOutcome | undefined,
    offline: (() => Error) | undefined,
  ): Promise<void> {
    const p = this.#parked;
    if (p === undefined) return;
    const o = p.ticket === null ? undefined : outcome(p.ticket);
    if (o === undefined && head < p.until) return;
    this.#parked = undefined;
    if (offline !== undefined) p.reject(offline());
    else if (o === undefined)
      p.reject(Object.assign(new Error(`${p.what}: no receipt (dropped)`), { code: 'TIMEOUT' }));
    else if (o.ok) p.resolve({ txHash: o.hash });
    else p.reject(o.revert);
    await this.#settle();
  }

  /** Forgets the step under way (its process crashed): it is never resumed. */
  abandon(): void {
    this.#generation++;
    this.#running = undefined;
    this.#parked = undefined;
    this.#wake = undefined;
  }

  async #settle(): Promise<void> {
    const running = this.#running;
    if (running === undefined || this.#parked !== undefined) return;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      running.then(resolve, resolve);
    });
    this.#wake = undefined;
  }
}
