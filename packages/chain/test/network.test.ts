/**
 * Network files: a file written before the payment contracts existed still loads, and one that lists them
 * loads with their addresses (issue 15); a bad payment address is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkSchema } from '../src/network.js';

const core = {
  token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  staking: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  subnetRegistry: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  neuronRegistry: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
  weights: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
  epochConsensus: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707',
};

describe('NetworkSchema', () => {
  it('loads a network file without payment contracts', () => {
    const network = NetworkSchema.parse({ chainId: 31337, contracts: core });
    assert.equal(network.contracts.paymentEscrow, undefined);
    assert.equal(network.contracts.token, core.token);
  });

  it('loads the payment contracts when listed, and refuses a malformed address', () => {
    const payments = {
      paymentToken: '0x0165878A594ca255338adfa4d48449f69242Eb8F',
      pricing: '0xa513E6E4b8f2a923D98304ec87F64353C4D5C853',
      paymentEscrow: '0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6',
    };
    const network = NetworkSchema.parse({ chainId: 31337, contracts: { ...core, ...payments } });
    assert.deepEqual(
      {
        paymentToken: network.contracts.paymentToken,
        pricing: network.contracts.pricing,
        paymentEscrow: network.contracts.paymentEscrow,
      },
      payments,
    );
    assert.equal(
      NetworkSchema.safeParse({ chainId: 31337, contracts: { ...core, paymentEscrow: '0x12' } }).success,
      false,
    );
  });
});
