import { neuronRegistryAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import type { NeuronInfo } from '../types.js';
import { checkNetuid } from '../validate.js';
import { enrichNeurons } from './getSubnetNeurons.js';

/** The validator-role neurons of a subnet (`NeuronRegistry.getSubnetValidators`). */
export async function getSubnetValidators(
  client: ChainClient,
  params: { netuid: number },
): Promise<NeuronInfo[]> {
  const netuid = checkNetuid(params.netuid);
  try {
    const records = await client.public.readContract({
      address: client.contracts.neuronRegistry,
      abi: neuronRegistryAbi,
      functionName: 'getSubnetValidators',
      args: [netuid],
    });
    return await enrichNeurons(client, netuid, records);
  } catch (err) {
    throw toChainError(err, `getSubnetValidators(${netuid})`);
  }
}
