import { subnetRegistryAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import type { SubnetInfo } from '../types.js';

/** Every subnet, 1..`SubnetRegistry.subnetCount`, with `getSubnet` and `getHyperparams` (batched). */
export async function getSubnets(client: ChainClient): Promise<SubnetInfo[]> {
  const address = client.contracts.subnetRegistry;
  try {
    const count = await client.public.readContract({
      address,
      abi: subnetRegistryAbi,
      functionName: 'subnetCount',
    });
    const netuids = Array.from({ length: count }, (_, i) => i + 1);
    return await Promise.all(
      netuids.map(async (netuid) => {
        const [info, params] = await Promise.all([
          client.public.readContract({
            address,
            abi: subnetRegistryAbi,
            functionName: 'getSubnet',
            args: [netuid],
          }),
          client.public.readContract({
            address,
            abi: subnetRegistryAbi,
            functionName: 'getHyperparams',
            args: [netuid],
          }),
        ]);
        return { ...info, netuid, params };
      }),
    );
  } catch (err) {
    throw toChainError(err, 'getSubnets');
  }
}
