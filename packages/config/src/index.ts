/**
 * `@subnet/config`: the node's configuration schema, its loader (defaults < file < env < flags) and the
 * generated reference. Other packages take their validated slice of `Config`; none parses config itself.
 */

export { ConfigError, ConfigErrorCode, type ConfigErrorMeta, type ConfigIssue } from './errors.js';
export { CONFIG_FILE_ENV, type LoadConfigOpts, loadConfig } from './load.js';
export { type ConfigReferenceEntry, configReference, renderConfigMarkdown } from './reference.js';
export {
  type Config,
  type ConfigInput,
  ConfigSchema,
  type ParsedConfig,
} from './schema.js';
