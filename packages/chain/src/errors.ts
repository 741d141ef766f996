/**
 * Chain errors: one code table, and the mapping from viem's errors to it. A contract revert becomes
 * `REVERTED` carrying the custom error's name and arguments; an unreachable or slow RPC becomes
 * `RPC_UNREACHABLE` / `RPC_TIMEOUT` with the URL, never a hang.
 */
import { SubnetError } from '@subnet/utils';
import { BaseError, ContractFunctionRevertedError, HttpRequestError, TimeoutError } from 'viem';

export const ChainErrorCode = {
  REVERTED: 'CHAIN_REVERTED',
  RPC_UNREACHABLE: 'CHAIN_RPC_UNREACHABLE',
  RPC_TIMEOUT: 'CHAIN_RPC_TIMEOUT',
  INVALID_INPUT: 'CHAIN_INVALID_INPUT',
  NETWORK_FILE: 'CHAIN_NETWORK_FILE',
  NO_ACCOUNT: 'CHAIN_NO_ACCOUNT',
  NOT_FOUND: 'CHAIN_NOT_FOUND',
  NO_COMMIT: 'CHAIN_NO_COMMIT',
  EPOCH_NOT_ENDED: 'CHAIN_EPOCH_NOT_ENDED',
  EPOCH_NOT_CONFIRMED: 'CHAIN_EPOCH_NOT_CONFIRMED',
  TX_FAILED: 'CHAIN_TX_FAILED',
  PAYMENTS_NOT_DEPLOYED: 'CHAIN_PAYMENTS_NOT_DEPLOYED',
} as const;
export type ChainErrorCode = (typeof ChainErrorCode)[keyof typeof ChainErrorCode];

export interface ChainErrorMeta extends Record<string, unknown> {
  /** Custom error name for reverts, e.g. `InsufficientStake`. */
  errorName?: string;
  errorArgs?: readonly unknown[];
  rpcUrl?: string;
  /** A transaction that was mined but reverted (`TX_FAILED`): its hash, gas and block. */
  txHash?: `0x${string}`;
  gasUsed?: bigint;
  blockNumber?: bigint;
  /** `EPOCH_NOT_CONFIRMED`: the epoch's last block, how deep it is now and how deep it must be. */
  endBlock?: bigint;
  depth?: bigint;
  confirmations?: number;
}

export class ChainError extends SubnetError<ChainErrorCode, ChainErrorMeta> {
  override readonly name = 'ChainError';
  /** The custom error's name when the chain reverted. */
  get errorName(): string | undefined {
    return this.meta?.errorName;
  }
}

/** Throws a ChainError for bad input before anything is sent. */
export function invalidInput(message: string): ChainError {
  return new ChainError(ChainErrorCode.INVALID_INPUT, message);
}

/** Maps any error thrown by viem to a ChainError (ChainErrors pass through). */
export function toChainError(err: unknown, context: string): ChainError {
  if (err instanceof ChainError) return err;
  if (err instanceof BaseError) {
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const errorName =
        revert.data?.errorName ??
        revert.reason ??
        (revert.signature === undefined ? 'unknown' : `error ${revert.signature}`);
      const args = revert.data?.args ?? [];
      return new ChainError(
        ChainErrorCode.REVERTED,
        `${context} reverted: ${errorName}${args.length > 0 ? `(${args.map(String).join(', ')})` : ''}`,
        { meta: { errorName, errorArgs: args }, cause: err },
      );
    }
    const timeout = err.walk((e) => e instanceof TimeoutError);
    if (timeout instanceof TimeoutError) {
      return new ChainError(ChainErrorCode.RPC_TIMEOUT, `${context}: the chain RPC did not answer in time`, {
        cause: err,
      });
    }
    const http = err.walk((e) => e instanceof HttpRequestError);
    if (http instanceof HttpRequestError) {
      return new ChainError(
        ChainErrorCode.RPC_UNREACHABLE,
        `${context}: cannot reach the chain RPC at ${http.url} (${http.details || http.shortMessage})`,
        { meta: { rpcUrl: http.url }, cause: err },
      );
    }
    return new ChainError(ChainErrorCode.TX_FAILED, `${context}: ${err.shortMessage}`, { cause: err });
  }
  return new ChainError(ChainErrorCode.TX_FAILED, `${context}: ${(err as Error).message ?? String(err)}`, {
    cause: err,
  });
}
