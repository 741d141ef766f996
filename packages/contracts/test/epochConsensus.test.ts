import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeAbiParameters,
  getAddress,
  type Hex,
  keccak256,
  parseEventLogs,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem';
import {
  buildEpochTree,
  decodeResults,
  encodeResults,
  epochLeafHash,
  OWNER_UID,
  resultsHash,
} from '../src/epoch.js';
import { epochConsensusAbi, neuronRegistryAbi } from '../src/generated/index.js';
import {
  attesters,
  buildPayout,
  claimArgs,
  type EpochNet,
  epochHyperparams,
  goToProposal,
  minerHotkey,
  proposeEpoch,
  setUpEpochNet,
  snapshotIfDue,
} from './epochNet.js';
import { expectRevert, type Fixture, MULTIADDR, peerIdOf, SUB, useFixture } from './fixture.js';

const STATUS = { Open: 0, Awaiting: 1, Proposed: 2, Finalised: 3, Expired: 4 } as const;

/** Everything a rejected call must leave as it was. */
async function stateOf(f: Fixture, net: EpochNet, epoch: bigint): Promise<string> {
  const ec = f.epochConsensus;
  const accounts = [
    ...net.neurons.map((n) => n.coldkey),
    f.owner.address,
    f.addresses.staking,
    ...net.validators.map((v) => v.address),
  ];
  const snapshot = {
    epoch: await ec.read.getEpoch([1, epoch]),
    next: await ec.read.getEpoch([1, epoch + 1n]),
    supply: await f.token.read.totalSupply(),
    balances: await Promise.all(accounts.map((a) => f.token.read.balanceOf([a]))),
    stakes: await Promise.all(net.neurons.map((n) => f.staking.read.hotkeyStake([1, n.hotkey]))),
    emitted: await ec.read.totalEmitted(),
    settled: await ec.read.settledEpoch([1]),
    claimed: await Promise.all(net.neurons.map((n) => ec.read.isClaimed([1, epoch, n.uid]))),
    attested: await Promise.all(net.validators.map((v) => ec.read.hasAttested([1, epoch, v.address]))),
    strikes: await Promise.all(net.validators.map((v) => ec.read.strikes([1, v.address]))),
  };
  return JSON.stringify(snapshot, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/** Asserts `call` reverts with `name` and leaves the state as it was. */
async function rejects(
  f: Fixture,
  net: EpochNet,
  epoch: bigint,
  call: () => Promise<unknown>,
  name: string,
  args?: readonly unknown[],
): Promise<void> {
  const before = await stateOf(f, net, epoch);
  await expectRevert(call(), name, args);
  assert.equal(await stateOf(f, net, epoch), before, `${name} changed state`);
}

/** The schedule `ratePerBlock >> floor(b / interval)` summed over blocks [from, to), one block at a time. */
function referenceEmission(rate: bigint, interval: bigint, from: bigint, to: bigint): bigint {
  let sum = 0n;
  for (let b = from; b < to; b++) sum += rate >> (b / interval);
  return sum;
}

describe('EpochConsensus', () => {
  const fx = useFixture({ subnet: epochHyperparams });

  it('proposes, finalises at two thirds of the stake, and pays claims to the coldkey or to stake', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Open);
    await goToProposal(f, epoch);
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Awaiting);
    const registeredAt = await f.subnets.read.epochStartBlock([1, 0n]);
    const end = (await ec.read.getEpoch([1, epoch])).endBlock;
    assert.equal(await ec.read.epochEmission([1, epoch]), (end - registeredAt) * SUB);

    const p = await proposeEpoch(f, net, epoch);
    const [proposed] = parseEventLogs({
      abi: epochConsensusAbi,
      logs: p.receipt.logs,
      eventName: 'EpochProposed',
    });
    assert.equal(proposed?.args.root, p.tree.root);
    assert.equal(proposed?.args.results, p.results);
    assert.equal(proposed?.args.total, p.total);
    assert.deepEqual(decodeResults(proposed?.args.results as Hex).length, net.neurons.length);
    let info = await ec.read.getEpoch([1, epoch]);
    assert.equal(info.status, STATUS.Proposed);
    assert.equal(info.proposer, p.proposer.address);
    assert.equal(info.resultsHash, p.resultsHash);
    assert.equal(info.totalValidatorStake, 3_000n * SUB);
    assert.equal(info.attestedStake, 1_000n * SUB);
    assert.equal(await ec.read.hasAttested([1, epoch, p.proposer.address]), true);

    // Claims wait for finality.
    const leaf = p.tree.leaves[0];
    assert.ok(leaf !== undefined);
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.claim(claimArgs(p.tree, epoch, leaf.uid), { account: f.erin }),
      'EpochNotFinalised',
    );

    const [first, second] = attesters(net, p.proposer);
    assert.ok(first !== undefined && second !== undefined);
    const attest = await f.mined(ec.write.attest([1, epoch, p.tree.root, p.resultsHash], { account: first }));
    const events = parseEventLogs({ abi: epochConsensusAbi, logs: attest.logs });
    assert.deepEqual(
      events.map((e) => e.eventName),
      ['EpochAttested', 'EpochFinalised'],
    );
    info = await ec.read.getEpoch([1, epoch]);
    assert.equal(info.status, STATUS.Finalised);
    assert.equal(info.attestedStake, 2_000n * SUB);
    assert.equal(await ec.read.totalEmitted(), p.total);
    assert.equal(await ec.read.settledEpoch([1]), epoch + 1n);
    assert.equal(await ec.read.settledUntil([1]), info.endBlock);
    assert.equal(await ec.read.epochEmission([1, epoch]), p.total);
    // A late supporter may still attest before the deadline; it does not finalise twice.
    const extra = await f.mined(ec.write.attest([1, epoch, p.tree.root, p.resultsHash], { account: second }));
    assert.deepEqual(
      parseEventLogs({ abi: epochConsensusAbi, logs: extra.logs }).map((e) => e.eventName),
      ['EpochAttested'],
    );

    // A miner's leaf, claimed by anyone, is minted to its coldkey.
    const miner = p.tree.leaves.find((l) => l.uid === 3);
    assert.ok(miner !== undefined);
    const dave0 = await f.token.read.balanceOf([f.dave.address]);
    const supply0 = await f.token.read.totalSupply();
    const claim = await f.mined(ec.write.claim(claimArgs(p.tree, epoch, miner.uid), { account: f.erin }));
    const [claimed] = parseEventLogs({
      abi: epochConsensusAbi,
      logs: claim.logs,
      eventName: 'EmissionClaimed',
    });
    assert.equal(claimed?.args.recipient, f.dave.address);
    assert.equal(await f.token.read.balanceOf([f.dave.address]), dave0 + miner.amount);
    assert.equal(await f.token.read.totalSupply(), supply0 + miner.amount);
    assert.equal(await ec.read.isClaimed([1, epoch, miner.uid]), true);
    assert.equal((await ec.read.getEpoch([1, epoch])).claimed, miner.amount);

    // Double claim, bad proof, a proof of another leaf.
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.claim(claimArgs(p.tree, epoch, miner.uid), { account: f.erin }),
      'AlreadyClaimed',
      [1, epoch, miner.uid],
    );
    const other = p.tree.leaves.find((l) => l.uid === 4);
    assert.ok(other !== undefined);
    await rejects(
      f,
      net,
      epoch,
      () =>
        ec.write.claim(
          [1, epoch, other.uid, other.account, other.amount + 1n, p.tree.proof(other.uid), false],
          {
            account: f.erin,
          },
        ),
      'InvalidProof',
    );
    await rejects(
      f,
      net,
      epoch,
      () =>
        ec.write.claim([1, epoch, other.uid, other.account, other.amount, p.tree.proof(miner.uid), false], {
          account: f.erin,
        }),
      'InvalidProof',
    );

    // A validator's leaf to stake: only its hotkey or coldkey may.
    const vLeaf = p.tree.leaves.find((l) => l.uid === 0);
    assert.ok(vLeaf !== undefined);
    const vHot = net.validators[0];
    const vCold = net.coldkeys[0];
    assert.ok(vHot !== undefined && vCold !== undefined);
    const stakeClaim = claimArgs(p.tree, epoch, vLeaf.uid, true);
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.claim(stakeClaim, { account: f.erin }),
      'NotHotkeyOrColdkey',
      [f.erin.address],
    );
    const stake0 = await f.staking.read.hotkeyStake([1, vHot.address]);
    const alloc0 = await f.staking.read.allocation([vCold.address, 1, vHot.address]);
    const total0 = await f.staking.read.totalStaked();
    const cold0 = await f.token.read.balanceOf([vCold.address]);
    await f.mined(ec.write.claim(stakeClaim, { account: vHot }));
    assert.equal(await f.staking.read.hotkeyStake([1, vHot.address]), stake0 + vLeaf.amount);
    assert.equal(await f.staking.read.allocation([vCold.address, 1, vHot.address]), alloc0 + vLeaf.amount);
    assert.equal(await f.staking.read.totalStaked(), total0 + vLeaf.amount);
    assert.equal(await f.token.read.balanceOf([vCold.address]), cold0);
    assert.equal(
      await f.token.read.balanceOf([f.addresses.staking]),
      (await f.staking.read.totalStaked()) + (await f.staking.read.totalUnbonding()),
    );

    // The owner leaf pays the owner and cannot go to stake.
    const ownerLeaf = p.tree.leaf(OWNER_UID);
    assert.ok(ownerLeaf !== undefined);
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.claim(claimArgs(p.tree, epoch, OWNER_UID, true), { account: f.owner }),
      'OwnerLeafCannotStake',
    );
    const owner0 = await f.token.read.balanceOf([f.owner.address]);
    await f.mined(ec.write.claim(claimArgs(p.tree, epoch, OWNER_UID), { account: f.erin }));
    assert.equal(await f.token.read.balanceOf([f.owner.address]), owner0 + ownerLeaf.amount);

    // Every leaf claimed: the whole total, no more.
    for (const l of p.tree.leaves) {
      if (await ec.read.isClaimed([1, epoch, l.uid])) continue;
      await f.mined(ec.write.claim(claimArgs(p.tree, epoch, l.uid), { account: f.erin }));
    }
    assert.equal((await ec.read.getEpoch([1, epoch])).claimed, p.total);
  });

  it('rejects wrong, duplicate, late and unpermitted attestations', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    // Stakes 1000/1000/2000: one attester of 1000 does not reach two thirds with a 1000 proposer.
    const net = await setUpEpochNet(f, { stakes: [1_000n * SUB, 1_000n * SUB, 2_000n * SUB] });
    const epoch = await f.subnets.read.currentEpoch([1]);
    await goToProposal(f, epoch);
    // Make sure the drawn proposer is not the 2000 validator: propose after the exclusive window from uid 0.
    await goToProposal(f, epoch, 3n);
    const total = await ec.read.epochEmission([1, epoch]);
    const payout = buildPayout(net, f.owner.address, epoch, total);
    const [v0, v1, v2] = net.validators;
    assert.ok(v0 !== undefined && v1 !== undefined && v2 !== undefined);
    await f.mined(
      ec.write.propose([1, epoch, payout.tree.root, payout.resultsHash, total, payout.results], {
        account: v0,
      }),
    );
    const args = [1, epoch, payout.tree.root, payout.resultsHash] as const;

    await rejects(f, net, epoch, () => ec.write.attest(args, { account: v0 }), 'ProposerCannotAttest', [
      v0.address,
    ]);
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.attest([1, epoch, keccak256(toHex('other')), payout.resultsHash], { account: v1 }),
      'WrongRoot',
      [payout.tree.root, payout.resultsHash],
    );
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.attest([1, epoch, payout.tree.root, zeroHash], { account: v1 }),
      'WrongRoot',
    );
    await rejects(f, net, epoch, () => ec.write.attest(args, { account: f.erin }), 'NotPermittedValidator', [
      1,
      f.erin.address,
    ]);
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.attest([1, epoch + 1n, args[2], args[3]], { account: v1 }),
      'NoProposal',
    );

    await f.mined(ec.write.attest(args, { account: v1 }));
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Proposed);
    assert.equal(await ec.read.hasAttested([1, epoch, v1.address]), true);
    await rejects(f, net, epoch, () => ec.write.attest(args, { account: v1 }), 'AlreadyAttested', [
      1,
      epoch,
      v1.address,
    ]);

    const { deadline } = await ec.read.getEpoch([1, epoch]);
    await f.nextTxAt(deadline + 1n);
    await rejects(f, net, epoch, () => ec.write.attest(args, { account: v2 }), 'AttestationClosed', [
      1,
      epoch,
      deadline,
    ]);
    await f.mine(1);
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Expired);
  });

  it('accepts a proposal only in its window, from the drawn proposer first, with the exact total', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    const info = await ec.read.getEpoch([1, epoch]);
    const early = buildPayout(net, f.owner.address, epoch, 1n);
    const v0 = net.validators[0];
    assert.ok(v0 !== undefined);
    await rejects(
      f,
      net,
      epoch,
      () =>
        ec.write.propose([1, epoch, early.tree.root, early.resultsHash, 1n, early.results], { account: v0 }),
      'EpochNotEnded',
      [epoch, info.endBlock],
    );

    await goToProposal(f, epoch);
    const total = await ec.read.epochEmission([1, epoch]);
    const p = buildPayout(net, f.owner.address, epoch, total);
    const drawn = net.signer(await ec.read.proposerOf([1, epoch]));
    const notDrawn = net.validators.find((v) => v.address !== drawn.address);
    assert.ok(notDrawn !== undefined);
    const args = [1, epoch, p.tree.root, p.resultsHash, total, p.results] as const;
    assert.equal(info.exclusiveUntil, info.endBlock + 1n); // max(1, 10 / 4) = 2 blocks
    await rejects(f, net, epoch, () => ec.write.propose(args, { account: notDrawn }), 'NotDrawnProposer', [
      notDrawn.address,
      drawn.address,
      info.exclusiveUntil,
    ]);
    await rejects(f, net, epoch, () => ec.write.propose(args, { account: f.erin }), 'NotPermittedValidator');
    await rejects(
      f,
      net,
      epoch,
      () =>
        ec.write.propose([1, epoch, p.tree.root, p.resultsHash, total + 1n, p.results], { account: drawn }),
      'WrongTotal',
      [total, total + 1n],
    );
    await rejects(
      f,
      net,
      epoch,
      () =>
        ec.write.propose([1, epoch, p.tree.root, p.resultsHash, total, `${p.results}00`], { account: drawn }),
      'MalformedResults',
    );
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.propose([1, epoch, p.tree.root, zeroHash, total, p.results], { account: drawn }),
      'ResultsHashMismatch',
    );
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.propose([1, epoch, zeroHash, p.resultsHash, total, p.results], { account: drawn }),
      'EmptyRoot',
    );

    // After the exclusive window any permitted validator may.
    await f.nextTxAt(info.exclusiveUntil + 1n);
    await f.mined(ec.write.propose(args, { account: notDrawn }));
    await rejects(f, net, epoch, () => ec.write.propose(args, { account: drawn }), 'AlreadyProposed', [
      1,
      epoch,
    ]);

    // The window of an epoch closes at its deadline.
    const later = epoch + 1n;
    const laterInfo = await ec.read.getEpoch([1, later]);
    await f.nextTxAt(laterInfo.deadline + 1n);
    const q = buildPayout(net, f.owner.address, later, 1n);
    await rejects(
      f,
      net,
      later,
      () => ec.write.propose([1, later, q.tree.root, q.resultsHash, 1n, q.results], { account: drawn }),
      'ProposalWindowClosed',
      [later, laterInfo.deadline],
    );
  });

  it('expires an unattested proposal: the emission rolls over and the proposer is struck and suspended', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    const p = await proposeEpoch(f, net, epoch);
    const info = await ec.read.getEpoch([1, epoch]);
    await f.nextTxAt(info.deadline + 2n);
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Expired);

    // The next epoch's emission runs from the subnet's registration: the expired epoch rolls over.
    const next = epoch + 1n;
    const registeredAt = await f.subnets.read.epochStartBlock([1, 0n]);
    const nextEnd = (await ec.read.getEpoch([1, next])).endBlock;
    assert.equal(await ec.read.epochEmission([1, next]), (nextEnd - registeredAt) * SUB);
    assert.equal(await ec.read.settledEpoch([1]), 0n);

    // The struck proposer is out of the draw for the next 4 epochs, before and after the expiry is recorded.
    for (let e = next; e < next + 4n; e++) {
      assert.notEqual(await ec.read.proposerOf([1, e]), p.proposer.address, `drawn for epoch ${e}`);
    }
    // This proposal records the expiry first, which suspends the struck proposer: it must not be the one sending.
    const q = await proposeEpoch(f, net, next, { not: [p.proposer.address] });
    const [expired] = parseEventLogs({
      abi: epochConsensusAbi,
      logs: q.receipt.logs,
      eventName: 'EpochExpired',
    });
    assert.equal(expired?.args.proposer, p.proposer.address);
    assert.equal(expired?.args.epoch, epoch);
    assert.equal(await ec.read.strikes([1, p.proposer.address]), 1);
    assert.equal(await ec.read.suspendedUntil([1, p.proposer.address]), epoch + 5n);
    assert.equal(q.total, (nextEnd - registeredAt) * SUB);
    for (let e = next + 1n; e < next + 4n; e++) {
      assert.notEqual(await ec.read.proposerOf([1, e]), p.proposer.address, `drawn for epoch ${e}`);
    }
    // Claims of the expired epoch are refused.
    const leaf = p.tree.leaves[0];
    assert.ok(leaf !== undefined);
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.claim(claimArgs(p.tree, epoch, leaf.uid), { account: f.erin }),
      'EpochNotFinalised',
    );
    // After finalising the next one, emission is settled from its end.
    const [a] = attesters(net, q.proposer);
    assert.ok(a !== undefined);
    await f.mined(ec.write.attest([1, next, q.tree.root, q.resultsHash], { account: a }));
    assert.equal(await ec.read.settledUntil([1]), nextEnd);
    assert.equal(await ec.read.totalEmitted(), q.total);
  });

  it('a tempo change during a round moves no deadline: the honest proposer is not struck', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    const p = await proposeEpoch(f, net, epoch);
    const before = await ec.read.getEpoch([1, epoch]);
    assert.equal(before.status, STATUS.Proposed);
    // Early in epoch + 1 (the round's attestation window), the owner cuts the tempo from 10 to 2 blocks.
    await f.mined(
      f.subnets.write.setHyperparams([1, { ...epochHyperparams, tempo: 2n }], { account: f.owner }),
    );
    assert.equal(await f.subnets.read.currentEpoch([1]), epoch + 1n);
    const after = await ec.read.getEpoch([1, epoch]);
    assert.equal(after.deadline, before.deadline);
    assert.equal(await f.subnets.read.epochStartBlock([1, epoch + 2n]), before.deadline + 1n);
    assert.equal(await f.subnets.read.epochStartBlock([1, epoch + 3n]), before.deadline + 3n);
    // Nobody can propose epoch + 1 (and so record the round as expired) before its old end.
    const early = buildPayout(net, f.owner.address, epoch + 1n, p.total);
    const [other] = attesters(net, p.proposer);
    assert.ok(other !== undefined);
    await expectRevert(
      ec.write.propose([1, epoch + 1n, early.tree.root, early.resultsHash, p.total, early.results], {
        account: other,
      }),
      'EpochNotEnded',
    );
    // An attestation on the round's last block still counts and finalises it; the proposer has no strike.
    await f.nextTxAt(before.deadline);
    const receipt = await f.mined(
      ec.write.attest([1, epoch, p.tree.root, p.resultsHash], { account: other }),
    );
    assert.equal(receipt.blockNumber, before.deadline);
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Finalised);
    assert.equal(await ec.read.strikes([1, p.proposer.address]), 0);
    // From epoch + 2 on the new tempo applies.
    await f.mine(1);
    assert.equal((await f.subnets.read.getHyperparams([1])).tempo, 2n);
  });

  it('records an expiry through recordExpiry, once and only after the deadline', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    const p = await proposeEpoch(f, net, epoch);
    await rejects(f, net, epoch, () => ec.write.recordExpiry([1, epoch], { account: f.erin }), 'NotExpired', [
      1,
      epoch,
    ]);
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.recordExpiry([1, epoch + 1n], { account: f.erin }),
      'NoProposal',
    );
    const { deadline } = await ec.read.getEpoch([1, epoch]);
    await f.nextTxAt(deadline + 1n);
    const receipt = await f.mined(ec.write.recordExpiry([1, epoch], { account: f.erin }));
    assert.equal(
      parseEventLogs({ abi: epochConsensusAbi, logs: receipt.logs, eventName: 'EpochExpired' }).length,
      1,
    );
    assert.equal(await ec.read.strikes([1, p.proposer.address]), 1);
    await rejects(f, net, epoch, () => ec.write.recordExpiry([1, epoch], { account: f.erin }), 'NotExpired');
    // The next proposal does not strike it again.
    const q = await proposeEpoch(f, net, epoch + 1n);
    assert.equal(
      parseEventLogs({ abi: epochConsensusAbi, logs: q.receipt.logs, eventName: 'EpochExpired' }).length,
      0,
    );
    assert.equal(await ec.read.strikes([1, p.proposer.address]), 1);
  });

  it('finalises at once when the proposer alone holds two thirds', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f, { validatorCount: 1 });
    const epoch = await f.subnets.read.currentEpoch([1]);
    const p = await proposeEpoch(f, net, epoch);
    assert.deepEqual(
      parseEventLogs({ abi: epochConsensusAbi, logs: p.receipt.logs }).map((e) => e.eventName),
      ['EpochProposed', 'EpochFinalised'],
    );
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Finalised);
    assert.equal(await ec.read.totalEmitted(), p.total);
  });

  it('lets only the rewarder credit stake, and only the owner set the rewarder', async () => {
    const f = fx();
    assert.equal(await f.staking.read.rewarder(), f.addresses.epochConsensus);
    await expectRevert(
      f.staking.write.creditStake([f.alice.address, 1, f.bob.address, 1n], { account: f.alice }),
      'NotRewarder',
      [f.alice.address],
    );
    await expectRevert(
      f.staking.write.setRewarder([f.alice.address], { account: f.alice }),
      'OwnableUnauthorizedAccount',
    );
    assert.equal(await f.staking.read.hotkeyStake([1, f.bob.address]), 0n);
    assert.equal(await f.token.read.isMinter([f.addresses.epochConsensus]), true);
    assert.equal(await f.neurons.read.emissionManager(), f.addresses.epochConsensus);
  });

  it('lets only the subnet owner set the Yuma version (2 or 3)', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    assert.equal(await ec.read.yumaVersion([1]), 3);
    await expectRevert(ec.write.setYumaVersion([1, 2], { account: f.alice }), 'NotSubnetOwner', [
      1,
      f.alice.address,
    ]);
    await expectRevert(ec.write.setYumaVersion([1, 4], { account: f.owner }), 'InvalidYumaVersion', [4]);
    await expectRevert(ec.write.setYumaVersion([2, 2], { account: f.owner }), 'SubnetNotFound', [2]);
    assert.equal(await ec.read.yumaVersion([1]), 3);
    const receipt = await f.mined(ec.write.setYumaVersion([1, 2], { account: f.owner }));
    const [set] = parseEventLogs({ abi: epochConsensusAbi, logs: receipt.logs, eventName: 'YumaVersionSet' });
    assert.equal(set?.args.version, 2);
    assert.equal(await ec.read.yumaVersion([1]), 2);
  });

  it('verifies a one-leaf tree (root = leaf, empty proof) on chain', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f, { validatorCount: 1, minerCount: 0 });
    const epoch = await f.subnets.read.currentEpoch([1]);
    await goToProposal(f, epoch);
    const total = await ec.read.epochEmission([1, epoch]);
    const v = net.validators[0];
    assert.ok(v !== undefined);
    const tree = buildEpochTree(1, epoch, [{ uid: 0, account: v.address, amount: total }]);
    assert.equal(tree.root, epochLeafHash({ netuid: 1, epoch, uid: 0, account: v.address, amount: total }));
    assert.deepEqual(tree.proof(0), []);
    const results = encodeResults([
      { uid: 0, incentive: 0, dividends: 65_535, trust: 0, consensus: 0, amount: total },
    ]);
    await f.mined(
      ec.write.propose([1, epoch, tree.root, resultsHash(results), total, results], { account: v }),
    );
    const cold = net.coldkeys[0];
    assert.ok(cold !== undefined);
    const before = await f.token.read.balanceOf([cold.address]);
    await f.mined(ec.write.claim([1, epoch, 0, v.address, total, [], false], { account: f.erin }));
    assert.equal(await f.token.read.balanceOf([cold.address]), before + total);
  });
});

/** Every neuron's recorded emission (the pruning score), by uid; null for a uid no neuron holds. */
async function recordedEmissions(f: Fixture, count: number): Promise<(bigint | null)[]> {
  const neurons = await f.neurons.read.getSubnetNeurons([1]);
  const byUid = new Map(neurons.map((n) => [n.uid, n.emission]));
  return Array.from({ length: count }, (_, uid) => byUid.get(uid) ?? null);
}

describe('EpochConsensus results recording', () => {
  const fx = useFixture({ subnet: epochHyperparams });

  it('records a final epoch’s amounts as the neurons’ emissions, skipping uids re-registered since', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f); // validators 0..2, miners 3..6
    const epoch = await f.subnets.read.currentEpoch([1]);
    const p = await proposeEpoch(f, net, epoch);
    const amounts = decodeResults(p.results).map((r) => r.amount);
    assert.equal(amounts.length, 7);
    assert.ok(amounts.every((a) => a > 0n));
    const zeros = [0n, 0n, 0n, 0n, 0n, 0n, 0n];
    // Proposed, not final yet: nothing to record.
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.recordResults([1, epoch, p.results], { account: f.erin }),
      'EpochNotFinalised',
      [1, epoch],
    );
    assert.deepEqual(await recordedEmissions(f, 7), zeros);

    // After the epoch ended: uid 5 leaves, uid 6's miner is replaced by a newcomer (same uid).
    await f.mined(f.neurons.write.deregisterNeuron([1, 5], { account: f.dave }));
    await f.mined(f.neurons.write.deregisterNeuron([1, 6], { account: f.dave }));
    await f.mined(
      f.neurons.write.registerNeuron(
        [
          1,
          minerHotkey(99),
          false,
          peerIdOf(minerHotkey(99)),
          MULTIADDR,
          '',
          await f.consent(minerHotkey(99), f.dave),
        ],
        {
          account: f.dave,
        },
      ),
    );
    assert.equal(await f.neurons.read.uidOf([1, minerHotkey(99)]), 5);
    await f.mined(
      f.neurons.write.registerNeuron(
        [
          1,
          minerHotkey(98),
          false,
          peerIdOf(minerHotkey(98)),
          MULTIADDR,
          '',
          await f.consent(minerHotkey(98), f.dave),
        ],
        {
          account: f.dave,
        },
      ),
    );
    assert.equal(await f.neurons.read.uidOf([1, minerHotkey(98)]), 6);
    await f.mined(f.neurons.write.deregisterNeuron([1, 5], { account: f.dave }));

    const [a] = attesters(net, p.proposer);
    assert.ok(a !== undefined);
    await f.mined(ec.write.attest([1, epoch, p.tree.root, p.resultsHash], { account: a }));
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Finalised);

    // Results that do not hash to the proposal's are refused by name; nothing is written.
    const wrong = encodeResults(decodeResults(p.results).map((r) => ({ ...r, amount: r.amount + 1n })));
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.recordResults([1, epoch, wrong], { account: f.erin }),
      'WrongResults',
      [p.resultsHash, keccak256(wrong)],
    );
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.recordResults([1, epoch, '0x'], { account: f.erin }),
      'WrongResults',
    );
    assert.deepEqual(await recordedEmissions(f, 7), [0n, 0n, 0n, 0n, 0n, null, 0n]);

    // Anyone records the right results: uids 0..4 get their amount, 5 (free) and 6 (newer holder) are skipped.
    const receipt = await f.mined(ec.write.recordResults([1, epoch, p.results], { account: f.erin }));
    const expected = [...amounts.slice(0, 5), null, 0n];
    assert.deepEqual(await recordedEmissions(f, 7), expected);
    const [recorded] = parseEventLogs({
      abi: epochConsensusAbi,
      logs: receipt.logs,
      eventName: 'ResultsRecorded',
    });
    assert.deepEqual(recorded?.args, { netuid: 1, epoch, recorded: 5n, skipped: 2n });
    const [inRegistry] = parseEventLogs({
      abi: neuronRegistryAbi,
      logs: receipt.logs,
      eventName: 'EmissionsRecorded',
    });
    assert.deepEqual(inRegistry?.args, { netuid: 1, uids: [0, 1, 2, 3, 4], amounts: amounts.slice(0, 5) });
    console.log(`gas recordResults (7 entries, 5 recorded): ${receipt.gasUsed}`);

    // Recording again writes the same values.
    await f.mined(ec.write.recordResults([1, epoch, p.results], { account: f.bob }));
    assert.deepEqual(await recordedEmissions(f, 7), expected);

    // Once the next epoch is proposed the results hash is gone: ResultsUnavailable.
    await proposeEpoch(f, net, epoch + 1n);
    await expectRevert(
      ec.write.recordResults([1, epoch, p.results], { account: f.erin }),
      'ResultsUnavailable',
      [1, epoch],
    );
    assert.deepEqual(await recordedEmissions(f, 7), expected);
  });

  it('only the emission manager may call NeuronRegistry.recordEpochEmissions', async () => {
    const f = fx();
    await setUpEpochNet(f);
    await expectRevert(
      f.neurons.write.recordEpochEmissions([1, 10n ** 9n, [3], [1n]], { account: f.erin }),
      'NotEmissionManager',
      [f.erin.address],
    );
  });
});

describe('pruning after a recorded epoch', () => {
  // 8 uids: three validators and five miners fill the subnet.
  const fx = useFixture({ subnet: { ...epochHyperparams, maxAllowedUids: 8 } });

  it('prunes the miner with the lowest recorded emission, not the oldest registration', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f, { minerCount: 5 });
    const epoch = await f.subnets.read.currentEpoch([1]);
    await goToProposal(f, epoch);
    const total = await ec.read.epochEmission([1, epoch]);
    // Per uid, in 1/1000 of the total: validators 100 each, miners 3..7 as below (uid 6 the weakest).
    const shares = [100n, 100n, 100n, 200n, 150n, 120n, 5n, 90n];
    const entries = net.neurons.map((n) => ({
      uid: n.uid,
      incentive: 0,
      dividends: 0,
      trust: 0,
      consensus: 0,
      amount: (total * (shares[n.uid] as bigint)) / 1000n,
    }));
    const leaves = net.neurons.map((n, i) => ({
      uid: n.uid,
      account: n.hotkey,
      amount: entries[i]?.amount ?? 0n,
    }));
    const paid = leaves.reduce((sum, l) => sum + l.amount, 0n);
    leaves.push({ uid: OWNER_UID, account: f.owner.address, amount: total - paid });
    const tree = buildEpochTree(1, epoch, leaves);
    const results = encodeResults(entries);
    const proposer = net.signer(await ec.read.proposerOf([1, epoch]));
    await f.mined(
      ec.write.propose([1, epoch, tree.root, resultsHash(results), total, results], { account: proposer }),
    );
    const [a] = attesters(net, proposer);
    assert.ok(a !== undefined);
    await f.mined(ec.write.attest([1, epoch, tree.root, resultsHash(results)], { account: a }));
    await f.mined(ec.write.recordResults([1, epoch, results], { account: f.erin }));
    assert.equal((await f.neurons.read.getNeuronInfo([1, 6])).emission, entries[6]?.amount);

    // Everyone is past immunity (5 blocks); the subnet is full, so a newcomer prunes uid 6.
    await f.mine(5);
    assert.equal(await f.neurons.read.getNeuronCount([1]), 8);
    const receipt = await f.mined(
      f.neurons.write.registerNeuron(
        [
          1,
          minerHotkey(50),
          false,
          peerIdOf(minerHotkey(50)),
          MULTIADDR,
          '',
          await f.consent(minerHotkey(50), f.dave),
        ],
        {
          account: f.dave,
        },
      ),
    );
    const [pruned] = parseEventLogs({
      abi: neuronRegistryAbi,
      logs: receipt.logs,
      eventName: 'NeuronPruned',
    });
    assert.deepEqual(pruned?.args, {
      netuid: 1,
      uid: 6,
      hotkey: getAddress(net.neurons[6]?.hotkey ?? '0x'),
      emission: entries[6]?.amount,
    });
    assert.equal(await f.neurons.read.uidOf([1, minerHotkey(50)]), 6);
  });
});

describe('EpochConsensus emission schedule', () => {
  const RATE = 1_000n;
  const INTERVAL = 7n;
  const CAP = 500_000n;
  const fx = useFixture({
    subnet: epochHyperparams,
    deploy: { emission: { ratePerBlock: RATE, halvingInterval: INTERVAL, emissionCap: CAP } },
  });

  it('integrates rate >> floor(block / halvingInterval) in closed form, like a per-block sum', async () => {
    const ec = fx().epochConsensus;
    const ranges: [bigint, bigint][] = [
      [0n, 0n],
      [5n, 3n],
      [0n, 1n],
      [0n, 7n],
      [3n, 18n],
      [6n, 8n],
      [13n, 14n],
      [0n, 100n],
      [20n, 95n],
      [50n, 400n], // past the last non-zero halving (1000 >> 10 = 0)
    ];
    for (const [from, to] of ranges) {
      assert.equal(
        await ec.read.scheduledEmission([from, to]),
        referenceEmission(RATE, INTERVAL, from, to),
        `[${from}, ${to})`,
      );
    }
    // A real-sized schedule: 1 SUB per block halving every 10.5M blocks, over three halvings.
    const big = (from: bigint, to: bigint) => {
      let sum = 0n;
      for (let k = from / 10_500_000n; k * 10_500_000n < to; k++) {
        const lo = k * 10_500_000n > from ? k * 10_500_000n : from;
        const hi = (k + 1n) * 10_500_000n < to ? (k + 1n) * 10_500_000n : to;
        sum += (hi - lo) * (SUB >> k);
      }
      return sum;
    };
    assert.equal(
      big(10_000_000n, 40_000_000n),
      500_000n * SUB + 10_500_000n * (SUB / 2n) + 10_500_000n * (SUB / 4n) + 8_500_000n * (SUB / 8n),
    );
  });

  it('gives epochEmission from the subnet registration, capped by what the cap leaves', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    const registeredAt = await f.subnets.read.epochStartBlock([1, 0n]);
    const end = (await ec.read.getEpoch([1, epoch])).endBlock;
    const expected = referenceEmission(RATE, INTERVAL, registeredAt, end);
    assert.equal(await ec.read.epochEmission([1, epoch]), expected < CAP ? expected : CAP);
    const p = await proposeEpoch(f, net, epoch);
    const [a] = attesters(net, p.proposer);
    assert.ok(a !== undefined);
    await f.mined(ec.write.attest([1, epoch, p.tree.root, p.resultsHash], { account: a }));
    const next = epoch + 1n;
    const nextEnd = (await ec.read.getEpoch([1, next])).endBlock;
    assert.equal(await ec.read.epochEmission([1, next]), referenceEmission(RATE, INTERVAL, end, nextEnd));
  });
});

describe('EpochConsensus cap', () => {
  const fx = useFixture({
    subnet: epochHyperparams,
    deploy: { emission: { ratePerBlock: 10n * SUB, halvingInterval: 1_000_000n, emissionCap: 150n * SUB } },
  });

  it('caps each epoch by emissionCap minus what is emitted and reserved', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    await goToProposal(f, epoch);
    const total = await ec.read.epochEmission([1, epoch]);
    assert.equal(total, 150n * SUB); // registration to S(e+1) is far over 15 blocks
    const p = await proposeEpoch(f, net, epoch);
    const [a] = attesters(net, p.proposer);
    assert.ok(a !== undefined);
    await f.mined(ec.write.attest([1, epoch, p.tree.root, p.resultsHash], { account: a }));
    assert.equal(await ec.read.totalEmitted(), 150n * SUB);
    assert.equal(await ec.read.epochEmission([1, epoch + 1n]), 0n);
  });
});

describe('epoch helpers', () => {
  it('round-trips results and refuses malformed ones', () => {
    const entries = [
      { uid: 5, incentive: 1, dividends: 2, trust: 3, consensus: 4, amount: (1n << 96n) - 1n },
      { uid: 0, incentive: 65_535, dividends: 0, trust: 0, consensus: 0, amount: 0n },
    ];
    const hex = encodeResults(entries);
    assert.equal(hex.length, 2 + 2 * 44);
    assert.deepEqual(
      decodeResults(hex),
      [...entries].sort((x, y) => x.uid - y.uid),
    );
    assert.throws(() => decodeResults('0x00'), /multiple of 22/);
    assert.throws(
      () => encodeResults([{ ...entries[0], amount: 1n << 96n } as (typeof entries)[0]]),
      /96 bits/,
    );
    assert.throws(
      () => encodeResults([entries[1] as (typeof entries)[0], entries[1] as (typeof entries)[0]]),
      /two result/,
    );
  });

  it('builds proofs that verify for every leaf of trees of 1..9 leaves', () => {
    for (let n = 1; n <= 9; n++) {
      const leaves = Array.from({ length: n }, (_, i) => ({
        uid: i,
        account: `0x${keccak256(toHex(i)).slice(26)}` as const,
        amount: BigInt(i + 1) * 1_000n,
      }));
      const tree = buildEpochTree(3, 9n, leaves);
      for (const leaf of leaves) {
        let node = epochLeafHash({ netuid: 3, epoch: 9n, ...leaf });
        for (const sibling of tree.proof(leaf.uid)) {
          node =
            BigInt(node) <= BigInt(sibling)
              ? keccak256(`${node}${sibling.slice(2)}`)
              : keccak256(`${sibling}${node.slice(2)}`);
        }
        assert.equal(node, tree.root, `n=${n} uid=${leaf.uid}`);
      }
    }
    assert.throws(() => buildEpochTree(1, 0n, []), /at least one leaf/);
  });
});

/** The drawn proposer as the contract computes it: the snapshot's validators by ascending UID, each holding a
 *  slice of the draw stake as wide as its stake (suspended ones none), at `keccak(blockhash(B(e)), netuid,
 *  epoch) mod drawStake`. */
async function expectedDraw(
  f: Fixture,
  epoch: bigint,
  slices: readonly { hotkey: Hex; stake: bigint }[],
): Promise<Hex> {
  const info = await f.epochConsensus.read.getEpoch([1, epoch]);
  const block = await f.publicClient.getBlock({ blockNumber: info.endBlock - 1n });
  const seed = keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'uint16' }, { type: 'uint64' }],
      [block.hash, 1, epoch],
    ),
  );
  const drawStake = slices.reduce((sum, v) => sum + v.stake, 0n);
  let r = BigInt(seed) % drawStake;
  for (const v of slices) {
    if (r < v.stake) return v.hotkey;
    r -= v.stake;
  }
  throw new Error('unreachable');
}

describe('EpochConsensus: epochs nobody can stall (issue 14, attack 2)', () => {
  const fx = useFixture({ subnet: epochHyperparams });

  it('draws the proposer by stake from the snapshot taken during the epoch; stake moved after it changes nothing', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const stakes = [1_000n * SUB, 2_000n * SUB, 4_000n * SUB];
    const net = await setUpEpochNet(f, { stakes });
    const epoch = await f.subnets.read.currentEpoch([1]);
    await snapshotIfDue(f, epoch);
    await expectRevert(ec.write.snapshotValidators([1], { account: f.erin }), 'SnapshotTaken', [1, epoch]);
    assert.deepEqual(await ec.read.getSnapshot([1, epoch]), [true, false, 3n, 7_000n * SUB, 7_000n * SUB]);
    await goToProposal(f, epoch);
    const slices = net.validators.map((v, i) => ({ hotkey: v.address, stake: stakes[i] as bigint }));
    const drawn = await ec.read.proposerOf([1, epoch]);
    assert.equal(drawn, await expectedDraw(f, epoch, slices));

    // After the boundary every other validator's coldkey piles stake onto its hotkey, and the drawn one's
    // coldkey withdraws all of it: neither the draw nor the stakes counted move.
    for (const [i, v] of net.validators.entries()) {
      const cold = net.coldkeys[i];
      assert.ok(cold !== undefined);
      if (v.address === drawn) {
        await f.mined(f.staking.write.deallocate([1, v.address, stakes[i] as bigint], { account: cold }));
      } else {
        await f.mined(f.staking.write.stake([50_000n * SUB], { account: cold }));
        await f.mined(f.staking.write.allocate([1, v.address, 50_000n * SUB], { account: cold }));
      }
    }
    assert.equal(await ec.read.proposerOf([1, epoch]), drawn);
    assert.deepEqual(await ec.read.getSnapshot([1, epoch]), [true, false, 3n, 7_000n * SUB, 7_000n * SUB]);
    const p = await proposeEpoch(f, net, epoch);
    assert.equal(p.proposer.address, drawn);
    const [a] = attesters(net, p.proposer);
    assert.ok(a !== undefined);
    const receipt = await f.mined(ec.write.attest([1, epoch, p.tree.root, p.resultsHash], { account: a }));
    const [attested] = parseEventLogs({
      abi: epochConsensusAbi,
      logs: receipt.logs,
      eventName: 'EpochAttested',
    });
    assert.equal(attested?.args.stake, stakes[net.validators.indexOf(a)]);
    assert.equal((await ec.read.getEpoch([1, epoch])).totalValidatorStake, 7_000n * SUB);
  });

  it('never draws a suspended validator, which cannot propose even after the exclusive window', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    const p = await proposeEpoch(f, net, epoch); // nobody attests: it expires at D(epoch) = S(epoch + 2) - 1
    const struck = p.proposer.address;
    await snapshotIfDue(f, epoch + 1n); // taken before the expiry: the struck one is still in its draw
    const info = await ec.read.getEpoch([1, epoch]);
    await f.nextTxAt(info.deadline + 2n); // the latest block is S(epoch + 2)
    await snapshotIfDue(f, epoch + 2n); // records the expiry first: out of this draw
    assert.equal(await ec.read.suspendedUntil([1, struck]), epoch + 5n);
    assert.deepEqual(await ec.read.getSnapshot([1, epoch + 2n]), [
      true,
      false,
      3n,
      3_000n * SUB,
      2_000n * SUB,
    ]);

    for (const e of [epoch + 1n, epoch + 2n]) {
      await goToProposal(f, e);
      assert.notEqual(await ec.read.proposerOf([1, e]), struck, `drawn for epoch ${e}`);
      // Past the exclusive window too, the suspended validator may not propose.
      await goToProposal(f, e, 3n);
      const total = await ec.read.epochEmission([1, e]);
      const payout = buildPayout(net, f.owner.address, e, total);
      const args = [1, e, payout.tree.root, payout.resultsHash, total, payout.results] as const;
      await rejects(f, net, e, () => ec.write.propose(args, { account: p.proposer }), 'ProposerSuspended', [
        struck,
        epoch + 5n,
      ]);
      assert.equal((await ec.read.getEpoch([1, e])).root, zeroHash);
      const honest = attesters(net, p.proposer);
      const [h0, h1] = honest;
      assert.ok(h0 !== undefined && h1 !== undefined);
      await f.mined(ec.write.propose(args, { account: h0 }));
      // The suspended validator still attests with its snapshot stake (it is only out of proposing).
      await f.mined(ec.write.attest([1, e, payout.tree.root, payout.resultsHash], { account: h1 }));
      assert.equal((await ec.read.getEpoch([1, e])).status, STATUS.Finalised);
    }
  });

  it('a wrong-root proposer cannot stall the epoch: a competing root reaches two thirds and is final', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    await goToProposal(f, epoch);
    const total = await ec.read.epochEmission([1, epoch]);
    const honest = buildPayout(net, f.owner.address, epoch, total);
    const liar = net.signer(await ec.read.proposerOf([1, epoch]));
    const [h0, h1] = attesters(net, liar);
    assert.ok(h0 !== undefined && h1 !== undefined);
    // The drawn proposer proposes garbage (the right total, a made-up root): nobody honest can attest it.
    const garbage = keccak256(toHex('garbage'));
    await f.mined(
      ec.write.propose([1, epoch, garbage, honest.resultsHash, total, honest.results], { account: liar }),
    );
    const honestArgs = [1, epoch, honest.tree.root, honest.resultsHash, total, honest.results] as const;
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.attest([1, epoch, honest.tree.root, honest.resultsHash], { account: h0 }),
      'WrongRoot',
      [garbage, honest.resultsHash],
    );
    // Before the sub-deadline the first proposal stands alone.
    await rejects(f, net, epoch, () => ec.write.propose(honestArgs, { account: h0 }), 'AlreadyProposed', [
      1,
      epoch,
    ]);
    const info = await ec.read.getEpoch([1, epoch]);
    assert.equal(info.competeFrom, info.endBlock + 4n); // two windows of max(1, 10 / 4) blocks
    await f.nextTxAt(info.competeFrom + 1n); // gas estimation runs at the latest block
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.propose([1, epoch, garbage, honest.resultsHash, total, honest.results], { account: h0 }),
      'RootAlreadyProposed',
      [1, epoch, garbage],
    );
    await rejects(
      f,
      net,
      epoch,
      () =>
        ec.write.propose([1, epoch, honest.tree.root, honest.resultsHash, total - 1n, honest.results], {
          account: h0,
        }),
      'WrongTotal',
      [total, total - 1n],
    );
    await f.mined(ec.write.propose(honestArgs, { account: h0 }));
    assert.equal((await ec.read.getEpoch([1, epoch])).status, STATUS.Proposed);
    await rejects(f, net, epoch, () => ec.write.propose(honestArgs, { account: h1 }), 'RootAlreadyProposed');
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.propose(honestArgs, { account: liar }),
      'RootAlreadyProposed',
    );
    assert.deepEqual(await ec.read.getProposal([1, epoch, honest.tree.root]), [
      h0.address,
      honest.resultsHash,
      1_000n * SUB,
    ]);
    // The liar cannot vote for the honest root as well (one proposal or attestation per validator and epoch).
    await rejects(
      f,
      net,
      epoch,
      () => ec.write.attest([1, epoch, honest.tree.root, honest.resultsHash], { account: liar }),
      'ProposerCannotAttest',
    );

    // One honest attestation: 2 of 3 equal stakes on the honest root, final with it; the liar is struck.
    await f.mined(ec.write.attest([1, epoch, honest.tree.root, honest.resultsHash], { account: h1 }));
    const final = await ec.read.getEpoch([1, epoch]);
    assert.equal(final.status, STATUS.Finalised);
    assert.equal(final.root, honest.tree.root);
    assert.equal(final.proposer, h0.address);
    assert.equal(await ec.read.strikes([1, liar.address]), 1);
    assert.equal(await ec.read.suspendedUntil([1, liar.address]), epoch + 5n);
    await rejects(
      f,
      net,
      epoch,
      () =>
        ec.write.propose([1, epoch, keccak256(toHex('late')), honest.resultsHash, total, honest.results], {
          account: liar,
        }),
      'AlreadyFinalised',
    );
    // Claims follow the final root.
    const miner = net.miners[0];
    assert.ok(miner !== undefined);
    const uid = net.neurons.find((n) => n.hotkey === miner)?.uid ?? -1;
    await f.mined(ec.write.claim(claimArgs(honest.tree, epoch, uid), { account: f.erin }));
    assert.equal(await ec.read.isClaimed([1, epoch, uid]), true);
  });

  it('takes the snapshot at the first proposal when none was taken during the epoch: nobody is drawn', async () => {
    const f = fx();
    const ec = f.epochConsensus;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    const info = await ec.read.getEpoch([1, epoch]);
    await f.nextTxAt(info.endBlock + 1n);
    assert.equal(await ec.read.proposerOf([1, epoch]), zeroAddress);
    const total = await ec.read.epochEmission([1, epoch]);
    const payout = buildPayout(net, f.owner.address, epoch, total);
    const v = net.validators[2];
    assert.ok(v !== undefined);
    await f.mined(
      ec.write.propose([1, epoch, payout.tree.root, payout.resultsHash, total, payout.results], {
        account: v,
      }),
    );
    assert.deepEqual(await ec.read.getSnapshot([1, epoch]), [true, true, 3n, 3_000n * SUB, 3_000n * SUB]);
  });
});
