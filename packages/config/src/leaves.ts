/**
 * Walks a config schema down to its leaves (every key that is not a nested object), giving each its dotted
 * path, its environment variable name, its unwrapped type, its default and its description. The loader maps
 * environment variables with it and the reference docs render it; neither hard-codes a key.
 */
import { z } from 'zod';

/** One settable key of the config. */
export interface ConfigLeaf {
  /** Key path segments, e.g. `['node', 'port']`. */
  path: string[];
  /** `SUBNET_` + upper-snake segments joined by `__`, e.g. `SUBNET_NODE__PORT`. */
  env: string;
  /** The leaf's type with defaults and optionality unwrapped. */
  type: z.core.$ZodType;
  /** Whether the schema gives a default. */
  hasDefault: boolean;
  /** The default value, when `hasDefault`. */
  defaultValue: unknown;
  description: string;
}

/** Prefix of every config environment variable. */
export const ENV_PREFIX = 'SUBNET_';

/** `['node', 'processMode']` → `SUBNET_NODE__PROCESS_MODE`. */
export function envVarName(path: readonly string[]): string {
  return ENV_PREFIX + path.map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__');
}

/** Every leaf of `schema`, depth first in declaration order. */
export function schemaLeaves(schema: z.ZodObject, prefix: string[] = []): ConfigLeaf[] {
  const leaves: ConfigLeaf[] = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const path = [...prefix, key];
    let type: z.core.$ZodType = field;
    let hasDefault = false;
    let defaultValue: unknown;
    for (;;) {
      if (type instanceof z.ZodDefault) {
        hasDefault = true;
        defaultValue = type.def.defaultValue;
      } else if (!(type instanceof z.ZodPrefault || type instanceof z.ZodOptional)) break;
      type = type.unwrap();
    }
    if (type instanceof z.ZodObject) leaves.push(...schemaLeaves(type, path));
    else
      leaves.push({
        path,
        env: envVarName(path),
        type,
        hasDefault,
        defaultValue,
        description: field.description ?? '',
      });
  }
  return leaves;
}
