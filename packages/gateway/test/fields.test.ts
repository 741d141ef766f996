/**
 * Never silently dropped: every top-level field of OpenAI's request bodies, read from the official `openai`
 * client's own type definitions, is in exactly one class of the gateway's table (`openai/fields.ts`), the
 * table names no field the client lacks, the zod schemas take exactly the fields the table lets through,
 * and each refused field (with a value that asks for something) and an unknown field get a 400 naming them,
 * before any router is reached. When OpenAI adds a field, this fails until it is classified.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOpenAiServer, type OpenAiServer } from '../src/index.js';
import { OPENAI_FIELDS, type OpenAiRoute } from '../src/openai/fields.js';
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  EmbeddingRequestSchema,
  ResponseRequestSchema,
} from '../src/openai/schemas.js';
import type { KeyRecord, Router } from '../src/types.js';

const openaiDir = dirname(createRequire(import.meta.url).resolve('openai'));

/** The top-level property names of `interface name { … }` in a .d.ts (members at brace depth 1). */
function interfaceFields(file: string, name: string): string[] {
  const src = readFileSync(join(openaiDir, file), 'utf8');
  const start = src.indexOf(`export interface ${name} {`);
  assert.ok(start >= 0, `${name} not found in ${file}`);
  const open = src.indexOf('{', start);
  const out: string[] = [];
  let depth = 0;
  let inComment = false;
  for (let i = open; i < src.length; i++) {
    if (src.startsWith('/*', i)) inComment = true;
    if (inComment) {
      if (src.startsWith('*/', i)) inComment = false;
      continue;
    }
    const c = src[i];
    if (c === '{' || c === '(' || c === '<' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === '>' || c === ']') {
      depth--;
      if (depth === 0) break;
    } else if (depth === 1 && c === '\n') {
      const m = /^\s*(?:readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)\??:/.exec(src.slice(i + 1, i + 200));
      if (m?.[1] !== undefined) out.push(m[1]);
    }
  }
  return out;
}

const SOURCES: Record<OpenAiRoute, { file: string; iface: string; path: string; body: object }> = {
  chat: {
    file: 'resources/chat/completions/completions.d.ts',
    iface: 'ChatCompletionCreateParamsBase',
    path: '/v1/chat/completions',
    body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
  },
  completions: {
    file: 'resources/completions.d.ts',
    iface: 'CompletionCreateParamsBase',
    path: '/v1/completions',
    body: { model: 'm', prompt: 'hi' },
  },
  embeddings: {
    file: 'resources/embeddings.d.ts',
    iface: 'EmbeddingCreateParams',
    path: '/v1/embeddings',
    body: { model: 'm', input: 'hi' },
  },
  responses: {
    file: 'resources/responses/responses.d.ts',
    iface: 'ResponseCreateParamsBase',
    path: '/v1/responses',
    body: { model: 'm', input: 'hi' },
  },
};

const SCHEMAS = {
  chat: ChatCompletionRequestSchema,
  completions: CompletionRequestSchema,
  embeddings: EmbeddingRequestSchema,
  responses: ResponseRequestSchema,
};

function schemaKeys(route: OpenAiRoute): string[] {
  const s = SCHEMAS[route] as unknown as {
    shape?: Record<string, unknown>;
    def?: { in?: { shape: object } };
  };
  // CompletionRequestSchema is refined: its object is the pipe's input.
  const shape = s.shape ?? (s as { _zod: { def: { schema?: { shape: object } } } })._zod.def.schema?.shape;
  assert.ok(shape !== undefined, `no shape for ${route}`);
  return Object.keys(shape).sort();
}

const routed: string[] = [];
const router: Router = {
  generate(p) {
    routed.push(p.model);
    throw new Error('not reached');
  },
  async complete(p) {
    routed.push(p.model);
    throw new Error('not reached');
  },
  async embed(p) {
    routed.push(p.model);
    throw new Error('not reached');
  },
  async models() {
    return [];
  },
};
const KEY: KeyRecord = { id: 'k', name: 'k', requestsPerMinute: 1e6, tokensPerMinute: 1e9 };
let front: OpenAiServer;

before(async () => {
  front = await createOpenAiServer(
    { host: '127.0.0.1', port: 0, maxBodyBytes: 64 * 1024, requestTimeoutMs: 5000 },
    {
      router,
      keys: { authenticate: (s) => (s === 'sk' ? KEY : undefined) },
      limiter: { admit: () => ({ ok: true }), settle() {} },
      usage: { record() {}, rejected() {} },
    },
  );
});

after(async () => {
  await front.close();
});

async function post(
  path: string,
  body: object,
): Promise<{ status: number; param: unknown; message: string }> {
  const res = await fetch(`${front.url}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk', 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  const json = (await res.json()) as { error: { param: unknown; message: string } };
  return { status: res.status, param: json.error.param, message: json.error.message };
}

for (const route of Object.keys(SOURCES) as OpenAiRoute[]) {
  const src = SOURCES[route];
  describe(`${route} fields`, () => {
    const theirs = interfaceFields(src.file, src.iface);
    const table = OPENAI_FIELDS[route];

    it("classifies every field of the official client's request type, and no other", () => {
      assert.ok(theirs.length >= 5, `read only ${theirs.join(', ')}`);
      const unclassified = theirs.filter((f) => !Object.hasOwn(table, f));
      assert.deepEqual(unclassified, [], `fields of ${src.iface} not classified in OPENAI_FIELDS.${route}`);
      const extra = Object.keys(table).filter((f) => !theirs.includes(f));
      assert.deepEqual(extra, [], `OPENAI_FIELDS.${route} names fields ${src.iface} lacks`);
      for (const [name, c] of Object.entries(table)) {
        assert.ok(['honoured', 'noop', 'refused'].includes(c.class), name);
        if (c.class !== 'honoured') assert.ok(c.why.length > 10, `${name} says why`);
      }
    });

    it('its schema takes exactly the fields of the table', () => {
      assert.deepEqual(schemaKeys(route), Object.keys(table).sort());
    });

    it('refuses each refused field asking for something, and an unknown field, with a 400 naming it', async () => {
      const refused = Object.entries(table).filter(([, c]) => c.class === 'refused');
      for (const [name] of refused) {
        const r = await post(src.path, { ...src.body, [name]: { asks: 'something' } });
        assert.equal(r.status, 400, name);
        assert.equal(r.param, name);
        assert.match(r.message, new RegExp(`'${name}' is not supported`));
      }
      const unknown = await post(src.path, { ...src.body, not_an_openai_field: 1 });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.param, 'not_an_openai_field');
      assert.match(unknown.message, /Unrecognized request argument supplied: not_an_openai_field/);
      assert.deepEqual(routed, []);
    });
  });
}
