/**
 * A bounded async queue: the buffer between a producer that pushes (a socket, a gossip topic, a model
 * emitting tokens) and a consumer that pulls with `for await`. `push` waits while the queue is full, so a
 * slow consumer slows the producer instead of growing memory; `tryPush` never waits and says whether the
 * item fit. It must never hold more than `capacity` items.
 */

/** Options for {@link BoundedQueue}. */
export interface BoundedQueueOpts {
  /** Most items held at once. */
  capacity: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Bounded FIFO with backpressure and an async-iterator consumer. */
export class BoundedQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private readonly capacity: number;
  private closed = false;
  private failure: { err: unknown } | undefined;
  private pullWaiter: ((r: IteratorResult<T>) => void) | undefined;
  private pullReject: ((err: unknown) => void) | undefined;
  private readonly pushWaiters: Waiter[] = [];

  constructor(opts: BoundedQueueOpts) {
    if (!Number.isInteger(opts.capacity) || opts.capacity < 1) throw new RangeError('capacity must be >= 1');
    this.capacity = opts.capacity;
  }

  /** Items currently buffered. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Adds an item if there is room; returns false when full or closed. */
  tryPush(item: T): boolean {
    if (this.closed) return false;
    if (this.pullWaiter !== undefined) {
      const w = this.pullWaiter;
      this.pullWaiter = undefined;
      this.pullReject = undefined;
      w({ value: item, done: false });
      return true;
    }
    if (this.size >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** Adds an item, waiting while the queue is full. Rejects if the queue is closed or `signal` aborts. */
  async push(item: T, opts: { signal?: AbortSignal } = {}): Promise<void> {
    for (;;) {
      if (this.closed) throw new Error('queue is closed');
      if (this.tryPush(item)) return;
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { resolve, reject };
        const onAbort = () => {
          const i = this.pushWaiters.indexOf(waiter);
          if (i >= 0) this.pushWaiters.splice(i, 1);
          reject(opts.signal?.reason);
        };
        if (opts.signal?.aborted) return onAbort();
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = () => {
          opts.signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.pushWaiters.push(waiter);
      });
    }
  }

  /** Ends the queue: the consumer drains what is buffered, then finishes (or throws `err`). */
  close(err?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (err !== undefined) this.failure = { err };
    for (const w of this.pushWaiters.splice(0)) w.reject(new Error('queue is closed'));
    if (this.pullWaiter !== undefined && this.size === 0) {
      const resolve = this.pullWaiter;
      const reject = this.pullReject;
      this.pullWaiter = undefined;
      this.pullReject = undefined;
      if (this.failure !== undefined) reject?.(this.failure.err);
      else resolve({ value: undefined, done: true });
    }
  }

  /** Takes the next item, waiting for one; `done` once closed and drained. */
  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      const w = this.pushWaiters.shift();
      w?.resolve();
      return Promise.resolve({ value, done: false });
    }
    if (this.closed) {
      if (this.failure !== undefined) return Promise.reject(this.failure.err);
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.pullWaiter = resolve;
      this.pullReject = reject;
      const w = this.pushWaiters.shift();
      w?.resolve();
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
