/**
 * Errors of the consensus package: one code table, one class. Every failure is a caller's malformed input;
 * Yuma itself never fails on well-formed input.
 */
import { SubnetError } from '@subnet/utils';

/** Codes of {@link ConsensusError}. */
export const ConsensusErrorCode = {
  /** A stake is negative, fractional, NaN or not a number; pass stake in base units (non-negative integers). */
  INVALID_STAKE: 'CONSENSUS_INVALID_STAKE',
  /** A weight or bond is not an integer in [0, 65535]; pass u16 values as stored on chain. */
  INVALID_VALUE: 'CONSENSUS_INVALID_VALUE',
  /** A matrix row is not an array or its length differs from the first row's. */
  RAGGED_MATRIX: 'CONSENSUS_RAGGED_MATRIX',
  /** Stakes, weights, bonds or reset indices disagree on the number of validators or miners. */
  SIZE_MISMATCH: 'CONSENSUS_SIZE_MISMATCH',
  /** A parameter is out of range (version 2 | 3, kappa and bonds penalty u16, moving average in [0, 1e6]). */
  INVALID_PARAMS: 'CONSENSUS_INVALID_PARAMS',
} as const;
export type ConsensusErrorCode = (typeof ConsensusErrorCode)[keyof typeof ConsensusErrorCode];

export type ConsensusErrorMeta = { row?: number; col?: number; field?: string };

export class ConsensusError extends SubnetError<ConsensusErrorCode, ConsensusErrorMeta> {
  override readonly name: string = 'ConsensusError';
}
