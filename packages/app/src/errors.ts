/**
 * Errors of the app package: one code table and one error class. Model-file errors say what is wrong
 * with the file and what to do (regenerate it, point at a complete download). Never thrown for I/O bugs.
 */
import { SubnetError } from '@subnet/utils';

/** Codes of {@link ModelError}. */
export const ModelErrorCode = {
  /** The file ends before the header, metadata, tensor infos or tensor data it announces. */
  TRUNCATED: 'MODEL_TRUNCATED',
  /** The file does not start with the GGUF magic. */
  BAD_MAGIC: 'MODEL_BAD_MAGIC',
  /** A GGUF version other than 2 or 3. */
  UNSUPPORTED_VERSION: 'MODEL_UNSUPPORTED_VERSION',
  /** A length, count, type or offset that cannot be right (or exceeds a cap). */
  MALFORMED: 'MODEL_MALFORMED',
  /** A metadata key or tensor that llama.cpp needs is absent or has the wrong type. */
  MISSING_KEY: 'MODEL_MISSING_KEY',
} as const;
export type ModelErrorCode = (typeof ModelErrorCode)[keyof typeof ModelErrorCode];

/** Structured details carried by a {@link ModelError}. */
export type ModelErrorMeta = { offset?: number; key?: string; file?: string };

/** A model file that cannot be used; `code` says why. */
export class ModelError extends SubnetError<ModelErrorCode, ModelErrorMeta> {
  override readonly name: string = 'ModelError';
}
