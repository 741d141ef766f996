import { neuronRegistryAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import type { NeuronInfo } from '../types.js';
import { checkNetuid } from '../validate.js';
import { enrichNeurons } from './getSubnetNeurons.js';

/** The miner-role neurons of a subnet (`NeuronRegistry.getSubnetMiners`). */
export async function getSubnetMiners(
  client: ChainClient,
  params: { netuid: number },
): Promise<NeuronInfo[]> {
  const netuid = checkNetuid(params.netuid);
  try {
    const records = await client.public.readContract({
      address: client.contracts.neuronRegistry,
      abi: neuronRegistryAbi,
      functionName: 'getSubnetMiners',
      args: [netuid],
    });
    return await enrichNeurons(client, netuid, records);
  } catch (err) {
    throw toChainError(err, `getSubnetMiners(${netuid})`);
  }
}
