import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Abi, type Address, encodeFunctionData, getContract, type Hex } from 'viem';
import { hotkeyBindingTypedData, NO_CONSENT } from '../src/consent.js';
import {
  neuronRegistryAbi,
  neuronRegistryBytecode,
  stakingAbi,
  stakingBytecode,
  subnetRegistryAbi,
  subnetRegistryBytecode,
} from '../src/generated/index.js';
import { reentrantTokenAbi, reentrantTokenBytecode } from '../src/generated/test/ReentrantToken.js';
import { defaultHyperparams, expectRevert, FAR_DEADLINE, type Fixture, SUB, useFixture } from './fixture.js';

/** Deploys `bytecode` from the deployer and returns the address. */
async function deploy(f: Fixture, abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> {
  const hash = await f.walletClient.deployContract({
    abi,
    bytecode,
    args,
    account: f.deployer,
    chain: f.chain,
  });
  const receipt = await f.mined(hash);
  assert.ok(receipt.contractAddress);
  return receipt.contractAddress;
}

/** The suite on a token whose transfer, transferFrom and burnFrom call back into a target first. */
async function reentrantSuite(f: Fixture) {
  const client = { public: f.publicClient, wallet: f.walletClient };
  const tokenAddress = await deploy(f, reentrantTokenAbi, reentrantTokenBytecode, [1_000_000n * SUB]);
  const stakingAddress = await deploy(f, stakingAbi, stakingBytecode, [tokenAddress]);
  const subnetsAddress = await deploy(f, subnetRegistryAbi, subnetRegistryBytecode, [
    tokenAddress,
    SUB,
    SUB,
    10n,
  ]);
  const neuronsAddress = await deploy(f, neuronRegistryAbi, neuronRegistryBytecode, [
    tokenAddress,
    stakingAddress,
    subnetsAddress,
  ]);
  const token = getContract({ address: tokenAddress, abi: reentrantTokenAbi, client });
  const staking = getContract({ address: stakingAddress, abi: stakingAbi, client });
  const subnets = getContract({ address: subnetsAddress, abi: subnetRegistryAbi, client });
  const neurons = getContract({ address: neuronsAddress, abi: neuronRegistryAbi, client });
  await f.mined(token.write.transfer([f.alice.address, 1_000n * SUB], { account: f.deployer }));
  for (const spender of [stakingAddress, subnetsAddress, neuronsAddress]) {
    await f.mined(token.write.approve([spender, 2n ** 255n], { account: f.alice }));
  }
  const arm = (target: Address, payload: Hex) =>
    f.mined(token.write.arm([target, payload], { account: f.deployer }));
  const disarm = () => arm('0x0000000000000000000000000000000000000000', '0x');
  return { token, staking, subnets, neurons, arm, disarm };
}

const HOTKEY: Address = '0x00000000000000000000000000000000000000AA';

describe('re-entrancy', () => {
  const fx = useFixture();

  it('blocks every Staking entry point from a token callback during stake and claim', async () => {
    const f = fx();
    const { alice, deployer } = f;
    const { staking, arm, disarm } = await reentrantSuite(f);
    const payloads: Hex[] = [
      encodeFunctionData({ abi: stakingAbi, functionName: 'stake', args: [1n] }),
      encodeFunctionData({ abi: stakingAbi, functionName: 'unstake', args: [1n] }),
      encodeFunctionData({ abi: stakingAbi, functionName: 'claim' }),
      encodeFunctionData({ abi: stakingAbi, functionName: 'allocate', args: [1, HOTKEY, 1n] }),
      encodeFunctionData({ abi: stakingAbi, functionName: 'deallocate', args: [1, HOTKEY, 1n] }),
      encodeFunctionData({ abi: stakingAbi, functionName: 'withdrawAllocation', args: [1, HOTKEY] }),
      encodeFunctionData({ abi: stakingAbi, functionName: 'slash', args: [1, HOTKEY, 1n] }),
    ];
    for (const payload of payloads) {
      await arm(staking.address, payload);
      await expectRevert(
        staking.write.stake([10n * SUB], { account: alice }),
        'ReentrancyGuardReentrantCall',
      );
    }
    await disarm();
    await f.mined(staking.write.stake([10n * SUB], { account: alice }));
    await f.mined(staking.write.setUnbondingPeriod([0n], { account: deployer }));
    await f.mined(staking.write.unstake([4n * SUB], { account: alice }));
    for (const payload of payloads) {
      await arm(staking.address, payload);
      await expectRevert(staking.write.claim({ account: alice }), 'ReentrancyGuardReentrantCall');
    }
    await disarm();
    await f.mined(staking.write.claim({ account: alice }));
    assert.equal(await staking.read.totalStaked(), 6n * SUB);
    assert.equal(await staking.read.totalUnbonding(), 0n);
  });

  it('blocks re-entering SubnetRegistry.registerSubnet and NeuronRegistry.registerNeuron', async () => {
    const f = fx();
    const { alice } = f;
    const hp = defaultHyperparams;
    const { subnets, neurons, arm, disarm } = await reentrantSuite(f);
    await arm(
      subnets.address,
      encodeFunctionData({
        abi: subnetRegistryAbi,
        functionName: 'registerSubnet',
        args: ['inner', '', hp],
      }),
    );
    await expectRevert(
      subnets.write.registerSubnet(['outer', '', hp], { account: alice }),
      'ReentrancyGuardReentrantCall',
    );
    await disarm();
    await f.mined(subnets.write.registerSubnet(['outer', '', hp], { account: alice }));
    await f.mined(subnets.write.activateSubnet([1], { account: alice }));

    // This suite's own NeuronRegistry is the verifying contract of the hotkey's consent.
    const consent = {
      deadline: FAR_DEADLINE,
      signature: await alice.signTypedData(
        hotkeyBindingTypedData({
          chainId: f.chain.id,
          neuronRegistry: neurons.address,
          hotkey: alice.address,
          coldkey: alice.address,
          deadline: FAR_DEADLINE,
        }),
      ),
    };
    await arm(
      neurons.address,
      encodeFunctionData({
        abi: neuronRegistryAbi,
        functionName: 'registerNeuron',
        args: [1, HOTKEY, false, '', '', '', NO_CONSENT],
      }),
    );
    await expectRevert(
      neurons.write.registerNeuron([1, alice.address, false, '', '', '', consent], { account: alice }),
      'ReentrancyGuardReentrantCall',
    );
    await disarm();
    await f.mined(
      neurons.write.registerNeuron([1, alice.address, false, '', '', '', consent], { account: alice }),
    );
    assert.equal(await neurons.read.getNeuronCount([1]), 1);
  });
});
