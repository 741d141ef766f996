/**
 * Structured outputs, defined once: the `responseFormat` of a generation (OpenAI's `response_format`), the
 * subset of JSON Schema every miner can enforce by grammar-constrained decoding (node-llama-cpp's JSON-schema
 * grammars; Ollama's `format` and OpenAI-compatible servers take the same), and the check of an answer
 * against its format. The gateway refuses a schema outside the subset before any miner sees it, the app stack
 * builds its grammar from it, and the gateway and the validator's audit check answers with
 * {@link structuredAnswerProblem}. Pure: no I/O.
 */
import { z } from 'zod';

/** Largest schema a request may carry, serialised (bytes of JSON). */
export const MAX_JSON_SCHEMA_BYTES = 32_768;
/** Deepest nesting of a schema (objects and arrays within it). */
export const MAX_JSON_SCHEMA_DEPTH = 16;

/**
 * The keywords a schema may use, by what enforces them: all of them are turned into the grammar, so an
 * answer decoded under it validates. `required` is accepted but every listed property is generated
 * (OpenAI's strict mode asks for all of them to be required anyway). `anyOf` is generated as `oneOf` (an
 * answer matching one branch matches any of them).
 */
export const JSON_SCHEMA_KEYWORDS = new Set([
  'type',
  'const',
  'enum',
  'oneOf',
  'anyOf',
  'properties',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'format',
  '$defs',
  'definitions',
  '$ref',
  // Annotations: no effect on what is generated.
  'description',
  'title',
  '$schema',
  '$id',
  '$comment',
  'default',
  'examples',
]);

/** The string formats the grammar generates. */
export const JSON_SCHEMA_FORMATS = new Set(['date-time', 'date', 'time']);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);

const JsonSchemaObject = z.record(z.string(), z.unknown());

export const ResponseFormatSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('text') }).strict(),
    z.object({ type: z.literal('json_object') }).strict(),
    z
      .object({
        type: z.literal('json_schema'),
        name: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/)
          .optional(),
        schema: JsonSchemaObject,
        strict: z.boolean().default(false),
      })
      .strict(),
  ])
  .superRefine((f, ctx) => {
    if (f.type !== 'json_schema') return;
    const problem = jsonSchemaProblem(f.schema);
    if (problem !== null)
      ctx.addIssue({ code: 'custom', path: ['schema', ...problem.path], message: problem.message });
  })
  .describe(
    'Structured output: text (default), any JSON object, or JSON validating against `schema` (the subset in JSON_SCHEMA_KEYWORDS), enforced by grammar-constrained decoding',
  );
export type ResponseFormat = z.output<typeof ResponseFormatSchema>;

/** What a format needs of a model (`AppModelInfo.features`). */
export type StructuredFeature = 'json_object' | 'json_schema';

/** The model feature a format needs, or null for plain text. */
export function featureOf(f: ResponseFormat | undefined): StructuredFeature | null {
  return f === undefined || f.type === 'text' ? null : f.type;
}

/**
 * Why `schema` is outside the subset every miner enforces (a keyword, format or type it lacks, a `$ref` to
 * no definition, a size or depth over the bounds), with the path to the offending place; null when inside.
 */
export function jsonSchemaProblem(schema: unknown): { path: (string | number)[]; message: string } | null {
  let bytes: number;
  try {
    bytes = new TextEncoder().encode(JSON.stringify(schema)).length;
  } catch {
    return { path: [], message: 'the schema is not JSON' };
  }
  if (bytes > MAX_JSON_SCHEMA_BYTES)
    return { path: [], message: `the schema is ${bytes} bytes; at most ${MAX_JSON_SCHEMA_BYTES}` };
  const root = schema as Record<string, unknown>;
  const defs = { ...asRecord(root.$defs), ...asRecord(root.definitions) };
  const walk = (
    s: unknown,
    path: (string | number)[],
    depth: number,
  ): { path: (string | number)[]; message: string } | null => {
    if (depth > MAX_JSON_SCHEMA_DEPTH)
      return { path, message: `the schema nests deeper than ${MAX_JSON_SCHEMA_DEPTH}` };
    if (s === null || typeof s !== 'object' || Array.isArray(s))
      return { path, message: 'a schema must be an object' };
    const o = s as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!JSON_SCHEMA_KEYWORDS.has(k) && !impliedBound(o, k))
        return {
          path: [...path, k],
          message: `the keyword \`${k}\` is not supported (supported: ${[...JSON_SCHEMA_KEYWORDS].join(', ')})`,
        };
    if (o.type !== undefined) {
      const types = Array.isArray(o.type) ? o.type : [o.type];
      for (const t of types)
        if (typeof t !== 'string' || !TYPES.has(t))
          return { path: [...path, 'type'], message: `unknown type ${JSON.stringify(t)}` };
    }
    if (o.format !== undefined && (typeof o.format !== 'string' || !JSON_SCHEMA_FORMATS.has(o.format)))
      return {
        path: [...path, 'format'],
        message: `the format ${JSON.stringify(o.format)} is not supported (supported: ${[...JSON_SCHEMA_FORMATS].join(', ')})`,
      };
    if (o.enum !== undefined && (!Array.isArray(o.enum) || o.enum.length === 0))
      return { path: [...path, 'enum'], message: 'enum must be a non-empty array' };
    if (o.$ref !== undefined) {
      const m = typeof o.$ref === 'string' ? /^#\/(\$defs|definitions)\/([^/]+)$/.exec(o.$ref) : null;
      if (m === null || defs[m[2] as string] === undefined)
        return {
          path: [...path, '$ref'],
          message: `$ref must name a definition of this schema (#/$defs/NAME)`,
        };
    }
    if (
      o.required !== undefined &&
      (!Array.isArray(o.required) || o.required.some((r) => typeof r !== 'string'))
    )
      return { path: [...path, 'required'], message: 'required must be an array of property names' };
    for (const [k, v] of Object.entries(asRecord(o.properties))) {
      const p = walk(v, [...path, 'properties', k], depth + 1);
      if (p !== null) return p;
    }
    for (const key of ['items', 'additionalProperties'] as const) {
      const v = o[key];
      if (v !== undefined && typeof v !== 'boolean') {
        const p = walk(v, [...path, key], depth + 1);
        if (p !== null) return p;
      }
    }
    for (const key of ['oneOf', 'anyOf', 'prefixItems'] as const) {
      const v = o[key];
      if (v === undefined) continue;
      if (!Array.isArray(v) || v.length === 0)
        return { path: [...path, key], message: `${key} must be a non-empty array` };
      for (let i = 0; i < v.length; i++) {
        const p = walk(v[i], [...path, key, i], depth + 1);
        if (p !== null) return p;
      }
    }
    for (const key of ['$defs', 'definitions'] as const)
      for (const [k, v] of Object.entries(asRecord(o[key]))) {
        const p = walk(v, [...path, key, k], depth + 1);
        if (p !== null) return p;
      }
    return null;
  };
  return walk(schema, [], 0);
}

/** The most digits of a generated integer (so every one is a safe integer). */
export const MAX_INTEGER_DIGITS = 15;
const INTEGER_LIMIT = 10 ** MAX_INTEGER_DIGITS - 1;

/**
 * Whether keyword `k` of schema `o` holds for every answer the grammar can generate, so it needs no
 * enforcing: an integer's `minimum` at or below −(10^15 − 1) or `maximum` at or above it (zod and other
 * schema writers put the safe-integer bounds on every integer; generated integers have at most 15 digits).
 */
export function impliedBound(o: Record<string, unknown>, k: string): boolean {
  if (o.type !== 'integer') return false;
  const v = o[k];
  if (typeof v !== 'number') return false;
  return (k === 'minimum' && v <= -INTEGER_LIMIT) || (k === 'maximum' && v >= INTEGER_LIMIT);
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * Why `text` does not meet `format`: not JSON (json_object, json_schema), not an object (json_object), or
 * not valid against the schema (json_schema, checked by zod's JSON Schema reader); null when it does, and
 * always for plain text. An answer cut by `maxTokens` (`ended` false) need only be the start of a JSON object
 * ({@link jsonObjectPrefixProblem}): a miner that decoded without the grammar and ran to the limit fails that.
 */
export function structuredAnswerProblem(
  format: ResponseFormat | undefined,
  text: string,
  ended = true,
): string | null {
  if (format === undefined || format.type === 'text') return null;
  if (!ended) return jsonObjectPrefixProblem(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `the answer is not JSON (${(err as Error).message})`;
  }
  if (format.type === 'json_object')
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? null
      : 'the answer is JSON but not an object';
  let check: z.ZodType;
  try {
    check = validatorOf(format.schema);
  } catch (err) {
    return `the schema cannot be read (${(err as Error).message})`;
  }
  const r = check.safeParse(value);
  return r.success ? null : `the answer does not match the schema: ${z.prettifyError(r.error).slice(0, 500)}`;
}

/** zod validators by schema text: a schema is read once, not per answer. */
const validators = new Map<string, z.ZodType>();
const MAX_VALIDATORS = 256;

function validatorOf(schema: Record<string, unknown>): z.ZodType {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (v === undefined) {
    v = z.fromJSONSchema(schema as never);
    if (validators.size >= MAX_VALIDATORS) validators.delete(validators.keys().next().value as string);
    validators.set(key, v);
  }
  return v;
}

type PrefixState =
  | 'value'
  | 'key'
  | 'colon'
  | 'after'
  | 'string'
  | 'keyString'
  | 'number'
  | 'literal'
  | 'end';
const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER_CHARS = /[0-9+\-.eE]/;

/**
 * Why `text` cannot be the start of a JSON object (what an answer cut by its token limit under a JSON grammar
 * is); null when some continuation would make it one. A character-level reading of JSON's grammar: strings,
 * literals, nesting and separators are checked, numbers only by their characters.
 */
export function jsonObjectPrefixProblem(text: string): string | null {
  const stack: string[] = [];
  let state: PrefixState = 'value';
  let allowClose = false;
  let escaped = false;
  let literal = '';
  let target = '';
  let at = 0;
  const bad = (why: string) => `the answer is not the start of a JSON object: ${why} at character ${at}`;
  for (const c of text) {
    at++;
    if (state === 'number') {
      if (NUMBER_CHARS.test(c)) continue;
      state = 'after';
    }
    switch (state) {
      case 'string':
      case 'keyString':
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') state = state === 'keyString' ? 'colon' : 'after';
        else if (c < ' ') return bad('a control character in a string');
        continue;
      case 'literal':
        literal += c;
        if (!target.startsWith(literal)) return bad(`${JSON.stringify(literal)} is not ${target}`);
        if (literal === target) state = 'after';
        continue;
      case 'end':
        if (!WS.has(c)) return bad('text after the object');
        continue;
      default:
        break;
    }
    if (WS.has(c)) continue;
    if (state === 'value') {
      if (stack.length === 0 && c !== '{') return bad('an object starts with {');
      if (c === '{' || c === '[') {
        stack.push(c);
        state = c === '{' ? 'key' : 'value';
        allowClose = true;
      } else if (c === ']' && allowClose && stack.at(-1) === '[') {
        stack.pop();
        state = 'after';
      } else if (c === '"') state = 'string';
      else if (c === '-' || (c >= '0' && c <= '9')) state = 'number';
      else if (c === 't' || c === 'f' || c === 'n') {
        target = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
        literal = c;
        state = 'literal';
      } else return bad(`${JSON.stringify(c)} where a value belongs`);
    } else if (state === 'key') {
      if (c === '"') state = 'keyString';
      else if (c === '}' && allowClose) {
        stack.pop();
        state = stack.length === 0 ? 'end' : 'after';
      } else return bad(`${JSON.stringify(c)} where a key belongs`);
    } else if (state === 'colon') {
      if (c !== ':') return bad(`${JSON.stringify(c)} where a colon belongs`);
      state = 'value';
      allowClose = false;
    } else if (state === 'after') {
      const top = stack.at(-1);
      if (c === ',') {
        state = top === '{' ? 'key' : 'value';
        allowClose = false;
      } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
        stack.pop();
        state = stack.length === 0 ? 'end' : 'after';
      } else return bad(`${JSON.stringify(c)} after a value`);
    }
  }
  return null;
}

/** Keywords of subschemas by where they sit: a map of schemas, one schema, or a list of schemas. */
const SCHEMA_MAPS = ['properties', '$defs', 'definitions'];
const SCHEMA_ONE = ['items', 'additionalProperties'];
const SCHEMA_LISTS = ['oneOf', 'anyOf', 'prefixItems'];

/**
 * A non-strict schema reduced to the subset every miner enforces: keywords outside it (`minimum`, `pattern`,
 * …) and formats it lacks are left out, so what is generated and checked is the schema without them (OpenAI's
 * non-strict schemas are best effort too). A strict schema is never relaxed: it is refused instead.
 */
export function relaxJsonSchema(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema as Record<string, unknown>)) {
    if (!JSON_SCHEMA_KEYWORDS.has(k) && !impliedBound(schema as Record<string, unknown>, k)) continue;
    if (k === 'format' && (typeof v !== 'string' || !JSON_SCHEMA_FORMATS.has(v))) continue;
    if (SCHEMA_MAPS.includes(k))
      out[k] = Object.fromEntries(Object.entries(asRecord(v)).map(([name, s]) => [name, relaxJsonSchema(s)]));
    else if (SCHEMA_ONE.includes(k)) out[k] = typeof v === 'boolean' ? v : relaxJsonSchema(v);
    else if (SCHEMA_LISTS.includes(k)) out[k] = Array.isArray(v) ? v.map(relaxJsonSchema) : v;
    else out[k] = v;
  }
  return out;
}
