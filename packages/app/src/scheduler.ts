/**
 * Per-model admission control in front of the inference backends: each model has a concurrency limit and a
 * bounded wait queue; validator challenges are taken before organic traffic; every job gets one signal that
 * aborts on its deadline (counted from submission, so queue time is included) or when the caller aborts.
 * It must never wait without bound (a full queue answers OVERLOADED with `retryAfterMs` at once), never let a
 * busy model delay another, and never leak a slot: a slot is released exactly when the job settles.
 */
import { AppError, AppErrorCode } from './module.js';

/** Who sent the job: validator challenges are served before organic requests. */
export type JobPriority = 'challenge' | 'organic';

/** Config slice of the scheduler. */
export interface SchedulerOpts {
  perModel: {
    /** Jobs of one model running at once (>= 1). */
    concurrency: number;
    /** Jobs of one model waiting for a slot (>= 0); beyond that, OVERLOADED. */
    queueCapacity: number;
  };
  /** Deadline of a job that names none, from submission to its end. */
  defaultDeadlineMs: number;
  /** `retryAfterMs` of an OVERLOADED answer before any job of the model has finished (default 1000). */
  retryAfterMs?: number;
}

/** Time source; tests may pass a fake one. */
export interface SchedulerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SchedulerModules {
  clock?: SchedulerClock;
}

/** Per-call options. */
export interface JobOpts {
  priority: JobPriority;
  /** Budget from submission (queue wait included) to the job's end; default `defaultDeadlineMs`. */
  deadlineMs?: number;
  /** The caller's signal: aborting it cancels the job (removed from the queue, or its signal aborted). */
  signal?: AbortSignal;
}

/** Counters and queue-wait percentiles of one model. Every job ends in exactly one outcome counter. */
export interface ModelSchedulerStats {
  queued: number;
  running: number;
  completed: number;
  failed: number;
  rejected: number;
  timedOut: number;
  cancelled: number;
  /** Over the most recent jobs that got a slot; 0 when none has. */
  queueWaitP50Ms: number;
  queueWaitP99Ms: number;
}

export interface Scheduler {
  /** Runs `job` when `model` has a free slot; rejects with OVERLOADED, DEADLINE_EXCEEDED or CANCELLED. */
  run<T>(model: string, job: (signal: AbortSignal) => Promise<T>, opts: JobOpts): Promise<T>;
  /**
   * Streams `job`'s events while holding a slot of `model` until the stream ends or the consumer stops
   * (breaking out aborts the job and frees the slot). Admission happens at the first `next()`.
   */
  runStream<E>(
    model: string,
    job: (signal: AbortSignal) => AsyncIterable<E>,
    opts: JobOpts,
  ): AsyncIterable<E>;
  /** Stats of one model (zeros for a model never seen). */
  stats(model: string): ModelSchedulerStats;
  /** Stats of every model seen so far. */
  allStats(): Record<string, ModelSchedulerStats>;
  /** Rejects queued jobs and aborts running ones with CANCELLED; later calls are rejected. Idempotent. */
  close(): void;
}

const SAMPLES = 1024;
const DURATION_SAMPLES = 64;

/** A fixed-size ring of recent numbers. */
class Ring {
  private readonly values: number[] = [];
  private next = 0;
  constructor(private readonly size: number) {}
  push(v: number): void {
    if (this.values.length < this.size) this.values.push(v);
    else this.values[this.next] = v;
    this.next = (this.next + 1) % this.size;
  }
  get length(): number {
    return this.values.length;
  }
  mean(): number {
    let sum = 0;
    for (const v of this.values) sum += v;
    return this.values.length === 0 ? 0 : sum / this.values.length;
  }
  percentile(p: number): number {
    if (this.values.length === 0) return 0;
    const sorted = [...this.values].sort((a, b) => a - b);
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[i] ?? 0;
  }
}

type Outcome = 'completed' | 'failed' | 'rejected' | 'timedOut' | 'cancelled';

interface Ticket {
  id: number;
  priority: JobPriority;
  enqueuedAt: number;
  startedAt: number;
  state: 'queued' | 'running' | 'released';
  /** Set once the job's outcome is counted. */
  outcome: Outcome | undefined;
  controller: AbortController;
  admit: () => void;
  refuse: (err: AppError) => void;
  /** Called when the job is aborted while running (deadline, caller, close). */
  onAbort: ((err: AppError) => void) | undefined;
  dispose: () => void;
}

interface ModelState {
  name: string;
  running: number;
  queues: Record<JobPriority, Map<number, Ticket>>;
  active: Set<Ticket>;
  counts: Record<Outcome, number>;
  waits: Ring;
  durations: Ring;
}

/** A granted slot: the job's signal and the way to give the slot back. */
interface Lease {
  ticket: Ticket;
  model: ModelState;
}

const realClock: SchedulerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}`);
}

/** Creates the per-model scheduler. */
export function createScheduler(opts: SchedulerOpts, modules: SchedulerModules = {}): Scheduler {
  checkInt('perModel.concurrency', opts.perModel.concurrency, 1);
  checkInt('perModel.queueCapacity', opts.perModel.queueCapacity, 0);
  if (!(opts.defaultDeadlineMs > 0)) throw new RangeError('defaultDeadlineMs must be > 0');
  const clock = modules.clock ?? realClock;
  const { concurrency, queueCapacity } = opts.perModel;
  const models = new Map<string, ModelState>();
  let nextId = 0;
  let closed = false;

  function modelState(name: string): ModelState {
    let m = models.get(name);
    if (m === undefined) {
      m = {
        name,
        running: 0,
        queues: { challenge: new Map(), organic: new Map() },
        active: new Set(),
        counts: { completed: 0, failed: 0, rejected: 0, timedOut: 0, cancelled: 0 },
        waits: new Ring(SAMPLES),
        durations: new Ring(DURATION_SAMPLES),
      };
      models.set(name, m);
    }
    return m;
  }

  const queuedCount = (m: ModelState) => m.queues.challenge.size + m.queues.organic.size;

  function retryAfterMs(m: ModelState): number {
    if (m.durations.length === 0) return opts.retryAfterMs ?? 1000;
    return Math.max(1, Math.ceil((m.durations.mean() * (queuedCount(m) + 1)) / concurrency));
  }

  function overloaded(m: ModelState): AppError {
    const retry = retryAfterMs(m);
    return new AppError(
      AppErrorCode.OVERLOADED,
      `model ${m.name} is at capacity (${concurrency} running, ${queueCapacity} queued); retry in ${retry} ms`,
      { meta: { retryAfterMs: retry, model: m.name } },
    );
  }

  function count(m: ModelState, t: Ticket, outcome: Outcome): void {
    if (t.outcome !== undefined) return;
    t.outcome = outcome;
    m.counts[outcome]++;
  }

  /** Starts queued jobs while slots are free: challenges first, FIFO within a priority. */
  function pump(m: ModelState): void {
    while (m.running < concurrency) {
      const queue = m.queues.challenge.size > 0 ? m.queues.challenge : m.queues.organic;
      const first = queue.values().next();
      if (first.done === true) return;
      queue.delete(first.value.id);
      start(m, first.value);
    }
  }

  function start(m: ModelState, t: Ticket): void {
    t.state = 'running';
    t.startedAt = clock.now();
    m.waits.push(t.startedAt - t.enqueuedAt);
    m.running++;
    m.active.add(t);
    t.admit();
  }

  /** Gives the slot back; called once, when the job has settled. */
  function release(m: ModelState, t: Ticket): void {
    if (t.state === 'released') return;
    const wasRunning = t.state === 'running';
    t.state = 'released';
    t.dispose();
    if (wasRunning) {
      m.running--;
      m.active.delete(t);
      m.durations.push(clock.now() - t.startedAt);
    } else {
      m.queues[t.priority].delete(t.id);
    }
    pump(m);
  }

  /** Ends a job early: refuse it if queued, abort its signal if running. */
  function abortTicket(m: ModelState, t: Ticket, err: AppError, outcome: Outcome): void {
    if (t.state === 'released' || t.outcome !== undefined) return;
    count(m, t, outcome);
    if (t.state === 'queued') {
      release(m, t);
      t.refuse(err);
    } else {
      t.controller.abort(err);
      t.onAbort?.(err);
    }
  }

  /** Waits for a slot of `model`; the returned lease must be released by the caller. */
  function acquire(model: string, jobOpts: JobOpts): Promise<Lease> {
    const m = modelState(model);
    const cancelled = (why: string) =>
      new AppError(AppErrorCode.CANCELLED, `job on model ${model} was cancelled ${why}`, { meta: { model } });
    if (closed) {
      m.counts.cancelled++;
      return Promise.reject(cancelled('because the scheduler is closed'));
    }
    if (jobOpts.signal?.aborted === true) {
      m.counts.cancelled++;
      return Promise.reject(cancelled('by the caller before it was queued'));
    }
    const deadlineMs = jobOpts.deadlineMs ?? opts.defaultDeadlineMs;
    const canStart = m.running < concurrency && queuedCount(m) === 0;
    if (!canStart && queuedCount(m) >= queueCapacity) {
      // A challenge displaces the newest queued organic job rather than being refused.
      let victim: Ticket | undefined;
      if (jobOpts.priority === 'challenge') for (const t of m.queues.organic.values()) victim = t;
      if (victim === undefined) {
        m.counts.rejected++;
        return Promise.reject(overloaded(m));
      }
      abortTicket(m, victim, overloaded(m), 'rejected');
    }
    return new Promise<Lease>((resolve, reject) => {
      const controller = new AbortController();
      const onCallerAbort = () => abortTicket(m, t, cancelled('by the caller'), 'cancelled');
      const timer = clock.setTimeout(() => {
        const err = new AppError(
          AppErrorCode.DEADLINE_EXCEEDED,
          `job on model ${model} passed its ${deadlineMs} ms deadline (queue wait included); raise deadlineMs or retry later`,
          { meta: { model } },
        );
        abortTicket(m, t, err, 'timedOut');
      }, deadlineMs);
      const t: Ticket = {
        id: nextId++,
        priority: jobOpts.priority,
        enqueuedAt: clock.now(),
        startedAt: 0,
        state: 'queued',
        outcome: undefined,
        controller,
        admit: () => resolve({ ticket: t, model: m }),
        refuse: reject,
        onAbort: undefined,
        dispose: () => {
          clock.clearTimeout(timer);
          jobOpts.signal?.removeEventListener('abort', onCallerAbort);
        },
      };
      jobOpts.signal?.addEventListener('abort', onCallerAbort, { once: true });
      if (canStart) start(m, t);
      else m.queues[t.priority].set(t.id, t);
    });
  }

  return {
    async run<T>(model: string, job: (signal: AbortSignal) => Promise<T>, jobOpts: JobOpts): Promise<T> {
      const { ticket: t, model: m } = await acquire(model, jobOpts);
      // A deadline or cancel may have fired between admission and now.
      if (t.controller.signal.aborted) {
        release(m, t);
        throw t.controller.signal.reason;
      }
      return new Promise<T>((resolve, reject) => {
        t.onAbort = reject;
        let settled: Promise<T>;
        try {
          settled = job(t.controller.signal);
        } catch (err) {
          settled = Promise.reject(err);
        }
        Promise.resolve(settled).then(
          (value) => {
            count(m, t, 'completed');
            release(m, t);
            resolve(value);
          },
          (err: unknown) => {
            const aborted = t.outcome !== undefined;
            count(m, t, 'failed');
            release(m, t);
            reject(aborted ? t.controller.signal.reason : err);
          },
        );
      });
    },

    async *runStream<E>(
      model: string,
      job: (signal: AbortSignal) => AsyncIterable<E>,
      jobOpts: JobOpts,
    ): AsyncIterable<E> {
      const { ticket: t, model: m } = await acquire(model, jobOpts);
      const signal = t.controller.signal;
      let iterator: AsyncIterator<E> | undefined;
      let finished = false;
      let atYield = false;
      /** Frees the slot once the job has unwound (its `return()` settled). */
      const unwind = () => {
        const it = iterator;
        if (it === undefined) return release(m, t);
        Promise.resolve()
          .then(() => it.return?.())
          .catch(() => {})
          .finally(() => release(m, t));
      };
      // A consumer that stops pulling without closing the stream must not hold the slot past the deadline.
      t.onAbort = () => {
        if (atYield) unwind();
      };
      const abortWait = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      abortWait.catch(() => {});
      try {
        if (signal.aborted) throw signal.reason;
        iterator = job(signal)[Symbol.asyncIterator]();
        for (;;) {
          // Each step races the job's signal so a deadline or cancel ends the stream even if the job is slow.
          const step = await Promise.race([iterator.next(), abortWait]);
          if (step.done === true) {
            finished = true;
            break;
          }
          atYield = true;
          yield step.value;
          atYield = false;
          if (signal.aborted) throw signal.reason;
        }
        count(m, t, 'completed');
      } catch (err) {
        count(m, t, 'failed');
        throw signal.aborted ? signal.reason : err;
      } finally {
        atYield = false;
        if (!finished && t.outcome === undefined) {
          // The consumer stopped early (break/return): abort the job.
          count(m, t, 'cancelled');
          t.controller.abort(
            new AppError(AppErrorCode.CANCELLED, `stream on model ${model} was closed by its consumer`, {
              meta: { model },
            }),
          );
        }
        if (finished) release(m, t);
        else unwind();
      }
    },

    stats(model) {
      const m = models.get(model);
      if (m === undefined) {
        return {
          queued: 0,
          running: 0,
          completed: 0,
          failed: 0,
          rejected: 0,
          timedOut: 0,
          cancelled: 0,
          queueWaitP50Ms: 0,
          queueWaitP99Ms: 0,
        };
      }
      return {
        queued: queuedCount(m),
        running: m.running,
        ...m.counts,
        queueWaitP50Ms: m.waits.percentile(50),
        queueWaitP99Ms: m.waits.percentile(99),
      };
    },

    allStats() {
      const out: Record<string, ModelSchedulerStats> = {};
      for (const name of models.keys()) out[name] = this.stats(name);
      return out;
    },

    close() {
      if (closed) return;
      closed = true;
      for (const m of models.values()) {
        const err = new AppError(
          AppErrorCode.CANCELLED,
          `scheduler closed; job on model ${m.name} cancelled`,
          {
            meta: { model: m.name },
          },
        );
        for (const q of [m.queues.challenge, m.queues.organic])
          for (const t of [...q.values()]) abortTicket(m, t, err, 'cancelled');
        for (const t of [...m.active]) abortTicket(m, t, err, 'cancelled');
      }
    },
  };
}
