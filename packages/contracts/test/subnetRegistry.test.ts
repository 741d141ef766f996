import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeDeployData, numberToHex, parseEventLogs, zeroAddress } from 'viem';
import { subnetRegistryAbi, subnetRegistryBytecode } from '../src/generated/index.js';
import { defaultHyperparams, expectRevert, type Hyperparams, SUB, useFixture } from './fixture.js';

const hp = defaultHyperparams;

/** The lock cost `elapsed` blocks after a peak (linear decay to the floor). */
function decayed(peak: bigint, floor: bigint, interval: bigint, elapsed: bigint): bigint {
  if (peak <= floor || elapsed >= interval) return floor;
  return peak - ((peak - floor) * elapsed) / interval;
}

describe('SubnetRegistry', () => {
  const fx = useFixture();

  it('registers subnets from netuid 1, locking the lock cost from the owner', async () => {
    const { subnets, token, mined, blockNumber, owner, alice, addresses } = fx();
    assert.equal(await subnets.read.subnetCount(), 0);
    assert.equal(await subnets.read.subnetExists([1]), false);
    const cost = await subnets.read.lockCost();
    assert.equal(cost, 100n * SUB);
    const before = await token.read.balanceOf([owner.address]);
    const { result } = await subnets.simulate.registerSubnet(['alpha', 'first', hp], { account: owner });
    assert.equal(result, 1);
    const receipt = await mined(subnets.write.registerSubnet(['alpha', 'first', hp], { account: owner }));
    const registeredAt = await blockNumber();
    const events = parseEventLogs({ abi: subnetRegistryAbi, logs: receipt.logs });
    assert.deepEqual(
      events.map((e) => e.eventName),
      ['SubnetRegistered', 'HyperparamsSet', 'EpochScheduleChanged'],
    );
    const registered = events[0];
    assert.equal(registered?.eventName, 'SubnetRegistered');
    assert.deepEqual(registered?.args, {
      netuid: 1,
      owner: owner.address,
      name: 'alpha',
      lockedAmount: cost,
      nextLockCost: 2n * cost,
    });
    assert.equal(await token.read.balanceOf([owner.address]), before - cost);
    assert.equal(await token.read.balanceOf([addresses.subnetRegistry]), cost);
    assert.deepEqual(await subnets.read.getSubnet([1]), {
      owner: owner.address,
      name: 'alpha',
      description: 'first',
      active: false,
      registeredAt,
      lockedAmount: cost,
    });
    assert.deepEqual(await subnets.read.getHyperparams([1]), hp);
    assert.equal(await subnets.read.subnetOwner([1]), owner.address);
    assert.equal(await subnets.read.subnetCount(), 1);
    assert.equal(await subnets.read.subnetExists([1]), true);
    assert.equal(await subnets.read.subnetExists([0]), false);
    assert.equal(await subnets.read.isActive([1]), false);

    await mined(subnets.write.registerSubnet(['beta', '', hp], { account: alice }));
    assert.equal(await subnets.read.subnetCount(), 2);
    assert.equal((await subnets.read.getSubnet([2])).owner, alice.address);
  });

  it('doubles the lock cost after a registration and decays it linearly to the floor', async () => {
    const { subnets, mined, mine, blockNumber, deployer, owner } = fx();
    await mined(subnets.write.setLockParams([10n * SUB, 100n], { account: deployer }));
    assert.equal(await subnets.read.minLockCost(), 10n * SUB);
    assert.equal(await subnets.read.lockReductionInterval(), 100n);
    await mine(200); // the deployment peak has decayed to the floor
    assert.equal(await subnets.read.lockCost(), 10n * SUB);
    const first = await mined(subnets.write.registerSubnet(['a', '', hp], { account: owner }));
    assert.equal(await subnets.read.lockCostPeak(), 20n * SUB);
    assert.equal(await subnets.read.lockCostPeakBlock(), first.blockNumber);
    const peak = 20n * SUB;
    const floor = 10n * SUB;
    for (const step of [0n, 1n, 37n, 99n, 100n, 150n]) {
      const now = await blockNumber();
      const target = first.blockNumber + step;
      if (target > now) await mine(Number(target - now));
      assert.equal(await subnets.read.lockCost(), decayed(peak, floor, 100n, step), `after ${step} blocks`);
    }
    // A registration while the cost is still decaying doubles the decayed value.
    const second = await mined(subnets.write.registerSubnet(['b', '', hp], { account: owner }));
    await mine(30);
    const atThird = await blockNumber();
    const third = await subnets.read.lockCost();
    const { args } =
      parseEventLogs({ abi: subnetRegistryAbi, logs: second.logs, eventName: 'SubnetRegistered' })[0] ?? {};
    assert.equal(args?.lockedAmount, floor);
    assert.equal(args?.nextLockCost, 2n * floor);
    assert.equal(third, decayed(2n * floor, floor, 100n, atThird - second.blockNumber));
    const thirdReceipt = await mined(subnets.write.registerSubnet(['c', '', hp], { account: owner }));
    const paid = (await subnets.read.getSubnet([3])).lockedAmount;
    assert.equal(paid, decayed(2n * floor, floor, 100n, thirdReceipt.blockNumber - second.blockNumber));
    assert.equal(await subnets.read.lockCostPeak(), 2n * paid);
  });

  it('lets only the registry owner set lock params; refuses a zero decay interval', async () => {
    const { subnets, mined, deployer, alice } = fx();
    await expectRevert(
      subnets.write.setLockParams([SUB, 10n], { account: alice }),
      'OwnableUnauthorizedAccount',
    );
    await expectRevert(
      subnets.write.setLockParams([SUB, 0n], { account: deployer }),
      'InvalidLockReductionInterval',
    );
    const receipt = await mined(subnets.write.setLockParams([0n, 1n], { account: deployer }));
    const [event] = parseEventLogs({
      abi: subnetRegistryAbi,
      logs: receipt.logs,
      eventName: 'LockParamsSet',
    });
    assert.deepEqual(event?.args, { minLockCost: 0n, lockReductionInterval: 1n });
  });

  it('validates names, descriptions and every hyperparameter bound', async () => {
    const { subnets, owner } = fx();
    const register = (name: string, description: string, params: Hyperparams) =>
      subnets.write.registerSubnet([name, description, params], { account: owner });
    await expectRevert(register('', '', hp), 'InvalidNameLength', [0n]);
    await expectRevert(register('x'.repeat(65), '', hp), 'InvalidNameLength', [65n]);
    await expectRevert(register('ok', 'd'.repeat(1025), hp), 'DescriptionTooLong', [1025n]);
    const bad: [string, Partial<Hyperparams>][] = [
      ['tempo', { tempo: 0n }],
      ['tempo', { tempo: 100_001n }],
      ['maxAllowedUids', { maxAllowedUids: 0 }],
      ['maxAllowedUids', { maxAllowedUids: 4097 }],
      ['maxValidators', { maxValidators: 0 }],
      ['maxValidators', { maxValidators: 9, maxAllowedUids: 8 }],
      ['immunityPeriod', { immunityPeriod: 1_000_001n }],
      ['bondsMovingAverage', { bondsMovingAverage: 1_000_001 }],
      ['splits', { ownerSplit: 1_000, minerSplit: 4_000, validatorSplit: 4_000 }],
      ['splits', { ownerSplit: 10_000, minerSplit: 10_000, validatorSplit: 0 }],
      ['commitRevealPeriod', { commitRevealPeriod: 0 }],
      ['commitRevealPeriod', { commitRevealPeriod: 101 }],
      ['minAllowedWeights', { minAllowedWeights: 9, maxAllowedUids: 8 }],
      ['maxWeightLimit', { maxWeightLimit: 0 }],
      // A permit set with no stake would finalise any root (3 * 0 >= 2 * 0).
      ['minStake', { minStake: 0n }],
      ['maxRegistrationBurn', { registrationBurn: 2n, maxRegistrationBurn: 1n }],
      ['burnAdjustmentInterval', { burnAdjustmentInterval: 0n }],
      ['burnAdjustmentInterval', { burnAdjustmentInterval: 1_000_001n }],
    ];
    for (const [name, change] of bad) {
      await expectRevert(register('ok', '', { ...hp, ...change }), 'InvalidHyperparameter', [name]);
    }
    // The bounds themselves are allowed.
    const edge = {
      ...hp,
      tempo: 100_000n,
      maxAllowedUids: 4096,
      maxValidators: 4096,
      immunityPeriod: 1_000_000n,
      bondsMovingAverage: 1_000_000,
      ownerSplit: 10_000,
      minerSplit: 0,
      validatorSplit: 0,
      commitRevealPeriod: 100,
      minAllowedWeights: 4096,
      maxWeightLimit: 1,
      minStake: 1n,
      registrationBurn: 5n,
      maxRegistrationBurn: 5n,
      burnAdjustmentInterval: 1_000_000n,
    };
    await subnets.simulate.registerSubnet(['x'.repeat(64), 'd'.repeat(1024), edge], { account: owner });
  });

  it('refuses a 65536th subnet', async () => {
    const { subnets, testClient, publicClient, owner, addresses } = fx();
    // subnetCount shares slot 4 with lockCostPeakBlock (uint64, low 8 bytes); set it to 65535.
    const slot = numberToHex(4, { size: 32 });
    const word = BigInt(
      (await publicClient.getStorageAt({ address: addresses.subnetRegistry, slot })) ?? '0x0',
    );
    await testClient.setStorageAt({
      address: addresses.subnetRegistry,
      index: slot,
      value: numberToHex(word | (65_535n << 64n), { size: 32 }),
    });
    assert.equal(await subnets.read.subnetCount(), 65_535);
    await expectRevert(subnets.write.registerSubnet(['full', '', hp], { account: owner }), 'TooManySubnets');
  });

  it('lets only the subnet owner activate it, once', async () => {
    const { subnets, mined, deployer, owner } = fx();
    await mined(subnets.write.registerSubnet(['a', '', hp], { account: owner }));
    await expectRevert(subnets.write.activateSubnet([1], { account: deployer }), 'NotSubnetOwner', [
      1,
      deployer.address,
    ]);
    await expectRevert(subnets.write.activateSubnet([2], { account: owner }), 'SubnetNotFound', [2]);
    const receipt = await mined(subnets.write.activateSubnet([1], { account: owner }));
    const [event] = parseEventLogs({
      abi: subnetRegistryAbi,
      logs: receipt.logs,
      eventName: 'SubnetActivated',
    });
    assert.equal(event?.args.netuid, 1);
    assert.equal(await subnets.read.isActive([1]), true);
    assert.equal((await subnets.read.getSubnet([1])).active, true);
    await expectRevert(subnets.write.activateSubnet([1], { account: owner }), 'SubnetAlreadyActive');
  });

  it('lets only the subnet owner tune it, with the same validation, never lowering maxAllowedUids', async () => {
    const { subnets, mined, nextTxAt, deployer, owner, alice } = fx();
    const registered = await mined(subnets.write.registerSubnet(['a', '', hp], { account: owner }));
    const start = registered.blockNumber;
    const tuned = { ...hp, maxAllowedUids: 16, kappa: 40_000, minStake: 5n * SUB, weightsVersionKey: 7n };
    await expectRevert(subnets.write.setHyperparams([1, tuned], { account: alice }), 'NotSubnetOwner');
    await expectRevert(subnets.write.setHyperparams([1, tuned], { account: deployer }), 'NotSubnetOwner');
    await expectRevert(subnets.write.setHyperparams([3, tuned], { account: owner }), 'SubnetNotFound');
    await expectRevert(
      subnets.write.setHyperparams([1, { ...tuned, commitRevealPeriod: 0 }], { account: owner }),
      'InvalidHyperparameter',
      ['commitRevealPeriod'],
    );
    await expectRevert(
      subnets.write.setHyperparams([1, { ...tuned, minStake: 0n }], { account: owner }),
      'InvalidHyperparameter',
      ['minStake'],
    );
    // Set in epoch 0 (tempo 10): pending until epoch 1 starts at start + 10.
    const receipt = await mined(subnets.write.setHyperparams([1, tuned], { account: owner }));
    const events = parseEventLogs({ abi: subnetRegistryAbi, logs: receipt.logs });
    assert.deepEqual(
      events.map((e) => e.eventName),
      ['HyperparamsSet'],
    );
    const [set] = events;
    assert.equal(set?.eventName, 'HyperparamsSet');
    assert.deepEqual(set?.args, {
      netuid: 1,
      effectiveEpoch: 1n,
      effectiveBlock: start + 10n,
      params: tuned,
    });
    assert.deepEqual(await subnets.read.getHyperparams([1]), hp);
    assert.deepEqual(await subnets.read.getPendingHyperparams([1]), [true, start + 10n, tuned]);
    assert.deepEqual(await subnets.read.validatorPermitParams([1]), [hp.minStake, hp.maxValidators]);
    // The pending value is the one that cannot be lowered.
    await expectRevert(
      subnets.write.setHyperparams([1, { ...tuned, maxAllowedUids: 15, maxValidators: 2 }], {
        account: owner,
      }),
      'CannotLowerMaxAllowedUids',
      [16, 15],
    );
    await nextTxAt(start + 12n);
    assert.deepEqual(await subnets.read.getHyperparams([1]), tuned);
    assert.deepEqual(await subnets.read.getPendingHyperparams([1]), [false, 0n, tuned]);
    assert.deepEqual(await subnets.read.getRegistrationInfo([1]), {
      active: false,
      registrationAllowed: true,
      maxAllowedUids: 16,
      immunityPeriod: hp.immunityPeriod,
      minStake: 5n * SUB,
      registrationBurn: hp.registrationBurn,
      maxRegistrationBurn: hp.maxRegistrationBurn,
      burnAdjustmentInterval: hp.burnAdjustmentInterval,
    });
    // A later change promotes the values in effect and waits for the next boundary (epoch 2).
    const again = await mined(subnets.write.setHyperparams([1, { ...tuned, kappa: 1 }], { account: owner }));
    const [set2] = parseEventLogs({ abi: subnetRegistryAbi, logs: again.logs, eventName: 'HyperparamsSet' });
    assert.deepEqual([set2?.args.effectiveEpoch, set2?.args.effectiveBlock], [2n, start + 20n]);
    assert.equal((await subnets.read.getHyperparams([1])).kappa, 40_000);
    await expectRevert(
      subnets.write.setHyperparams([1, { ...tuned, maxAllowedUids: 15, maxValidators: 2 }], {
        account: owner,
      }),
      'CannotLowerMaxAllowedUids',
      [16, 15],
    );
  });

  it('hands a subnet over to a new owner', async () => {
    const { subnets, mined, owner, alice } = fx();
    await mined(subnets.write.registerSubnet(['a', '', hp], { account: owner }));
    await expectRevert(
      subnets.write.transferSubnetOwnership([1, alice.address], { account: alice }),
      'NotSubnetOwner',
    );
    await expectRevert(
      subnets.write.transferSubnetOwnership([1, zeroAddress], { account: owner }),
      'ZeroAddress',
    );
    const receipt = await mined(
      subnets.write.transferSubnetOwnership([1, alice.address], { account: owner }),
    );
    const [event] = parseEventLogs({
      abi: subnetRegistryAbi,
      logs: receipt.logs,
      eventName: 'SubnetOwnershipTransferred',
    });
    assert.deepEqual(event?.args, { netuid: 1, previousOwner: owner.address, newOwner: alice.address });
    assert.equal(await subnets.read.subnetOwner([1]), alice.address);
    await expectRevert(subnets.write.activateSubnet([1], { account: owner }), 'NotSubnetOwner');
    await mined(subnets.write.activateSubnet([1], { account: alice }));
  });

  it('counts epochs from registration; a tempo change starts at the next epoch boundary', async () => {
    const { subnets, mined, mine, nextTxAt, owner } = fx();
    const receipt = await mined(
      subnets.write.registerSubnet(['a', '', { ...hp, tempo: 10n }], { account: owner }),
    );
    const start = receipt.blockNumber;
    assert.equal(await subnets.read.currentEpoch([1]), 0n);
    assert.equal(await subnets.read.epochStartBlock([1, 0n]), start);
    assert.equal(await subnets.read.epochStartBlock([1, 3n]), start + 30n);
    await mine(25); // block start + 25: epoch 2
    assert.equal(await subnets.read.currentEpoch([1]), 2n);

    // Tempo 10 -> 7 mid-epoch at block start + 27: epoch 2 keeps its length, epoch 3 starts at start + 30
    // with the new tempo.
    await nextTxAt(start + 27n);
    const change = await mined(subnets.write.setHyperparams([1, { ...hp, tempo: 7n }], { account: owner }));
    assert.equal(change.blockNumber, start + 27n);
    const [scheduled] = parseEventLogs({
      abi: subnetRegistryAbi,
      logs: change.logs,
      eventName: 'EpochScheduleChanged',
    });
    assert.deepEqual(scheduled?.args, { netuid: 1, startBlock: start + 30n, epoch: 3n, tempo: 7n });
    assert.equal(await subnets.read.currentEpoch([1]), 2n);
    assert.equal((await subnets.read.getHyperparams([1])).tempo, 10n);
    assert.equal(await subnets.read.epochStartBlock([1, 2n]), start + 20n);
    assert.equal(await subnets.read.epochStartBlock([1, 3n]), start + 30n);
    assert.equal(await subnets.read.epochStartBlock([1, 4n]), start + 37n);
    // A second change in the same epoch (start + 28) replaces the scheduled one.
    await mined(subnets.write.setHyperparams([1, { ...hp, tempo: 4n }], { account: owner }));
    assert.equal(await subnets.read.epochStartBlock([1, 5n]), start + 38n);
    await nextTxAt(start + 30n);
    await mine(1); // block start + 30
    assert.equal(await subnets.read.currentEpoch([1]), 3n);
    assert.equal((await subnets.read.getHyperparams([1])).tempo, 4n);
    await mine(4); // start + 34
    assert.equal(await subnets.read.currentEpoch([1]), 4n);

    // A change on an epoch's first block still waits for the next one: epoch 5 starts at start + 38 with
    // tempo 4, epoch 6 at start + 42 with tempo 20.
    await nextTxAt(start + 38n);
    await mined(subnets.write.setHyperparams([1, { ...hp, tempo: 20n }], { account: owner }));
    assert.equal(await subnets.read.currentEpoch([1]), 5n);
    assert.equal(await subnets.read.epochStartBlock([1, 6n]), start + 42n);
    assert.equal(await subnets.read.epochStartBlock([1, 7n]), start + 62n);
    // Back to the tempo in effect (start + 39) drops the scheduled anchor; then 20 again (start + 40).
    await mined(subnets.write.setHyperparams([1, { ...hp, tempo: 4n }], { account: owner }));
    assert.equal(await subnets.read.epochStartBlock([1, 7n]), start + 46n);
    await mined(subnets.write.setHyperparams([1, { ...hp, tempo: 20n }], { account: owner }));
    assert.deepEqual(await subnets.read.getEpochSchedule([1]), [
      { startBlock: start, epoch: 0n, tempo: 10n },
      { startBlock: start + 30n, epoch: 3n, tempo: 4n },
      { startBlock: start + 42n, epoch: 6n, tempo: 20n },
    ]);
  });

  it('a tempo change in the registration block waits for epoch 1', async () => {
    const { subnets, testClient, publicClient, owner } = fx();
    await testClient.setAutomine(false);
    try {
      const nonce = await publicClient.getTransactionCount({ address: owner.address });
      const register = await subnets.write.registerSubnet(['a', '', hp], {
        account: owner,
        nonce,
        gas: 1_000_000n,
      });
      const tune = await subnets.write.setHyperparams([1, { ...hp, tempo: 3n }], {
        account: owner,
        nonce: nonce + 1,
        gas: 1_000_000n,
      });
      await testClient.mine({ blocks: 1 });
      const [a, b] = await Promise.all([
        publicClient.waitForTransactionReceipt({ hash: register }),
        publicClient.waitForTransactionReceipt({ hash: tune }),
      ]);
      assert.equal(a.status, 'success');
      assert.equal(b.status, 'success');
      assert.equal(a.blockNumber, b.blockNumber);
      assert.deepEqual(await subnets.read.getEpochSchedule([1]), [
        { startBlock: a.blockNumber, epoch: 0n, tempo: hp.tempo },
        { startBlock: a.blockNumber + hp.tempo, epoch: 1n, tempo: 3n },
      ]);
    } finally {
      await testClient.setAutomine(true);
    }
  });

  it('reverts SubnetNotFound from every per-subnet view', async () => {
    const { subnets } = fx();
    await expectRevert(subnets.read.getSubnet([1]), 'SubnetNotFound', [1]);
    await expectRevert(subnets.read.getHyperparams([1]), 'SubnetNotFound');
    await expectRevert(subnets.read.getPendingHyperparams([1]), 'SubnetNotFound');
    await expectRevert(subnets.read.getRegistrationInfo([0]), 'SubnetNotFound', [0]);
    await expectRevert(subnets.read.subnetOwner([1]), 'SubnetNotFound');
    await expectRevert(subnets.read.currentEpoch([1]), 'SubnetNotFound');
    await expectRevert(subnets.read.epochStartBlock([1, 0n]), 'SubnetNotFound');
    await expectRevert(subnets.read.getEpochSchedule([1]), 'SubnetNotFound');
    assert.equal(await subnets.read.isActive([1]), false);
  });

  it('refuses a deployment on the zero token or with a zero decay interval', async () => {
    const { publicClient, deployer, addresses } = fx();
    const deploy = (args: readonly [`0x${string}`, bigint, bigint, bigint]) =>
      publicClient.call({
        account: deployer.address,
        data: encodeDeployData({ abi: subnetRegistryAbi, bytecode: subnetRegistryBytecode, args }),
      });
    await expectRevert(deploy([zeroAddress, SUB, SUB, 10n]), 'ZeroAddress');
    await expectRevert(deploy([addresses.token, SUB, SUB, 0n]), 'InvalidLockReductionInterval');
  });
});
