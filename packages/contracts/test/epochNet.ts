/**
 * A devnet-sized subnet for the EpochConsensus tests: subnet 1 with three validators (signing hotkeys,
 * equal stake, all permitted) and miners, plus helpers that build an epoch's payout tree and results the
 * way docs/epoch.md lays them out and propose it from the drawn proposer.
 */
import { type Address, type Hex, type TransactionReceipt, zeroAddress } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import {
  buildEpochTree,
  type EpochLeaf,
  type EpochTree,
  encodeResults,
  OWNER_UID,
  type ResultEntry,
  resultsHash,
} from '../src/epoch.js';
import { defaultHyperparams, type Fixture, hotkeyAccount, MULTIADDR, peerIdOf, SUB } from './fixture.js';

/** Hyperparameters of the test subnet: tempo 10 (so the drawn proposer alone has 2 blocks), 3 permits. */
export const epochHyperparams = { ...defaultHyperparams, maxAllowedUids: 16, maxValidators: 3 };

/** Miner hotkeys (addresses only: miners never sign here; {@link peerIdOf} knows their peer ids). */
export const minerHotkey = (i: number): Address => hotkeyAccount(`epoch-miner-${i}`).address;

export interface EpochNet {
  /** Validator hotkeys (signing), uids 0.. by registration order. */
  validators: PrivateKeyAccount[];
  /** Their coldkeys. */
  coldkeys: PrivateKeyAccount[];
  /** Miner hotkeys, uids after the validators. */
  miners: Address[];
  /** Every neuron by uid: hotkey and coldkey. */
  neurons: { uid: number; hotkey: Address; coldkey: Address }[];
  /** The validator account of a hotkey. */
  signer(hotkey: Address): PrivateKeyAccount;
}

/** Registers `validatorCount` validators (1000 SUB stake each unless `stakes` says) and `minerCount` miners. */
export async function setUpEpochNet(
  f: Fixture,
  opts: { validatorCount?: number; minerCount?: number; stakes?: bigint[] } = {},
): Promise<EpochNet> {
  const { staking, neurons, mined, accounts, alice, bob, carol, dave } = f;
  const validatorCount = opts.validatorCount ?? 3;
  const minerCount = opts.minerCount ?? 4;
  const coldkeyPool = [alice, bob, carol];
  // Fixture accounts 8..11, then fresh hotkeys funded with ETH (for 64-validator subnets).
  const validators = Array.from({ length: validatorCount }, (_, i) => {
    const fixed = accounts[8 + i];
    return fixed !== undefined ? fixed : hotkeyAccount(`epoch-validator-${i}`);
  });
  for (const v of validators.slice(accounts.length - 8)) {
    await f.testClient.setBalance({ address: v.address, value: 10n ** 21n });
  }
  const coldkeys = validators.map((_, i) => coldkeyPool[i % coldkeyPool.length] as PrivateKeyAccount);
  const out: EpochNet['neurons'] = [];
  for (let i = 0; i < validatorCount; i++) {
    const hot = validators[i] as PrivateKeyAccount;
    const cold = coldkeys[i] as PrivateKeyAccount;
    const stake = opts.stakes?.[i] ?? 1_000n * SUB;
    await mined(staking.write.stake([stake], { account: cold }));
    await mined(staking.write.allocate([1, hot.address, stake], { account: cold }));
    await mined(
      neurons.write.registerNeuron(
        [1, hot.address, true, peerIdOf(hot), MULTIADDR, '', await f.consent(hot.address, cold)],
        { account: cold },
      ),
    );
    out.push({ uid: out.length, hotkey: hot.address, coldkey: cold.address });
  }
  const miners = Array.from({ length: minerCount }, (_, i) => minerHotkey(i));
  for (const hot of miners) {
    await mined(
      neurons.write.registerNeuron(
        [1, hot, false, peerIdOf(hot), MULTIADDR, '', await f.consent(hot, dave)],
        { account: dave },
      ),
    );
    out.push({ uid: out.length, hotkey: hot, coldkey: dave.address });
  }
  const byHotkey = new Map(validators.map((v) => [v.address.toLowerCase(), v]));
  return {
    validators,
    coldkeys,
    miners,
    neurons: out,
    signer: (hotkey) => {
      const v = byHotkey.get(hotkey.toLowerCase());
      if (v === undefined) throw new Error(`no validator signer for ${hotkey}`);
      return v;
    },
  };
}

export interface EpochPayout {
  leaves: EpochLeaf[];
  tree: EpochTree;
  results: Hex;
  resultsHash: Hex;
  total: bigint;
}

/**
 * The payout of an epoch: every neuron gets `total / 10` (the last ones nothing when that runs out), the owner
 * leaf the rest, so the leaves sum to `total`; results carry made-up u16 values and the amounts.
 */
export function buildPayout(net: EpochNet, owner: Address, epoch: bigint, total: bigint): EpochPayout {
  const share = total / 10n;
  const leaves: EpochLeaf[] = [];
  const entries: ResultEntry[] = [];
  let left = total;
  for (const n of net.neurons) {
    const amount = share <= left ? share : 0n;
    left -= amount;
    if (amount > 0n) leaves.push({ uid: n.uid, account: n.hotkey, amount });
    entries.push({
      uid: n.uid,
      incentive: (n.uid * 7919) % 65_536,
      dividends: (n.uid * 104_729) % 65_536,
      trust: 65_535 - n.uid,
      consensus: n.uid,
      amount,
    });
  }
  if (left > 0n) leaves.push({ uid: OWNER_UID, account: owner, amount: left });
  const results = encodeResults(entries);
  return {
    leaves,
    tree: buildEpochTree(1, epoch, leaves),
    results,
    resultsHash: resultsHash(results),
    total,
  };
}

/** `EpochConsensus.claim`'s arguments for the leaf of `uid` in `tree` (subnet 1), with its proof. */
export function claimArgs(
  tree: EpochTree,
  epoch: bigint,
  uid: number,
  toStake = false,
): readonly [number, bigint, number, Address, bigint, Hex[], boolean] {
  const leaf = tree.leaf(uid);
  if (leaf === undefined) throw new Error(`no leaf for uid ${uid}`);
  return [1, epoch, uid, leaf.account, leaf.amount, tree.proof(uid), toStake];
}

/** Takes epoch `epoch`'s validator snapshot (as the epoch agents do early in each epoch) when it is the
 *  current epoch and none was taken yet. */
export async function snapshotIfDue(f: Fixture, epoch: bigint): Promise<void> {
  const ec = f.epochConsensus;
  if ((await f.subnets.read.currentEpoch([1])) !== epoch) return;
  const [taken] = await ec.read.getSnapshot([1, epoch]);
  if (!taken) await f.mined(ec.write.snapshotValidators([1], { account: f.erin }));
}

/** Mines to the block where the next transaction lands at `S(epoch + 1) + offset` (offset 1: the drawn
 *  proposer's window, with `blockhash(B(e))` already known to eth_call), taking the epoch's validator
 *  snapshot first while the epoch runs. */
export async function goToProposal(f: Fixture, epoch: bigint, offset = 1n): Promise<bigint> {
  await snapshotIfDue(f, epoch);
  const info = await f.epochConsensus.read.getEpoch([1, epoch]);
  await f.nextTxAt(info.endBlock + offset);
  return info.endBlock;
}

/** Proposes `epoch` from the drawn proposer with the correct total; returns the payout and the receipt. */
export async function proposeEpoch(
  f: Fixture,
  net: EpochNet,
  epoch: bigint,
  opts: { not?: readonly string[] } = {},
): Promise<EpochPayout & { proposer: PrivateKeyAccount; receipt: TransactionReceipt }> {
  await goToProposal(f, epoch);
  const total = await f.epochConsensus.read.epochEmission([1, epoch]);
  const payout = buildPayout(net, f.owner.address, epoch, total);
  const drawn = await f.epochConsensus.read.proposerOf([1, epoch]);
  // Nobody drawn (no snapshot during the epoch, or the drawn one suspended since): any validator not suspended
  // (nor in `opts.not`).
  let proposer: PrivateKeyAccount | undefined;
  if (drawn !== zeroAddress) proposer = net.signer(drawn);
  else {
    for (const v of net.validators) {
      // `not`: validators the caller knows will be suspended by this very call (an expiry it records).
      if (opts.not?.includes(v.address)) continue;
      if ((await f.epochConsensus.read.suspendedUntil([1, v.address])) <= epoch) {
        proposer = v;
        break;
      }
    }
  }
  if (proposer === undefined) throw new Error(`no validator may propose epoch ${epoch}`);
  const receipt = await f.mined(
    f.epochConsensus.write.propose([1, epoch, payout.tree.root, payout.resultsHash, total, payout.results], {
      account: proposer,
    }),
  );
  return { ...payout, proposer, receipt };
}

/** The validators other than `proposer`. */
export function attesters(net: EpochNet, proposer: PrivateKeyAccount): PrivateKeyAccount[] {
  return net.validators.filter((v) => v.address !== proposer.address);
}
