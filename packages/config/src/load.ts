/**
 * Loads the node's config: schema defaults < config file < `SUBNET_*` environment < flags, deep-merged
 * (plain objects merge, arrays replace), validated once against `ConfigSchema`, then resolved (absolute
 * `dataDir`, default `engine.jwtSecretFile`). It reads the config file and nothing else; it never writes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorMessage, hasCode } from '@subnet/utils';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, ConfigErrorCode, type ConfigIssue } from './errors.js';
import { ENV_PREFIX, schemaLeaves } from './leaves.js';
import { type Config, type ConfigInput, ConfigSchema } from './schema.js';

/** Environment variable naming the config file; not itself a config key. */
export const CONFIG_FILE_ENV = 'SUBNET_CONFIG';

/** Options of {@link loadConfig}. */
export interface LoadConfigOpts {
  /** Config file, YAML or JSON (by extension); defaults to `env.SUBNET_CONFIG`, else no file. */
  file?: string | undefined;
  /** Environment holding `SUBNET_*` overrides; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Highest-precedence overrides, e.g. from command-line flags; `undefined` values are ignored. */
  flags?: ConfigInput;
  /** Directory that relative paths resolve against; defaults to `process.cwd()`. */
  cwd?: string;
}

/** Where each key path (dotted, e.g. `node.port`) got its value: `file <path>`, an env var name, `flags`. */
type Sources = Map<string, string>;

/**
 * Builds the node's config from defaults, `file`, `env` and `flags` (later wins).
 * @throws {ConfigError} `FILE_NOT_FOUND`, `FILE_UNPARSABLE`, or `INVALID` naming each bad key and its source.
 */
export function loadConfig(opts: LoadConfigOpts = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const sources: Sources = new Map();
  let merged: unknown = {};

  const file = opts.file ?? env[CONFIG_FILE_ENV];
  if (file !== undefined && file !== '') {
    const filePath = path.resolve(cwd, file);
    const contents = readConfigFile(filePath, opts.file === undefined ? CONFIG_FILE_ENV : undefined);
    record(contents, [], `file ${filePath}`, sources);
    merged = deepMerge(merged, contents);
  }
  merged = deepMerge(merged, envLayer(env, sources));
  if (opts.flags !== undefined) {
    record(opts.flags, [], 'flags', sources);
    merged = deepMerge(merged, opts.flags);
  }

  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => toIssue([...issue.path, key], 'unknown key', sources))
        : [toIssue(issue.path, issue.message, sources)],
    );
    const lines = issues.map(
      (i) => `${i.path}: ${i.message}${i.source === undefined ? '' : ` (from ${i.source})`}`,
    );
    throw new ConfigError(ConfigErrorCode.INVALID, `invalid config: ${lines.join('; ')}`, {
      meta: { issues },
    });
  }
  const config = result.data;
  const dataDir = path.resolve(cwd, config.dataDir);
  const { jwtSecretFile } = config.engine;
  return {
    ...config,
    dataDir,
    engine: {
      ...config.engine,
      jwtSecretFile:
        jwtSecretFile === undefined ? path.join(dataDir, 'engine-jwt.hex') : path.resolve(cwd, jwtSecretFile),
    },
  };
}

/** Reads and parses the config file; an empty file is an empty config. */
function readConfigFile(filePath: string, namedBy: string | undefined): Record<string, unknown> {
  const meta = { file: filePath };
  const from = namedBy === undefined ? '' : ` (named by ${namedBy})`;
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (err) {
    const message =
      hasCode(err) && err.code === 'ENOENT'
        ? `config file not found: ${filePath}${from}; create it or fix the path`
        : `cannot read config file ${filePath}${from}: ${errorMessage(err)}`;
    throw new ConfigError(ConfigErrorCode.FILE_NOT_FOUND, message, { cause: err, meta });
  }
  let value: unknown;
  try {
    value =
      path.extname(filePath).toLowerCase() === '.json'
        ? JSON.parse(text)
        : parseYaml(text, { logLevel: 'error' });
  } catch (err) {
    const message = `cannot parse config file ${filePath}: ${errorMessage(err)}`;
    throw new ConfigError(ConfigErrorCode.FILE_UNPARSABLE, message, { cause: err, meta });
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    const message = `config file ${filePath} must hold a mapping of config keys at its top level`;
    throw new ConfigError(ConfigErrorCode.FILE_UNPARSABLE, message, { meta });
  }
  return value;
}

/** The `SUBNET_*` variables as a nested partial config; unknown `SUBNET_*` names are an error (typos). */
function envLayer(env: Record<string, string | undefined>, sources: Sources): Record<string, unknown> {
  const leaves = new Map(schemaLeaves(ConfigSchema).map((leaf) => [leaf.env, leaf]));
  const layer: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || raw === undefined) continue;
    const leaf = leaves.get(name);
    if (leaf === undefined) {
      unknown.push(name);
      continue;
    }
    setIn(layer, leaf.path, coerce(leaf.type, raw));
    sources.set(leaf.path.join('.'), name);
  }
  if (unknown.length > 0) {
    const squash = (s: string) => s.replaceAll('_', '');
    const hints = unknown.sort().map((name) => {
      const match = [...leaves.keys()].find((known) => squash(known) === squash(name));
      return match === undefined ? name : `${name} (did you mean ${match}?)`;
    });
    const message = `invalid config: unknown environment variable ${hints.join(', ')}; SUBNET_* variables must name a config key`;
    throw new ConfigError(ConfigErrorCode.INVALID, message);
  }
  return layer;
}

/** Converts an environment string to the leaf's type; leaves it as is when it does not fit (zod reports it). */
function coerce(type: z.core.$ZodType, raw: string): unknown {
  if (type instanceof z.ZodNumber) {
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (type instanceof z.ZodBoolean) {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return raw;
  }
  if (type instanceof z.ZodArray || type instanceof z.ZodObject || type instanceof z.ZodRecord) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Merges plain objects key by key; anything else (arrays included) in `over` replaces `base`. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const keys = new Set([...Object.keys(base), ...Object.keys(over)]);
  // fromEntries defines own properties, so a `__proto__` key stays a key (and is rejected as unknown).
  return Object.fromEntries(
    [...keys].map((k) => [k, deepMerge(Object.hasOwn(base, k) ? base[k] : undefined, over[k])]),
  );
}

function setIn(target: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  const [head, ...rest] = keys;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const child = isPlainObject(target[head]) ? target[head] : {};
  target[head] = child;
  setIn(child, rest, value);
}

/** Notes `label` as the source of every key path set in `value` (nested objects included, root excluded). */
function record(value: unknown, keys: string[], label: string, sources: Sources): void {
  if (value === undefined) return;
  if (keys.length > 0) sources.set(keys.join('.'), label);
  if (isPlainObject(value))
    for (const [k, v] of Object.entries(value)) record(v, [...keys, k], label, sources);
}

/** A zod issue path as a {@link ConfigIssue}, with the source of its nearest recorded ancestor. */
function toIssue(keys: readonly PropertyKey[], message: string, sources: Sources): ConfigIssue {
  let source: string | undefined;
  for (let i = keys.length; i > 0 && source === undefined; i--)
    source = sources.get(keys.slice(0, i).map(String).join('.'));
  const display = keys.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
  return {
    path: display.replace(/^\./, '') || '(root)',
    message,
    ...(source === undefined ? {} : { source }),
  };
}
