/**
 * Method definitions, error tables and registration rules: the checks that keep one definition per
 * method and one meaning per code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  createEngineServer,
  defineApi,
  defineErrors,
  EngineError,
  EngineErrorCode,
  engineApi,
  engineErrorFromWire,
  engineErrorSummary,
  METHOD_NAME,
  renderEngineApiMarkdown,
  stream,
  unary,
} from '../src/index.js';

const params = z.object({}).strict();

describe('method definitions', () => {
  it('derive the namespace from the wire name', () => {
    const m = unary('chain_getBlockV2', { summary: 's', params, result: params });
    assert.equal(m.kind, 'unary');
    assert.equal(m.namespace, 'chain');
    assert.deepEqual(m.errors, []);
    assert.equal(stream('app0_watchJobsV1', { summary: 's', params, event: params }).namespace, 'app0');
  });

  for (const bad of [
    'getBlock',
    'chain_getBlock',
    'Chain_getBlockV1',
    'chain_GetBlockV1',
    'chain-getBlockV1',
    '_xV1',
  ]) {
    it(`refuses the name "${bad}"`, () => {
      assert.equal(METHOD_NAME.test(bad), false);
      assert.throws(() => unary(bad, { summary: 's', params, result: params }), TypeError);
    });
  }

  it('every catalogue method follows the naming rule and has a summary', () => {
    for (const [name, m] of Object.entries(engineApi)) {
      assert.equal(m.name, name);
      assert.match(name, METHOD_NAME);
      assert.ok(m.summary.length > 10, `${name} has a summary`);
    }
  });

  it('defineApi refuses a method defined twice', () => {
    const m = unary('test_aV1', { summary: 's', params, result: params });
    assert.throws(() => defineApi([m, m]), /defined twice/);
  });
});

describe('errors', () => {
  it('defineErrors builds named definitions', () => {
    const e = defineErrors({ A: { code: 1000, summary: 'a' }, B: { code: 1001, summary: 'b' } });
    assert.deepEqual(e.B, { name: 'B', code: 1001, summary: 'b' });
  });

  it('defineErrors refuses reserved, fractional and duplicate codes', () => {
    assert.throws(() => defineErrors({ A: { code: 999, summary: 'a' } }), RangeError);
    assert.throws(() => defineErrors({ A: { code: -32000, summary: 'a' } }), RangeError);
    assert.throws(() => defineErrors({ A: { code: 1000.5, summary: 'a' } }), RangeError);
    assert.throws(
      () => defineErrors({ A: { code: 1000, summary: 'a' }, B: { code: 1000, summary: 'b' } }),
      /used twice/,
    );
  });

  it('every standard code has a summary and a distinct value', () => {
    const codes = Object.values(EngineErrorCode);
    assert.equal(new Set(codes).size, codes.length);
    for (const name of Object.keys(EngineErrorCode)) {
      assert.ok((engineErrorSummary as Record<string, string>)[name]?.length);
    }
  });

  it('round-trips through the wire shape', () => {
    const def = defineErrors({ BUSY: { code: 1234, summary: 'Busy.' } }).BUSY;
    const err = EngineError.of(def, 'busy now', { retry: true });
    assert.deepEqual(err.toWire(), { code: 1234, message: 'busy now', data: { retry: true } });
    assert.deepEqual(EngineError.std('CANCELLED', 'stop').toWire(), { code: -32005, message: 'stop' });
    const back = engineErrorFromWire(err.toWire(), [def]);
    assert.equal(back.code, 'BUSY');
    assert.equal(back.rpcCode, 1234);
    assert.deepEqual(back.data, { retry: true });
    assert.equal(back.name, 'EngineError');
    assert.equal(engineErrorFromWire({ code: -32601, message: 'm' }).code, 'METHOD_NOT_FOUND');
    assert.equal(engineErrorFromWire({ code: 4321, message: 'm' }).code, 'E4321');
  });
});

describe('registration', () => {
  const api = defineApi([unary('test_oneV1', { summary: 's', params, result: params })]);

  it('refuses a method registered twice and a missing handler', () => {
    const server = createEngineServer({ streamDeadlineMs: 1_000, maxStreams: 1 });
    server.register(api, { test_oneV1: () => ({}) });
    assert.throws(() => server.register(api, { test_oneV1: () => ({}) }), /already registered/);
    assert.throws(
      () =>
        server.register(
          defineApi([unary('test_twoV1', { summary: 's', params, result: params })]),
          {} as never,
        ),
      /no handler for test_twoV1/,
    );
    assert.throws(
      () =>
        server.register(defineApi([engineApi.engine_echoV1]), {
          engine_echoV1: () => ({ payload: '' }),
        }),
      /already registered/,
    );
  });

  it('methods() lists the built-in engine_* methods and registered ones', () => {
    const server = createEngineServer({ streamDeadlineMs: 1_000, maxStreams: 1 });
    server.register(api, { test_oneV1: () => ({}) });
    assert.deepEqual(
      server
        .methods()
        .map((m) => m.name)
        .sort(),
      ['engine_cancelStreamV1', 'engine_echoStreamV1', 'engine_echoV1', 'test_oneV1'],
    );
  });

  it('the markdown reference lists every method and every standard error code', () => {
    const md = renderEngineApiMarkdown(Object.values(engineApi));
    for (const name of Object.keys(engineApi)) assert.ok(md.includes(`### ${name}`), name);
    for (const code of Object.values(EngineErrorCode)) assert.ok(md.includes(`| ${code} |`), String(code));
    assert.equal(renderEngineApiMarkdown(Object.values(engineApi).reverse()), md, 'deterministic');
  });
});
