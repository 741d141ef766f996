/**
 * Whether parsing with a zod schema can only accept or refuse a value, never change it: no defaults,
 * transforms, pipes, catches, coercions or lazy parts anywhere inside, and only JSON-shaped types. The
 * in-process path hands a stream handler's values over unparsed exactly when the event schema is plain,
 * because then a parse would return the value it was given (unknown object keys aside: a handler in this
 * process is typed against the schema). Anything this module does not recognise counts as not plain, so
 * the answer errs on the side of parsing. Pure; results are cached per schema object.
 */
import type { z } from 'zod';

/** Schema types that hold no value-changing step and no children. */
const LEAVES = new Set([
  'string',
  'number',
  'int',
  'boolean',
  'null',
  'undefined',
  'void',
  'never',
  'any',
  'unknown',
  'enum',
  'literal',
  'template_literal',
  'custom',
]);

interface Def {
  type: string;
  coerce?: boolean;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType | null;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
}

const cache = new WeakMap<z.ZodType, boolean>();

/** True when parsing with `schema` returns what it is given (or fails), for JSON-shaped values. */
export function schemaIsPlain(schema: z.ZodType): boolean {
  const known = cache.get(schema);
  if (known !== undefined) return known;
  const plain = check(schema);
  cache.set(schema, plain);
  return plain;
}

function check(schema: z.ZodType): boolean {
  const def = (schema as unknown as { _zod?: { def?: Def } })._zod?.def;
  if (def === undefined) return false;
  if (LEAVES.has(def.type)) return def.coerce !== true;
  const all = (parts: readonly (z.ZodType | null | undefined)[]) =>
    parts.every((p) => p === undefined || p === null || schemaIsPlain(p));
  switch (def.type) {
    case 'object':
      return all([...Object.values(def.shape ?? {}), def.catchall]);
    case 'array':
      return all([def.element]);
    case 'tuple':
      return all([...(def.items ?? []), def.rest]);
    case 'union':
      return all(def.options ?? [undefined]);
    case 'intersection':
      return all([def.left, def.right]);
    case 'record':
      return all([def.keyType, def.valueType]);
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'nonoptional':
      return all([def.innerType]);
    default:
      // default, prefault, catch, transform, pipe, success, lazy, promise, date, bigint, map, set, ...
      return false;
  }
}
