import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getAddress, zeroAddress } from 'viem';
import { expectRevert, SUB, useFixture } from './fixture.js';

const MANAGER = getAddress('0x00000000000000000000000000000000000000ee');

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
    },
  });

  it('deploys the suite, wires it and applies every option', async () => {
    const { token, staking, subnets, neurons, weights, addresses, deployer } = fx();
    assert.equal(await token.read.totalSupply(), 2_000_000n * SUB);
    assert.equal(await staking.read.token(), addresses.token);
    assert.equal(await staking.read.unbondingPeriod(), 12n);
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
    for (const c of [token, staking, subnets, neurons]) assert.equal(await c.read.owner(), deployer.address);
  });

  it('hands contract ownership over with OpenZeppelin Ownable', async () => {
    const { token, staking, subnets, neurons, mined, deployer, alice } = fx();
    const handles = [
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
      await expectRevert(c.transfer([zeroAddress], { account: deployer }), 'OwnableInvalidOwner');
      await expectRevert(c.transfer([alice.address], { account: alice }), 'OwnableUnauthorizedAccount');
      await mined(c.transfer([alice.address], { account: deployer }));
      assert.equal(await c.owner(), alice.address);
      await mined(c.renounce({ account: alice }));
      assert.equal(await c.owner(), zeroAddress);
    }
  });
});
