/**
 * Errors of the config package: one code table and one error class. Messages name the bad key, why it is
 * bad, and where the value came from (file, environment variable, flags).
 */
import { SubnetError } from '@subnet/utils';

/** Codes of {@link ConfigError}. */
export const ConfigErrorCode = {
  /** The config file named by `file` or `SUBNET_CONFIG` cannot be read. */
  FILE_NOT_FOUND: 'CONFIG_FILE_NOT_FOUND',
  /** The config file is not valid YAML / JSON. */
  FILE_UNPARSABLE: 'CONFIG_FILE_UNPARSABLE',
  /** The merged config does not match the schema (or an environment variable is unknown). */
  INVALID: 'CONFIG_INVALID',
} as const;
export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/** One problem found in the merged config. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `node.port` or `node.stacks[0].name`; empty for the root. */
  path: string;
  message: string;
  /** Where the value came from: `file <path>`, an environment variable name, or `flags`. */
  source?: string;
}

/** Structured details carried by a {@link ConfigError}. */
export type ConfigErrorMeta = { file?: string; issues?: ConfigIssue[] };

/** A config that cannot be loaded; `code` says which step failed. */
export class ConfigError extends SubnetError<ConfigErrorCode, ConfigErrorMeta> {
  override readonly name: string = 'ConfigError';
}
