import { subnetRegistryAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import type { SubnetInfo } from '../types.js';
import { checkNetuid } from '../validate.js';

/** A subnet and its hyperparameters: `SubnetRegistry.getSubnet` + `SubnetRegistry.getHyperparams`. */
export async function getSubnetInfo(client: ChainClient, params: { netuid: number }): Promise<SubnetInfo> {
  const netuid = checkNetuid(params.netuid);
  const address = client.contracts.subnetRegistry;
  try {
    const exists = await client.public.readContract({
      address,
      abi: subnetRegistryAbi,
      functionName: 'subnetExists',
      args: [netuid],
    });
    if (!exists) throw new ChainError(ChainErrorCode.NOT_FOUND, `subnet ${netuid} does not exist`);
    const [info, hp] = await Promise.all([
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
    return { ...info, netuid, params: hp };
  } catch (err) {
    throw toChainError(err, `getSubnetInfo(${netuid})`);
  }
}
