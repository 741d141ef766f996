import { stakingAbi } from '@subnet/contracts';
import type { Address } from 'viem';
import type { ChainClient } from '../client.js';
import { toChainError } from '../errors.js';
import { checkAddress, checkNetuid } from '../validate.js';

/** A coldkey's stake on a pair: its allocation and its deallocation record (`Staking.allocation`, `deallocation`). */
export interface PairStake {
  allocated: bigint;
  deallocating: bigint;
  /** From this block the deallocating stake can be withdrawn (0: none). */
  releaseBlock: bigint;
}

/** What a coldkey has allocated to, and is deallocating from, a (subnet, hotkey) pair (after any slash). */
export async function getDeallocation(
  client: ChainClient,
  params: { coldkey: Address; netuid: number; hotkey: Address },
): Promise<PairStake> {
  const args = [
    checkAddress(params.coldkey, 'coldkey'),
    checkNetuid(params.netuid),
    checkAddress(params.hotkey, 'hotkey'),
  ] as const;
  const read = { address: client.contracts.staking, abi: stakingAbi, args } as const;
  try {
    const [allocated, [deallocating, releaseBlock]] = await Promise.all([
      client.public.readContract({ ...read, functionName: 'allocation' }),
      client.public.readContract({ ...read, functionName: 'deallocation' }),
    ]);
    return { allocated, deallocating, releaseBlock: BigInt(releaseBlock) };
  } catch (err) {
    throw toChainError(err, 'getDeallocation');
  }
}
