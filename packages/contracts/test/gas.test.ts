import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Address, keccak256, toHex } from 'viem';
import { packU16, weightsCommitHash } from '../src/weights.js';
import { defaultHyperparams, MULTIADDR, PEER_ID, SUB, useFixture } from './fixture.js';

const REGISTER_NEURON_MAX_GAS = 300_000n;
const REVEAL_256_MAX_GAS = 250_000n;

const hotkey = (i: number): Address => `0x${keccak256(toHex(`gas-hotkey-${i}`)).slice(26)}` as Address;

describe('gas targets', () => {
  const fx = useFixture({
    subnet: { ...defaultHyperparams, maxAllowedUids: 256, maxValidators: 64, minAllowedWeights: 16 },
  });

  it(`registerNeuron costs <= ${REGISTER_NEURON_MAX_GAS} gas (peer id ~52 chars, one multiaddr, no metadata)`, async () => {
    const { neurons, staking, mined, alice } = fx();
    const register = async (key: Address, asValidator: boolean) =>
      (
        await mined(
          neurons.write.registerNeuron([1, key, asValidator, PEER_ID, MULTIADDR, ''], { account: alice }),
        )
      ).gasUsed;
    const first = await register(hotkey(0), false);
    const typical = await register(hotkey(1), false);
    await mined(staking.write.stake([1_000n * SUB], { account: alice }));
    await mined(staking.write.allocate([1, hotkey(2), 500n * SUB], { account: alice }));
    await mined(staking.write.allocate([1, hotkey(3), 500n * SUB], { account: alice }));
    const firstValidator = await register(hotkey(2), true);
    const validator = await register(hotkey(3), true);
    console.log(
      `gas registerNeuron: miner ${typical} (first on the subnet ${first}), validator ${validator} ` +
        `(first validator ${firstValidator}); peerId ${PEER_ID.length} B, multiaddr ${MULTIADDR.length} B`,
    );
    assert.ok(typical <= REGISTER_NEURON_MAX_GAS, `miner registration ${typical}`);
    assert.ok(validator <= REGISTER_NEURON_MAX_GAS, `validator registration ${validator}`);
  });

  it(`revealWeights of 256 weights costs <= ${REVEAL_256_MAX_GAS} gas`, async () => {
    const { neurons, staking, subnets, weights, mined, mine, blockNumber, alice, bob } = fx();
    await mined(staking.write.stake([1_000n * SUB], { account: alice }));
    await mined(staking.write.allocate([1, bob.address, 1_000n * SUB], { account: alice }));
    await mined(
      neurons.write.registerNeuron([1, bob.address, true, PEER_ID, MULTIADDR, ''], { account: alice }),
    );
    const uids = Array.from({ length: 256 }, (_, i) => i);
    let seed = 7;
    const values = uids.map(() => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return 1 + (seed % 65_535);
    });
    const salt = keccak256(toHex('salt'));
    const epoch = await subnets.read.currentEpoch([1]);
    const commit = await mined(
      weights.write.commitWeights([1, weightsCommitHash(uids, values, salt, epoch)], { account: bob }),
    );
    const revealStart = await subnets.read.epochStartBlock([1, epoch + 1n]);
    await mine(Number(revealStart - (await blockNumber())));
    const reveal = await mined(
      weights.write.revealWeights([1, packU16(uids), packU16(values), salt, 1n], { account: bob }),
    );
    console.log(`gas commitWeights ${commit.gasUsed}, revealWeights(256) ${reveal.gasUsed}`);
    assert.ok(reveal.gasUsed <= REVEAL_256_MAX_GAS, `reveal ${reveal.gasUsed}`);
  });
});
