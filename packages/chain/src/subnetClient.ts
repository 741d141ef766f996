/**
 * `SubnetClient`: the SDK, with the HetuSubnet verbs over the chain actions. Reads work without an
 * account; writes need one (`createSubnetClient({ ..., account })` or `.withAccount(account)`).
 *
 * @example
 * const client = createSubnetClient({ rpcUrl: network.rpcUrl, chainId: network.chainId, contracts: network.contracts });
 * const neurons = await client.getSubnetNeurons(1);
 */
import type { Account, Address, Hex } from 'viem';
import { activateSubnet } from './actions/activateSubnet.js';
import { addStake } from './actions/addStake.js';
import { allocateToSubnet } from './actions/allocateToSubnet.js';
import { attestEpoch } from './actions/attestEpoch.js';
import { claimEmission } from './actions/claimEmission.js';
import { claimStake } from './actions/claimStake.js';
import { commitWeights } from './actions/commitWeights.js';
import { deallocateFromSubnet } from './actions/deallocateFromSubnet.js';
import { deregisterNeuron } from './actions/deregisterNeuron.js';
import { faucet } from './actions/faucet.js';
import { getCurrentBlock } from './actions/getCurrentBlock.js';
import { getDeallocation } from './actions/getDeallocation.js';
import { getEpoch } from './actions/getEpoch.js';
import { type GetEpochInputsParameters, getEpochInputs } from './actions/getEpochInputs.js';
import { getEpochResults } from './actions/getEpochResults.js';
import { getNeuronInfo } from './actions/getNeuronInfo.js';
import { getPendingSubnetParams } from './actions/getPendingSubnetParams.js';
import { getPendingWeightsCommit } from './actions/getPendingWeightsCommit.js';
import { getStakeInfo } from './actions/getStakeInfo.js';
import { getSubnetInfo } from './actions/getSubnetInfo.js';
import { getSubnetMiners } from './actions/getSubnetMiners.js';
import { getSubnetNeurons } from './actions/getSubnetNeurons.js';
import { getSubnetParams } from './actions/getSubnetParams.js';
import { getSubnets } from './actions/getSubnets.js';
import { getSubnetValidators } from './actions/getSubnetValidators.js';
import { getTokenBalance } from './actions/getTokenBalance.js';
import { proposeEpoch } from './actions/proposeEpoch.js';
import { recordEpochResults } from './actions/recordEpochResults.js';
import { registerNeuron } from './actions/registerNeuron.js';
import { registerSubnet } from './actions/registerSubnet.js';
import { removeStake } from './actions/removeStake.js';
import { revealWeights } from './actions/revealWeights.js';
import { setSubnetParams } from './actions/setSubnetParams.js';
import { signAttestation } from './actions/signAttestation.js';
import { slashEquivocation } from './actions/slashEquivocation.js';
import { slashWrongRoot } from './actions/slashWrongRoot.js';
import { slashWrongRoots } from './actions/slashWrongRoots.js';
import { snapshotValidators } from './actions/snapshotValidators.js';
import { updateServiceInfo } from './actions/updateServiceInfo.js';
import { withdrawAllocation } from './actions/withdrawAllocation.js';
import { type ChainClient, type ChainClientOpts, createChainClient } from './client.js';
import { fetchMetagraph } from './metagraph.js';
import type { Hyperparams } from './types.js';

type Rest<F> = F extends (client: ChainClient, ...rest: infer R) => infer O ? (...rest: R) => O : never;

/** Builds the SDK over a chain client. */
function bind(chain: ChainClient) {
  const b = <F extends (client: ChainClient, ...rest: never[]) => unknown>(f: F): Rest<F> =>
    ((...rest: never[]) => f(chain, ...rest)) as Rest<F>;
  return {
    chain,
    address: chain.wallet?.account.address,
    getCurrentBlock: b(getCurrentBlock),
    getSubnets: b(getSubnets),
    getSubnetInfo: (netuid: number) => getSubnetInfo(chain, { netuid }),
    getSubnetParams: (netuid: number) => getSubnetParams(chain, { netuid }),
    getPendingSubnetParams: (netuid: number) => getPendingSubnetParams(chain, { netuid }),
    getSubnetNeurons: (netuid: number) => getSubnetNeurons(chain, { netuid }),
    getSubnetValidators: (netuid: number) => getSubnetValidators(chain, { netuid }),
    getSubnetMiners: (netuid: number) => getSubnetMiners(chain, { netuid }),
    getNeuronInfo: (netuid: number, who: number | Address) =>
      getNeuronInfo(chain, typeof who === 'number' ? { netuid, uid: who } : { netuid, hotkey: who }),
    getMetagraph: (netuid: number) => fetchMetagraph(chain, { netuid }),
    getStakeInfo: (coldkey: Address) => getStakeInfo(chain, { coldkey }),
    getTokenBalance: (address: Address) => getTokenBalance(chain, { address }),
    registerSubnet: b(registerSubnet),
    activateSubnet: (netuid: number) => activateSubnet(chain, { netuid }),
    setSubnetParams: (netuid: number, params: Hyperparams) => setSubnetParams(chain, { netuid, params }),
    registerNeuron: b(registerNeuron),
    deregisterNeuron: (netuid: number, uid: number) => deregisterNeuron(chain, { netuid, uid }),
    updateServiceInfo: b(updateServiceInfo),
    addStake: (amount: bigint) => addStake(chain, { amount }),
    removeStake: (amount: bigint) => removeStake(chain, { amount }),
    claimStake: () => claimStake(chain),
    allocateToSubnet: (netuid: number, hotkey: Address, amount: bigint) =>
      allocateToSubnet(chain, { netuid, hotkey, amount }),
    deallocateFromSubnet: (netuid: number, hotkey: Address, amount: bigint) =>
      deallocateFromSubnet(chain, { netuid, hotkey, amount }),
    withdrawAllocation: (netuid: number, hotkey: Address) => withdrawAllocation(chain, { netuid, hotkey }),
    getDeallocation: (coldkey: Address, netuid: number, hotkey: Address) =>
      getDeallocation(chain, { coldkey, netuid, hotkey }),
    signAttestation: b(signAttestation),
    slashEquivocation: b(slashEquivocation),
    slashWrongRoot: b(slashWrongRoot),
    slashWrongRoots: b(slashWrongRoots),
    commitWeights: b(commitWeights),
    revealWeights: (p: { netuid: number; uids: readonly number[]; weights: readonly number[]; salt: Hex }) =>
      revealWeights(chain, p),
    getPendingWeightsCommit: (netuid: number, hotkey: Address) =>
      getPendingWeightsCommit(chain, { netuid, hotkey }),
    faucet: () => faucet(chain),
    getEpoch: (netuid: number, epoch?: number | bigint) =>
      getEpoch(chain, epoch === undefined ? { netuid } : { netuid, epoch }),
    getEpochInputs: (
      netuid: number,
      epoch: number | bigint,
      opts: Omit<GetEpochInputsParameters, 'netuid' | 'epoch'> = {},
    ) => getEpochInputs(chain, { ...opts, netuid, epoch }),
    getEpochResults: (netuid: number, epoch?: number | bigint) =>
      getEpochResults(chain, epoch === undefined ? { netuid } : { netuid, epoch }),
    snapshotValidators: (netuid: number) => snapshotValidators(chain, { netuid }),
    proposeEpoch: b(proposeEpoch),
    attestEpoch: b(attestEpoch),
    claimEmission: b(claimEmission),
    recordEpochResults: b(recordEpochResults),
    /** The same SDK signing with `account`. */
    withAccount: (account: Account) => bind(chain.withAccount(account)),
  };
}

export type SubnetClient = ReturnType<typeof bind>;

/** Creates the SDK. */
export function createSubnetClient(opts: ChainClientOpts & { account?: Account }): SubnetClient {
  const { account, ...rest } = opts;
  return bind(createChainClient(rest, account));
}
