import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromPush } from '../src/index.js';

describe('fromPush', () => {
  it('yields what the source pushes and tears it down when the reader stops', async () => {
    let done: AbortSignal | undefined;
    const ac = new AbortController();
    const got: number[] = [];
    for await (const v of fromPush<number>(ac.signal, (push, _fail, d) => {
      done = d;
      for (let i = 1; i <= 5; i++) push(i);
    })) {
      got.push(v);
      if (v === 3) break;
    }
    assert.deepEqual(got, [1, 2, 3]);
    assert.equal(done?.aborted, true, 'the source learns the stream ended');
  });

  it('ends when the caller aborts, and throws what the source fails with', async () => {
    const ac = new AbortController();
    const it1 = fromPush<number>(ac.signal, (push) => push(1));
    assert.deepEqual(await it1.next(), { done: false, value: 1 });
    ac.abort();
    assert.equal((await it1.next()).done, true);
    const failing = fromPush<number>(new AbortController().signal, (_push, fail) =>
      fail(new Error('source broke')),
    );
    await assert.rejects(failing.next(), /source broke/);
  });

  it('drops the newest values past its capacity instead of blocking the source', async () => {
    const ac = new AbortController();
    const stream = fromPush<number>(
      ac.signal,
      (push) => {
        for (let i = 0; i < 10; i++) push(i);
      },
      { capacity: 3 },
    );
    const got: number[] = [];
    for await (const v of stream) {
      got.push(v);
      if (got.length === 3) ac.abort();
    }
    assert.deepEqual(got, [0, 1, 2]);
  });
});
