import { subnetRegistryAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { ChainError, ChainErrorCode, toChainError } from '../errors.js';
import type { SubnetInfo } from '../types.js';
import { checkNetuid } from '../validate.js';

/**
 * Reads an existing subnet: `SubnetRegistry.getSubnet`, `getHyperparams` and `getEpochSchedule` (batched), at
 * `blockNumber` when given.
 */
export async function readSubnet(
  client: ChainClient,
  netuid: number,
  blockNumber?: bigint,
): Promise<SubnetInfo> {
  const read = {
    address: client.contracts.subnetRegistry,
    abi: subnetRegistryAbi,
    args: [netuid],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  } as const;
  const [info, params, epochSchedule] = await Promise.all([
    client.public.readContract({ ...read, functionName: 'getSubnet' }),
    client.public.readContract({ ...read, functionName: 'getHyperparams' }),
    client.public.readContract({ ...read, functionName: 'getEpochSchedule' }),
  ]);
  return { ...info, netuid, params, epochSchedule };
}

/**
 * `SubnetRegistry.subnetExists`: NOT_FOUND when the subnet does not exist. Throws raw viem errors: callers
 * wrap them.
 */
export async function requireSubnet(client: ChainClient, netuid: number): Promise<void> {
  const exists = await client.public.readContract({
    address: client.contracts.subnetRegistry,
    abi: subnetRegistryAbi,
    functionName: 'subnetExists',
    args: [netuid],
  });
  if (!exists) throw new ChainError(ChainErrorCode.NOT_FOUND, `subnet ${netuid} does not exist`);
}

/** A subnet and its hyperparameters ({@link requireSubnet}, then {@link readSubnet}); NOT_FOUND if absent. */
export async function getSubnetInfo(client: ChainClient, params: { netuid: number }): Promise<SubnetInfo> {
  const netuid = checkNetuid(params.netuid);
  try {
    await requireSubnet(client, netuid);
    return await readSubnet(client, netuid);
  } catch (err) {
    throw toChainError(err, `getSubnetInfo(${netuid})`);
  }
}
