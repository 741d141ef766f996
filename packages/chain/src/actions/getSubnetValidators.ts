import type { ChainClient } from '../client.js';
import type { NeuronInfo } from '../types.js';
import { readNeuronList } from './getSubnetNeurons.js';

/** The validator-role neurons of a subnet with stake and permit (`NeuronRegistry.getSubnetValidators`). */
export function getSubnetValidators(client: ChainClient, params: { netuid: number }): Promise<NeuronInfo[]> {
  return readNeuronList(client, params.netuid, 'getSubnetValidators');
}
