import { neuronRegistryAbi } from '@subnet/contracts';
import type { Address } from 'viem';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import type { NeuronInfo } from '../types.js';
import { checkAddress, checkNetuid, checkUid } from '../validate.js';
import { latestResultsByUid } from './getEpochResults.js';
import { enrichNeurons } from './getSubnetNeurons.js';

/** One neuron by uid (`NeuronRegistry.getNeuronInfo`) or hotkey (`NeuronRegistry.getNeuronByHotkey`). */
export async function getNeuronInfo(
  client: ChainClient,
  params: { netuid: number } & ({ uid: number } | { hotkey: Address }),
): Promise<NeuronInfo> {
  const netuid = checkNetuid(params.netuid);
  const address = client.contracts.neuronRegistry;
  try {
    const record =
      'uid' in params
        ? await client.public.readContract({
            address,
            abi: neuronRegistryAbi,
            functionName: 'getNeuronInfo',
            args: [netuid, checkUid(params.uid)],
          })
        : await client.public.readContract({
            address,
            abi: neuronRegistryAbi,
            functionName: 'getNeuronByHotkey',
            args: [netuid, checkAddress(params.hotkey, 'hotkey')],
          });
    const [neuron] = await enrichNeurons(client, netuid, [record], await latestResultsByUid(client, netuid));
    return neuron as NeuronInfo;
  } catch (err) {
    throw toChainError(err, `getNeuronInfo(${netuid})`);
  }
}
