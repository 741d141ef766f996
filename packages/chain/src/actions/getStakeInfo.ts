import { stakingAbi } from '@subnet/contracts';
import type { Address } from 'viem';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import { checkAddress } from '../validate.js';

export interface StakeInfo {
  free: bigint;
  allocated: bigint;
  total: bigint;
  unbonding: bigint;
  releaseBlock: bigint;
}

/** A coldkey's stake: `Staking.freeStake`, `allocatedStake`, `totalStake` and `unbonding`. */
export async function getStakeInfo(client: ChainClient, params: { coldkey: Address }): Promise<StakeInfo> {
  const coldkey = checkAddress(params.coldkey, 'coldkey');
  const read = { address: client.contracts.staking, abi: stakingAbi } as const;
  try {
    const [free, allocated, total, [unbonding, releaseBlock]] = await Promise.all([
      client.public.readContract({ ...read, functionName: 'freeStake', args: [coldkey] }),
      client.public.readContract({ ...read, functionName: 'allocatedStake', args: [coldkey] }),
      client.public.readContract({ ...read, functionName: 'totalStake', args: [coldkey] }),
      client.public.readContract({ ...read, functionName: 'unbonding', args: [coldkey] }),
    ]);
    return { free, allocated, total, unbonding, releaseBlock: BigInt(releaseBlock) };
  } catch (err) {
    throw toChainError(err, 'getStakeInfo');
  }
}
