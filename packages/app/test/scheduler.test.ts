import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '@subnet/utils';
import { AppErrorCode, createScheduler, type GenerationEvent, type SchedulerOpts } from '../src/index.js';

const OPTS: SchedulerOpts = {
  perModel: { concurrency: 1, queueCapacity: 16 },
  defaultDeadlineMs: 5_000,
  retryAfterMs: 250,
};

interface Record {
  started: number;
  aborted: number;
  finished: number;
}

const newRecord = (): Record => ({ started: 0, aborted: 0, finished: 0 });

/** A fake backend generation: `n` tokens `delayMs` apart, honouring the signal and recording aborts. */
async function* fakeGenerate(
  n: number,
  delayMs: number,
  signal: AbortSignal,
  rec: Record,
): AsyncGenerator<GenerationEvent> {
  rec.started++;
  try {
    for (let i = 0; i < n; i++) {
      await sleep(delayMs, { signal });
      yield { type: 'token', text: `t${i}` };
    }
    yield { type: 'done', finishReason: 'length', usage: { promptTokens: 1, completionTokens: n } };
  } finally {
    if (signal.aborted) rec.aborted++;
    rec.finished++;
  }
}

/** A fake non-streaming job: resolves `value` after `ms` unless its signal aborts first. */
function fakeJob<T>(ms: number, value: T, rec: Record) {
  return async (signal: AbortSignal): Promise<T> => {
    rec.started++;
    try {
      await sleep(ms, { signal });
      return value;
    } catch (err) {
      rec.aborted++;
      throw err;
    } finally {
      rec.finished++;
    }
  };
}

function codeOf(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    assert.equal(codeOf(err), code, `expected ${code}, got ${String(err)}`);
    return err;
  }
  assert.fail(`expected ${code}, but it resolved`);
}

describe('scheduler', () => {
  it('never runs more than `concurrency` jobs of a model at once', async () => {
    const s = createScheduler({ ...OPTS, perModel: { concurrency: 3, queueCapacity: 100 } });
    let now = 0;
    let max = 0;
    const jobs = Array.from({ length: 20 }, (_, i) =>
      s.run(
        'm',
        async (signal) => {
          now++;
          max = Math.max(max, now);
          assert.ok(s.stats('m').running <= 3);
          await sleep(2 + (i % 3), { signal });
          now--;
          return i;
        },
        { priority: 'organic' },
      ),
    );
    assert.deepEqual(await Promise.all(jobs), [...Array(20).keys()]);
    assert.equal(max, 3);
    const st = s.stats('m');
    assert.equal(st.completed, 20);
    assert.equal(st.running, 0);
    assert.equal(st.queued, 0);
    assert.ok(st.queueWaitP99Ms >= st.queueWaitP50Ms);
    assert.ok(st.queueWaitP99Ms > 0);
  });

  it('is FIFO within a priority and serves challenges before organic jobs', async () => {
    const s = createScheduler(OPTS);
    const order: string[] = [];
    const blocker = s.run('m', (signal) => sleep(20, { signal }), { priority: 'organic' });
    const submit = (label: string, priority: 'challenge' | 'organic') =>
      s.run(
        'm',
        async () => {
          order.push(label);
        },
        { priority },
      );
    const all = [
      submit('o1', 'organic'),
      submit('o2', 'organic'),
      submit('c1', 'challenge'),
      submit('o3', 'organic'),
      submit('c2', 'challenge'),
    ];
    assert.equal(s.stats('m').queued, 5);
    await Promise.all([blocker, ...all]);
    assert.deepEqual(order, ['c1', 'c2', 'o1', 'o2', 'o3']);
  });

  it('answers OVERLOADED at once when the queue is full, while another model keeps running', async () => {
    const s = createScheduler({ ...OPTS, perModel: { concurrency: 1, queueCapacity: 2 } });
    const rec = newRecord();
    const a = [0, 1, 2].map((i) => s.run('a', fakeJob(30, i, rec), { priority: 'organic' }));
    assert.deepEqual(s.stats('a'), { ...s.stats('a'), running: 1, queued: 2 });
    const err = await rejectsWith(
      s.run('a', fakeJob(1, 9, rec), { priority: 'organic' }),
      AppErrorCode.OVERLOADED,
    );
    // Refused while the queue is still full (only microtasks ran): it did not wait for a free slot.
    assert.equal(s.stats('a').completed, 0, 'rejection must not wait');
    assert.equal((err as { meta: { retryAfterMs: number } }).meta.retryAfterMs, 250, 'configured default');
    // Model b is independent of a's full queue.
    assert.equal(await s.run('b', fakeJob(1, 'b', rec), { priority: 'organic' }), 'b');
    assert.ok(s.stats('a').completed < 3, 'b must not wait behind a');
    assert.deepEqual(await Promise.all(a), [0, 1, 2]);
    assert.equal(s.stats('a').rejected, 1);
    // Once jobs have finished, retryAfterMs is estimated from their durations.
    const more = [0, 1, 2].map((i) => s.run('a', fakeJob(30, i, rec), { priority: 'organic' }));
    const err2 = await rejectsWith(
      s.run('a', fakeJob(1, 9, rec), { priority: 'organic' }),
      AppErrorCode.OVERLOADED,
    );
    const retry = (err2 as { meta: { retryAfterMs: number; model: string } }).meta;
    assert.equal(retry.model, 'a');
    assert.ok(retry.retryAfterMs >= 60 && retry.retryAfterMs < 1_000, `estimate ${retry.retryAfterMs}`);
    await Promise.all(more);
  });

  it('lets a challenge displace the newest queued organic job when full', async () => {
    const s = createScheduler({ ...OPTS, perModel: { concurrency: 1, queueCapacity: 2 } });
    const rec = newRecord();
    const running = s.run('m', fakeJob(20, 'r', rec), { priority: 'organic' });
    const o1 = s.run('m', fakeJob(1, 'o1', rec), { priority: 'organic' });
    const o2 = s.run('m', fakeJob(1, 'o2', rec), { priority: 'organic' });
    const c = s.run('m', fakeJob(1, 'c', rec), { priority: 'challenge' });
    await rejectsWith(o2, AppErrorCode.OVERLOADED);
    assert.deepEqual(await Promise.all([running, o1, c]), ['r', 'o1', 'c']);
    const c2 = [1, 2, 3].map(() => s.run('m', fakeJob(20, 'c', rec), { priority: 'challenge' }));
    assert.equal(s.stats('m').queued, 2);
    await rejectsWith(s.run('m', fakeJob(1, 'x', rec), { priority: 'challenge' }), AppErrorCode.OVERLOADED);
    await Promise.all(c2);
    assert.equal(s.stats('m').rejected, 2);
  });

  it('times out a job while queued (queue time counts) without starting it', async () => {
    const s = createScheduler(OPTS);
    const rec = newRecord();
    let blockerDone = false;
    const blocker = s.run('m', fakeJob(300, 'b', newRecord()), { priority: 'organic' }).finally(() => {
      blockerDone = true;
    });
    await rejectsWith(
      s.run('m', fakeJob(1, 'q', rec), { priority: 'organic', deadlineMs: 20 }),
      'APP_DEADLINE_EXCEEDED',
    );
    assert.equal(blockerDone, false, 'the queued job timed out while the blocker still ran');
    assert.equal(rec.started, 0);
    assert.equal(s.stats('m').queued, 0);
    assert.equal(s.stats('m').timedOut, 1);
    await blocker;
  });

  it('times out a running job, aborting its signal, and frees the slot', async () => {
    const s = createScheduler({ ...OPTS, defaultDeadlineMs: 20 });
    const rec = newRecord();
    await rejectsWith(
      s.run('m', fakeJob(5_000, 'x', rec), { priority: 'organic' }),
      AppErrorCode.DEADLINE_EXCEEDED,
    );
    assert.equal(rec.started, 1);
    assert.equal(rec.aborted, 1);
    await sleep(1);
    assert.equal(s.stats('m').running, 0);
    assert.equal(s.stats('m').timedOut, 1);
    assert.equal(await s.run('m', fakeJob(1, 'next', rec), { priority: 'organic' }), 'next');
  });

  it('removes a cancelled queued job without running it', async () => {
    const s = createScheduler(OPTS);
    const rec = newRecord();
    const blocker = s.run('m', fakeJob(30, 'b', newRecord()), { priority: 'organic' });
    const ac = new AbortController();
    const p = s.run('m', fakeJob(1, 'q', rec), { priority: 'organic', signal: ac.signal });
    assert.equal(s.stats('m').queued, 1);
    ac.abort();
    await rejectsWith(p, AppErrorCode.CANCELLED);
    assert.equal(s.stats('m').queued, 0);
    await blocker;
    assert.equal(rec.started, 0);
    assert.equal(s.stats('m').cancelled, 1);
    const pre = new AbortController();
    pre.abort();
    await rejectsWith(
      s.run('m', fakeJob(1, 'q', rec), { priority: 'organic', signal: pre.signal }),
      'APP_CANCELLED',
    );
    assert.equal(rec.started, 0);
  });

  it('aborts the signal of a running job when the caller cancels', async () => {
    const s = createScheduler(OPTS);
    let seen: unknown;
    const ac = new AbortController();
    const p = s.run(
      'm',
      async (signal) => {
        try {
          await sleep(5_000, { signal });
        } finally {
          seen = signal.reason;
        }
      },
      { priority: 'organic', signal: ac.signal },
    );
    await sleep(5);
    assert.equal(s.stats('m').running, 1);
    ac.abort();
    await rejectsWith(p, AppErrorCode.CANCELLED);
    assert.equal(codeOf(seen), AppErrorCode.CANCELLED);
    await sleep(1);
    assert.deepEqual(
      [s.stats('m').running, s.stats('m').cancelled, s.stats('m').failed, s.stats('m').completed],
      [0, 1, 0, 0],
    );
  });

  it('holds a stream slot until the consumer finishes', async () => {
    const s = createScheduler(OPTS);
    const rec = newRecord();
    let waiterStarted = false;
    const texts: string[] = [];
    let waiter: Promise<unknown> | undefined;
    for await (const ev of s.runStream('m', (signal) => fakeGenerate(4, 3, signal, rec), {
      priority: 'organic',
    })) {
      waiter ??= s.run(
        'm',
        async () => {
          waiterStarted = true;
        },
        { priority: 'challenge' },
      );
      await sleep(3);
      assert.equal(waiterStarted, false, 'the slot is still held by the stream');
      if (ev.type === 'token') texts.push(ev.text);
    }
    assert.deepEqual(texts, ['t0', 't1', 't2', 't3']);
    await waiter;
    assert.equal(waiterStarted, true);
    assert.deepEqual(rec, { started: 1, aborted: 0, finished: 1 });
    assert.equal(s.stats('m').completed, 2);
  });

  it('aborts the job and frees the slot when the stream consumer breaks out', async () => {
    const s = createScheduler(OPTS);
    const rec = newRecord();
    let n = 0;
    for await (const _ of s.runStream('m', (signal) => fakeGenerate(100, 2, signal, rec), {
      priority: 'organic',
    })) {
      if (++n === 2) break;
    }
    await sleep(1);
    assert.deepEqual(rec, { started: 1, aborted: 1, finished: 1 });
    const st = s.stats('m');
    assert.deepEqual([st.running, st.cancelled, st.completed], [0, 1, 0]);
    assert.equal(await s.run('m', async () => 'free', { priority: 'organic' }), 'free');
  });

  it('ends a stream at its deadline and rejects a stream when overloaded', async () => {
    const s = createScheduler({ ...OPTS, perModel: { concurrency: 1, queueCapacity: 0 } });
    const rec = newRecord();
    const tokens: string[] = [];
    const consume = async () => {
      for await (const ev of s.runStream('m', (signal) => fakeGenerate(1000, 5, signal, rec), {
        priority: 'organic',
        deadlineMs: 30,
      }))
        if (ev.type === 'token') tokens.push(ev.text);
    };
    const first = rejectsWith(consume(), AppErrorCode.DEADLINE_EXCEEDED);
    await sleep(2);
    const second = s.runStream('m', (signal) => fakeGenerate(1, 1, signal, rec), { priority: 'organic' });
    await rejectsWith(second[Symbol.asyncIterator]().next(), AppErrorCode.OVERLOADED);
    await first;
    assert.ok(tokens.length > 0 && tokens.length < 20);
    await sleep(1);
    assert.equal(rec.aborted, 1);
    assert.equal(s.stats('m').running, 0);
    assert.equal(s.stats('m').timedOut, 1);
  });

  it('leaks no slot after 5,000 random jobs', async () => {
    const s = createScheduler({ perModel: { concurrency: 3, queueCapacity: 20 }, defaultDeadlineMs: 1_000 });
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const models = ['a', 'b', 'c'];
    const total = 5_000;
    for (let wave = 0; wave < total / 100; wave++) {
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) {
        const model = models[Math.floor(rand() * models.length)] as string;
        const priority = rand() < 0.3 ? 'challenge' : 'organic';
        const kind = Math.floor(rand() * 6);
        const ac = new AbortController();
        const opts = { priority, signal: ac.signal, ...(kind === 3 ? { deadlineMs: 1 } : {}) } as const;
        if (kind === 2) setTimeout(() => ac.abort(), Math.floor(rand() * 3));
        if (kind === 4 || kind === 5) {
          const stopAfter = kind === 4 ? 1 : Number.POSITIVE_INFINITY;
          pending.push(
            (async () => {
              let n = 0;
              for await (const _ of s.runStream(
                model,
                (signal) => fakeGenerate(3, 0, signal, newRecord()),
                opts,
              ))
                if (++n >= stopAfter) break;
            })(),
          );
        } else {
          const ms = Math.floor(rand() * 3);
          const job =
            kind === 1
              ? async (signal: AbortSignal) => {
                  await sleep(ms, { signal });
                  throw new Error('boom');
                }
              : fakeJob(kind === 3 ? 5 : ms, i, newRecord());
          pending.push(s.run(model, job, opts));
        }
      }
      await Promise.allSettled(pending);
    }
    await sleep(5);
    let outcomes = 0;
    for (const model of models) {
      const st = s.stats(model);
      assert.equal(st.running, 0, `${model} running`);
      assert.equal(st.queued, 0, `${model} queued`);
      outcomes += st.completed + st.failed + st.rejected + st.timedOut + st.cancelled;
      assert.ok(st.completed > 0 && st.failed > 0 && st.timedOut > 0 && st.cancelled > 0, JSON.stringify(st));
    }
    assert.equal(outcomes, total, 'every job ends in exactly one outcome');
  });

  it('close() cancels queued and running jobs and refuses new ones', async () => {
    const s = createScheduler(OPTS);
    const rec = newRecord();
    const running = s.run('m', fakeJob(5_000, 1, rec), { priority: 'organic' });
    const queued = s.run('m', fakeJob(1, 2, rec), { priority: 'organic' });
    await sleep(2);
    s.close();
    s.close();
    await rejectsWith(running, AppErrorCode.CANCELLED);
    await rejectsWith(queued, AppErrorCode.CANCELLED);
    await rejectsWith(s.run('m', fakeJob(1, 3, rec), { priority: 'organic' }), AppErrorCode.CANCELLED);
    await sleep(1);
    assert.deepEqual(rec, { started: 1, aborted: 1, finished: 1 });
    assert.equal(s.stats('m').running, 0);
  });
});
