import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Address, type Hex, keccak256, parseEventLogs, toHex, zeroAddress } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { attestationTypedData } from '../src/attestation.js';
import { slashingAbi, stakingAbi } from '../src/generated/index.js';
import { buildPayout, type EpochNet, epochHyperparams, setUpEpochNet, snapshotIfDue } from './epochNet.js';
import { expectRevert, type Fixture, hotkeyAccount, SUB, useFixture } from './fixture.js';

const SLASH_EQUIVOCATION_MAX_GAS = 150_000n;
const SLASH_WRONG_ROOT_MAX_GAS = 150_000n;

/** A validator's signed `Attestation` statement in the Slashing contract's EIP-712 domain (or another). */
function signAttestation(
  f: Fixture,
  signer: PrivateKeyAccount,
  message: { netuid: number; epoch: bigint; root: Hex; resultsHash: Hex },
  domain: { chainId?: number; verifyingContract?: Address } = {},
): Promise<Hex> {
  return signer.signTypedData(
    attestationTypedData({
      chainId: domain.chainId ?? f.chain.id,
      slashing: domain.verifyingContract ?? f.addresses.slashing,
      ...message,
    }),
  );
}

/** The ledger totals a slash must keep consistent: the balance is always staked + deallocating + unbonding. */
async function ledger(f: Fixture) {
  const [balance, staked, deallocating, unbonding, supply] = await Promise.all([
    f.token.read.balanceOf([f.addresses.staking]),
    f.staking.read.totalStaked(),
    f.staking.read.totalDeallocating(),
    f.staking.read.totalUnbonding(),
    f.token.read.totalSupply(),
  ]);
  assert.equal(balance, staked + deallocating + unbonding, 'stake conservation');
  return { balance, staked, deallocating, unbonding, supply };
}

/** Asserts `call` reverts with `name` and moves no stake. */
async function rejects(
  f: Fixture,
  call: () => Promise<unknown>,
  name: string,
  args?: readonly unknown[],
): Promise<void> {
  const before = JSON.stringify(await ledger(f), (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  await expectRevert(call(), name, args);
  const after = JSON.stringify(await ledger(f), (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  assert.equal(after, before, `${name} moved stake`);
}

/** Mines until the subnet's current epoch is `epoch`. */
async function goToEpoch(f: Fixture, epoch: bigint): Promise<void> {
  const start = await f.subnets.read.epochStartBlock([1, epoch]);
  await f.nextTxAt(start);
}

describe('Slashing: equivocation', () => {
  const fx = useFixture({ subnet: epochHyperparams, deploy: { deallocationPeriod: 40n } });

  it('slashes a validator that signed two roots for one epoch, pro rata across its coldkeys and their pending deallocations, once', async () => {
    const f = fx();
    const { staking, slashing, erin, frank } = f;
    const net = await setUpEpochNet(f);
    const epoch = await f.subnets.read.currentEpoch([1]);
    await snapshotIfDue(f, epoch);
    const [v, other] = net.validators as [PrivateKeyAccount, PrivateKeyAccount];
    const cold = net.coldkeys[0] as PrivateKeyAccount;
    // A delegator backs the validator too, and has a deallocation of it pending.
    await f.mined(staking.write.stake([400n * SUB], { account: erin }));
    await f.mined(staking.write.allocate([1, v.address, 400n * SUB], { account: erin }));
    await f.mined(staking.write.deallocate([1, v.address, 100n * SUB], { account: erin }));
    assert.equal(await staking.read.hotkeyStake([1, v.address]), 1_300n * SUB);
    assert.equal(await staking.read.hotkeyDeallocating([1, v.address]), 100n * SUB);

    const rootA = keccak256(toHex('root A'));
    const rootB = keccak256(toHex('root B'));
    const rh = keccak256(toHex('results'));
    const sigA = await signAttestation(f, v, { netuid: 1, epoch, root: rootA, resultsHash: rh });
    const sigB = await signAttestation(f, v, { netuid: 1, epoch, root: rootB, resultsHash: rh });
    const digest = await slashing.read.attestationDigest([1, epoch, rootA, rh]);
    assert.equal(digest.length, 66);

    // Bad evidence is refused, by name, and moves nothing.
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, sigA, rootA, rh, sigA], { account: frank }),
      'SameRoot',
      [rootA],
    );
    const otherSig = await signAttestation(f, other, { netuid: 1, epoch, root: rootB, resultsHash: rh });
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, sigA, rootB, rh, otherSig], {
          account: frank,
        }),
      'DifferentSigners',
      [v.address, other.address],
    );
    // Forged: garbage bytes, or a signature with the wrong length.
    const garbage = `0x${'11'.repeat(65)}` as Hex;
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, sigA, rootB, rh, garbage], { account: frank }),
      'InvalidSignature',
    );
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, sigA, rootB, rh, '0x1234'], {
          account: frank,
        }),
      'InvalidSignature',
    );
    // Replayed into another statement (other epoch, results hash or subnet): it no longer recovers the signer.
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch + 1n, rootA, rh, sigA, rootB, rh, sigB], {
          account: frank,
        }),
      'DifferentSigners',
    );
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, sigA, rootB, rootA, sigB], { account: frank }),
      'DifferentSigners',
    );
    // Signed for another chain or another contract: not this domain.
    const foreignA = await signAttestation(
      f,
      v,
      { netuid: 1, epoch, root: rootA, resultsHash: rh },
      { chainId: 1 },
    );
    const foreignB = await signAttestation(
      f,
      v,
      { netuid: 1, epoch, root: rootB, resultsHash: rh },
      { chainId: 1 },
    );
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, foreignA, rootB, rh, foreignB], {
          account: frank,
        }),
      'DifferentSigners',
    );
    const elsewhereA = await signAttestation(
      f,
      v,
      { netuid: 1, epoch, root: rootA, resultsHash: rh },
      { verifyingContract: f.addresses.epochConsensus },
    );
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, elsewhereA, rootB, rh, sigB], {
          account: frank,
        }),
      'DifferentSigners',
    );
    // A miner (registered, no permit) and a stranger are not validators: never slashed for statements.
    for (const key of [hotkeyAccount('epoch-miner-0'), hotkeyAccount('a stranger')]) {
      const a = await signAttestation(f, key, { netuid: 1, epoch, root: rootA, resultsHash: rh });
      const b = await signAttestation(f, key, { netuid: 1, epoch, root: rootB, resultsHash: rh });
      await rejects(
        f,
        () => slashing.write.slashEquivocation([1, epoch, rootA, rh, a, rootB, rh, b], { account: frank }),
        'NotValidator',
        [1, epoch, key.address],
      );
    }
    assert.equal(await slashing.read.isSlashed([1, epoch, v.address]), false);

    // The real proof: 10 % (the default share) of the validator's stake, allocations and pending
    // deallocations alike, burnt.
    const before = await ledger(f);
    const coldBefore = await staking.read.allocation([cold.address, 1, v.address]);
    const receipt = await f.mined(
      slashing.write.slashEquivocation([1, epoch, rootA, rh, sigA, rootB, rh, sigB], { account: frank }),
    );
    const [event] = parseEventLogs({ abi: slashingAbi, logs: receipt.logs, eventName: 'ValidatorSlashed' });
    assert.deepEqual(event?.args, {
      netuid: 1,
      epoch,
      hotkey: v.address,
      offence: 0,
      shareBps: 1_000n,
      amount: 140n * SUB,
      reporter: frank.address,
    });
    const [st] = parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: 'Slashed' });
    assert.deepEqual(st?.args, {
      netuid: 1,
      hotkey: v.address,
      shareBps: 1_000n,
      allocated: 130n * SUB,
      deallocating: 10n * SUB,
    });
    console.log(`gas slashEquivocation ${receipt.gasUsed}`);
    assert.ok(receipt.gasUsed <= SLASH_EQUIVOCATION_MAX_GAS, `slashEquivocation ${receipt.gasUsed}`);
    const after = await ledger(f);
    assert.equal(after.supply, before.supply - 140n * SUB, 'burnt');
    assert.equal(after.staked, before.staked - 130n * SUB);
    assert.equal(after.deallocating, before.deallocating - 10n * SUB);
    assert.equal(await staking.read.hotkeyStake([1, v.address]), 1_170n * SUB);
    assert.equal(await staking.read.allocation([cold.address, 1, v.address]), (coldBefore * 9n) / 10n);
    assert.equal(await staking.read.allocation([erin.address, 1, v.address]), 270n * SUB);
    assert.equal((await staking.read.deallocation([erin.address, 1, v.address]))[0], 90n * SUB);
    assert.equal(await slashing.read.isSlashed([1, epoch, v.address]), true);
    // The other validators keep their stake.
    assert.equal(await staking.read.hotkeyStake([1, other.address]), 1_000n * SUB);

    // Never twice for one (subnet, epoch, hotkey): not with the same proof, nor with another pair of roots.
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, sigA, rootB, rh, sigB], { account: frank }),
      'AlreadySlashed',
      [1, epoch, v.address],
    );
    const rootC = keccak256(toHex('root C'));
    const sigC = await signAttestation(f, v, { netuid: 1, epoch, root: rootC, resultsHash: rh });
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, rootA, rh, sigA, rootC, rh, sigC], { account: frank }),
      'AlreadySlashed',
    );

    // The slashed coldkeys leave with what is left: the delegator's whole position and its deallocation.
    const whole = await staking.read.allocation([erin.address, 1, v.address]);
    const de = await f.mined(staking.write.deallocate([1, v.address, whole], { account: erin }));
    const [d] = parseEventLogs({ abi: stakingAbi, logs: de.logs, eventName: 'Deallocated' });
    assert.equal(d?.args.pending, 360n * SUB);
    await f.nextTxAt(d?.args.releaseBlock ?? 0n);
    const w = await f.mined(staking.write.withdrawAllocation([1, v.address], { account: erin }));
    console.log(`gas deallocate ${de.gasUsed}, withdrawAllocation ${w.gasUsed}`);
    assert.equal(await staking.read.freeStake([erin.address]), 360n * SUB);
    assert.equal(await staking.read.allocatedStake([erin.address]), 0n);
    assert.equal(await staking.read.hotkeyDeallocating([1, v.address]), 0n);
    await ledger(f);
  });

  it('lets only the subnet owner set a bounded slash share, in effect from the next epoch', async () => {
    const f = fx();
    const { slashing, owner, alice } = f;
    assert.equal(await slashing.read.slashShare([1]), 1_000);
    assert.deepEqual(await slashing.read.slashShareSetting([1]), [1_000, 1_000, 0n]);
    await expectRevert(slashing.write.setSlashShare([1, 2_000], { account: alice }), 'NotSubnetOwner', [
      1,
      alice.address,
    ]);
    await expectRevert(
      slashing.write.setSlashShare([1, 5_001], { account: owner }),
      'SlashShareTooHigh',
      [5_001, 5_000],
    );
    await expectRevert(slashing.write.setSlashShare([9, 2_000], { account: owner }), 'SubnetNotFound');
    const epoch = await f.subnets.read.currentEpoch([1]);
    const receipt = await f.mined(slashing.write.setSlashShare([1, 2_000], { account: owner }));
    const [event] = parseEventLogs({ abi: slashingAbi, logs: receipt.logs, eventName: 'SlashShareSet' });
    assert.deepEqual(event?.args, { netuid: 1, shareBps: 2_000, effectiveEpoch: epoch + 1n });
    assert.equal(await slashing.read.slashShare([1]), 1_000, 'not before the next epoch');
    // Replaced before it acts: the last value set applies from the next epoch.
    await f.mined(slashing.write.setSlashShare([1, 5_000], { account: owner }));
    assert.deepEqual(await slashing.read.slashShareSetting([1]), [1_000, 5_000, epoch + 1n]);
    await goToEpoch(f, epoch + 1n);
    await f.mine(1);
    assert.equal(await slashing.read.slashShare([1]), 5_000);
    await f.mined(slashing.write.setSlashShare([1, 0], { account: owner }));
    assert.deepEqual(await slashing.read.slashShareSetting([1]), [5_000, 0, epoch + 2n]);
    assert.equal(await slashing.read.slashShare([1]), 5_000);
  });

  it('refuses a slash from anyone but the slasher, and a share above 50 % from it', async () => {
    const f = fx();
    const { staking, alice, deployer } = f;
    assert.equal(await staking.read.slasher(), f.addresses.slashing);
    await expectRevert(staking.write.slash([1, alice.address, 1_000n], { account: deployer }), 'NotSlasher');
    // The slasher itself is bounded: make the deployer the slasher to call it directly.
    await f.mined(staking.write.setSlasher([deployer.address], { account: deployer }));
    await expectRevert(
      staking.write.slash([1, alice.address, 5_001n], { account: deployer }),
      'SlashShareTooHigh',
      [5_001n, 5_000n],
    );
    await expectRevert(staking.write.slash([0, alice.address, 1n], { account: deployer }), 'InvalidNetuid');
    await expectRevert(staking.write.slash([1, zeroAddress, 1n], { account: deployer }), 'ZeroAddress');
    // A hotkey without stake loses nothing; a tiny pool never empties (at most half, rounded down).
    await f.mined(staking.write.slash([1, alice.address, 5_000n], { account: deployer }));
    await f.mined(staking.write.stake([1n], { account: alice }));
    await f.mined(staking.write.allocate([1, alice.address, 1n], { account: alice }));
    for (let i = 0; i < 3; i++)
      await f.mined(staking.write.slash([1, alice.address, 5_000n], { account: deployer }));
    assert.equal(await staking.read.hotkeyStake([1, alice.address]), 1n);
    // Stake allocated after slashes buys shares at the lower price; nobody's worth moves.
    await f.mined(staking.write.stake([10n * SUB], { account: f.bob }));
    await f.mined(staking.write.allocate([1, alice.address, 10n * SUB], { account: f.bob }));
    await f.mined(staking.write.slash([1, alice.address, 5_000n], { account: deployer }));
    assert.equal(await staking.read.allocation([f.bob.address, 1, alice.address]), 5n * SUB);
    await ledger(f);
  });
});

/** Five validators, stakes 500, 500, 1000, 1000, 1000 (two thirds: 2667): L and W cannot finalise alone. */
async function setUpWrongRootNet(f: Fixture): Promise<EpochNet> {
  return setUpEpochNet(f, {
    validatorCount: 5,
    stakes: [500n * SUB, 500n * SUB, 1_000n * SUB, 1_000n * SUB, 1_000n * SUB],
  });
}

describe('Slashing: wrong root', () => {
  const fx = useFixture({
    subnet: { ...epochHyperparams, maxValidators: 5 },
    deploy: { deallocationPeriod: 40n },
  });

  it('slashes who proposed or attested a root other than the final one, once; never who voted the final root', async () => {
    const f = fx();
    const { staking, slashing, epochConsensus: ec, frank, erin } = f;
    const net = await setUpWrongRootNet(f);
    const [L, W, H0, H1, H2] = net.validators as [
      PrivateKeyAccount,
      PrivateKeyAccount,
      PrivateKeyAccount,
      PrivateKeyAccount,
      PrivateKeyAccount,
    ];
    await f.mined(slashing.write.setSlashShare([1, 5_000], { account: f.owner }));
    const epoch = (await f.subnets.read.currentEpoch([1])) + 1n;
    // No snapshot during the epoch: nobody is drawn, so the test picks who proposes.
    const info = await ec.read.getEpoch([1, epoch]);
    await f.nextTxAt(info.endBlock + 1n);
    const total = await ec.read.epochEmission([1, epoch]);
    const honest = buildPayout(net, f.owner.address, epoch, total);
    const garbage = keccak256(toHex('garbage'));
    await f.mined(
      ec.write.propose([1, epoch, garbage, honest.resultsHash, total, honest.results], { account: L }),
    );
    await f.mined(ec.write.attest([1, epoch, garbage, honest.resultsHash], { account: W }));
    // Not final yet: nothing is wrong.
    await rejects(
      f,
      () => slashing.write.slashWrongRoot([1, epoch, L.address], { account: frank }),
      'EpochNotFinalised',
      [1, epoch],
    );
    await f.nextTxAt(info.competeFrom);
    await f.mined(
      ec.write.propose([1, epoch, honest.tree.root, honest.resultsHash, total, honest.results], {
        account: H0,
      }),
    );
    await f.mined(ec.write.attest([1, epoch, honest.tree.root, honest.resultsHash], { account: H1 }));
    await f.mined(ec.write.attest([1, epoch, honest.tree.root, honest.resultsHash], { account: H2 }));
    assert.equal(await ec.read.finalRoot([1, epoch]), honest.tree.root);
    assert.deepEqual(await ec.read.voteOf([1, epoch, W.address]), [
      true,
      await ec.read.rootFingerprint([garbage]),
    ]);

    // A delegator of L, with a pending deallocation, shares L's loss.
    await f.mined(staking.write.stake([300n * SUB], { account: erin }));
    await f.mined(staking.write.allocate([1, L.address, 300n * SUB], { account: erin }));
    await f.mined(staking.write.deallocate([1, L.address, 100n * SUB], { account: erin }));

    // Validators that voted the final root are never slashable; one that did not vote has no vote to judge.
    for (const h of [H0, H1, H2]) {
      await rejects(
        f,
        () => slashing.write.slashWrongRoot([1, epoch, h.address], { account: frank }),
        'VotedFinalRoot',
        [1, epoch, h.address],
      );
    }
    const miner = net.miners[0] as Address;
    await rejects(
      f,
      () => slashing.write.slashWrongRoot([1, epoch, miner], { account: frank }),
      'VoteNotFound',
      [1, epoch, miner],
    );

    // The first proposer, whose root lost (already struck), and its attester: slashed by the subnet's share.
    const before = await ledger(f);
    const rl = await f.mined(slashing.write.slashWrongRoot([1, epoch, L.address], { account: frank }));
    const [el] = parseEventLogs({ abi: slashingAbi, logs: rl.logs, eventName: 'ValidatorSlashed' });
    assert.deepEqual(el?.args, {
      netuid: 1,
      epoch,
      hotkey: L.address,
      offence: 1,
      shareBps: 5_000n,
      amount: 400n * SUB, // half of 500 + 200 allocated and 100 deallocating
      reporter: frank.address,
    });
    const rw = await f.mined(slashing.write.slashWrongRoot([1, epoch, W.address], { account: frank }));
    console.log(`gas slashWrongRoot ${rl.gasUsed} (with a deallocation pool), ${rw.gasUsed}`);
    assert.ok(rl.gasUsed <= SLASH_WRONG_ROOT_MAX_GAS, `slashWrongRoot ${rl.gasUsed}`);
    const after = await ledger(f);
    assert.equal(after.supply, before.supply - 650n * SUB);
    assert.equal(await staking.read.hotkeyStake([1, L.address]), 350n * SUB);
    assert.equal(await staking.read.hotkeyStake([1, W.address]), 250n * SUB);
    assert.equal(await staking.read.allocation([erin.address, 1, L.address]), 100n * SUB);
    assert.equal((await staking.read.deallocation([erin.address, 1, L.address]))[0], 50n * SUB);
    for (const h of [H0, H1, H2]) assert.equal(await staking.read.hotkeyStake([1, h.address]), 1_000n * SUB);
    await rejects(
      f,
      () => slashing.write.slashWrongRoot([1, epoch, L.address], { account: frank }),
      'AlreadySlashed',
      [1, epoch, L.address],
    );
    // An equivocation proof for the same epoch cannot slash it a second time either.
    const rh = honest.resultsHash;
    const a = await signAttestation(f, W, { netuid: 1, epoch, root: garbage, resultsHash: rh });
    const b = await signAttestation(f, W, { netuid: 1, epoch, root: honest.tree.root, resultsHash: rh });
    await rejects(
      f,
      () =>
        slashing.write.slashEquivocation([1, epoch, garbage, rh, a, honest.tree.root, rh, b], {
          account: frank,
        }),
      'AlreadySlashed',
    );

    // Next epoch: the first root is final and a competing garbage root (W's) loses: W is slashed again, for
    // this epoch; the honest proposer is not.
    const next = epoch + 1n;
    const ni = await ec.read.getEpoch([1, next]);
    await f.nextTxAt(ni.endBlock + 1n);
    const nt = await ec.read.epochEmission([1, next]);
    const np = buildPayout(net, f.owner.address, next, nt);
    await f.mined(ec.write.propose([1, next, np.tree.root, np.resultsHash, nt, np.results], { account: H0 }));
    await f.nextTxAt(ni.competeFrom);
    await f.mined(ec.write.propose([1, next, garbage, np.resultsHash, nt, np.results], { account: W }));
    await f.mined(ec.write.attest([1, next, np.tree.root, np.resultsHash], { account: H1 }));
    await f.mined(ec.write.attest([1, next, np.tree.root, np.resultsHash], { account: H2 }));
    assert.equal(await ec.read.finalRoot([1, next]), np.tree.root);
    await rejects(
      f,
      () => slashing.write.slashWrongRoot([1, next, H0.address], { account: frank }),
      'VotedFinalRoot',
    );
    await f.mined(slashing.write.slashWrongRoot([1, next, W.address], { account: frank }));
    assert.equal(await staking.read.hotkeyStake([1, W.address]), 125n * SUB);
    // W's vote on `epoch` is still readable (its previous vote), and still slashed once.
    assert.equal((await ec.read.voteOf([1, epoch, W.address]))[0], true);
    await ledger(f);
  });

  it('never slashes an honest proposer whose proposal merely expired (it is struck)', async () => {
    const f = fx();
    const { slashing, epochConsensus: ec, frank } = f;
    const net = await setUpWrongRootNet(f);
    const [, , H0] = net.validators as PrivateKeyAccount[];
    assert.ok(H0 !== undefined);
    const epoch = (await f.subnets.read.currentEpoch([1])) + 1n;
    const info = await ec.read.getEpoch([1, epoch]);
    await f.nextTxAt(info.endBlock + 1n);
    const total = await ec.read.epochEmission([1, epoch]);
    const p = buildPayout(net, f.owner.address, epoch, total);
    await f.mined(
      ec.write.propose([1, epoch, p.tree.root, p.resultsHash, total, p.results], { account: H0 }),
    );
    await f.nextTxAt(info.deadline + 1n);
    await f.mined(ec.write.recordExpiry([1, epoch], { account: frank }));
    assert.equal(await ec.read.strikes([1, H0.address]), 1);
    await rejects(
      f,
      () => slashing.write.slashWrongRoot([1, epoch, H0.address], { account: frank }),
      'EpochNotFinalised',
      [1, epoch],
    );
    assert.equal(await f.staking.read.hotkeyStake([1, H0.address]), 1_000n * SUB);
  });
});
