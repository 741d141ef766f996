/**
 * JSON-RPC 2.0 conformance of the dispatcher, run as one table over both transports (in-process and
 * HTTP): every standard error code, batches, notifications, and the typed client's call/notify/batch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep } from '@subnet/utils';
import { z } from 'zod';
import {
  defineApi,
  defineErrors,
  EngineError,
  EngineErrorCode,
  engineApi,
  type TransportReply,
  unary,
} from '../src/index.js';
import {
  eachTransport,
  expectEngineError,
  type Harness,
  JWT_SUBJECT,
  startHarness,
  TRANSPORTS,
  type WireResponse,
} from './harness.js';

const testErrors = defineErrors({ NOT_READY: { code: 1500, summary: 'The test stack is not ready.' } });

const testApi = defineApi([
  unary('test_noteV1', {
    summary: 'Records a value (used as a notification).',
    params: z.object({ value: z.string() }).strict(),
    result: z.object({ ok: z.literal(true) }).strict(),
  }),
  unary('test_whoAmIV1', {
    summary: 'Returns the caller the handler saw.',
    params: z.object({}).strict(),
    result: z.object({ caller: z.string() }).strict(),
  }),
  unary('test_delayV1', {
    summary: 'Answers its value after `ms` (honours its signal).',
    params: z.object({ ms: z.number().int().min(0), value: z.number() }).strict(),
    result: z.object({ value: z.number() }).strict(),
  }),
  unary('test_failV1', {
    summary: 'Throws: a namespace error, a plain Error, or answers a schema-invalid result.',
    params: z.object({ how: z.enum(['engine', 'plain', 'badResult']) }).strict(),
    result: z.object({ ok: z.boolean() }).strict(),
    errors: [testErrors.NOT_READY],
  }),
  unary('test_hangV1', {
    summary: 'Never answers and ignores its signal.',
    params: z.object({}).strict(),
    result: z.object({}).strict(),
  }),
]);

const notes: string[] = [];
let delayCalls = 0;

let h: Harness;

before(async () => {
  h = await startHarness();
  h.server.register(testApi, {
    test_noteV1: ({ value }) => {
      notes.push(value);
      return { ok: true };
    },
    test_whoAmIV1: (_p, ctx) => ({ caller: ctx.caller }),
    test_delayV1: async ({ ms, value }, ctx) => {
      delayCalls++;
      await sleep(ms, { signal: ctx.signal });
      return { value };
    },
    test_failV1: ({ how }) => {
      if (how === 'engine')
        throw EngineError.of(testErrors.NOT_READY, 'not ready yet; retry', { retryInMs: 5 });
      if (how === 'plain') throw new Error('boom');
      return { ok: 'yes' } as never;
    },
    test_hangV1: () => new Promise<never>(() => {}),
  });
});

after(() => h.close());

type Json = WireResponse | WireResponse[] | undefined;

/** Sends a raw body over `kind` and returns the decoded JSON reply (`undefined` for none). */
async function send(kind: 'in-process' | 'http', body: string): Promise<Json> {
  const reply: TransportReply = await h.transport(kind).request(body, {});
  if (reply.kind === 'none') return undefined;
  assert.equal(reply.kind, 'json', 'expected a JSON reply');
  return JSON.parse(reply.body) as Json;
}

function single(r: Json): WireResponse {
  assert.ok(r !== undefined && !Array.isArray(r), `expected a single response, got ${JSON.stringify(r)}`);
  assert.equal(r.jsonrpc, '2.0');
  return r;
}

function errorOf(r: Json, code: number, id: string | number | null): WireResponse['error'] & {} {
  const res = single(r);
  assert.equal(res.result, undefined);
  assert.ok(res.error !== undefined, `expected error ${code}, got ${JSON.stringify(res)}`);
  assert.equal(res.error.code, code, res.error.message);
  assert.equal(typeof res.error.message, 'string');
  assert.ok(res.error.message.length > 0);
  assert.deepEqual(res.id, id);
  return res.error;
}

function batchOf(r: Json): Map<string | number | null, WireResponse> {
  assert.ok(Array.isArray(r), `expected a batch response, got ${JSON.stringify(r)}`);
  return new Map(r.map((x) => [x.id, x]));
}

const req = (id: unknown, method: string, params?: unknown) =>
  JSON.stringify(
    params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params },
  );

interface WireCase {
  body: string;
  check: (r: Json) => void;
}

const { PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR } = EngineErrorCode;

/** Raw bodies and what the server must answer: identical over both transports. */
const wireCases: Record<string, WireCase> = {
  'truncated JSON → -32700': { body: '{"jsonrpc":"2.0",', check: (r) => errorOf(r, PARSE_ERROR, null) },
  'plain text → -32700': { body: 'hello', check: (r) => errorOf(r, PARSE_ERROR, null) },
  'empty body → -32700': { body: '', check: (r) => errorOf(r, PARSE_ERROR, null) },
  'wrong jsonrpc version → -32600 keeping the id': {
    body: JSON.stringify({ jsonrpc: '1.0', id: 7, method: 'engine_echoV1', params: { payload: 'x' } }),
    check: (r) => errorOf(r, INVALID_REQUEST, 7),
  },
  'missing jsonrpc → -32600': {
    body: JSON.stringify({ id: 'a', method: 'engine_echoV1', params: { payload: 'x' } }),
    check: (r) => errorOf(r, INVALID_REQUEST, 'a'),
  },
  'object id → -32600 with id null': {
    body: req({ n: 1 }, 'engine_echoV1', { payload: 'x' }),
    check: (r) => errorOf(r, INVALID_REQUEST, null),
  },
  'boolean id → -32600 with id null': {
    body: req(true, 'engine_echoV1', { payload: 'x' }),
    check: (r) => errorOf(r, INVALID_REQUEST, null),
  },
  'array id → -32600 with id null': {
    body: req([1], 'engine_echoV1', { payload: 'x' }),
    check: (r) => errorOf(r, INVALID_REQUEST, null),
  },
  'number body → -32600': { body: '42', check: (r) => errorOf(r, INVALID_REQUEST, null) },
  'string body → -32600': { body: '"engine_echoV1"', check: (r) => errorOf(r, INVALID_REQUEST, null) },
  'null body → -32600': { body: 'null', check: (r) => errorOf(r, INVALID_REQUEST, null) },
  'missing method → -32600': {
    body: JSON.stringify({ jsonrpc: '2.0', id: 3 }),
    check: (r) => errorOf(r, INVALID_REQUEST, 3),
  },
  'empty method → -32600': { body: req(3, ''), check: (r) => errorOf(r, INVALID_REQUEST, 3) },
  'scalar params → -32600': {
    body: req(4, 'engine_echoV1', 'x'),
    check: (r) => errorOf(r, INVALID_REQUEST, 4),
  },
  'empty batch → -32600 (single, not an array)': {
    body: '[]',
    check: (r) => errorOf(r, INVALID_REQUEST, null),
  },
  'unknown method → -32601': {
    body: req(5, 'engine_nopeV1', {}),
    check: (r) => {
      const e = errorOf(r, METHOD_NOT_FOUND, 5);
      assert.match(e.message, /engine_nopeV1/);
      assert.match(e.message, /rpc\.discover/);
    },
  },
  'unknown namespace → -32601': {
    body: req('x', 'chain_getBlockV1', {}),
    check: (r) => errorOf(r, METHOD_NOT_FOUND, 'x'),
  },
  'wrong param type → -32602 with issues': {
    body: req(6, 'engine_echoV1', { payload: 12 }),
    check: (r) => {
      const e = errorOf(r, INVALID_PARAMS, 6);
      const data = e.data as { issues: { path: string[]; code: string; message: string }[] };
      assert.equal(data.issues.length, 1);
      assert.deepEqual(data.issues[0]?.path, ['payload']);
      assert.equal(data.issues[0]?.code, 'invalid_type');
      assert.equal(typeof data.issues[0]?.message, 'string');
      assert.match(e.message, /payload/);
    },
  },
  'unknown param key → -32602 unrecognized_keys': {
    body: req(8, 'engine_echoV1', { payload: 'x', extra: 1 }),
    check: (r) => {
      const data = errorOf(r, INVALID_PARAMS, 8).data as { issues: { code: string }[] };
      assert.deepEqual(
        data.issues.map((i) => i.code),
        ['unrecognized_keys'],
      );
    },
  },
  'missing params → -32602 listing each missing field': {
    body: req(9, 'test_delayV1'),
    check: (r) => {
      const data = errorOf(r, INVALID_PARAMS, 9).data as { issues: { path: string[] }[] };
      assert.deepEqual(data.issues.map((i) => i.path.join('.')).sort(), ['ms', 'value']);
    },
  },
  'positional params → -32602': {
    body: req(10, 'engine_echoV1', ['x']),
    check: (r) => errorOf(r, INVALID_PARAMS, 10),
  },
  'stream method with bad params → -32602 as JSON, no stream': {
    body: req(11, 'engine_echoStreamV1', { count: -1 }),
    check: (r) => {
      const data = errorOf(r, INVALID_PARAMS, 11).data as { issues: { path: string[] }[] };
      assert.deepEqual(data.issues[0]?.path, ['count']);
    },
  },
  'handler EngineError → its code, message and data': {
    body: req(12, 'test_failV1', { how: 'engine' }),
    check: (r) => {
      const e = errorOf(r, 1500, 12);
      assert.equal(e.message, 'not ready yet; retry');
      assert.deepEqual(e.data, { retryInMs: 5 });
    },
  },
  'handler crash → -32603': {
    body: req(13, 'test_failV1', { how: 'plain' }),
    check: (r) => assert.match(errorOf(r, INTERNAL_ERROR, 13).message, /test_failV1.*boom/),
  },
  'string and null ids are echoed': {
    body: `[${req('s-1', 'engine_echoV1', { payload: 'a' })},${req(null, 'engine_echoV1', { payload: 'b' })}]`,
    check: (r) => {
      const m = batchOf(r);
      assert.deepEqual(m.get('s-1')?.result, { payload: 'a' });
      assert.deepEqual(m.get(null)?.result, { payload: 'b' });
    },
  },
  'batch: mixed results and errors, ids matched, notifications left out': {
    body: `[${[
      req(1, 'engine_echoV1', { payload: 'one' }),
      req('two', 'engine_nopeV1', {}),
      req(3, 'engine_echoV1', { payload: 3 }),
      JSON.stringify({ jsonrpc: '2.0', method: 'test_noteV1', params: { value: 'in-batch' } }),
      '42',
      JSON.stringify({ jsonrpc: '1.0', id: 5, method: 'engine_echoV1' }),
      req(6, 'engine_echoStreamV1', { count: 1 }),
      req(7, 'engine_echoV1', { payload: 'seven' }),
    ].join(',')}]`,
    check: (r) => {
      assert.ok(Array.isArray(r));
      assert.equal(r.length, 7, 'every entry but the notification is answered');
      const m = batchOf(r);
      assert.deepEqual(m.get(1)?.result, { payload: 'one' });
      assert.equal(m.get('two')?.error?.code, METHOD_NOT_FOUND);
      assert.equal(m.get(3)?.error?.code, INVALID_PARAMS);
      assert.equal(m.get(null)?.error?.code, INVALID_REQUEST, 'the non-object entry answers with id null');
      assert.equal(m.get(5)?.error?.code, INVALID_REQUEST);
      assert.equal(m.get(6)?.error?.code, INVALID_REQUEST, 'a stream method cannot be batched');
      assert.match(m.get(6)?.error?.message ?? '', /batch/);
      assert.deepEqual(m.get(7)?.result, { payload: 'seven' });
    },
  },
  'batch of only a stream method → array with -32600': {
    body: `[${req(1, 'engine_echoStreamV1', { count: 3 })}]`,
    check: (r) => {
      assert.ok(Array.isArray(r));
      assert.equal(r.length, 1);
      assert.equal(r[0]?.error?.code, INVALID_REQUEST);
      assert.equal(r[0]?.id, 1);
    },
  },
  'batch of only notifications → no reply': {
    body: JSON.stringify([
      { jsonrpc: '2.0', method: 'test_noteV1', params: { value: 'n1' } },
      { jsonrpc: '2.0', method: 'engine_nopeV1', params: {} },
      { jsonrpc: '2.0', method: 'engine_echoV1', params: { payload: 1 } },
    ]),
    check: (r) => assert.equal(r, undefined),
  },
  'notification → no reply': {
    body: JSON.stringify({ jsonrpc: '2.0', method: 'engine_echoV1', params: { payload: 'x' } }),
    check: (r) => assert.equal(r, undefined),
  },
  'notification of an unknown method → no reply': {
    body: JSON.stringify({ jsonrpc: '2.0', method: 'engine_nopeV1' }),
    check: (r) => assert.equal(r, undefined),
  },
  'notification of a stream method → no reply': {
    body: JSON.stringify({ jsonrpc: '2.0', method: 'engine_echoStreamV1', params: { count: 3 } }),
    check: (r) => assert.equal(r, undefined),
  },
  'rpc.discover inside a batch': {
    body: `[${req(1, 'rpc.discover')},${req(2, 'engine_echoV1', { payload: '' })}]`,
    check: (r) => {
      const m = batchOf(r);
      assert.equal((m.get(1)?.result as { openrpc?: string } | undefined)?.openrpc, '1.3.2');
      assert.deepEqual(m.get(2)?.result, { payload: '' });
    },
  },
};

for (const kind of TRANSPORTS) {
  describe(`wire cases over ${kind}`, () => {
    for (const [name, c] of Object.entries(wireCases)) {
      it(name, async () => c.check(await send(kind, c.body)));
    }

    it('runs notification handlers (single and batched) without answering', async () => {
      const tag = `${kind}-${Date.now()}`;
      assert.equal(
        await send(kind, JSON.stringify({ jsonrpc: '2.0', method: 'test_noteV1', params: { value: tag } })),
        undefined,
      );
      const batch = JSON.stringify([
        { jsonrpc: '2.0', method: 'test_noteV1', params: { value: `${tag}-a` } },
        { jsonrpc: '2.0', method: 'test_noteV1', params: { value: `${tag}-b` } },
      ]);
      assert.equal(await send(kind, batch), undefined);
      assert.deepEqual(
        notes.filter((n) => n.startsWith(tag)),
        [tag, `${tag}-a`, `${tag}-b`],
      );
    });
  });
}

describe('typed client over both transports', () => {
  for (const [kind, makeApiClient] of eachTransport(() => h)) {
    const makeClient = (o?: { timeoutMs: number }) => makeApiClient(testApi, o);
    describe(kind, () => {
      it('calls a method and decodes the result', async () => {
        const c = makeClient();
        assert.deepEqual(await c.call('test_delayV1', { ms: 0, value: 42 }), { value: 42 });
      });

      it('passes the authenticated caller to the handler', async () => {
        const { caller } = await makeClient().call('test_whoAmIV1', {});
        assert.equal(caller, kind === 'http' ? JWT_SUBJECT : 'in-process');
      });

      it('notify resolves with nothing after the handler ran', async () => {
        const value = `notify-${kind}-${Math.random()}`;
        assert.equal(await makeClient().notify('test_noteV1', { value }), undefined);
        assert.ok(notes.includes(value));
      });

      it('rejects invalid params before sending anything', async () => {
        const before = delayCalls;
        const err = await expectEngineError(
          makeClient().call('test_delayV1', { ms: -1, value: 1 }),
          'INVALID_PARAMS',
          INVALID_PARAMS,
        );
        assert.deepEqual((err.data as { issues: { path: string[] }[] }).issues[0]?.path, ['ms']);
        assert.equal(delayCalls, before, 'the handler never ran');
      });

      it('turns a namespace error back into its name, code and data', async () => {
        const err = await expectEngineError(
          makeClient().call('test_failV1', { how: 'engine' }),
          'NOT_READY',
          1500,
        );
        assert.deepEqual(err.data, { retryInMs: 5 });
      });

      it('maps a handler crash to INTERNAL_ERROR', async () => {
        await expectEngineError(
          makeClient().call('test_failV1', { how: 'plain' }),
          'INTERNAL_ERROR',
          INTERNAL_ERROR,
        );
      });

      it('refuses a result that fails the method schema', async () => {
        await expectEngineError(
          makeClient().call('test_failV1', { how: 'badResult' }),
          'INVALID_RESPONSE',
          EngineErrorCode.INVALID_RESPONSE,
        );
      });

      it('a method missing from the server → METHOD_NOT_FOUND', async () => {
        const other = defineApi([
          unary('test_absentV1', { summary: 'Not served.', params: z.object({}), result: z.object({}) }),
        ]);
        const c = makeApiClient(other);
        await expectEngineError(c.call('test_absentV1', {}), 'METHOD_NOT_FOUND', METHOD_NOT_FOUND);
      });

      it('refuses to call() a stream method or stream() a unary one', async () => {
        const c = makeApiClient(engineApi);
        await expectEngineError(
          c.call('engine_echoStreamV1' as never, { count: 1 } as never),
          'INVALID_REQUEST',
        );
        await expectEngineError(
          c.stream('engine_echoV1' as never, { payload: '' } as never),
          'INVALID_REQUEST',
        );
      });

      it('a call past its timeout fails with DEADLINE_EXCEEDED', async () => {
        await expectEngineError(
          makeClient({ timeoutMs: 100 }).call('test_delayV1', { ms: 5_000, value: 1 }),
          'DEADLINE_EXCEEDED',
          EngineErrorCode.DEADLINE_EXCEEDED,
        );
      });

      it('a call to a handler that ignores its signal still fails at the timeout', async () => {
        await expectEngineError(makeClient({ timeoutMs: 100 }).call('test_hangV1', {}), 'DEADLINE_EXCEEDED');
      });

      it('aborting a call fails it with CANCELLED', async () => {
        const ac = new AbortController();
        const p = makeClient().call('test_delayV1', { ms: 5_000, value: 1 }, { signal: ac.signal });
        setTimeout(() => ac.abort(), 20);
        await expectEngineError(p, 'CANCELLED', EngineErrorCode.CANCELLED);
      });

      it('batch: results in call order, errors settled per entry', async () => {
        const c = makeClient();
        const out = await c.batch([
          ['test_delayV1', { ms: 30, value: 1 }],
          ['test_failV1', { how: 'engine' }],
          ['test_delayV1', { ms: 0, value: 3 }],
          ['test_failV1', { how: 'badResult' }],
          ['test_whoAmIV1', {}],
        ]);
        assert.equal(out.length, 5);
        assert.deepEqual(out[0], { ok: true, result: { value: 1 } });
        assert.equal(out[1].ok, false);
        assert.equal(out[1].ok === false && out[1].error.code, 'NOT_READY');
        assert.deepEqual(out[2], { ok: true, result: { value: 3 } });
        assert.equal(out[3].ok === false && out[3].error.code, 'INVALID_RESPONSE');
        assert.equal(out[4].ok && out[4].result.caller, kind === 'http' ? JWT_SUBJECT : 'in-process');
      });

      it('an empty batch is refused with INVALID_REQUEST', async () => {
        await expectEngineError(makeClient().batch([]), 'INVALID_REQUEST', INVALID_REQUEST);
      });
    });
  }
});
