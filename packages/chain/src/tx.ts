/**
 * Sends one contract transaction the safe way: simulate first (so a revert is reported with its custom
 * error before anything is signed), send, then wait for the receipt within the deadline. The receipt's
 * status is checked: a mined revert is an error too.
 */
import type { Abi, ContractFunctionArgs, ContractFunctionName, Hash, TransactionReceipt } from 'viem';
import { type ChainClient, requireWallet } from './client.js';
import { ChainError, ChainErrorCode, toChainError } from './errors.js';

export interface TxResult<R = unknown> {
  hash: Hash;
  receipt: TransactionReceipt;
  /** The function's return value, from the simulation. */
  result: R;
}

/** Simulates, sends and confirms `functionName` on `address`. */
export async function sendContractTx<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(
  client: ChainClient,
  call: {
    address: `0x${string}`;
    abi: abi;
    functionName: functionName;
    args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>;
    value?: bigint;
  },
  opts: { timeoutMs?: number } = {},
): Promise<TxResult> {
  const wallet = requireWallet(client);
  const context = `${call.functionName}`;
  try {
    // biome-ignore lint/suspicious/noExplicitAny: viem's generic overloads need the erased call here.
    const { request, result } = await client.public.simulateContract({
      ...(call as any),
      account: wallet.account,
    });
    const hash = await wallet.writeContract(request);
    const receipt = await client.public.waitForTransactionReceipt({
      hash,
      timeout: opts.timeoutMs ?? 60_000,
    });
    if (receipt.status !== 'success') {
      throw new ChainError(ChainErrorCode.TX_FAILED, `${context}: transaction ${hash} reverted when mined`);
    }
    return { hash, receipt, result };
  } catch (err) {
    throw toChainError(err, context);
  }
}
