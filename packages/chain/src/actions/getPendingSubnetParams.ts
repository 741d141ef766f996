import { subnetRegistryAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import type { Hyperparams } from '../types.js';
import { checkNetuid } from '../validate.js';

/** A change of a subnet's hyperparameters waiting for its epoch boundary. */
export interface PendingSubnetParams {
  /** True when the owner set values that are not in effect yet. */
  pending: boolean;
  /** The block they take effect at (0 when none). */
  effectiveBlock: bigint;
  /** The pending values (the values in effect when none). */
  params: Hyperparams;
}

/** The owner's scheduled hyperparameter change, if any (`SubnetRegistry.getPendingHyperparams`). */
export async function getPendingSubnetParams(
  client: ChainClient,
  params: { netuid: number },
): Promise<PendingSubnetParams> {
  const netuid = checkNetuid(params.netuid);
  try {
    const [pending, effectiveBlock, values] = await client.public.readContract({
      address: client.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'getPendingHyperparams',
      args: [netuid],
    });
    return { pending, effectiveBlock, params: values };
  } catch (err) {
    throw toChainError(err, `getPendingHyperparams(${netuid})`);
  }
}
