/**
 * An async iterable over a push source (event listeners, watchers, callbacks): the one way a stack turns
 * "call me with each value" into an Engine API stream. Values wait in a bounded queue; when it is full the
 * newest value is dropped, so a slow reader loses values and never holds up the source (callers whose values
 * supersede each other, or are lossy by nature, want exactly that).
 */
import { BoundedQueue } from './boundedQueue.js';

export interface FromPushOpts {
  /** Values held for a slow reader (default 64). */
  capacity?: number;
}

/**
 * Yields what `start` pushes until `signal` aborts, `start`'s `fail` is called (the iteration then throws that
 * error), or the reader stops. `start` gets a signal that aborts when the iteration ends for any of those
 * reasons: tie the source's teardown to it, so nothing outlives the stream.
 */
export async function* fromPush<T>(
  signal: AbortSignal,
  start: (push: (v: T) => void, fail: (err: unknown) => void, done: AbortSignal) => void,
  opts: FromPushOpts = {},
): AsyncGenerator<T> {
  const done = new AbortController();
  const onAbort = () => done.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) done.abort();
  const queue = new BoundedQueue<T>({ capacity: opts.capacity ?? 64 });
  done.signal.addEventListener('abort', () => queue.close(), { once: true });
  try {
    start(
      (v) => {
        queue.tryPush(v);
      },
      (err) => queue.close(err),
      done.signal,
    );
    yield* queue;
  } finally {
    signal.removeEventListener('abort', onAbort);
    done.abort();
  }
}
