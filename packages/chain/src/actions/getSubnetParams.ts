import type { ChainClient } from '../client.js';
import type { Hyperparams } from '../types.js';
import { getSubnetInfo } from './getSubnetInfo.js';

/** A subnet's hyperparameters (`SubnetRegistry.getHyperparams`); NOT_FOUND for an unknown netuid. */
export async function getSubnetParams(client: ChainClient, params: { netuid: number }): Promise<Hyperparams> {
  return (await getSubnetInfo(client, params)).params;
}
