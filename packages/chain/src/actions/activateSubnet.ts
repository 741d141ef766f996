import { subnetRegistryAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { sendContractTx } from '../tx.js';
import { checkNetuid } from '../validate.js';

/** Opens a subnet for neuron registrations (`SubnetRegistry.activateSubnet`, owner only). */
export async function activateSubnet(
  client: ChainClient,
  params: { netuid: number },
): Promise<{ hash: Hash }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.subnetRegistry,
    abi: subnetRegistryAbi,
    functionName: 'activateSubnet',
    args: [checkNetuid(params.netuid)],
  });
  return { hash: tx.hash };
}
