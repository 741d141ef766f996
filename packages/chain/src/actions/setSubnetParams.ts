import { subnetRegistryAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { sendContractTx } from '../tx.js';
import type { Hyperparams } from '../types.js';
import { checkNetuid } from '../validate.js';

/** Replaces a subnet's hyperparameters (`SubnetRegistry.setHyperparams`, owner only, bounds-checked). */
export async function setSubnetParams(
  client: ChainClient,
  params: { netuid: number; params: Hyperparams },
): Promise<{ hash: Hash }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.subnetRegistry,
    abi: subnetRegistryAbi,
    functionName: 'setHyperparams',
    args: [checkNetuid(params.netuid), params.params],
  });
  return { hash: tx.hash };
}
