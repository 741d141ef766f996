/**
 * Parent side of the bench's process isolation: forks one worker per contender and asks it, one command at
 * a time over IPC, to drive load or run a stream. The parent only orchestrates; it must never generate load
 * itself, so its own CPU and heap stay out of every figure.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ContenderName } from './contenders.ts';
import type { CpuSample } from './measure.ts';

/** What the parent asks a worker. */
export type Command =
  | { op: 'drive'; concurrency: number; ms: number; record: boolean }
  | { op: 'stream'; count: number }
  | { op: 'close' };

/** What a worker answers, one reply per command. */
export type Reply =
  | { op: 'ready' }
  | { op: 'drive'; samples: number[]; elapsedMs: number }
  | { op: 'stream'; sample: CpuSample }
  | { op: 'close' }
  | { op: 'error'; message: string };

/** A contender running in its own process. */
export interface ContenderProcess {
  readonly name: ContenderName;
  /** Keeps `concurrency` requests in flight for `ms`; latency samples (ms) come back when `record`. */
  drive(concurrency: number, ms: number, record: boolean): Promise<{ samples: number[]; elapsedMs: number }>;
  /** Runs one stream of `count` events and returns its process-CPU sample. */
  stream(count: number): Promise<CpuSample>;
  close(): Promise<void>;
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** Forks the worker for `name` and waits until its servers listen. */
export async function forkContender(name: ContenderName): Promise<ContenderProcess> {
  const child: ChildProcess = fork(WORKER, [name], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  child.on('message', (m) => {
    const w = waiting;
    waiting = undefined;
    w?.resolve(m as Reply);
  });
  child.on('error', (err) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(err);
  });
  child.on('exit', (code, signal) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(new Error(`bench worker ${name} exited (${signal ?? code})`));
  });
  const next = (): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      waiting = { resolve, reject };
    });
  const ask = async <O extends Reply['op']>(cmd: Command, op: O): Promise<Extract<Reply, { op: O }>> => {
    const reply = next();
    child.send(cmd);
    const r = await reply;
    if (r.op === 'error') throw new Error(`bench worker ${name}: ${r.message}`);
    if (r.op !== op) throw new Error(`bench worker ${name} answered ${r.op} to ${cmd.op}`);
    return r as Extract<Reply, { op: O }>;
  };
  const ready = await next();
  if (ready.op !== 'ready') throw new Error(`bench worker ${name} failed to start: ${JSON.stringify(ready)}`);
  return {
    name,
    drive: (concurrency, ms, record) => ask({ op: 'drive', concurrency, ms, record }, 'drive'),
    stream: async (count) => (await ask({ op: 'stream', count }, 'stream')).sample,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        if (child.connected) await ask({ op: 'close' }, 'close');
      } finally {
        if (child.connected) child.disconnect();
        else child.kill();
        await exited;
      }
    },
  };
}
