import { subnetRegistryAbi } from '@subnet/contracts';
import { type Hash, parseEventLogs } from 'viem';
import type { ChainClient } from '../client.js';
import { ChainError, ChainErrorCode } from '../errors.js';
import { sendContractTx } from '../tx.js';
import type { Hyperparams } from '../types.js';
import { checkNetuid } from '../validate.js';

/**
 * Replaces a subnet's hyperparameters (`SubnetRegistry.setHyperparams`, owner only, bounds-checked). They take
 * effect at the next epoch boundary: `effectiveBlock`, the first block of `effectiveEpoch` (the `HyperparamsSet`
 * event); until then the values in effect stay, and a second change before it replaces this one.
 */
export async function setSubnetParams(
  client: ChainClient,
  params: { netuid: number; params: Hyperparams },
): Promise<{ hash: Hash; effectiveEpoch: bigint; effectiveBlock: bigint }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.subnetRegistry,
    abi: subnetRegistryAbi,
    functionName: 'setHyperparams',
    args: [checkNetuid(params.netuid), params.params],
  });
  const [event] = parseEventLogs({
    abi: subnetRegistryAbi,
    logs: tx.receipt.logs,
    eventName: 'HyperparamsSet',
  });
  if (event === undefined)
    throw new ChainError(ChainErrorCode.TX_FAILED, `setHyperparams ${tx.hash}: no HyperparamsSet event`);
  return {
    hash: tx.hash,
    effectiveEpoch: event.args.effectiveEpoch,
    effectiveBlock: event.args.effectiveBlock,
  };
}
