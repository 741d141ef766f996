import { neuronRegistryAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { sendContractTx } from '../tx.js';
import { checkNetuid, checkUid } from '../validate.js';

/** Frees a neuron's uid (`NeuronRegistry.deregisterNeuron`, its coldkey only). */
export async function deregisterNeuron(
  client: ChainClient,
  params: { netuid: number; uid: number },
): Promise<{ hash: Hash }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.neuronRegistry,
    abi: neuronRegistryAbi,
    functionName: 'deregisterNeuron',
    args: [checkNetuid(params.netuid), checkUid(params.uid)],
  });
  return { hash: tx.hash };
}
