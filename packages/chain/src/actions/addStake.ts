import { stakingAbi, subnetTokenAbi } from '@subnet/contracts';
import { formatUnits, type Hash } from 'viem';
import { type ChainClient, requireWallet } from '../client.js';
import { invalidInput, toChainError } from '../errors.js';
import { sendContractTx } from '../tx.js';
import { checkAmount } from '../validate.js';

/** Stakes SUB from the signer's coldkey (`SubnetToken.approve`, then `Staking.stake`). */
export async function addStake(client: ChainClient, params: { amount: bigint }): Promise<{ hash: Hash }> {
  const amount = checkAmount(params.amount, 'amount');
  const coldkey = requireWallet(client).account.address;
  let balance: bigint;
  try {
    balance = await client.public.readContract({
      address: client.contracts.token,
      abi: subnetTokenAbi,
      functionName: 'balanceOf',
      args: [coldkey],
    });
  } catch (err) {
    throw toChainError(err, 'addStake');
  }
  if (amount > balance) {
    throw invalidInput(
      `amount ${formatUnits(amount, 18)} SUB exceeds the coldkey's balance of ${formatUnits(balance, 18)} SUB`,
    );
  }
  await sendContractTx(client, {
    address: client.contracts.token,
    abi: subnetTokenAbi,
    functionName: 'approve',
    args: [client.contracts.staking, amount],
  });
  const tx = await sendContractTx(client, {
    address: client.contracts.staking,
    abi: stakingAbi,
    functionName: 'stake',
    args: [amount],
  });
  return { hash: tx.hash };
}
