/**
 * Helpers of the scripts that run a whole `subnet devnet` (scripts/devnetLarge.ts, bench/memory.ts): start it
 * in a fresh data dir on free ports with `SUBNET_DEVNET__*` settings, read its ready line, authenticated Engine
 * API clients of its nodes, resident memory and CPU of a process from /proc, and stop everything it started
 * (SIGINT to the devnet, which stops its nodes and anvil; SIGKILL to the process groups left past a grace).
 * It never decides what is measured.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  type EngineApi,
  type EngineClient,
  engineApi,
  loadOrCreateJwtSecret,
} from '../../packages/engine-api/dist/src/index.js';
import { freePortRange } from '../../packages/utils/dist/src/index.js';

const BIN = fileURLToPath(new URL('../../packages/cli/dist/src/bin.js', import.meta.url));

/** One node of the devnet's ready line. */
export interface DevnetNodeRow {
  wallet: string;
  role: 'validator' | 'miner';
  uid: number;
  pid: number;
  url: string;
}

/** The parts of the devnet's ready line (`subnet --json devnet`) these scripts read. */
export interface DevnetReady {
  anvilPid: number;
  readyMs: number;
  gatewayUrl?: string;
  apiKey?: string;
  nodes: DevnetNodeRow[];
}

/** A running devnet started by {@link startDevnetProcess}. */
export interface DevnetRun {
  dir: string;
  proc: ChildProcess;
  ready: DevnetReady;
  /** An Engine API client of the node at `url` (same data dir: same secret). */
  client(url: string): EngineClient<EngineApi>;
  /** Its stderr so far (the last 8,000 characters). */
  stderr(): string;
  /** Stops the devnet and everything it started; removes the data dir unless `keep`. Idempotent. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/** A timer that does not keep the process alive: the races below must not outlive what they wait for. */
const unrefSleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Rounds to `d` decimals. */
export const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/** VmRSS and VmHWM (peak) of a process in MiB; 0 when it is gone. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rssMiB: round(kb('VmRSS') / 1024), peakMiB: round(kb('VmHWM') / 1024) };
  } catch {
    return { rssMiB: 0, peakMiB: 0 };
  }
}

/** CPU seconds (user + system) a process has used, from /proc; 0 when it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return round((Number(fields[11]) + Number(fields[12])) / 100);
  } catch {
    return 0;
  }
}

/** min / mean / max of `xs` (zeros when empty). */
export function spread(xs: number[]): { min: number; mean: number; max: number } {
  if (xs.length === 0) return { min: 0, mean: 0, max: 0 };
  return {
    min: Math.min(...xs),
    mean: round(xs.reduce((a, b) => a + b, 0) / xs.length),
    max: Math.max(...xs),
  };
}

/**
 * Starts `subnet --json devnet` in a fresh data dir with `settings` as `SUBNET_DEVNET__*` variables (gateway
 * and libp2p ports chosen free), and resolves once its ready line is read; on a failure to start it stops
 * what it started and rejects with the devnet's stderr.
 */
export async function startDevnetProcess(opts: {
  miners: number;
  validators: number;
  settings: Record<string, string>;
  timeoutMs: number;
  onProgress: (line: string) => void;
  /** Keep the data dir (logs, configs) when the start fails. */
  keepOnFailure?: boolean;
}): Promise<DevnetRun> {
  const dir = mkdtempSync(join(tmpdir(), 'subnet-devnet-run-'));
  const p2pBasePort = await freePortRange(2 * (opts.miners + opts.validators) + 2);
  let err = '';
  const proc = spawn(process.execPath, [BIN, '--json', 'devnet', '--port', '0'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...opts.settings,
      SUBNET_DEVNET__MINERS: String(opts.miners),
      SUBNET_DEVNET__VALIDATORS: String(opts.validators),
      SUBNET_DEVNET__GATEWAY_PORT: '0',
      SUBNET_DEVNET__P2P_BASE_PORT: String(p2pBasePort),
    },
  });
  proc.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
    for (const l of d.toString().split('\n')) if (l.startsWith('devnet: ')) opts.onProgress(l.slice(8));
  });
  let pids: number[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (stopOpts: { keep?: boolean } = {}) => {
    stopped ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = once(proc, 'exit');
        proc.kill('SIGINT');
        await Promise.race([exited, unrefSleep(90_000)]);
      }
      for (const pid of [...pids, proc.pid ?? 0].filter((p) => p > 0)) {
        for (const target of [-pid, pid]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
      if (stopOpts.keep !== true) rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const ac = new AbortController();
  let ready: DevnetReady;
  try {
    const line = await Promise.race([
      once(lines, 'line', { signal: ac.signal }).then(([l]) => l as string),
      once(proc, 'exit', { signal: ac.signal }).then(([code]) => {
        throw new Error(`subnet devnet exited with ${code} before it was ready:\n${err}`);
      }),
      unrefSleep(opts.timeoutMs).then(() => {
        throw new Error(`subnet devnet was not ready in ${opts.timeoutMs / 1000} s:\n${err}`);
      }),
    ]);
    ready = JSON.parse(line) as DevnetReady;
    pids = [ready.anvilPid, ...ready.nodes.map((n) => n.pid)];
  } catch (e) {
    await stop({ keep: opts.keepOnFailure === true });
    throw e;
  } finally {
    ac.abort();
    lines.close();
  }
  const secret = await loadOrCreateJwtSecret(join(dir, '.subnet', 'engine-jwt.hex'));
  return {
    dir,
    proc,
    ready,
    client: (url) =>
      createEngineClient(
        engineApi,
        createHttpTransport({ url, token: createTokenSigner(secret, { subject: 'bench', lifetimeS: 60 }) }),
      ),
    stderr: () => err,
    stop,
  };
}
