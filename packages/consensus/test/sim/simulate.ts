/**
 * The deterministic subnet simulator (docs/epoch.md, "The simulator"): a subnet of `validators` validators
 * and `miners` miners on the real contracts ({@link startSimChain}), each validator running the real epoch
 * agent, weight setter and scoreboard ({@link createSimValidator}), driven block by block by a seeded clock
 * and network, with faults the seed chooses, and the invariants of {@link checkEpoch} checked after every
 * epoch. Everything that happens is a function of the options and the seed: validators act one at a time in
 * a seeded order, each block is mined only once all of them are done, and nothing reads the wall clock (but
 * the report's timing). Two runs of one seed give the same per-epoch digests; a failing run names its seed.
 */
import { createHash } from 'node:crypto';
import { stakingAbi } from '@subnet/contracts';
import { type Address, encodeFunctionData, type Hex } from 'viem';
import { type SimChain, startSimChain } from './chain.js';
import {
  type CheckCounts,
  checkEpoch,
  emptyCounts,
  emptyState,
  epochDigestLine,
  sweepClaims,
  type Violation,
} from './invariants.js';
import { createRng, type Rng } from './rng.js';
import { createSimValidator, type SimValidator, type ValidatorKind } from './validator.js';

/** How often each fault strikes (probabilities per epoch unless said; fractions of the set). */
export interface FaultOpts {
  /** Fraction of validators that propose and attest a wrong root (kept below 1/3 of them). */
  byzantine: number;
  /** Fraction of validators that copy another's revealed weights. */
  copiers: number;
  /** Per validator per epoch: a crash at a random block, restarted 1–2 tempos later. */
  crash: number;
  /** Per epoch: a partition cutting a random set (up to a quarter of the validators) off for 2–12 blocks. */
  partition: number;
  /** Per transaction: dropped (the sender's receipt wait fails). */
  drop: number;
  /** Per transaction: reaches the chain 1–3 blocks late. */
  delay: number;
  /** Fraction of miners that cheat (fail most audits). */
  cheaters: number;
  /** Per epoch: one validator's coldkey allocates more stake to it. */
  stakeChange: number;
}

export const NO_FAULTS: FaultOpts = {
  byzantine: 0,
  copiers: 0,
  crash: 0,
  partition: 0,
  drop: 0,
  delay: 0,
  cheaters: 0,
  stakeChange: 0,
};

export const DEFAULT_FAULTS: FaultOpts = {
  byzantine: 0.1,
  copiers: 0.1,
  crash: 0.03,
  partition: 0.25,
  drop: 0.01,
  delay: 0.03,
  cheaters: 0.15,
  stakeChange: 0.3,
};

export interface SimOpts {
  seed: number;
  /** Epochs to simulate and check (from the first full epoch after set-up). */
  epochs: number;
  validators: number;
  miners: number;
  /** Blocks per epoch (default 10). */
  tempo?: number;
  faults?: FaultOpts;
  /** Validator stakes in SUB (default 1000 each). */
  stakes?: readonly bigint[];
  /** Validators (by index) cut off from the chain from the first simulated epoch on, for the whole run. */
  isolate?: readonly number[];
  /** A replacement EpochConsensus creation bytecode (a deliberately broken rule). */
  epochConsensusBytecode?: Hex;
  /** Stop at the first violation (default true). */
  stopOnViolation?: boolean;
}

export interface SimReport {
  seed: number;
  validators: number;
  miners: number;
  tempo: number;
  /** Epochs asked for (a replay asks for as many: faults are drawn for those epochs only). */
  requestedEpochs: number;
  /** Epochs checked (fewer when a violation stopped the run). */
  epochs: number;
  blocks: number;
  finalised: number;
  expired: number;
  faults: Record<string, number>;
  /** What the chain saw over the checked epochs. */
  activity: Record<string, number>;
  checks: CheckCounts;
  violations: Violation[];
  /** What the chain decided about the first epoch that broke an invariant (its events), for the replay. */
  failedEpoch?: string;
  /** One digest per checked epoch, and their hash chain. */
  epochDigests: string[];
  digest: string;
  wallMs: number;
  epochsPerSecond: number;
  /** Deploying and registering, before the first simulated block. */
  setupMs: number;
  minedReverts: Record<string, number>;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Runs one seed. */
export async function simulate(opts: SimOpts): Promise<SimReport> {
  const started = performance.now();
  const rng = createRng(opts.seed);
  const faults = opts.faults ?? DEFAULT_FAULTS;
  const tempo = opts.tempo ?? 10;
  const chain = await startSimChain(
    {
      validators: opts.validators,
      miners: opts.miners,
      tempo,
      ...(opts.stakes === undefined ? {} : { stakes: opts.stakes }),
      ...(opts.epochConsensusBytecode === undefined
        ? {}
        : { epochConsensusBytecode: opts.epochConsensusBytecode }),
    },
    rng.fork('chain'),
  );
  try {
    return await run(chain, opts, faults, tempo, rng, started);
  } finally {
    await chain.stop();
  }
}

async function run(
  chain: SimChain,
  opts: SimOpts,
  faults: FaultOpts,
  tempo: number,
  rng: Rng,
  started: number,
): Promise<SimReport> {
  const V = opts.validators;
  const counts = {
    byzantine: 0,
    copiers: 0,
    cheatingMiners: 0,
    crashes: 0,
    partitions: 0,
    dropped: 0,
    delayed: 0,
    stakeChanges: 0,
  };
  // Roles, by seed: byzantine validators stay below a third of them.
  const order = rng.fork('roles').shuffle([...Array(V).keys()]);
  const nByz = Math.min(Math.round(V * faults.byzantine), Math.ceil(V / 3) - 1);
  const nCopy = Math.round(V * faults.copiers);
  const kindOf = new Map<number, ValidatorKind>();
  for (const [k, i] of order.entries()) {
    kindOf.set(i, k < nByz ? 'byzantine' : k < nByz + nCopy ? 'copier' : 'honest');
  }
  const honestIdx = order.slice(nByz + nCopy);
  counts.byzantine = nByz;
  counts.copiers = nCopy;
  const validators: SimValidator[] = chain.validators.map((neuron, i) =>
    createSimValidator(
      {
        neuron,
        kind: kindOf.get(i) ?? 'honest',
        ...(kindOf.get(i) === 'copier' ? { copyFrom: honestIdx[i % honestIdx.length] ?? 0 } : {}),
        net: { drop: faults.drop, delay: faults.delay },
      },
      chain,
      rng.fork(`validator-${i}`),
    ),
  );
  // Miners: a cheater fails most audits; latencies vary by miner.
  const mrng = rng.fork('miners');
  const miners = chain.miners.map((m) => ({
    uid: m.uid,
    cheat: mrng.chance(faults.cheaters),
    latencyMs: 200 + mrng.int(3000),
  }));
  counts.cheatingMiners = miners.filter((m) => m.cheat).length;

  const audits = rng.fork('audits');
  const frng = rng.fork('faults');
  const orderRng = rng.fork('network-order');
  const firstEpoch = chain.epochOf(chain.head() + 1) + 1;
  const lastEpoch = firstEpoch + opts.epochs - 1;
  const state = emptyState(firstEpoch);
  const passed = emptyCounts();
  const violations: Violation[] = [];
  const epochDigests: string[] = [];
  let chainDigest = sha(`seed:${opts.seed}`);
  /** Validator index → blocks it is down until (a crash) / cut off until (a partition). */
  const downUntil = new Map<number, number>();
  const cutUntil = new Map<number, number>();
  /**
   * Per epoch, validators that were down or cut off at some block of it or of its successor (up to its
   * deadline), or whose agent had a transaction dropped or delayed in its proposal window: not "connected"
   * for it, so not counted for its liveness.
   */
  const troubled = new Map<number, Set<number>>();
  /** Honest validators' settlements: epoch → hotkey → root. */
  const settled = new Map<number, Map<string, { root: string; resultsHash: string; total: bigint }>>();
  const markTroubled = (i: number, epoch: number) => {
    for (const e of [epoch, epoch - 1]) {
      const s = troubled.get(e) ?? new Set<number>();
      troubled.set(e, s);
      s.add(i);
    }
  };
  /**
   * An epoch agent whose transaction the network dropped or delayed at block `n` waits for it up to four
   * blocks: it was not connected for the epoch whose proposal window holds those blocks (the one before
   * `n`'s epoch, and `n`'s own when they reach into the next epoch).
   */
  const markNetFault = (i: number, n: number) => {
    for (const e of new Set([chain.epochOf(n) - 1, chain.epochOf(n + 4) - 1])) {
      const s = troubled.get(e) ?? new Set<number>();
      troubled.set(e, s);
      s.add(i);
    }
  };
  const isolated = new Set(opts.isolate ?? []);
  const ctl = new AbortController();
  const runStarted = performance.now();
  const activity = {
    proposals: 0,
    competingProposals: 0,
    attestations: 0,
    claims: 0,
    reveals: 0,
    revealsCounted: 0,
    livenessRequired: 0,
  };
  let finalised = 0;
  let failedEpoch: string | undefined;
  let expired = 0;
  const stopAt = chain.startOf(lastEpoch + 2) - 1;

  while (chain.head() < stopAt) {
    const n = chain.head() + 1; // the block being built
    const epoch = chain.epochOf(n);
    const firstOfEpoch = chain.startOf(epoch) === n;
    // Faults chosen at an epoch's first block.
    if (firstOfEpoch && epoch >= firstEpoch && epoch <= lastEpoch) {
      for (let i = 0; i < V; i++) {
        if (frng.chance(faults.crash)) {
          const at = n + frng.int(tempo);
          downUntil.set(i, -at); // negative: crash pending at block `at`
          counts.crashes++;
        }
      }
      if (frng.chance(faults.partition)) {
        const size = 1 + frng.int(Math.max(1, Math.floor(V / 4)));
        for (const i of frng.shuffle([...Array(V).keys()]).slice(0, size))
          cutUntil.set(i, n + 2 + frng.int(11));
        counts.partitions++;
      }
      if (frng.chance(faults.stakeChange)) {
        const i = frng.int(V);
        const v = chain.validators[i];
        if (v !== undefined) {
          const amount = BigInt(10 + frng.int(200)) * 10n ** 18n;
          await chain.send(
            v.coldkey,
            chain.addresses.staking,
            encodeFunctionData({ abi: stakingAbi, functionName: 'allocate', args: [1, v.hotkey, amount] }),
          );
          counts.stakeChanges++;
        }
      }
    }
    // Crashes and restarts, partitions, isolation.
    for (let i = 0; i < V; i++) {
      const v = validators[i] as SimValidator;
      const d = downUntil.get(i);
      if (d !== undefined && d < 0 && -d <= n) {
        v.alive = false;
        downUntil.set(i, n + tempo + frng.int(2 * tempo));
      } else if (d !== undefined && d > 0 && d <= n) {
        v.restart();
        v.alive = true;
        downUntil.delete(i);
      }
      const c = cutUntil.get(i);
      if (c !== undefined && c <= n) cutUntil.delete(i);
      v.connected = !cutUntil.has(i) && !(isolated.has(i) && epoch >= firstEpoch);
      if (!v.alive || !v.connected) markTroubled(i, epoch);
    }
    // Audits: each running validator judges two miners.
    for (const v of validators) {
      if (!v.alive) continue;
      for (let k = 0; k < 2; k++) {
        const m = miners[audits.int(miners.length)];
        if (m === undefined) continue;
        const pass = audits.chance(m.cheat ? 0.2 : 0.97);
        v.scoreboard.recordResponse(m.uid, m.latencyMs + audits.int(200));
        v.scoreboard.recordVerdict(m.uid, pass, pass ? {} : { reason: 'mismatch' });
      }
    }
    // Each running validator's step, in the seeded order their transactions reach the chain.
    const block = { number: chain.head(), hash: chain.hashOf(chain.head()), timestamp: 0 };
    for (const i of orderRng.shuffle([...Array(V).keys()])) {
      const v = validators[i] as SimValidator;
      if (!v.alive) continue;
      const netFaults = v.stats.agentFaults;
      await v.step(block, ctl.signal);
      if (v.stats.agentFaults > netFaults) markNetFault(i, n);
      if (v.kind !== 'byzantine') {
        for (const e of [epoch - 1, epoch - 2]) {
          const s = v.agent().settled(e);
          if (s === undefined) continue;
          const m = settled.get(e) ?? new Map();
          settled.set(e, m);
          m.set(v.neuron.hotkey, { root: s.root, resultsHash: s.resultsHash, total: s.total });
        }
      }
    }
    await chain.mine();
    // Receipts to whoever waits for them, in the seeded order.
    for (const i of orderRng.shuffle([...Array(V).keys()])) {
      const v = validators[i] as SimValidator;
      if (!v.alive) continue;
      const netFaults = v.stats.agentFaults;
      await v.deliver();
      if (v.stats.agentFaults > netFaults) markNetFault(i, chain.head() + 1);
    }
    // An epoch whose deadline was just mined is checked.
    const e = chain.epochOf(chain.head() + 1) - 2;
    if (chain.startOf(e + 2) - 1 === chain.head() && e >= firstEpoch && e <= lastEpoch) {
      const bad = troubled.get(e) ?? new Set<number>();
      const honestUp: Address[] = validators
        .filter((v, i) => v.kind !== 'byzantine' && !bad.has(i))
        .map((v) => v.neuron.hotkey);
      const roots = settled.get(e) ?? new Map();
      const found = await checkEpoch(chain, { epoch: e, honestRoots: roots, honestUp }, state, passed);
      violations.push(...found);
      if (found.length > 0) failedEpoch ??= epochDigestLine(chain, e, [...roots.values()][0]?.root);
      const ev = chain.events(e);
      activity.proposals += ev.proposals.length;
      activity.competingProposals += Math.max(0, ev.proposals.length - 1);
      activity.attestations += ev.attestations.length;
      activity.revealsCounted += (await chain.inputs(e)).reveals.length;
      if (ev.finalised !== undefined) finalised++;
      else expired++;
      const line = epochDigestLine(chain, e, [...roots.values()][0]?.root);
      const d = sha(line);
      epochDigests.push(d);
      chainDigest = sha(chainDigest + d);
      settled.delete(e - 4);
      troubled.delete(e - 4);
      if (found.length > 0 && opts.stopOnViolation !== false) break;
    }
  }
  violations.push(...sweepClaims(chain, lastEpoch, state));
  for (let e = firstEpoch; e <= lastEpoch; e++) activity.claims += chain.events(e).claims.length;
  activity.reveals = chain.reveals().length;
  activity.livenessRequired = state.livenessExpected;
  for (const v of validators) {
    counts.dropped += v.stats.dropped;
    counts.delayed += v.stats.delayed;
  }
  const wallMs = performance.now() - started;
  const runMs = performance.now() - runStarted;
  return {
    seed: opts.seed,
    validators: V,
    miners: opts.miners,
    tempo,
    requestedEpochs: opts.epochs,
    epochs: epochDigests.length,
    blocks: chain.head(),
    finalised,
    expired,
    faults: counts,
    activity,
    checks: passed,
    violations,
    ...(failedEpoch === undefined ? {} : { failedEpoch }),
    epochDigests,
    digest: chainDigest,
    wallMs: Math.round(wallMs),
    epochsPerSecond: Number((epochDigests.length / (runMs / 1000)).toFixed(3)),
    setupMs: Math.round(wallMs - runMs),
    minedReverts: chain.minedReverts(),
  };
}
