/**
 * Errors of the validator loop: one code table. None of them reaches a caller of the Engine API; they name
 * why a challenge, an audit or a weight transaction was given up, in logs and verification records.
 */
import { SubnetError } from '@subnet/utils';

/** Codes of {@link ValidatorError}. */
export const ValidatorErrorCode = {
  /** The miner's stream ended without a done event (a protocol fault on its side). */
  NO_DONE: 'VALIDATOR_NO_DONE',
  /** No valid weight vector can be built (no miner has a score yet, or no miner is registered). */
  NO_WEIGHTS: 'VALIDATOR_NO_WEIGHTS',
} as const;
export type ValidatorErrorCode = (typeof ValidatorErrorCode)[keyof typeof ValidatorErrorCode];

export class ValidatorError extends SubnetError<ValidatorErrorCode> {
  override readonly name: string = 'ValidatorError';
}
