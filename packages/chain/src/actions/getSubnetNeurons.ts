import { neuronRegistryAbi, stakingAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import type { EpochResult, NeuronInfo, NeuronRecord } from '../types.js';
import { checkNetuid } from '../validate.js';
import { latestResultsByUid } from './getEpochResults.js';

/**
 * Adds each neuron's subnet stake (`Staking.hotkeyStake`) and permit (`NeuronRegistry.hasValidatorPermit`),
 * and its line of `results` (the latest finalised epoch's; a neuron not in them gets zeros and no emission).
 */
export async function enrichNeurons(
  client: ChainClient,
  netuid: number,
  records: readonly NeuronRecord[],
  results: ReadonlyMap<number, EpochResult>,
  blockNumber?: bigint,
): Promise<NeuronInfo[]> {
  const at = blockNumber === undefined ? {} : { blockNumber };
  return Promise.all(
    records.map(async (r) => {
      const [stake, validatorPermit] = await Promise.all([
        client.public.readContract({
          address: client.contracts.staking,
          abi: stakingAbi,
          functionName: 'hotkeyStake',
          args: [netuid, r.hotkey],
          ...at,
        }),
        r.isValidator
          ? client.public.readContract({
              address: client.contracts.neuronRegistry,
              abi: neuronRegistryAbi,
              functionName: 'hasValidatorPermit',
              args: [netuid, r.uid],
              ...at,
            })
          : Promise.resolve(false),
      ]);
      const line = results.get(r.uid);
      return {
        ...r,
        netuid,
        stake,
        validatorPermit,
        recordedEmission: r.emission,
        emission: line?.amount ?? 0n,
        incentive: line?.incentive ?? 0,
        dividends: line?.dividends ?? 0,
        trust: line?.trust ?? 0,
        consensus: line?.consensus ?? 0,
      };
    }),
  );
}

/** Reads one of the NeuronRegistry list views for a subnet and enriches it with stake and permit. */
export async function readNeuronList(
  client: ChainClient,
  netuid: number,
  functionName: 'getSubnetNeurons' | 'getSubnetValidators' | 'getSubnetMiners',
): Promise<NeuronInfo[]> {
  checkNetuid(netuid);
  try {
    const [records, results] = await Promise.all([
      client.public.readContract({
        address: client.contracts.neuronRegistry,
        abi: neuronRegistryAbi,
        functionName,
        args: [netuid],
      }),
      latestResultsByUid(client, netuid),
    ]);
    return await enrichNeurons(client, netuid, records, results);
  } catch (err) {
    throw toChainError(err, `${functionName}(${netuid})`);
  }
}

/** Every neuron of a subnet with stake and permit (`NeuronRegistry.getSubnetNeurons`). */
export function getSubnetNeurons(client: ChainClient, params: { netuid: number }): Promise<NeuronInfo[]> {
  return readNeuronList(client, params.netuid, 'getSubnetNeurons');
}
