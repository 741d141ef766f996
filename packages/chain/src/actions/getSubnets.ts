import { subnetRegistryAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import type { SubnetInfo } from '../types.js';
import { readSubnet } from './getSubnetInfo.js';

/** Every subnet, 1..`SubnetRegistry.subnetCount`, each read with `getSubnet` and `getHyperparams` (batched). */
export async function getSubnets(client: ChainClient): Promise<SubnetInfo[]> {
  try {
    const count = await client.public.readContract({
      address: client.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'subnetCount',
    });
    return await Promise.all(Array.from({ length: count }, (_, i) => readSubnet(client, i + 1)));
  } catch (err) {
    throw toChainError(err, 'getSubnets');
  }
}
