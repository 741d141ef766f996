import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorMessage, hasCode, SubnetError, sleep, waitFor, withTimeout } from '../src/index.js';

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
      await waitFor(() => (++n >= 3 ? n : undefined), { timeoutMs: 1000, intervalMs: 1, what: 'n' }),
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
