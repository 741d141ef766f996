import { subnetTokenAbi } from '@subnet/contracts';
import type { Hash } from 'viem';
import type { ChainClient } from '../client.js';
import { minedEvent, sendContractTx } from '../tx.js';

/** Drips devnet SUB to the signer (`SubnetToken.faucet`; reverts where the faucet is off). */
export async function faucet(client: ChainClient): Promise<{ hash: Hash; amount: bigint }> {
  const tx = await sendContractTx(client, {
    address: client.contracts.token,
    abi: subnetTokenAbi,
    functionName: 'faucet',
    args: [],
  });
  return { hash: tx.hash, amount: minedEvent(tx, subnetTokenAbi, 'FaucetDripped').amount };
}
