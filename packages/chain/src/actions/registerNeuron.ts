import { neuronRegistryAbi, subnetRegistryAbi, subnetTokenAbi } from '@subnet/contracts';
import { type Address, type Hash, parseEventLogs } from 'viem';
import type { ChainClient } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkAddress, checkNetuid } from '../validate.js';
import { checkServiceInfo } from './updateServiceInfo.js';

/**
 * Registers `hotkey` in a subnet as a miner or validator (`NeuronRegistry.registerNeuron`), signed by the
 * coldkey, after approving the registration burn (`SubnetToken.approve`).
 */
export async function registerNeuron(
  client: ChainClient,
  params: {
    netuid: number;
    hotkey: Address;
    role: 'validator' | 'miner';
    peerId?: string;
    multiaddrs?: readonly string[];
    metadata?: string;
  },
): Promise<{ uid: number; hash: Hash }> {
  const netuid = checkNetuid(params.netuid);
  const hotkey = checkAddress(params.hotkey, 'hotkey');
  const info = checkServiceInfo(params);
  let burn: bigint;
  try {
    const hp = await client.public.readContract({
      address: client.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'getHyperparams',
      args: [netuid],
    });
    burn = hp.registrationBurn;
  } catch (err) {
    throw toChainError(err, 'registerNeuron');
  }
  if (burn > 0n) {
    await sendContractTx(client, {
      address: client.contracts.token,
      abi: subnetTokenAbi,
      functionName: 'approve',
      args: [client.contracts.neuronRegistry, burn],
    });
  }
  const tx = await sendContractTx(client, {
    address: client.contracts.neuronRegistry,
    abi: neuronRegistryAbi,
    functionName: 'registerNeuron',
    args: [netuid, hotkey, params.role === 'validator', info.peerId, info.multiaddrs, info.metadata],
  });
  // The uid comes from the mined event: a simulation's answer can be stale when registrations race.
  const [event] = parseEventLogs({
    abi: neuronRegistryAbi,
    logs: tx.receipt.logs,
    eventName: 'NeuronRegistered',
  });
  if (event === undefined)
    throw new ChainError(ChainErrorCode.TX_FAILED, `registerNeuron ${tx.hash}: no NeuronRegistered event`);
  return { uid: Number(event.args.uid), hash: tx.hash };
}
