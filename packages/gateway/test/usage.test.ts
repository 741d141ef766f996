/**
 * The validator's own usage counts: the documented bound when this node cannot count for the model
 * (METHOD_NOT_FOUND / UNKNOWN_MODEL), the clamps every count passes, and the wire params every request
 * carries (seed fixed, logprobs on, no priority).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineError } from '@subnet/engine-api';
import { silentLogger } from '@subnet/utils';
import { GatewayError, GatewayErrorCode } from '../src/errors.js';
import {
  COMPLETION_SLACK,
  clampUsage,
  completionBound,
  createUsageCounter,
  promptBound,
  type UsageCounterModules,
} from '../src/usage.js';
import { generateWire } from '../src/wire.js';

const signal = new AbortController().signal;

/** An engine answering app_tokenizeV1 with `answer` (counts or an error), counting calls. */
function engineOf(answer: (texts: string[]) => number[] | EngineError) {
  const calls: string[][] = [];
  const engine = {
    call: async (_method: string, params: { texts: string[] }) => {
      calls.push(params.texts);
      const r = answer(params.texts);
      if (r instanceof EngineError) throw r;
      return { counts: r };
    },
  } as unknown as UsageCounterModules['engine'];
  return { engine, calls };
}

describe('usage counted by the validator', () => {
  it('bound without a tokenizer: prompt ceil(bytes / 4), completion = events, clamped to maxTokens + slack', async () => {
    for (const code of ['METHOD_NOT_FOUND', 'UNKNOWN_MODEL', 'UNSUPPORTED_TASK']) {
      const { engine, calls } = engineOf(() => new EngineError(code, -32601, 'no'));
      let t = 0;
      const counter = createUsageCounter({ engine, logger: silentLogger(), now: () => t });
      const u = await counter.generation(
        'm',
        { prompt: ['héllo', 'world!'], tokens: ['a', 'bb', ''], maxTokens: 16 },
        signal,
      );
      // 'héllo' is 6 bytes, 'world!' 6: ceil(12 / 4) = 3; three events relayed.
      assert.deepEqual(u, { promptTokens: 3, completionTokens: 3 }, code);
      // The answer is remembered for a while, then asked again.
      await counter.generation('m', { prompt: ['x'], tokens: [], maxTokens: 1 }, signal);
      assert.equal(calls.length, 1, code);
      t += 60_000;
      await counter.generation('m', { prompt: ['x'], tokens: [], maxTokens: 1 }, signal);
      assert.equal(calls.length, 2, code);
    }
    assert.equal(promptBound(['abcd', 'e']), 2);
    assert.equal(completionBound({ tokens: new Array(100).fill('x'), maxTokens: 4 }), 4 + COMPLETION_SLACK);
  });

  it('counts with the tokenizer: prompt texts summed, the relayed text as one', async () => {
    const { engine, calls } = engineOf((texts) => texts.map((s) => s.length));
    const counter = createUsageCounter({ engine, logger: silentLogger() });
    const u = await counter.generation(
      'm',
      { prompt: ['sys', 'user says'], tokens: ['ab', 'cd', 'e'], maxTokens: 16 },
      signal,
    );
    assert.deepEqual(calls[0], ['sys', 'user says', 'abcde']);
    assert.deepEqual(u, { promptTokens: 12, completionTokens: 5 });
    assert.equal(await counter.embedding('m', ['one', 'three'], signal), 8);
  });

  it('clamps every count: never above the bytes relayed, maxTokens + slack, or negative', async () => {
    const relayed = { prompt: ['abc'], tokens: ['x', 'y'], maxTokens: 1 };
    const table: [number, number, { promptTokens: number; completionTokens: number }][] = [
      [2 ** 53 - 1, 2 ** 53 - 1, { promptTokens: 3, completionTokens: 2 }],
      [-5, -1, { promptTokens: 0, completionTokens: 0 }],
      [Number.NaN, Number.POSITIVE_INFINITY, { promptTokens: 0, completionTokens: 0 }],
      [1.7, 1.2, { promptTokens: 1, completionTokens: 1 }],
    ];
    for (const [p, c, want] of table)
      assert.deepEqual(clampUsage({ promptTokens: p, completionTokens: c }, relayed), want, `${p}/${c}`);
    // A node that miscounts is clamped too.
    const { engine } = engineOf((texts) => texts.map(() => 2 ** 53 - 1));
    const counter = createUsageCounter({ engine, logger: silentLogger() });
    const u = await counter.generation(
      'm',
      { prompt: ['p'], tokens: new Array(40).fill('tok'), maxTokens: 30 },
      signal,
    );
    assert.deepEqual(u, { promptTokens: 1, completionTokens: 30 + COMPLETION_SLACK });
  });

  it('wire: the seed is fixed (client’s or random u32), logprobs on, top-logprobs as asked, no priority', () => {
    const base = { model: 'm', kind: 'completion' as const, prompt: 'hi', priority: 'challenge' as const };
    const a = generateWire(base, () => 7);
    assert.equal(a.seed, 7);
    assert.equal(a.logprobs, true);
    assert.equal(a.topLogprobs, 0);
    assert.equal('priority' in a, false);
    assert.equal(generateWire({ ...base, seed: 42 }, () => 7).seed, 42);
    assert.equal(generateWire({ ...base, logprobs: true, topLogprobs: 3 }).topLogprobs, 3);
    // Not asked for logprobs: top-logprobs 0 whatever came along.
    assert.equal(generateWire({ ...base, topLogprobs: 3 }).topLogprobs, 0);
    // A request no miner would accept is the client's error, named as such.
    assert.throws(
      () => generateWire({ model: 'm', kind: 'chat' }),
      (err: unknown) => err instanceof GatewayError && err.code === GatewayErrorCode.INVALID_REQUEST,
    );
    const seeds = new Set(Array.from({ length: 64 }, () => generateWire(base).seed));
    assert.ok(seeds.size > 60, 'random seeds differ');
    for (const s of seeds) assert.ok(Number.isInteger(s) && (s as number) >= 0 && (s as number) < 2 ** 32);
  });
});
