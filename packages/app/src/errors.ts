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

/** Codes of {@link PlanError}. */
export const PlanErrorCode = {
  /** No members were given to plan on. */
  NO_MEMBERS: 'PLAN_NO_MEMBERS',
  /** A member's id or memory figures are not usable (negative, not finite, beyond 2^53, duplicate id). */
  BAD_MEMBER: 'PLAN_BAD_MEMBER',
  /** The model's estimate cannot be planned (no layers, figures that are not finite, a bad context). */
  BAD_MODEL: 'PLAN_BAD_MODEL',
  /** Options out of range (a safety margin that is not a fraction). */
  BAD_OPTIONS: 'PLAN_BAD_OPTIONS',
  /** No combination of the members has the memory the model needs; `meta.missingBytes` says how much. */
  DOES_NOT_FIT: 'PLAN_DOES_NOT_FIT',
} as const;
export type PlanErrorCode = (typeof PlanErrorCode)[keyof typeof PlanErrorCode];

/** Structured details carried by a {@link PlanError}. */
export type PlanErrorMeta = {
  member?: string;
  neededBytes?: number;
  availableBytes?: number;
  missingBytes?: number;
};

/** A placement that cannot be planned; `code` says why and the message what to change. */
export class PlanError extends SubnetError<PlanErrorCode, PlanErrorMeta> {
  override readonly name: string = 'PlanError';
}
