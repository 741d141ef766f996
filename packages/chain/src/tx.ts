/**
 * Sends one contract transaction the safe way: simulate first (so a revert is reported with its custom
 * error before anything is signed), send, then wait for the receipt within the deadline. The receipt's
 * status is checked: a mined revert is an error too.
 */
import {
  epochConsensusAbi,
  neuronRegistryAbi,
  paymentEscrowAbi,
  paymentTokenAbi,
  pricingAbi,
  slashingAbi,
  stakingAbi,
  subnetRegistryAbi,
  subnetTokenAbi,
  weightsAbi,
} from '@subnet/contracts';
import {
  type Abi,
  type ContractEventName,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hash,
  type ParseEventLogsReturnType,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem';
import { type ChainClient, requireWallet } from './client.js';
import { ChainError, ChainErrorCode, toChainError } from './errors.js';

/**
 * Every custom error of the suite: a call into one contract can revert with another's error (Staking
 * moving tokens reverts with the token's `ERC20InsufficientBalance`), so each call decodes against all.
 */
type AbiError = Extract<Abi[number], { type: 'error' }>;
const suiteErrors: AbiError[] = (() => {
  const seen = new Set<string>();
  const out: AbiError[] = [];
  for (const abi of [
    subnetTokenAbi,
    stakingAbi,
    subnetRegistryAbi,
    neuronRegistryAbi,
    weightsAbi,
    epochConsensusAbi,
    slashingAbi,
    paymentTokenAbi,
    pricingAbi,
    paymentEscrowAbi,
  ] as readonly Abi[]) {
    for (const item of abi) {
      if (item.type !== 'error') continue;
      const key = `${item.name}(${item.inputs.map((i) => i.type).join(',')})`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(item);
      }
    }
  }
  return out;
})();

export interface TxResult<R = unknown> {
  hash: Hash;
  receipt: TransactionReceipt;
  /**
   * The function's return value, from the simulation. It ran on the block before the one the transaction went
   * into, so a value that depends on the block (a timestamp, an epoch, a balance another transaction changed)
   * may differ from what was mined: read such values with `minedEvent`.
   */
  result: R;
}

/** The arguments of the first `eventName` event the mined transaction emitted; TX_FAILED if it emitted none. */
export function minedEvent<const abi extends Abi, eventName extends ContractEventName<abi>>(
  tx: Pick<TxResult, 'hash' | 'receipt'>,
  abi: abi,
  eventName: eventName,
): ParseEventLogsReturnType<abi, eventName, true>[number]['args'] {
  const [log] = parseEventLogs({ abi, eventName, logs: tx.receipt.logs });
  if (log === undefined) {
    throw new ChainError(ChainErrorCode.TX_FAILED, `${eventName}: none in the receipt of ${tx.hash}`, {
      meta: { txHash: tx.hash },
    });
  }
  return log.args;
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
  /** `blockTag: 'pending'` simulates in the block the transaction goes into (not the latest one). */
  opts: { timeoutMs?: number; blockTag?: 'pending' } = {},
): Promise<TxResult> {
  const wallet = requireWallet(client);
  const context = `${call.functionName}`;
  try {
    const { request, result } = await client.public.simulateContract({
      // biome-ignore lint/suspicious/noExplicitAny: viem's generic overloads need the erased call here.
      ...(call as any),
      abi: [...call.abi, ...suiteErrors],
      account: wallet.account,
      ...(opts.blockTag === undefined ? {} : { blockTag: opts.blockTag }),
    });
    // viem trims the simulated request's ABI to the function: put the errors back for the gas estimate.
    const hash = await wallet.writeContract({
      ...request,
      abi: [...call.abi, ...suiteErrors],
    } as unknown as typeof request);
    const receipt = await client.public.waitForTransactionReceipt({
      hash,
      timeout: opts.timeoutMs ?? 60_000,
    });
    if (receipt.status !== 'success') {
      throw new ChainError(ChainErrorCode.TX_FAILED, `${context}: transaction ${hash} reverted when mined`, {
        meta: { txHash: hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber },
      });
    }
    return { hash, receipt, result };
  } catch (err) {
    throw toChainError(err, context);
  }
}
