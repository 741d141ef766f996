import { stakingAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { minedEvent, sendContractTx } from '../tx.js';

/** Withdraws matured unbonding stake to the coldkey (`Staking.claim`). */
export async function claimStake(client: ChainClient): Promise<{ hash: Hash; amount: bigint }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.staking,
    abi: stakingAbi,
    functionName: 'claim',
    args: [],
  });
  return { hash: tx.hash, amount: minedEvent(tx, stakingAbi, 'Claimed').amount };
}
