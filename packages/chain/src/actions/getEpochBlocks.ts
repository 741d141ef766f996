import { subnetRegistryAbi } from '@subnet/contracts';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import { checkEpoch, checkNetuid } from '../validate.js';

/** The blocks that bound an epoch's settlement (docs/epoch.md). */
export interface EpochBlocks {
  epoch: bigint;
  /** `S(e)`, its first block. */
  startBlock: bigint;
  /** `B(e) = S(e+1) - 1`, its last block: every input is read there. */
  endBlock: bigint;
  /** `D(e) = S(e+2) - 1`, the last block to propose or attest. */
  deadline: bigint;
}

/**
 * `S(e)`, `B(e)` and `D(e)` of an epoch (`SubnetRegistry.epochStartBlock` for `e`, `e + 1`, `e + 2`, batched).
 * Future epochs assume the current tempo stays.
 */
export async function getEpochBlocks(
  client: ChainClient,
  params: { netuid: number; epoch: number | bigint; blockNumber?: bigint },
): Promise<EpochBlocks> {
  const netuid = checkNetuid(params.netuid);
  const epoch = checkEpoch(params.epoch);
  const at = params.blockNumber === undefined ? {} : { blockNumber: params.blockNumber };
  const start = (e: bigint) =>
    client.public.readContract({
      address: client.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'epochStartBlock',
      args: [netuid, e],
      ...at,
    });
  try {
    const [s0, s1, s2] = await Promise.all([start(epoch), start(epoch + 1n), start(epoch + 2n)]);
    return { epoch, startBlock: s0, endBlock: s1 - 1n, deadline: s2 - 1n };
  } catch (err) {
    throw toChainError(err, `epochStartBlock(${netuid}, ${epoch})`);
  }
}
