import type { ChainClient } from '../client.js';
import type { NeuronInfo } from '../types.js';
import { readNeuronList } from './getSubnetNeurons.js';

/** The miner-role neurons of a subnet with stake and permit (`NeuronRegistry.getSubnetMiners`). */
export function getSubnetMiners(client: ChainClient, params: { netuid: number }): Promise<NeuronInfo[]> {
  return readNeuronList(client, params.netuid, 'getSubnetMiners');
}
