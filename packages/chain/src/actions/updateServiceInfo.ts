import { neuronRegistryAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { invalidInput } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkNetuid, checkUid } from '../validate.js';

/** Checks service info against the contract's limits; multiaddrs are joined with commas on chain. */
export function checkServiceInfo(p: { peerId?: string; multiaddrs?: readonly string[]; metadata?: string }): {
  peerId: string;
  multiaddrs: string;
  metadata: string;
} {
  const peerId = p.peerId ?? '';
  const addrs = p.multiaddrs ?? [];
  for (const a of addrs) {
    if (a.length === 0 || a.includes(',') || !a.startsWith('/')) {
      throw invalidInput(`multiaddr ${JSON.stringify(a)} must start with "/" and contain no comma`);
    }
  }
  const multiaddrs = addrs.join(',');
  const metadata = p.metadata ?? '';
  if (Buffer.byteLength(peerId) > 128) throw invalidInput('peerId must be at most 128 bytes');
  if (Buffer.byteLength(multiaddrs) > 1024)
    throw invalidInput('multiaddrs must be at most 1024 bytes in all');
  if (Buffer.byteLength(metadata) > 1024) throw invalidInput('metadata must be at most 1024 bytes');
  return { peerId, multiaddrs, metadata };
}

/** Updates a neuron's peer id, multiaddrs and metadata (`NeuronRegistry.updateServiceInfo`, hotkey or coldkey). */
export async function updateServiceInfo(
  client: ChainClient,
  params: { netuid: number; uid: number; peerId?: string; multiaddrs?: readonly string[]; metadata?: string },
): Promise<{ hash: Hash }> {
  const info = checkServiceInfo(params);
  const tx = await sendContractTx(client, {
    address: client.contracts.neuronRegistry,
    abi: neuronRegistryAbi,
    functionName: 'updateServiceInfo',
    args: [checkNetuid(params.netuid), checkUid(params.uid), info.peerId, info.multiaddrs, info.metadata],
  });
  return { hash: tx.hash };
}
