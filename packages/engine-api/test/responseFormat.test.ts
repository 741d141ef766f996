/**
 * Structured outputs defined once (`responseFormat.ts`): the JSON Schema subset every miner enforces, the
 * check of a whole answer against its format, and of one cut by its token limit (the start of a JSON object).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  jsonObjectPrefixProblem,
  jsonSchemaProblem,
  MAX_JSON_SCHEMA_BYTES,
  ResponseFormatSchema,
  structuredAnswerProblem,
} from '../src/index.js';

const person = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 10 },
    age: { type: 'integer' },
    tags: { type: 'array', items: { enum: ['a', 'b'] } },
    pet: { $ref: '#/$defs/pet' },
  },
  required: ['name', 'age', 'tags', 'pet'],
  additionalProperties: false,
  $defs: { pet: { anyOf: [{ type: 'null' }, { type: 'object', properties: { kind: { const: 'fox' } } }] } },
};

describe('responseFormat', () => {
  it('admits the subset and names the place of anything outside it', () => {
    assert.equal(jsonSchemaProblem(person), null);
    const cases: [unknown, (string | number)[], RegExp][] = [
      [{ type: 'string', pattern: '^a' }, ['pattern'], /`pattern` is not supported/],
      [
        { type: 'object', properties: { x: { type: 'number', minimum: 1 } } },
        ['properties', 'x', 'minimum'],
        /minimum/,
      ],
      [{ type: 'decimal' }, ['type'], /unknown type/],
      [{ type: 'string', format: 'email' }, ['format'], /format "email" is not supported/],
      [{ $ref: '#/$defs/missing' }, ['$ref'], /definition/],
      [{ oneOf: [] }, ['oneOf'], /non-empty/],
      [{ items: [1] }, ['items'], /must be an object/],
    ];
    for (const [schema, path, message] of cases) {
      const p = jsonSchemaProblem(schema);
      assert.deepEqual(p?.path, path, JSON.stringify(schema));
      assert.match(p?.message ?? '', message);
    }
    // The safe-integer bounds schema writers (zod) put on every integer hold for every generated one.
    const safe = { type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 };
    assert.equal(jsonSchemaProblem({ type: 'object', properties: { n: safe } }), null);
    assert.deepEqual(jsonSchemaProblem({ type: 'integer', minimum: 0 })?.path, ['minimum']);
    assert.deepEqual(jsonSchemaProblem({ type: 'number', maximum: 9007199254740991 })?.path, ['maximum']);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 20; i++) deep = { type: 'array', items: deep };
    assert.match(jsonSchemaProblem(deep)?.message ?? '', /deeper than 16/);
    const big = { type: 'object', description: 'x'.repeat(MAX_JSON_SCHEMA_BYTES) };
    assert.match(jsonSchemaProblem(big)?.message ?? '', /at most 32768/);
  });

  it('the wire schema refuses a schema outside the subset, with the path', () => {
    const r = ResponseFormatSchema.safeParse({
      type: 'json_schema',
      schema: { type: 'object', properties: { a: { type: 'string', pattern: 'x' } } },
    });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues[0]?.path, ['schema', 'properties', 'a', 'pattern']);
    const parsed = ResponseFormatSchema.parse({ type: 'json_schema', schema: person });
    assert.equal(parsed.type === 'json_schema' && parsed.strict, false);
  });

  it('checks a whole answer: JSON, an object, valid against the schema', () => {
    const f = ResponseFormatSchema.parse({ type: 'json_schema', schema: person, strict: true });
    const good = { name: 'ann', age: 3, tags: ['a'], pet: null };
    assert.equal(structuredAnswerProblem(f, JSON.stringify(good)), null);
    assert.equal(structuredAnswerProblem(f, `${JSON.stringify(good)}\n`), null);
    assert.match(structuredAnswerProblem(f, 'the the') ?? '', /not JSON/);
    assert.match(structuredAnswerProblem(f, JSON.stringify({ ...good, age: 1.5 })) ?? '', /does not match/);
    assert.match(structuredAnswerProblem(f, JSON.stringify({ ...good, extra: 1 })) ?? '', /does not match/);
    assert.match(
      structuredAnswerProblem(f, JSON.stringify({ ...good, pet: { kind: 'dog' } })) ?? '',
      /does not match/,
    );
    const obj = ResponseFormatSchema.parse({ type: 'json_object' });
    assert.equal(structuredAnswerProblem(obj, '{"a": [1, {"b": null}]}'), null);
    assert.match(structuredAnswerProblem(obj, '[1, 2]') ?? '', /not an object/);
    assert.equal(structuredAnswerProblem(undefined, 'anything'), null);
    assert.equal(structuredAnswerProblem({ type: 'text' }, 'anything'), null);
  });

  it('an answer cut by its limit need only start a JSON object', () => {
    for (const prefix of [
      '',
      '  ',
      '{',
      '{"a',
      '{"a":',
      '{"a": [1, 2',
      '{"a": tr',
      '{"a": "x\\"y',
      '{"a": {"b": -1.5e',
      '{}',
    ])
      assert.equal(jsonObjectPrefixProblem(prefix), null, JSON.stringify(prefix));
    const bad: [string, RegExp][] = [
      ['the the', /starts with \{/],
      ['[1]', /starts with \{/],
      ['{"a" 1', /colon/],
      ['{"a": tx', /is not true/],
      ['{"a": 1}}', /text after the object/],
      ['{"a": 1 "b"', /after a value/],
      ['{1', /where a key belongs/],
      ['{"a": ]', /where a value belongs/],
      ['{"a\u0001', /control character/],
    ];
    for (const [text, why] of bad) assert.match(jsonObjectPrefixProblem(text) ?? '', why, text);
    const f = ResponseFormatSchema.parse({ type: 'json_object' });
    assert.equal(structuredAnswerProblem(f, '{"a": "unfinished', false), null);
    assert.match(structuredAnswerProblem(f, 'plain words', false) ?? '', /starts with \{/);
  });
});
