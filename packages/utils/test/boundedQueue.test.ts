import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedQueue } from '../src/index.js';

describe('BoundedQueue', () => {
  it('refuses a capacity below 1', () => {
    assert.throws(() => new BoundedQueue({ capacity: 0 }), RangeError);
    assert.throws(() => new BoundedQueue({ capacity: 1.5 }), RangeError);
  });

  it('delivers in order and never holds more than its capacity', async () => {
    const q = new BoundedQueue<number>({ capacity: 3 });
    assert.equal(q.tryPush(1), true);
    assert.equal(q.tryPush(2), true);
    assert.equal(q.tryPush(3), true);
    assert.equal(q.tryPush(4), false, 'full');
    assert.equal(q.size, 3);
    assert.deepEqual(await q.next(), { value: 1, done: false });
    assert.equal(q.tryPush(4), true);
    q.close();
    const rest: number[] = [];
    for await (const v of q) rest.push(v);
    assert.deepEqual(rest, [2, 3, 4]);
  });

  it('push waits while full, so a slow consumer holds the producer back', async () => {
    const q = new BoundedQueue<number>({ capacity: 2 });
    let produced = 0;
    const producer = (async () => {
      for (let i = 0; i < 100; i++) {
        await q.push(i);
        produced++;
      }
      q.close();
    })();
    await new Promise((r) => setImmediate(r));
    assert.ok(produced <= 2, `producer ran ahead: ${produced}`);
    const got: number[] = [];
    for await (const v of q) {
      got.push(v);
      assert.ok(produced - got.length <= 3, 'buffer stays bounded');
    }
    await producer;
    assert.equal(got.length, 100);
    assert.deepEqual(got.slice(0, 3), [0, 1, 2]);
  });

  it('a waiting consumer gets the next push at once', async () => {
    const q = new BoundedQueue<string>({ capacity: 1 });
    const pending = q.next();
    q.tryPush('a');
    assert.deepEqual(await pending, { value: 'a', done: false });
  });

  it('close with an error fails the consumer after the buffered items', async () => {
    const q = new BoundedQueue<number>({ capacity: 4 });
    q.tryPush(1);
    q.close(new Error('boom'));
    assert.equal(q.tryPush(2), false);
    assert.deepEqual(await q.next(), { value: 1, done: false });
    await assert.rejects(q.next(), /boom/);
  });

  it('close wakes a waiting consumer and rejects waiting producers', async () => {
    const q = new BoundedQueue<number>({ capacity: 1 });
    const consumer = new BoundedQueue<number>({ capacity: 1 });
    const waiting = consumer.next();
    consumer.close();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    q.tryPush(1);
    const blocked = q.push(2);
    q.close();
    await assert.rejects(blocked, /closed/);
  });

  it('an aborted push is withdrawn', async () => {
    const q = new BoundedQueue<number>({ capacity: 1 });
    q.tryPush(1);
    const ac = new AbortController();
    const p = q.push(2, { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.deepEqual(await q.next(), { value: 1, done: false });
    assert.equal(q.size, 0, 'the aborted item was not added');
  });

  it('breaking out of for-await closes the queue', async () => {
    const q = new BoundedQueue<number>({ capacity: 8 });
    for (let i = 0; i < 5; i++) q.tryPush(i);
    for await (const v of q) if (v === 1) break;
    assert.equal(q.tryPush(9), false);
  });
});
