import { subnetRegistryAbi, subnetTokenAbi } from '@subnet/contracts';
import { type Hash, parseEventLogs } from 'viem';
import type { ChainClient } from '../client.js';
import { ChainError, ChainErrorCode, invalidInput, toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import type { Hyperparams } from '../types.js';

/**
 * Registers a subnet (`SubnetRegistry.registerSubnet`), first approving its lock cost
 * (`SubnetRegistry.lockCost`, `SubnetToken.approve`). The caller becomes the subnet owner.
 */
export async function registerSubnet(
  client: ChainClient,
  params: { name: string; description: string; params: Hyperparams },
): Promise<{ netuid: number; hash: Hash; lockCost: bigint }> {
  const name = params.name.trim();
  if (name.length === 0 || Buffer.byteLength(name) > 64)
    throw invalidInput('subnet name must be 1..64 bytes');
  if (Buffer.byteLength(params.description) > 1024)
    throw invalidInput('subnet description must be at most 1024 bytes');
  const registry = client.contracts.subnetRegistry;
  let lockCost: bigint;
  try {
    lockCost = await client.public.readContract({
      address: registry,
      abi: subnetRegistryAbi,
      functionName: 'lockCost',
    });
  } catch (err) {
    throw toChainError(err, 'registerSubnet');
  }
  // The cost may decay a little before the transaction lands; approving the current value is enough.
  await sendContractTx(client, {
    address: client.contracts.token,
    abi: subnetTokenAbi,
    functionName: 'approve',
    args: [registry, lockCost],
  });
  const tx = await sendContractTx(client, {
    address: registry,
    abi: subnetRegistryAbi,
    functionName: 'registerSubnet',
    args: [name, params.description, params.params],
  });
  const [event] = parseEventLogs({
    abi: subnetRegistryAbi,
    logs: tx.receipt.logs,
    eventName: 'SubnetRegistered',
  });
  if (event === undefined)
    throw new ChainError(ChainErrorCode.TX_FAILED, `registerSubnet ${tx.hash}: no SubnetRegistered event`);
  return { netuid: Number(event.args.netuid), hash: tx.hash, lockCost };
}
