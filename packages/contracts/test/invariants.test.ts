/**
 * Randomized invariant tests (issue 14). Seeded random operation sequences, valid and invalid, against
 *
 * 1. the stake ledger with slashes: stake, unstake, claim, allocate, deallocate, withdrawAllocation, slashes
 *    (Slashing.slashEquivocation with real signatures), slash-share changes and mined blocks, against an exact
 *    TypeScript model of the share pools: after every operation the token balance of Staking is
 *    `totalStaked + totalDeallocating + totalUnbonding`, every view equals the model (per coldkey, pair,
 *    hotkey and subnet), per-pair allocations sum to the pair's stake and the pairs to the subnet's, and a
 *    slash burns exactly the model's share (total supply);
 * 2. epoch consensus: snapshots, proposals (right, wrong and malformed roots, by drawn, other, unpermitted
 *    and suspended validators, at random blocks, competing ones), attestations (random validators and roots),
 *    claims (right, repeated, wrong proofs and amounts, to stake), expiries, stake moves and mined blocks:
 *    an epoch is final only when the snapshot stake voting for its root (computed here from the snapshot and
 *    the votes sent) reaches two thirds of a non-zero snapshot total, and is final as soon as it does; a
 *    final root never changes; every vote is by a validator of the snapshot, once per epoch, within the
 *    window; each snapshot holds exactly the validators permitted then, once each; a leaf is never paid
 *    twice; claimed <= total; all emission <= the cap and equal to the schedule. Staking's conservation
 *    identity is checked here too (claims to stake credit it).
 *
 * A failure names the seed and prints the operation log. Seeds: `SEEDS`, or `INVARIANT_SEED=n` (or `n,m,…`)
 * instead; `INVARIANT_OPS=n` sets the operations per run; `INVARIANT_LOG=1` prints the epoch runs' logs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Address,
  createPublicClient,
  getAddress,
  getContract,
  type Hash,
  type Hex,
  http,
  keccak256,
  parseEventLogs,
  type TransactionReceipt,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { attestationTypedData } from '../src/attestation.js';
import { buildEpochTree, type EpochLeaf, type EpochTree, encodeResults, OWNER_UID } from '../src/epoch.js';
import {
  epochConsensusAbi,
  neuronRegistryAbi,
  stakingAbi,
  subnetRegistryAbi,
  subnetTokenAbi,
} from '../src/generated/index.js';
import { type EpochNet, epochHyperparams, setUpEpochNet } from './epochNet.js';
import { decodeRevert, expectRevert, type Fixture, prng, SUB, useFixture } from './fixture.js';

const SEEDS =
  process.env.INVARIANT_SEED !== undefined ? process.env.INVARIANT_SEED.split(',').map(Number) : [1, 2, 3];
const OPS = Number(process.env.INVARIANT_OPS ?? 150);

type Rng = (n: number) => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => {
  if (xs.length === 0) throw new Error('pick from an empty list');
  return xs[r(xs.length)] as T;
};
/** A random bigint in [0, n) (n > 0). */
function randBig(r: Rng, n: bigint): bigint {
  let x = 0n;
  for (let i = 0; i < 4; i++) x = (x << 30n) | BigInt(r(1 << 30));
  return x % n;
}
/** An amount for an operation on `available`: zero, all, one more than all, far more, or within. */
function amountFor(r: Rng, available: bigint): bigint {
  const k = r(10);
  if (k === 0) return 0n;
  if (k === 1) return available + 1n + randBig(r, 10n * SUB);
  if (k === 2) return available;
  if (available === 0n) return 1n + randBig(r, 50n * SUB);
  return 1n + randBig(r, available);
}
const low = (a: Address) => a.toLowerCase();
const show = (v: unknown) =>
  JSON.stringify(v, (_, x) =>
    typeof x === 'bigint' ? x.toString() : typeof x === 'string' ? x.slice(0, 10) : x,
  );

/** Runs `ops` operations; on failure throws with the seed, the failing operation and the log. */
async function runLogged(
  name: string,
  seed: number,
  ops: number,
  step: (i: number, log: (line: string) => void, doing: (line: string) => void) => Promise<void>,
): Promise<string[]> {
  const lines: string[] = [];
  let current = '';
  const log = (line: string) => {
    lines.push(`#${lines.length} ${line}`);
    current = '';
  };
  // What the operation under way is doing (logged with the failure when it throws before `log`).
  const doing = (line: string) => {
    current = line;
  };
  for (let i = 0; i < ops; i++) {
    try {
      await step(i, log, doing);
    } catch (err) {
      if (current !== '') lines.push(`#${lines.length} ${current} -> FAILED`);
      const tail = lines.slice(-40).join('\n');
      console.error(`${name}: seed ${seed} failed at op ${i}; op log:\n${lines.join('\n')}`);
      throw new Error(
        `${name} invariant broken (seed ${seed}, op ${i}; rerun with INVARIANT_SEED=${seed}): ${
          (err as Error).message
        }\nlast ops:\n${tail}`,
        { cause: err },
      );
    }
  }
  return lines;
}

/** A client whose concurrent reads go to anvil as one JSON-RPC batch. */
function batchedReader(f: Fixture) {
  return createPublicClient({
    chain: f.chain,
    transport: http(f.anvil.rpcUrl, { batch: { batchSize: 1_000, wait: 0 }, retryCount: 0 }),
    cacheTime: 0,
  });
}

/** Sends a write whose outcome is predicted: mined when `expected` is undefined, else reverted by that name. */
async function outcome(
  f: Fixture,
  send: () => Promise<Hash>,
  expected: string | undefined,
): Promise<TransactionReceipt | undefined> {
  if (expected === undefined) return f.mined(send());
  await expectRevert(send(), expected);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// 1. Staking and slashing
// ---------------------------------------------------------------------------------------------------------

const BPS = 10_000n;
const MAX_SLASH_BPS = 5_000;

interface Pool {
  tokens: bigint;
  shares: bigint;
}
interface Pair {
  netuid: number;
  hotkey: Address;
}
const pairKey = (p: Pair) => `${p.netuid}:${low(p.hotkey)}`;

const mulDiv = (a: bigint, b: bigint, c: bigint) => (a * b) / c;
const mulDivUp = (a: bigint, b: bigint, c: bigint) => (a * b + c - 1n) / c;

/** Staking.sol's ledger, with the same integer arithmetic. */
class StakeModel {
  free = new Map<string, bigint>();
  allocated = new Map<string, bigint>();
  unbonding = new Map<string, { amount: bigint; release: bigint }>();
  positions = new Map<string, { shares: bigint; principal: bigint }>();
  deallocs = new Map<string, { shares: bigint; release: bigint }>();
  pools = new Map<string, Pool>();
  dpools = new Map<string, Pool>();
  hotkeyTotal = new Map<string, bigint>();
  subnetStake = new Map<number, bigint>();
  wallet = new Map<string, bigint>();
  totalStaked = 0n;
  totalDeallocating = 0n;
  totalUnbonding = 0n;
  supply = 0n;
  burnt = 0n;

  constructor(
    readonly unbondingPeriod: bigint,
    readonly deallocationPeriod: bigint,
  ) {}

  private get<K>(m: Map<K, bigint>, k: K): bigint {
    return m.get(k) ?? 0n;
  }
  private add<K>(m: Map<K, bigint>, k: K, d: bigint): void {
    const v = (m.get(k) ?? 0n) + d;
    if (v < 0n) throw new Error(`model: negative value ${v} at ${String(k)}`);
    m.set(k, v);
  }
  pool(m: Map<string, Pool>, p: Pair): Pool {
    let pool = m.get(pairKey(p));
    if (pool === undefined) {
      pool = { tokens: 0n, shares: 0n };
      m.set(pairKey(p), pool);
    }
    return pool;
  }
  static worth(shares: bigint, pool: Pool): bigint {
    if (shares === 0n) return 0n;
    return shares === pool.shares ? pool.tokens : mulDiv(shares, pool.tokens, pool.shares);
  }
  static sharesFor(amount: bigint, pool: Pool): bigint {
    return pool.shares === 0n ? amount : mulDiv(amount, pool.shares, pool.tokens);
  }
  freeOf(c: Address): bigint {
    return this.get(this.free, low(c));
  }
  walletOf(c: Address): bigint {
    return this.get(this.wallet, low(c));
  }
  allocatedOf(c: Address): bigint {
    return this.get(this.allocated, low(c));
  }
  position(c: Address, p: Pair) {
    const k = `${low(c)}|${pairKey(p)}`;
    let pos = this.positions.get(k);
    if (pos === undefined) {
      pos = { shares: 0n, principal: 0n };
      this.positions.set(k, pos);
    }
    return pos;
  }
  dealloc(c: Address, p: Pair) {
    const k = `${low(c)}|${pairKey(p)}`;
    let d = this.deallocs.get(k);
    if (d === undefined) {
      d = { shares: 0n, release: 0n };
      this.deallocs.set(k, d);
    }
    return d;
  }
  allocationOf(c: Address, p: Pair): bigint {
    return StakeModel.worth(this.position(c, p).shares, this.pool(this.pools, p));
  }
  deallocationOf(c: Address, p: Pair): [bigint, bigint] {
    const d = this.dealloc(c, p);
    return [StakeModel.worth(d.shares, this.pool(this.dpools, p)), d.release];
  }
  unbondingOf(c: Address): [bigint, bigint] {
    const u = this.unbonding.get(low(c));
    return u === undefined ? [0n, 0n] : [u.amount, u.release];
  }
  hotkeyTotalOf(h: Address): bigint {
    return this.get(this.hotkeyTotal, low(h));
  }
  subnetStakeOf(n: number): bigint {
    return this.get(this.subnetStake, n);
  }

  stake(c: Address, amount: bigint): void {
    this.add(this.wallet, low(c), -amount);
    this.add(this.free, low(c), amount);
    this.totalStaked += amount;
  }
  unstake(c: Address, amount: bigint, block: bigint): void {
    this.add(this.free, low(c), -amount);
    this.totalStaked -= amount;
    this.totalUnbonding += amount;
    const [held] = this.unbondingOf(c);
    this.unbonding.set(low(c), { amount: held + amount, release: block + this.unbondingPeriod });
  }
  claim(c: Address): bigint {
    const [amount] = this.unbondingOf(c);
    this.unbonding.delete(low(c));
    this.totalUnbonding -= amount;
    this.add(this.wallet, low(c), amount);
    return amount;
  }
  allocate(c: Address, p: Pair, amount: bigint): void {
    this.add(this.free, low(c), -amount);
    const pool = this.pool(this.pools, p);
    const minted = StakeModel.sharesFor(amount, pool);
    pool.tokens += amount;
    pool.shares += minted;
    const pos = this.position(c, p);
    pos.shares += minted;
    pos.principal += amount;
    this.add(this.allocated, low(c), amount);
    this.add(this.hotkeyTotal, low(p.hotkey), amount);
    this.add(this.subnetStake, p.netuid, amount);
  }
  deallocate(c: Address, p: Pair, amount: bigint, block: bigint): void {
    const pos = this.position(c, p);
    const pool = this.pool(this.pools, p);
    const held = pos.shares;
    const value = StakeModel.worth(held, pool);
    if (amount > value) throw new Error('model: deallocating more than the allocation');
    const burnt = amount === value ? held : mulDivUp(amount, pool.shares, pool.tokens);
    const principalOut = burnt === held ? pos.principal : mulDiv(pos.principal, burnt, held);
    pos.shares = held - burnt;
    pos.principal -= principalOut;
    this.add(this.allocated, low(c), -principalOut);
    pool.tokens -= amount;
    pool.shares -= burnt;
    this.add(this.hotkeyTotal, low(p.hotkey), -amount);
    this.add(this.subnetStake, p.netuid, -amount);
    this.totalStaked -= amount;
    this.totalDeallocating += amount;
    const dpool = this.pool(this.dpools, p);
    const minted = StakeModel.sharesFor(amount, dpool);
    dpool.tokens += amount;
    dpool.shares += minted;
    const d = this.dealloc(c, p);
    d.shares += minted;
    d.release = block + this.deallocationPeriod;
  }
  withdraw(c: Address, p: Pair): bigint {
    const d = this.dealloc(c, p);
    const dpool = this.pool(this.dpools, p);
    const amount = StakeModel.worth(d.shares, dpool);
    dpool.tokens -= amount;
    dpool.shares -= d.shares;
    d.shares = 0n;
    d.release = 0n;
    this.totalDeallocating -= amount;
    this.totalStaked += amount;
    this.add(this.free, low(c), amount);
    return amount;
  }
  slash(p: Pair, bps: bigint): [bigint, bigint] {
    const pool = this.pool(this.pools, p);
    const allocated = (pool.tokens * bps) / BPS;
    pool.tokens -= allocated;
    this.add(this.hotkeyTotal, low(p.hotkey), -allocated);
    this.add(this.subnetStake, p.netuid, -allocated);
    this.totalStaked -= allocated;
    const dpool = this.pool(this.dpools, p);
    const deallocating = (dpool.tokens * bps) / BPS;
    dpool.tokens -= deallocating;
    this.totalDeallocating -= deallocating;
    this.supply -= allocated + deallocating;
    this.burnt += allocated + deallocating;
    return [allocated, deallocating];
  }
}

/** Slashing's per-subnet slash share schedule. */
interface ShareModel {
  set: boolean;
  current: number;
  pending: number;
  effectiveEpoch: bigint;
}
const shareAt = (s: ShareModel, epoch: bigint) =>
  !s.set ? 1_000 : epoch >= s.effectiveEpoch ? s.pending : s.current;

function signAttestation(
  f: Fixture,
  signer: PrivateKeyAccount,
  message: { netuid: number; epoch: bigint; root: Hex; resultsHash: Hex },
): Promise<Hex> {
  return signer.signTypedData(
    attestationTypedData({ chainId: f.chain.id, slashing: f.addresses.slashing, ...message }),
  );
}

/** Epoch of the block the next transaction lands in. */
async function nextTxEpoch(f: Fixture, startOf: (e: bigint) => Promise<bigint>): Promise<[bigint, bigint]> {
  const b = (await f.blockNumber()) + 1n;
  let e = await f.subnets.read.currentEpoch([1]);
  while ((await startOf(e + 1n)) <= b) e++;
  return [e, b];
}

function epochStarts(f: Fixture): (e: bigint) => Promise<bigint> {
  const cache = new Map<bigint, bigint>();
  return async (e) => {
    let s = cache.get(e);
    if (s === undefined) {
      s = await f.subnets.read.epochStartBlock([1, e]);
      cache.set(e, s);
    }
    return s;
  };
}

async function runStaking(f: Fixture, seed: number, ops: number): Promise<string[]> {
  const r = prng(seed);
  const { staking, slashing, token, owner } = f;
  const stakes = Array.from({ length: 4 }, () => BigInt(100 + r(900)) * SUB + randBig(r, SUB));
  const net = await setUpEpochNet(f, { validatorCount: 4, minerCount: 0, stakes });
  const colds = [f.alice, f.bob, f.carol, f.dave, f.erin, f.frank];
  const [v0] = net.validators as [PrivateKeyAccount];
  const hotA = getAddress('0x000000000000000000000000000000000000a11a');
  const hotB = getAddress('0x000000000000000000000000000000000000b22b');
  const pairs: Pair[] = [
    ...net.validators.map((v) => ({ netuid: 1, hotkey: v.address })),
    { netuid: 1, hotkey: hotA },
    { netuid: 2, hotkey: v0.address },
    { netuid: 2, hotkey: hotB },
  ];
  const hotkeys = [...new Set(pairs.map((p) => p.hotkey))];
  const netuids = [1, 2];

  const m = new StakeModel(await staking.read.unbondingPeriod(), await staking.read.deallocationPeriod());
  net.validators.forEach((v, i) => {
    const cold = net.coldkeys[i] as PrivateKeyAccount;
    m.wallet.set(low(cold.address), 10n ** 30n); // read from the chain below
    m.stake(cold.address, stakes[i] as bigint);
    m.allocate(cold.address, { netuid: 1, hotkey: v.address }, stakes[i] as bigint);
  });
  for (const c of colds) m.wallet.set(low(c.address), await token.read.balanceOf([c.address]));
  m.supply = await token.read.totalSupply();
  const share: ShareModel = { set: false, current: 0, pending: 0, effectiveEpoch: 0n };
  const slashed = new Set<string>();
  let freshEpoch = 1_000_000n;
  const startOf = epochStarts(f);

  const client = batchedReader(f);
  const rs = getContract({ address: f.addresses.staking, abi: stakingAbi, client });
  const rt = getContract({ address: f.addresses.token, abi: subnetTokenAbi, client });
  const rn = getContract({ address: f.addresses.neuronRegistry, abi: neuronRegistryAbi, client });
  const counts = { ok: 0, reverted: 0, slashes: 0, burnt: 0n };

  /** Checks the invariants; each coldkey's per-pair positions only for `focus` unless `full` (they are many
   *  reads, and an operation changes only its own coldkey's, or a pair's pool which is checked every time). */
  const check = async (full: boolean, focus?: Address) => {
    const [balance, totalStaked, totalDeallocating, totalUnbonding, supply] = await Promise.all([
      rt.read.balanceOf([f.addresses.staking]),
      rs.read.totalStaked(),
      rs.read.totalDeallocating(),
      rs.read.totalUnbonding(),
      rt.read.totalSupply(),
    ]);
    assert.equal(
      balance,
      totalStaked + totalDeallocating + totalUnbonding,
      'conservation: balance of Staking',
    );
    assert.equal(totalStaked, m.totalStaked, 'totalStaked');
    assert.equal(totalDeallocating, m.totalDeallocating, 'totalDeallocating');
    assert.equal(totalUnbonding, m.totalUnbonding, 'totalUnbonding');
    assert.equal(supply, m.supply, 'totalSupply (slashes burn)');
    const perCold = await Promise.all(
      colds.map((c) =>
        Promise.all([
          rs.read.freeStake([c.address]),
          rs.read.allocatedStake([c.address]),
          rs.read.totalStake([c.address]),
          rs.read.unbonding([c.address]),
          rt.read.balanceOf([c.address]),
          full || c.address === focus
            ? Promise.all(pairs.map((p) => rs.read.allocation([c.address, p.netuid, p.hotkey])))
            : undefined,
          full || c.address === focus
            ? Promise.all(pairs.map((p) => rs.read.deallocation([c.address, p.netuid, p.hotkey])))
            : undefined,
        ]),
      ),
    );
    const perPair = await Promise.all(
      pairs.map((p) =>
        Promise.all([
          rs.read.hotkeyStake([p.netuid, p.hotkey]),
          rs.read.hotkeyDeallocating([p.netuid, p.hotkey]),
        ]),
      ),
    );
    const perHot = await Promise.all(hotkeys.map((h) => rs.read.hotkeyTotalStake([h])));
    const perNet = await Promise.all(netuids.map((n) => rs.read.subnetStake([n])));
    let freeSum = 0n;
    let unbondingSum = 0n;
    colds.forEach((c, ci) => {
      const [free, allocated, total, unbonding, wallet, allocs, deallocs] = perCold[ci] as NonNullable<
        (typeof perCold)[number]
      >;
      const who = `coldkey ${ci}`;
      assert.equal(free, m.freeOf(c.address), `${who} free stake`);
      assert.equal(allocated, m.allocatedOf(c.address), `${who} allocated stake (face value)`);
      assert.equal(total, free + allocated, `${who} totalStake`);
      assert.deepEqual(unbonding, m.unbondingOf(c.address), `${who} unbonding`);
      assert.equal(wallet, m.walletOf(c.address), `${who} wallet`);
      pairs.forEach((p, pi) => {
        if (allocs === undefined || deallocs === undefined) return;
        assert.equal(allocs[pi], m.allocationOf(c.address, p), `${who} allocation ${pairKey(p)}`);
        assert.deepEqual(deallocs[pi], m.deallocationOf(c.address, p), `${who} deallocation ${pairKey(p)}`);
      });
      freeSum += free;
      unbondingSum += unbonding[0];
    });
    let pairSum = 0n;
    let deallocSum = 0n;
    pairs.forEach((p, pi) => {
      const [stake, deallocating] = perPair[pi] as [bigint, bigint];
      assert.equal(stake, m.pool(m.pools, p).tokens, `hotkeyStake ${pairKey(p)}`);
      assert.equal(deallocating, m.pool(m.dpools, p).tokens, `hotkeyDeallocating ${pairKey(p)}`);
      if (full) {
        // The coldkeys' positions are worth the pair's stake, less under one token of rounding each.
        const held = perCold.reduce((s, pc) => s + (pc[5]?.[pi] ?? 0n), 0n);
        const pending = perCold.reduce((s, pc) => s + (pc[6]?.[pi]?.[0] ?? 0n), 0n);
        assert.ok(held <= stake && stake - held < BigInt(colds.length), `allocations of ${pairKey(p)} sum`);
        assert.ok(
          pending <= deallocating && deallocating - pending < BigInt(colds.length),
          'deallocations sum',
        );
      }
      pairSum += stake;
      deallocSum += deallocating;
    });
    hotkeys.forEach((h, hi) => {
      const sum = pairs.filter((p) => p.hotkey === h).reduce((s, p) => s + m.pool(m.pools, p).tokens, 0n);
      assert.equal(perHot[hi], sum, `hotkeyTotalStake ${h} = its pairs`);
      assert.equal(perHot[hi], m.hotkeyTotalOf(h), `hotkeyTotalStake ${h}`);
    });
    netuids.forEach((n, ni) => {
      const sum = pairs.filter((p) => p.netuid === n).reduce((s, p) => s + m.pool(m.pools, p).tokens, 0n);
      assert.equal(perNet[ni], sum, `subnetStake ${n} = its pairs`);
      assert.equal(perNet[ni], m.subnetStakeOf(n), `subnetStake ${n}`);
    });
    assert.equal(totalStaked, freeSum + pairSum, 'totalStaked = free + allocated pools');
    assert.equal(totalDeallocating, deallocSum, 'totalDeallocating = deallocation pools');
    assert.equal(totalUnbonding, unbondingSum, 'totalUnbonding = unbonding records');
  };

  await check(true);
  const lines = await runLogged('staking', seed, ops, async (i, log, doing) => {
    const cold = pick(r, colds);
    const c = cold.address;
    const ci = colds.indexOf(cold);
    const p = pick(r, pairs);
    const block = (await f.blockNumber()) + 1n; // the next transaction's block
    const kind = r(100);
    let desc: string;
    let expected: string | undefined;
    if (kind < 14) {
      const amount = amountFor(r, m.walletOf(c));
      expected =
        amount === 0n ? 'ZeroAmount' : amount > m.walletOf(c) ? 'ERC20InsufficientBalance' : undefined;
      desc = `c${ci} stake ${amount}`;
      doing(desc);
      if (await outcome(f, () => staking.write.stake([amount], { account: cold }), expected))
        m.stake(c, amount);
    } else if (kind < 24) {
      const amount = amountFor(r, m.freeOf(c));
      expected = amount === 0n ? 'ZeroAmount' : amount > m.freeOf(c) ? 'InsufficientFreeStake' : undefined;
      desc = `c${ci} unstake ${amount}`;
      doing(desc);
      if (await outcome(f, () => staking.write.unstake([amount], { account: cold }), expected)) {
        m.unstake(c, amount, block);
      }
    } else if (kind < 32) {
      const [amount, release] = m.unbondingOf(c);
      expected = amount === 0n ? 'NothingToClaim' : block < release ? 'UnbondingNotMatured' : undefined;
      desc = `c${ci} claim (${amount} from ${release})`;
      doing(desc);
      if (await outcome(f, () => staking.write.claim({ account: cold }), expected)) m.claim(c);
    } else if (kind < 49) {
      const amount = amountFor(r, m.freeOf(c));
      expected = amount === 0n ? 'ZeroAmount' : amount > m.freeOf(c) ? 'InsufficientFreeStake' : undefined;
      desc = `c${ci} allocate ${pairKey(p)} ${amount}`;
      doing(desc);
      const send = () => staking.write.allocate([p.netuid, p.hotkey, amount], { account: cold });
      if (await outcome(f, send, expected)) m.allocate(c, p, amount);
    } else if (kind < 61) {
      const value = m.allocationOf(c, p);
      const amount = amountFor(r, value);
      expected = amount === 0n ? 'ZeroAmount' : amount > value ? 'InsufficientAllocation' : undefined;
      desc = `c${ci} deallocate ${pairKey(p)} ${amount} of ${value}`;
      doing(desc);
      const send = () => staking.write.deallocate([p.netuid, p.hotkey, amount], { account: cold });
      if (await outcome(f, send, expected)) m.deallocate(c, p, amount, block);
    } else if (kind < 69) {
      const [amount, release] = m.deallocationOf(c, p);
      const shares = m.dealloc(c, p).shares;
      expected = shares === 0n ? 'NothingToWithdraw' : block < release ? 'UnbondingNotMatured' : undefined;
      desc = `c${ci} withdrawAllocation ${pairKey(p)} (${amount} from ${release})`;
      doing(desc);
      const receipt = await outcome(
        f,
        () => staking.write.withdrawAllocation([p.netuid, p.hotkey], { account: cold }),
        expected,
      );
      if (receipt) {
        const got = m.withdraw(c, p);
        const [ev] = parseEventLogs({
          abi: stakingAbi,
          logs: receipt.logs,
          eventName: 'AllocationWithdrawn',
        });
        assert.equal(ev?.args.amount, got, 'withdrawn amount');
      }
    } else if (kind < 78) {
      const blocks = 1 + r(r(4) === 0 ? 40 : 8);
      desc = `mine ${blocks}`;
      doing(desc);
      await f.mine(blocks);
    } else if (kind < 90) {
      // A slash: two signed statements of different roots for one epoch (equivocation).
      const v = pick(r, net.validators);
      const netuid = r(8) === 0 ? 2 : 1;
      const reuse = [...slashed].filter((k) => k.endsWith(low(v.address)));
      const epoch =
        reuse.length > 0 && r(5) === 0 ? BigInt(pick(r, reuse).split(':')[1] as string) : freshEpoch++;
      const rootA = keccak256(toHex(`a${epoch}`));
      const rootB = keccak256(toHex(`b${epoch}`));
      const rh = keccak256(toHex('results'));
      const other =
        r(10) === 0
          ? pick(
              r,
              net.validators.filter((x) => x !== v),
            )
          : v;
      const sigA = await signAttestation(f, v, { netuid, epoch, root: rootA, resultsHash: rh });
      const sigB = await signAttestation(f, other, { netuid, epoch, root: rootB, resultsHash: rh });
      let permitted = false;
      if (netuid === 1) {
        const uid = await f.neurons.read.uidOf([1, v.address]);
        permitted = await rn.read.hasValidatorPermit([1, uid]);
      }
      const key = `${netuid}:${epoch}:${low(v.address)}`;
      expected =
        other !== v
          ? 'DifferentSigners'
          : !permitted
            ? 'NotValidator'
            : slashed.has(key)
              ? 'AlreadySlashed'
              : undefined;
      const [txEpoch] = await nextTxEpoch(f, startOf);
      const bps = BigInt(shareAt(share, txEpoch));
      const sp = { netuid, hotkey: v.address };
      desc = `slash ${pairKey(sp)} epoch ${epoch} at ${bps} bps (stake ${m.pool(m.pools, sp).tokens}, deallocating ${
        m.pool(m.dpools, sp).tokens
      })`;
      doing(desc);
      const receipt = await outcome(
        f,
        () =>
          slashing.write.slashEquivocation([netuid, epoch, rootA, rh, sigA, rootB, rh, sigB], {
            account: f.erin,
          }),
        expected,
      );
      if (receipt) {
        slashed.add(key);
        const [allocated, deallocating] = m.slash(sp, bps);
        const [ev] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Slashed' });
        assert.deepEqual(
          [ev?.args.shareBps, ev?.args.allocated, ev?.args.deallocating],
          [bps, allocated, deallocating],
          'slash amounts',
        );
        counts.slashes++;
        counts.burnt += allocated + deallocating;
      }
    } else if (kind < 94) {
      const bps = r(4) === 0 ? MAX_SLASH_BPS + 1 + r(5_000) : r(MAX_SLASH_BPS + 1);
      const by = r(6) === 0 ? f.erin : owner;
      expected = by !== owner ? 'NotSubnetOwner' : bps > MAX_SLASH_BPS ? 'SlashShareTooHigh' : undefined;
      const [txEpoch] = await nextTxEpoch(f, startOf);
      desc = `setSlashShare ${bps} by ${by === owner ? 'owner' : 'erin'} in epoch ${txEpoch}`;
      doing(desc);
      if (await outcome(f, () => slashing.write.setSlashShare([1, bps], { account: by }), expected)) {
        const current = shareAt(share, txEpoch);
        Object.assign(share, { set: true, current, pending: bps, effectiveEpoch: txEpoch + 1n });
      }
    } else if (kind < 98) {
      // Malformed pairs: netuid 0 or the zero hotkey.
      const zeroNet = r(2) === 0;
      const args = [zeroNet ? 0 : p.netuid, zeroNet ? p.hotkey : zeroAddress, 1n + randBig(r, SUB)] as const;
      expected = zeroNet ? 'InvalidNetuid' : 'ZeroAddress';
      const dealloc = r(2) === 0;
      desc = `c${ci} ${dealloc ? 'deallocate' : 'allocate'} malformed ${args[0]}:${args[1].slice(0, 8)}`;
      doing(desc);
      await outcome(
        f,
        () => (dealloc ? staking.write.deallocate : staking.write.allocate)([...args], { account: cold }),
        expected,
      );
    } else {
      expected = 'NotSlasher';
      desc = `c${ci} calls Staking.slash ${pairKey(p)}`;
      doing(desc);
      await outcome(f, () => staking.write.slash([p.netuid, p.hotkey, 1_000n], { account: cold }), expected);
    }
    if (desc.startsWith('mine')) log(desc);
    else {
      log(`${desc} -> ${expected ?? 'ok'}`);
      if (expected === undefined) counts.ok++;
      else counts.reverted++;
    }
    await check(desc.startsWith('slash') || i % 5 === 0 || i === ops - 1, c);
  });
  // The run did something: successes, refusals and slashes that burnt stake.
  assert.ok(counts.ok >= ops / 4, `too few successful operations: ${show(counts)}`);
  assert.ok(counts.reverted >= ops / 10, `too few refused operations: ${show(counts)}`);
  assert.ok(counts.slashes >= 1 && counts.burnt > 0n, `no slash burnt stake: ${show(counts)}`);
  console.log(`staking seed ${seed}: ${ops} ops, ${show(counts)}`);
  return lines;
}

describe('Invariants: staking and slashing (random operations)', () => {
  const fx = useFixture({
    subnet: epochHyperparams,
    deploy: { unbondingPeriod: 20n, deallocationPeriod: 30n },
  });
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${OPS} operations keep stake conserved and every view equal to the model`, async () => {
      await runStaking(fx(), seed, OPS);
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// 2. Epoch consensus
// ---------------------------------------------------------------------------------------------------------

const RATE = SUB;
const EMISSION_CAP = 60n * SUB;

interface Payout {
  leaves: EpochLeaf[];
  tree: EpochTree;
  results: Hex;
  resultsHash: Hex;
  total: bigint;
}

/** A payout of `total` for the epoch: variant 0 the honest one, others differ (and add a leaf for an unknown
 *  uid whose account is no hotkey). */
function makePayout(net: EpochNet, owner: Address, epoch: bigint, total: bigint, variant: number): Payout {
  const rr = prng(Number(epoch) * 1_000 + variant * 7 + 13);
  const weights = net.neurons.map(() => rr(4));
  const wsum = BigInt(weights.reduce((s, w) => s + w, 1));
  const leaves: EpochLeaf[] = [];
  const entries = net.neurons.map((n, i) => {
    const amount = (total * BigInt(weights[i] as number)) / wsum;
    if (amount > 0n) leaves.push({ uid: n.uid, account: n.hotkey, amount });
    return {
      uid: n.uid,
      incentive: (n.uid * 31 + variant) % 65_536,
      dividends: variant,
      trust: 0,
      consensus: 0,
      amount,
    };
  });
  const paid = leaves.reduce((s, l) => s + l.amount, 0n);
  leaves.push({ uid: OWNER_UID, account: owner, amount: total - paid });
  if (variant > 0) leaves.push({ uid: 200 + variant, account: owner, amount: 0n });
  const results = encodeResults(entries);
  return { leaves, tree: buildEpochTree(1, epoch, leaves), results, resultsHash: keccak256(results), total };
}

interface EpochRec {
  snapshot?: { total: bigint; stakes: Map<string, bigint>; late: boolean };
  votes: Map<string, Hex>;
  proposals: Map<Hex, { proposer: Address; resultsHash: Hex; total: bigint; payout: Payout }>;
  firstProposer?: Address;
  leading?: Hex;
  final?: { root: Hex; total: bigint };
  claimed: Set<number>;
  claimedSum: bigint;
  expiryRecorded: boolean;
}

async function runEpochs(f: Fixture, seed: number, ops: number): Promise<string[]> {
  const r = prng(seed ^ 0x5eed);
  const ec = f.epochConsensus;
  const stakes = Array.from({ length: 5 }, () => BigInt(100 + r(2_000)) * SUB);
  const net = await setUpEpochNet(f, { validatorCount: 5, minerCount: 3, stakes });
  const coldOf = new Map(net.neurons.map((n) => [low(n.hotkey), n.coldkey]));
  const accountOf = new Map(
    [f.alice, f.bob, f.carol, f.dave, f.erin, f.frank, ...net.validators].map((a) => [low(a.address), a]),
  );
  const startOf = epochStarts(f);
  const deadlineOf = async (e: bigint) => (await startOf(e + 2n)) - 1n;
  const exclusive = async (e: bigint) => {
    const blocks = ((await startOf(e + 2n)) - (await startOf(e + 1n))) / 4n;
    return blocks === 0n ? 1n : blocks;
  };
  const cap = await ec.read.emissionCap();
  assert.equal(cap, EMISSION_CAP);
  const supply0 = await f.token.read.totalSupply();

  const recs = new Map<bigint, EpochRec>();
  const rec = (e: bigint): EpochRec => {
    let x = recs.get(e);
    if (x === undefined) {
      x = {
        votes: new Map(),
        proposals: new Map(),
        claimed: new Set(),
        claimedSum: 0n,
        expiryRecorded: false,
      };
      recs.set(e, x);
    }
    return x;
  };
  const suspendedUntil = new Map<string, bigint>();
  let roundEpoch: bigint | undefined;
  let emitted = 0n;
  let minted = 0n;
  const payouts = new Map<string, Payout>();
  const payoutFor = (e: bigint, total: bigint, variant: number) => {
    const k = `${e}:${total}:${variant}`;
    let p = payouts.get(k);
    if (p === undefined) {
      p = makePayout(net, f.owner.address, e, total, variant);
      payouts.set(k, p);
    }
    return p;
  };
  const rootStake = (x: EpochRec, root: Hex) => {
    let s = 0n;
    for (const [v, voted] of x.votes) if (voted === root) s += x.snapshot?.stakes.get(v) ?? 0n;
    return s;
  };
  const lastFinal = () => {
    let last: bigint | undefined;
    for (const [e, x] of recs) if (x.final && (last === undefined || e > last)) last = e;
    return last;
  };

  const client = batchedReader(f);
  const rec_ = getContract({ address: f.addresses.epochConsensus, abi: epochConsensusAbi, client });
  const rs = getContract({ address: f.addresses.staking, abi: stakingAbi, client });
  const rt = getContract({ address: f.addresses.token, abi: subnetTokenAbi, client });
  const rsub = getContract({ address: f.addresses.subnetRegistry, abi: subnetRegistryAbi, client });
  const rn = getContract({ address: f.addresses.neuronRegistry, abi: neuronRegistryAbi, client });
  const counts = {
    proposed: 0,
    competing: 0,
    attested: 0,
    finalised: 0,
    claimed: 0,
    doubleClaims: 0,
    expired: 0,
  };

  /** Applies a mined transaction's EpochConsensus events to the model, checking each against the rules. */
  const apply = async (
    receipt: TransactionReceipt,
    vote?: {
      sender: Address;
      epoch: bigint;
      root: Hex;
      resultsHash: Hex;
      total?: bigint;
      payout?: Payout;
      drawn?: Address | undefined;
    },
  ) => {
    const b = receipt.blockNumber;
    const logs = parseEventLogs({
      abi: epochConsensusAbi,
      logs: receipt.logs.filter((l) => low(l.address) === low(f.addresses.epochConsensus)),
    });
    const txEpoch = await rsub.read.currentEpoch([1], { blockNumber: b });
    for (const ev of logs) {
      if (ev.eventName !== 'ValidatorsSnapshotted') continue;
      const { epoch, totalStake, late } = ev.args;
      const x = rec(epoch);
      assert.equal(x.snapshot, undefined, `a second snapshot of epoch ${epoch}`);
      assert.ok(
        late ? epoch < txEpoch : epoch === txEpoch,
        `snapshot of epoch ${epoch} taken in epoch ${txEpoch}`,
      );
      const got = await Promise.all(
        net.validators.map((v) => rec_.read.snapshotStake([1, epoch, v.address], { blockNumber: b })),
      );
      const map = new Map<string, bigint>();
      net.validators.forEach((v, i) => {
        if ((got[i] as bigint) > 0n) map.set(low(v.address), got[i] as bigint);
      });
      // The snapshot holds exactly the validators holding a permit then, each once with its stake.
      const permits = await Promise.all(
        net.validators.map(async (v) =>
          rn.read.hasValidatorPermit([1, await rn.read.uidOf([1, v.address])], { blockNumber: b }),
        ),
      );
      const stakesNow = await Promise.all(
        net.validators.map((v) => rs.read.hotkeyStake([1, v.address], { blockNumber: b })),
      );
      net.validators.forEach((v, i) => {
        assert.equal(got[i], permits[i] ? stakesNow[i] : 0n, `epoch ${epoch} snapshot entry of ${v.address}`);
      });
      assert.equal(Number(ev.args.count), permits.filter(Boolean).length, `epoch ${epoch} snapshot count`);
      assert.equal(
        got.reduce((s, x) => s + x, 0n),
        totalStake,
        `epoch ${epoch} snapshot total = its entries`,
      );
      x.snapshot = { total: totalStake, stakes: map, late };
    }
    const struck: { epoch: bigint; proposer: Address }[] = [];
    for (const ev of logs) {
      if (ev.eventName !== 'EpochExpired') continue;
      const { epoch, proposer, suspendedUntil: until } = ev.args;
      struck.push({ epoch, proposer });
      const prev = suspendedUntil.get(low(proposer)) ?? 0n;
      if (until > prev) suspendedUntil.set(low(proposer), until);
      counts.expired++;
    }
    if (vote !== undefined) {
      const { sender, epoch: e, root } = vote;
      const x = rec(e);
      const stake = x.snapshot?.stakes.get(low(sender)) ?? 0n;
      assert.ok(stake > 0n, `a vote by ${sender}, not in epoch ${e}'s snapshot`);
      assert.equal(x.votes.get(low(sender)), undefined, `a second vote by ${sender} on epoch ${e}`);
      assert.ok(
        b >= (await startOf(e + 1n)) && b <= (await deadlineOf(e)),
        `a vote on epoch ${e} at block ${b}`,
      );
      if (vote.payout !== undefined) {
        // A proposal.
        assert.ok(
          e >= (suspendedUntil.get(low(sender)) ?? 0n),
          `a proposal by ${sender}, suspended until ${suspendedUntil.get(low(sender))}`,
        );
        assert.ok(!x.proposals.has(root), 'a root proposed twice');
        if (x.leading === undefined) {
          if (
            b < (await startOf(e + 1n)) + (await exclusive(e)) &&
            vote.drawn &&
            vote.drawn !== zeroAddress
          ) {
            assert.equal(
              low(sender),
              low(vote.drawn as Address),
              'a first proposal in the exclusive window by another',
            );
          }
          const settled = lastFinal();
          const from = await startOf(settled === undefined ? 0n : settled + 1n);
          const scheduled = ((await startOf(e + 1n)) - from) * RATE;
          const expected = scheduled < cap - emitted ? scheduled : cap - emitted;
          assert.equal(vote.total, expected, `epoch ${e}'s proposal total`);
          x.leading = root;
          x.firstProposer = sender;
          roundEpoch = e;
          counts.proposed++;
        } else {
          assert.equal(x.final, undefined, 'a competing proposal on a final epoch');
          assert.ok(
            b >= (await startOf(e + 1n)) + 2n * (await exclusive(e)),
            'a competing proposal too early',
          );
          assert.equal(
            vote.total,
            x.proposals.get(x.leading)?.total,
            'a competing proposal with another total',
          );
          counts.competing++;
        }
        x.proposals.set(root, {
          proposer: sender,
          resultsHash: vote.resultsHash,
          total: vote.total as bigint,
          payout: vote.payout,
        });
      } else {
        const p = x.proposals.get(root);
        assert.ok(p !== undefined && p.resultsHash === vote.resultsHash, `an attestation of an unknown root`);
        if (x.final !== undefined)
          assert.equal(root, x.final.root, 'an attestation of another root once final');
        assert.notEqual(low(sender), low(p.proposer), 'a proposer attesting its own root');
        const [ev] = parseEventLogs({
          abi: epochConsensusAbi,
          logs: receipt.logs,
          eventName: 'EpochAttested',
        });
        x.votes.set(low(sender), root);
        assert.equal(ev?.args.stake, stake, 'attested stake is the snapshot stake');
        assert.equal(ev?.args.attestedStake, rootStake(x, root), "the root's attested stake");
        counts.attested++;
      }
      x.votes.set(low(sender), root);
    }
    for (const ev of logs) {
      if (ev.eventName !== 'EpochFinalised') continue;
      const { epoch, root, total } = ev.args;
      const x = rec(epoch);
      assert.equal(x.final, undefined, `epoch ${epoch} finalised twice`);
      const snap = x.snapshot;
      assert.ok(snap !== undefined && snap.total > 0n, `epoch ${epoch} finalised without snapshot stake`);
      const attested = rootStake(x, root);
      assert.ok(
        3n * attested >= 2n * snap.total,
        `epoch ${epoch} finalised with ${attested} of ${snap.total} snapshot stake (< 2/3)`,
      );
      assert.equal(total, x.proposals.get(root)?.total, 'finalised total = the proposal total');
      x.final = { root, total };
      emitted += total;
      assert.ok(emitted <= cap, `emission ${emitted} over the cap ${cap}`);
      counts.finalised++;
    }
    for (const s of struck) {
      const x = rec(s.epoch);
      const proposed = [...x.proposals.entries()].find(([, p]) => low(p.proposer) === low(s.proposer));
      assert.ok(proposed !== undefined, `${s.proposer} struck for epoch ${s.epoch} without a proposal`);
      assert.ok(x.final?.root !== proposed[0], 'the proposer of the final root struck');
      if (x.final === undefined) {
        assert.ok(b > (await deadlineOf(s.epoch)), `epoch ${s.epoch} expired before its deadline`);
        x.expiryRecorded = true;
      }
    }
    // Liveness: no root of a non-final epoch holds two thirds.
    if (vote !== undefined) {
      const x = rec(vote.epoch);
      if (x.final === undefined && x.snapshot !== undefined && x.snapshot.total > 0n) {
        for (const root of x.proposals.keys()) {
          assert.ok(
            3n * rootStake(x, root) < 2n * x.snapshot.total,
            `epoch ${vote.epoch}: 2/3 reached, not final`,
          );
        }
      }
    }
  };

  const check = async () => {
    const epochs = [...recs.keys()];
    const [emittedNow, supply, balance, staked, deallocating, unbonding] = await Promise.all([
      rec_.read.totalEmitted(),
      rt.read.totalSupply(),
      rt.read.balanceOf([f.addresses.staking]),
      rs.read.totalStaked(),
      rs.read.totalDeallocating(),
      rs.read.totalUnbonding(),
    ]);
    assert.equal(emittedNow, emitted, 'totalEmitted = sum of final totals');
    assert.ok(emittedNow <= cap, 'totalEmitted <= emissionCap');
    assert.equal(supply, supply0 + minted, 'supply grows by the claims only');
    assert.equal(balance, staked + deallocating + unbonding, 'conservation: balance of Staking');
    const per = await Promise.all(
      epochs.map((e) => {
        const x = recs.get(e) as EpochRec;
        const uids = [
          ...new Set([...x.proposals.values()].flatMap((p) => p.payout.leaves.map((l) => l.uid))),
        ];
        return Promise.all([
          rec_.read.finalRoot([1, e]),
          rec_.read.getEpoch([1, e]),
          Promise.all(uids.map(async (u) => [u, await rec_.read.isClaimed([1, e, u])] as const)),
        ]);
      }),
    );
    epochs.forEach((e, i) => {
      const x = recs.get(e) as EpochRec;
      const [finalRoot, info, claimed] = per[i] as NonNullable<(typeof per)[number]>;
      assert.equal(finalRoot, x.final?.root ?? zeroHash, `epoch ${e} final root`);
      assert.equal(info.status === 3, x.final !== undefined, `epoch ${e} status`);
      if (x.final !== undefined) {
        assert.equal(info.total, x.final.total, `epoch ${e} total`);
        assert.equal(info.claimed, x.claimedSum, `epoch ${e} claimed`);
        assert.ok(info.claimed <= info.total, `epoch ${e}: claimed ${info.claimed} > total ${info.total}`);
      } else assert.equal(info.claimed, 0n, `epoch ${e} claimed while not final`);
      for (const [uid, isClaimed] of claimed)
        assert.equal(isClaimed, x.claimed.has(uid), `epoch ${e} uid ${uid}`);
    });
  };

  /** Sends a write whose refusal cannot be predicted here: a refusal must be a named error and move nothing. */
  const attemptTx = async (send: () => Promise<Hash>): Promise<TransactionReceipt | string> => {
    try {
      return await f.mined(send());
    } catch (err) {
      const got = decodeRevert(err);
      if (got === undefined) throw err;
      return got.name;
    }
  };
  const targetEpoch = async () => {
    const [cur] = await nextTxEpoch(f, startOf);
    const k = r(10);
    const e = k < 7 ? cur - 1n : k === 7 ? cur : k === 8 ? cur - 2n : BigInt(r(Number(cur) + 1));
    return e < 0n ? 0n : e;
  };

  /** Validators of epoch `e`'s snapshot that have not voted on it. */
  const freshVoters = (e: bigint): PrivateKeyAccount[] => {
    const x = recs.get(e);
    return [...(x?.snapshot?.stakes.keys() ?? [])]
      .filter((v) => !x?.votes.has(v))
      .map((v) => net.signer(v as Address));
  };

  await check();
  const lines = await runLogged('epochs', seed, ops, async (_i, log, doing) => {
    const kind = r(100);
    const [cur, b] = await nextTxEpoch(f, startOf);
    if (kind < 11) {
      const blocks = r(10) === 0 ? 10 + r(16) : 1 + r(4);
      await f.mine(blocks);
      log(`mine ${blocks} (epoch ${cur}, block ${b})`);
    } else if (kind < 18) {
      const expected = recs.get(cur)?.snapshot !== undefined ? 'SnapshotTaken' : undefined;
      doing(`snapshot epoch ${cur}`);
      const receipt = await outcome(f, () => ec.write.snapshotValidators([1], { account: f.erin }), expected);
      if (receipt) await apply(receipt);
      log(`snapshot epoch ${cur} -> ${expected ?? 'ok'}`);
    } else if (kind < 48) {
      const e = await targetEpoch();
      // proposerOf needs blockhash(B(e)), which eth_call knows only once B(e) is not the latest block.
      const drawn = await ec.read.proposerOf([1, e]);
      const drawnKnown = b - 1n > (await startOf(e + 1n)) - 1n;
      const k = r(20);
      const fresh = freshVoters(e).filter((v) => (suspendedUntil.get(low(v.address)) ?? 0n) <= e);
      const v =
        drawn !== zeroAddress && k < 8
          ? net.signer(drawn)
          : fresh.length > 0 && k < 16
            ? pick(r, fresh)
            : pick(r, net.validators);
      const total = await ec.read.epochEmission([1, e]);
      const variant = r(10) < 6 ? 0 : 1 + r(2);
      const payout = payoutFor(e, total, variant);
      const bad = r(20);
      const root = bad === 0 ? zeroHash : payout.tree.root;
      const rh = bad === 1 ? keccak256(toHex('other results')) : payout.resultsHash;
      const sentTotal = bad === 2 ? total + 1n : total;
      const expected = bad === 0 ? 'EmptyRoot' : bad === 1 ? 'ResultsHashMismatch' : undefined;
      const send = () => ec.write.propose([1, e, root, rh, sentTotal, payout.results], { account: v });
      const desc = `v${net.validators.indexOf(v)} propose e${e} variant ${variant}${bad < 3 ? ` bad ${bad}` : ''} total ${sentTotal} (drawn v${net.validators.findIndex((x) => x.address === drawn)}, block ${b})`;
      doing(desc);
      if (expected !== undefined) {
        await outcome(f, send, expected);
        log(`${desc} -> ${expected}`);
      } else {
        const res = await attemptTx(send);
        if (typeof res !== 'string') {
          await apply(res, {
            sender: v.address,
            epoch: e,
            root,
            resultsHash: rh,
            total: sentTotal,
            payout,
            drawn: drawnKnown ? drawn : undefined,
          });
        }
        log(`${desc} -> ${typeof res === 'string' ? res : 'ok'}`);
      }
    } else if (kind < 73) {
      // Mostly the open round's epoch (if any), else around the epoch that just ended.
      const open = roundEpoch !== undefined && b <= (await deadlineOf(roundEpoch)) && r(10) < 8;
      const e = open ? (roundEpoch as bigint) : await targetEpoch();
      const x = recs.get(e);
      const fresh = freshVoters(e);
      const v = fresh.length > 0 && r(4) !== 0 ? pick(r, fresh) : pick(r, net.validators);
      const proposed = x === undefined ? [] : [...x.proposals.entries()];
      let root: Hex;
      let rh: Hex;
      const k = r(10);
      if (proposed.length > 0 && k < 8) {
        const leading = x?.leading as Hex;
        const [pr, p] = r(5) < 3 ? [leading, x?.proposals.get(leading)] : pick(r, proposed);
        root = pr;
        rh = p?.resultsHash as Hex;
      } else if (proposed.length > 0 && k === 8) {
        root = pick(r, proposed)[0];
        rh = keccak256(toHex('wrong results'));
      } else {
        root = keccak256(toHex(`never proposed ${r(1_000)}`));
        rh = keccak256(toHex('results'));
      }
      doing(`v${net.validators.indexOf(v)} attest e${e} ${root.slice(0, 10)} (block ${b})`);
      const res = await attemptTx(() => ec.write.attest([1, e, root, rh], { account: v }));
      if (typeof res !== 'string') await apply(res, { sender: v.address, epoch: e, root, resultsHash: rh });
      log(
        `v${net.validators.indexOf(v)} attest e${e} ${root.slice(0, 10)} (block ${b}) -> ${typeof res === 'string' ? res : 'ok'}`,
      );
    } else if (kind < 88) {
      const finals = [...recs.entries()].filter(([, x]) => x.final !== undefined);
      const withProposals = [...recs.entries()].filter(([, x]) => x.proposals.size > 0);
      if (withProposals.length === 0) {
        log('claim: nothing proposed yet');
        return;
      }
      const [e, x] = finals.length > 0 && r(10) !== 0 ? pick(r, finals) : pick(r, withProposals);
      const finalPayout = x.final !== undefined ? x.proposals.get(x.final.root)?.payout : undefined;
      const k = r(10);
      const claimedLeaves = finalPayout?.leaves.filter((l) => x.claimed.has(l.uid)) ?? [];
      let payout: Payout;
      let leaf: EpochLeaf;
      if (k < 2 && claimedLeaves.length > 0 && finalPayout) {
        payout = finalPayout;
        leaf = pick(r, claimedLeaves);
      } else {
        payout = finalPayout && r(5) !== 0 ? finalPayout : pick(r, [...x.proposals.values()]).payout;
        leaf = pick(r, payout.leaves);
      }
      let proof = payout.tree.proof(leaf.uid);
      let amount = leaf.amount;
      let tampered = false;
      if (k === 2) {
        proof = [...proof, keccak256(toHex(`junk ${r(1_000)}`))];
        tampered = true;
      } else if (k === 3) {
        amount += 1n + (r(2) === 0 ? 0n : randBig(r, 200n * SUB));
        tampered = true;
      }
      const toStake = r(4) === 0;
      const coldkey = coldOf.get(low(leaf.account));
      const callerPool = [f.erin.address, ...(coldkey ? [coldkey] : []), leaf.account];
      const caller = accountOf.get(low(pick(r, callerPool))) ?? f.erin;
      const valid = !tampered && x.final !== undefined && payout.tree.root === x.final.root;
      const expected =
        x.final === undefined
          ? 'EpochNotFinalised'
          : x.claimed.has(leaf.uid)
            ? 'AlreadyClaimed'
            : x.claimedSum + amount > x.final.total
              ? 'ClaimExceedsTotal'
              : !valid
                ? 'InvalidProof'
                : leaf.uid === OWNER_UID && toStake
                  ? 'OwnerLeafCannotStake'
                  : leaf.uid !== OWNER_UID && coldkey === undefined
                    ? 'UnknownHotkey'
                    : toStake &&
                        low(caller.address) !== low(leaf.account) &&
                        low(caller.address) !== low(coldkey as Address)
                      ? 'NotHotkeyOrColdkey'
                      : undefined;
      const recipient = leaf.uid === OWNER_UID ? leaf.account : (coldkey ?? zeroAddress);
      const [walletBefore, stakeBefore, supplyBefore] = await Promise.all([
        rt.read.balanceOf([recipient]),
        rs.read.hotkeyStake([1, leaf.account]),
        rt.read.totalSupply(),
      ]);
      const send = () =>
        ec.write.claim([1, e, leaf.uid, leaf.account, amount, proof, toStake], { account: caller });
      doing(
        `claim e${e} uid ${leaf.uid} ${amount}${tampered ? ' tampered' : ''}${toStake ? ' to stake' : ''}`,
      );
      const receipt = await outcome(f, send, expected);
      const [walletAfter, stakeAfter, supplyAfter] = await Promise.all([
        rt.read.balanceOf([recipient]),
        rs.read.hotkeyStake([1, leaf.account]),
        rt.read.totalSupply(),
      ]);
      if (receipt) {
        x.claimed.add(leaf.uid);
        x.claimedSum += amount;
        minted += amount;
        counts.claimed++;
        const [ev] = parseEventLogs({
          abi: epochConsensusAbi,
          logs: receipt.logs,
          eventName: 'EmissionClaimed',
        });
        assert.deepEqual([ev?.args.amount, low(ev?.args.recipient ?? zeroAddress)], [amount, low(recipient)]);
        assert.equal(supplyAfter - supplyBefore, amount, 'a claim mints its amount');
        if (toStake) assert.equal(stakeAfter - stakeBefore, amount, 'a claim to stake credits the hotkey');
        else assert.equal(walletAfter - walletBefore, amount, 'a claim pays the recipient');
      } else {
        if (expected === 'AlreadyClaimed') counts.doubleClaims++;
        assert.deepEqual(
          [walletAfter, stakeAfter, supplyAfter],
          [walletBefore, stakeBefore, supplyBefore],
          'a refused claim moved tokens',
        );
      }
      log(
        `claim e${e} uid ${leaf.uid} ${amount}${tampered ? ' tampered' : ''}${toStake ? ' to stake' : ''} -> ${expected ?? 'ok'}`,
      );
    } else if (kind < 94) {
      const e = roundEpoch !== undefined && r(4) !== 0 ? roundEpoch : await targetEpoch();
      const x = recs.get(e);
      const expected =
        roundEpoch === undefined || e !== roundEpoch
          ? 'NoProposal'
          : x?.final !== undefined || x?.expiryRecorded || b <= (await deadlineOf(e))
            ? 'NotExpired'
            : undefined;
      doing(`recordExpiry e${e} (block ${b}), expecting ${expected ?? 'ok'}`);
      const receipt = await outcome(f, () => ec.write.recordExpiry([1, e], { account: f.frank }), expected);
      if (receipt) await apply(receipt);
      log(`recordExpiry e${e} (block ${b}) -> ${expected ?? 'ok'}`);
    } else {
      // Moves a validator's stake (later snapshots see it; earlier ones must not change).
      const i = r(net.validators.length);
      const v = net.validators[i] as PrivateKeyAccount;
      const cold = net.coldkeys[i] as PrivateKeyAccount;
      const held = await f.staking.read.allocation([cold.address, 1, v.address]);
      if (r(2) === 0 && held > 0n) {
        const amount = 1n + randBig(r, held);
        await f.mined(f.staking.write.deallocate([1, v.address, amount], { account: cold }));
        log(`v${i} deallocates ${amount} of ${held}`);
      } else {
        const amount = BigInt(1 + r(1_500)) * SUB;
        await f.mined(f.staking.write.stake([amount], { account: cold }));
        await f.mined(f.staking.write.allocate([1, v.address, amount], { account: cold }));
        log(`v${i} allocates ${amount} more`);
      }
    }
    await check();
  });
  assert.ok(counts.finalised >= 1, `no epoch was finalised: ${show(counts)}`);
  assert.ok(counts.claimed >= 1, `nothing was claimed: ${show(counts)}`);
  console.log(`epoch seed ${seed}: ${ops} ops, ${show(counts)}`);
  if (process.env.INVARIANT_LOG !== undefined) console.log(lines.join('\n'));
  return lines;
}

describe('Invariants: epoch consensus (random operations)', () => {
  const fx = useFixture({
    subnet: epochHyperparams,
    deploy: { emission: { ratePerBlock: RATE, halvingInterval: 10n ** 12n, emissionCap: EMISSION_CAP } },
  });
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${OPS} operations never finalise below 2/3 of snapshot stake nor pay a leaf twice`, async () => {
      await runEpochs(fx(), seed, OPS);
    });
  }
});
