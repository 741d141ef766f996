/**
 * The config reference, derived from `ConfigSchema`: one row per key with its type, default, environment
 * variable and description, and the `docs/configuration.md` rendering of it. Output is deterministic (schema
 * order, no timestamps) so the docs generator can check the committed file for drift.
 */
import { z } from 'zod';
import { type ConfigLeaf, schemaLeaves } from './leaves.js';
import { ConfigSchema } from './schema.js';

/** One row of the config reference. */
export interface ConfigReferenceEntry {
  /** Dotted key path, e.g. `node.port`. */
  path: string;
  /** Human-readable type, e.g. `int 0..65535` or `single \| split`. */
  type: string;
  /** The default as JSON, or `(unset)` for optional keys without one. */
  default: string;
  /** Environment variable setting this key, e.g. `SUBNET_NODE__PORT`. */
  env: string;
  description: string;
}

/** Every config key, in schema order. */
export function configReference(): ConfigReferenceEntry[] {
  return schemaLeaves(ConfigSchema).map((leaf: ConfigLeaf) => ({
    path: leaf.path.join('.'),
    type: typeLabel(leaf.type),
    default: leaf.hasDefault ? JSON.stringify(leaf.defaultValue) : '(unset)',
    env: leaf.env,
    description: leaf.description,
  }));
}

/** The config reference as a markdown document (`docs/configuration.md`). */
export function renderConfigMarkdown(): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const rows = configReference().map(
    (e) =>
      `| \`${e.path}\` | ${cell(e.type)} | \`${cell(e.default)}\` | \`${e.env}\` | ${cell(e.description)} |`,
  );
  return [
    '# Configuration',
    '',
    '<!-- Generated from packages/config/src/schema.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'The node reads one configuration, merged in this order (later wins): the defaults below < the config ' +
      'file (YAML or JSON; its path comes from the command line or the `SUBNET_CONFIG` environment variable) < ' +
      'environment ' +
      'variables < command-line flags. Objects merge key by key; arrays replace. Unknown keys are errors. ' +
      'Every key has an environment variable: `SUBNET_` followed by the key path in upper snake case, with ' +
      'segments joined by `__` (for example `node.processMode` is `SUBNET_NODE__PROCESS_MODE`). Arrays and ' +
      'objects are given as JSON text. Relative paths resolve against the working directory.',
    '',
    '| Key | Type | Default | Environment | Description |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

/** A short type label: `string`, `int >= 1`, `int 0..65535`, `a | b`, `{ name: string; module: string }[]`. */
function typeLabel(type: z.core.$ZodType): string {
  if (type instanceof z.ZodNumber) {
    const base = type.isInt ? 'int' : 'number';
    // Unbounded ints report the safe-integer limits as bounds; only real bounds are shown.
    const bound = (v: number | null) => (v !== null && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined);
    const min = bound(type.minValue);
    const max = bound(type.maxValue);
    if (min !== undefined && max !== undefined) return `${base} ${min}..${max}`;
    if (min !== undefined) return `${base} >= ${min}`;
    if (max !== undefined) return `${base} <= ${max}`;
    return base;
  }
  if (type instanceof z.ZodEnum) return type.options.join(' | ');
  if (type instanceof z.ZodArray) return `${typeLabel(type.element)}[]`;
  if (type instanceof z.ZodObject) {
    const fields = Object.entries(type.shape).map(([k, v]) => `${k}: ${typeLabel(v)}`);
    return `{ ${fields.join('; ')} }`;
  }
  if (type instanceof z.ZodOptional || type instanceof z.ZodDefault) return typeLabel(type.unwrap());
  return type._zod.def.type;
}
