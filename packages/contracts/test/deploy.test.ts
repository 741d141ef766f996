import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Address,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  getContract,
  type Hex,
  keccak256,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem';
import { DEVNET_TIMELOCK_DELAY_S } from '../src/deploy.js';
import {
  adminTimelockAbi,
  adminTimelockBytecode,
  stakingAbi,
  subnetTokenAbi,
} from '../src/generated/index.js';
import { expectRevert, type Fixture, SUB, useFixture } from './fixture.js';

const MANAGER = getAddress('0x00000000000000000000000000000000000000ee');
const DELAY = 3600n;

/** The AdminTimelock that owns the suite (read from the token's `owner()`). */
async function timelockOf(f: Fixture) {
  const address = await f.token.read.owner();
  return getContract({
    address,
    abi: adminTimelockAbi,
    client: { public: f.publicClient, wallet: f.walletClient },
  });
}

describe('deployContracts', () => {
  const fx = useFixture({
    deploy: {
      initialSupply: 2_000_000n * SUB,
      initialLockCost: 50n * SUB,
      minLockCost: 5n * SUB,
      lockReductionInterval: 100n,
      unbondingPeriod: 12n,
      faucet: { amount: 3n * SUB, cooldownBlocks: 4n },
      emissionManager: MANAGER,
      admin: { timelockDelay: DELAY },
    },
  });

  it('deploys the suite, wires it, applies every option and hands every admin role to the timelock', async () => {
    const f = fx();
    const { token, staking, subnets, neurons, weights, epochConsensus, addresses, deployer } = f;
    assert.equal(await token.read.totalSupply(), 2_000_000n * SUB);
    assert.equal(await staking.read.token(), addresses.token);
    assert.equal(await staking.read.unbondingPeriod(), 12n);
    assert.equal(await staking.read.rewarder(), addresses.epochConsensus);
    assert.equal(await token.read.isMinter([addresses.epochConsensus]), true);
    assert.equal(await subnets.read.token(), addresses.token);
    assert.equal(await subnets.read.minLockCost(), 5n * SUB);
    assert.equal(await subnets.read.lockReductionInterval(), 100n);
    assert.equal(await subnets.read.lockCostPeak(), 50n * SUB);
    assert.equal(await neurons.read.token(), addresses.token);
    assert.equal(await neurons.read.staking(), addresses.staking);
    assert.equal(await neurons.read.subnetRegistry(), addresses.subnetRegistry);
    assert.equal(await neurons.read.weights(), addresses.weights);
    assert.equal(await neurons.read.emissionManager(), MANAGER);
    assert.equal(await weights.read.neuronRegistry(), addresses.neuronRegistry);
    assert.equal(await token.read.faucetEnabled(), true);
    assert.equal(await token.read.faucetAmount(), 3n * SUB);
    assert.equal(await token.read.faucetCooldownBlocks(), 4n);

    const timelock = await timelockOf(f);
    assert.notEqual(timelock.address, deployer.address);
    for (const c of [token, staking, subnets, neurons, epochConsensus])
      assert.equal(await c.read.owner(), timelock.address);
    assert.equal(await timelock.read.getMinDelay(), DELAY);
    const [proposer, executor, admin] = await Promise.all([
      timelock.read.PROPOSER_ROLE(),
      timelock.read.EXECUTOR_ROLE(),
      timelock.read.DEFAULT_ADMIN_ROLE(),
    ]);
    assert.equal(await timelock.read.hasRole([proposer, deployer.address]), true);
    assert.equal(await timelock.read.hasRole([executor, zeroAddress]), true); // anyone executes
    // Nobody but the timelock itself administers it: no account can skip the delay.
    assert.equal(await timelock.read.hasRole([admin, deployer.address]), false);
    assert.equal(await timelock.read.hasRole([admin, timelock.address]), true);
  });

  it('refuses a second call of any admin setter by the deployer', async () => {
    const { token, staking, subnets, neurons, deployer, alice } = fx();
    const calls: [string, () => Promise<unknown>][] = [
      ['setRewarder', () => staking.write.setRewarder([alice.address], { account: deployer })],
      ['setUnbondingPeriod', () => staking.write.setUnbondingPeriod([0n], { account: deployer })],
      ['setMinter', () => token.write.setMinter([alice.address, true], { account: deployer })],
      ['setFaucet', () => token.write.setFaucet([true, 10n ** 30n, 0n], { account: deployer })],
      ['setEmissionManager', () => neurons.write.setEmissionManager([alice.address], { account: deployer })],
      ['setLockParams', () => subnets.write.setLockParams([0n, 1n], { account: deployer })],
      ['transferOwnership', () => staking.write.transferOwnership([alice.address], { account: deployer })],
    ];
    for (const [name, call] of calls) {
      await expectRevert(call(), 'OwnableUnauthorizedAccount', [deployer.address]).catch((err: Error) => {
        throw new Error(`${name}: ${err.message}`);
      });
    }
    assert.equal(await token.read.isMinter([alice.address]), false);
  });

  it('changes a role only through the timelock, and only after the announced delay', async () => {
    const f = fx();
    const { staking, testClient, mined, deployer, alice } = f;
    const timelock = await timelockOf(f);
    const data = encodeFunctionData({ abi: stakingAbi, functionName: 'setRewarder', args: [alice.address] });
    const salt: Hex = keccak256(toHex('rewarder change'));
    const op = [f.addresses.staking, 0n, data, zeroHash, salt] as const;
    // Only a proposer may announce, and never with less than the minimum delay.
    await expectRevert(
      timelock.write.schedule([...op, DELAY], { account: alice }),
      'AccessControlUnauthorizedAccount',
      [alice.address],
    );
    await expectRevert(
      timelock.write.schedule([...op, DELAY - 1n], { account: deployer }),
      'TimelockInsufficientDelay',
      [DELAY - 1n, DELAY],
    );
    await mined(timelock.write.schedule([...op, DELAY], { account: deployer }));
    const id = await timelock.read.hashOperation([...op]);
    assert.equal(await timelock.read.isOperationPending([id]), true);
    // Announced but not ready: executing now fails and the rewarder is unchanged.
    await expectRevert(
      timelock.write.execute([...op], { account: alice }),
      'TimelockUnexpectedOperationState',
    );
    await testClient.increaseTime({ seconds: Number(DELAY) - 10 });
    await testClient.mine({ blocks: 1 });
    await expectRevert(
      timelock.write.execute([...op], { account: alice }),
      'TimelockUnexpectedOperationState',
    );
    assert.equal(await staking.read.rewarder(), f.addresses.epochConsensus);
    // After the delay anyone may execute it.
    await testClient.increaseTime({ seconds: 10 });
    await testClient.mine({ blocks: 1 });
    assert.equal(await timelock.read.isOperationReady([id]), true);
    await mined(timelock.write.execute([...op], { account: alice }));
    assert.equal(await staking.read.rewarder(), alice.address);
    assert.equal(await timelock.read.isOperationDone([id]), true);
  });

  it('lets a proposer cancel an announced change', async () => {
    const f = fx();
    const { token, testClient, mined, deployer, alice } = f;
    const timelock = await timelockOf(f);
    const data = encodeFunctionData({
      abi: subnetTokenAbi,
      functionName: 'setMinter',
      args: [alice.address, true],
    });
    const op = [f.addresses.token, 0n, data, zeroHash, zeroHash] as const;
    await mined(timelock.write.schedule([...op, DELAY], { account: deployer }));
    const id = await timelock.read.hashOperation([...op]);
    await mined(timelock.write.cancel([id], { account: deployer }));
    await testClient.increaseTime({ seconds: Number(DELAY) });
    await testClient.mine({ blocks: 1 });
    await expectRevert(
      timelock.write.execute([...op], { account: alice }),
      'TimelockUnexpectedOperationState',
    );
    assert.equal(await token.read.isMinter([alice.address]), false);
  });

  it('refuses a timelock without a delay', async () => {
    const { publicClient, deployer } = fx();
    const data = encodeDeployData({
      abi: adminTimelockAbi,
      bytecode: adminTimelockBytecode,
      args: [0n, [deployer.address], [zeroAddress]],
    });
    await expectRevert(publicClient.call({ account: deployer.address, data }), 'ZeroDelay');
  });
});

describe('deployContracts defaults', () => {
  const fx = useFixture({ deploy: { admin: {} } });

  it(`uses the devnet delay (${DEVNET_TIMELOCK_DELAY_S} s) when none is given`, async () => {
    const f = fx();
    const timelock = await timelockOf(f);
    assert.equal(await timelock.read.getMinDelay(), DEVNET_TIMELOCK_DELAY_S);
    assert.equal(await f.epochConsensus.read.owner(), timelock.address);
  });
});

describe("deployContracts with admin: 'deployer'", () => {
  const fx = useFixture({ deploy: { admin: 'deployer' } });

  it('leaves ownership with the deployer, handed over with OpenZeppelin Ownable', async () => {
    const { token, staking, subnets, neurons, mined, deployer, alice } = fx();
    const handles: {
      transfer: typeof token.write.transferOwnership;
      renounce: typeof token.write.renounceOwnership;
      owner: () => Promise<Address>;
    }[] = [
      {
        transfer: token.write.transferOwnership,
        renounce: token.write.renounceOwnership,
        owner: token.read.owner,
      },
      {
        transfer: staking.write.transferOwnership,
        renounce: staking.write.renounceOwnership,
        owner: staking.read.owner,
      },
      {
        transfer: subnets.write.transferOwnership,
        renounce: subnets.write.renounceOwnership,
        owner: subnets.read.owner,
      },
      {
        transfer: neurons.write.transferOwnership,
        renounce: neurons.write.renounceOwnership,
        owner: neurons.read.owner,
      },
    ];
    for (const c of handles) {
      assert.equal(await c.owner(), deployer.address);
      await expectRevert(c.transfer([zeroAddress], { account: deployer }), 'OwnableInvalidOwner');
      await expectRevert(c.transfer([alice.address], { account: alice }), 'OwnableUnauthorizedAccount');
      await mined(c.transfer([alice.address], { account: deployer }));
      assert.equal(await c.owner(), alice.address);
      await mined(c.renounce({ account: alice }));
      assert.equal(await c.owner(), zeroAddress);
    }
  });
});
