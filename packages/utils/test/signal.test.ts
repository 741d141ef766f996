import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorMessage, hasCode, reopen, SubnetError, sleep, waitFor, withTimeout } from '../src/index.js';

describe('signal helpers', () => {
  it('sleep resolves after the delay and rejects when aborted', async () => {
    const t0 = performance.now();
    await sleep(20);
    assert.ok(performance.now() - t0 >= 15);
    const ac = new AbortController();
    const p = sleep(10_000, { signal: ac.signal });
    ac.abort(new Error('cancelled'));
    await assert.rejects(p, /cancelled/);
    await assert.rejects(sleep(10, { signal: AbortSignal.abort(new Error('already')) }), /already/);
  });

  it('withTimeout combines a parent signal and a timeout', async () => {
    assert.equal(withTimeout(undefined, undefined), undefined);
    const parent = new AbortController();
    assert.equal(withTimeout(parent.signal, undefined), parent.signal);
    const t = withTimeout(undefined, 10) as AbortSignal;
    await sleep(30);
    assert.equal(t.aborted, true);
    const both = withTimeout(parent.signal, 10_000) as AbortSignal;
    parent.abort();
    assert.equal(both.aborted, true);
  });

  it('waitFor returns the first defined value or fails naming what it waited for', async () => {
    let n = 0;
    assert.equal(
      await waitFor(() => (++n >= 3 ? n : undefined), { timeoutMs: 20_000, intervalMs: 1, what: 'n' }),
      3,
    );
    await assert.rejects(
      waitFor(() => undefined, { timeoutMs: 30, intervalMs: 5, what: 'godot' }),
      (err: unknown) => {
        assert.ok(err instanceof SubnetError);
        assert.equal(err.code, 'TIMEOUT');
        assert.match(err.message, /godot/);
        return true;
      },
    );
  });
});

describe('reopen', () => {
  it('reopens after an end or a failure with doubling waits, starts over after healthy(), stops on abort', async () => {
    const abort = new AbortController();
    const starts: number[] = [];
    const waits: number[] = [];
    const t0 = Date.now();
    await reopen(
      async ({ healthy }) => {
        starts.push(Date.now() - t0);
        const run = starts.length;
        if (run === 3) healthy();
        if (run === 5) abort.abort();
        if (run % 2 === 0) throw new Error(`run ${run} failed`);
      },
      {
        signal: abort.signal,
        initialDelayMs: 20,
        maxDelayMs: 1000,
        onError: (_err, retryInMs) => {
          waits.push(retryInMs);
          return undefined;
        },
      },
    );
    assert.equal(starts.length, 5, 'resolved on abort, not after a sixth run');
    // Waits 20, 40, then healthy() in run 3 starts over at 20 (80 without it), then 40; failures report theirs.
    assert.deepEqual(waits, [40, 40]);
    const gaps = starts.slice(1).map((s, i) => s - (starts[i] as number));
    assert.ok(
      (gaps[0] as number) >= 18 && (gaps[1] as number) >= 38 && (gaps[3] as number) >= 38,
      `gaps ${gaps}`,
    );
    assert.ok((gaps[2] as number) < 60, `after healthy() the wait starts over: ${gaps}`);
  });

  it('uses the wait onError returns', async () => {
    const abort = new AbortController();
    const starts: number[] = [];
    const t0 = Date.now();
    await reopen(
      async () => {
        starts.push(Date.now() - t0);
        if (starts.length === 2) abort.abort();
        throw new Error('absent');
      },
      { signal: abort.signal, initialDelayMs: 1, onError: () => 120 },
    );
    assert.ok((starts[1] as number) - (starts[0] as number) >= 110);
  });
});

describe('errors', () => {
  it('SubnetError carries code, meta and cause', () => {
    const cause = new Error('root');
    const err = new SubnetError('X_FAILED', 'x failed; retry', { meta: { id: 1 }, cause });
    assert.equal(err.code, 'X_FAILED');
    assert.deepEqual(err.meta, { id: 1 });
    assert.equal(err.cause, cause);
    assert.equal(hasCode(err), true);
    assert.equal(hasCode(new Error('plain')), false);
    assert.equal(errorMessage(err), 'x failed; retry');
    assert.equal(errorMessage('str'), 'str');
  });
});
