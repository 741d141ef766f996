/**
 * Node-process helpers shared by the benches that run a devnet's nodes as `subnet node start` processes
 * (gateway.ts, verification.ts): free ports, starting a node from a config object, process CPU from /proc,
 * one streamed chat completion over an undici keep-alive pool, and a timed closed loop. Timing code only: it
 * never decides what is measured.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { drive } from './measure.ts';

const BIN = fileURLToPath(new URL('../../packages/cli/dist/src/bin.js', import.meta.url));

/** A free TCP port on 127.0.0.1 (free now; the caller binds it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `subnet node start` on `config` (written to `<dir>/<name>.json`); its stderr tail is reported through
 * `progress` if it exits with an error. `BENCH_PROF=<dir>` adds a CPU profile per node.
 */
export function startNode(
  dir: string,
  name: string,
  config: unknown,
  progress: (m: string) => void,
): ChildProcess {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const prof = process.env.BENCH_PROF ?? process.env.BENCH_GATEWAY_PROF;
  const flags =
    prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${name}.cpuprofile`];
  const child = spawn(process.execPath, [...flags, BIN, 'node', 'start', '--config', file], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err = (err + String(d)).slice(-4000);
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) progress(`${name} exited ${code}: ${err}`);
  });
  return child;
}

/** Stops node processes: SIGINT, then SIGKILL after 5 s. */
export async function stopNodes(children: readonly ChildProcess[]): Promise<void> {
  for (const c of children) c.kill('SIGINT');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => {
            c.kill('SIGKILL');
            resolve();
          }, 5000);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        }),
    ),
  );
}

/** CPU seconds (user + system) a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

// undici's request() through a keep-alive Pool per origin (fetch is 7–14× slower here).
const pools = new Map<string, Pool>();

/** POSTs `body` to `url` and reads the whole answer. */
export async function post(url: string, headers: Record<string, string>, body: string) {
  const u = new URL(url);
  let pool = pools.get(u.origin);
  if (pool === undefined) {
    pool = new Pool(u.origin, { connections: 64, pipelining: 1 });
    pools.set(u.origin, pool);
  }
  const r = await pool.request({
    path: u.pathname,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await r.body.text();
  return { ok: r.statusCode === 200, status: r.statusCode, text };
}

/** Closes the keep-alive pools. */
export async function closePools(): Promise<void> {
  for (const p of pools.values()) await p.close();
  pools.clear();
}

/** One streamed chat completion, read to the end; fails unless it ends with [DONE]. */
export async function chat(url: string, headers: Record<string, string>, body: string): Promise<void> {
  const res = await post(url, headers, body);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${res.text.slice(0, 300)}`);
  if (!res.text.includes('[DONE]')) throw new Error(`${url}: the stream did not end with [DONE]`);
}

/** Closed loop for `ms` at `concurrency` (measure.ts), with the latency samples and the time it took. */
export async function timed(concurrency: number, ms: number, one: () => Promise<void>) {
  const samples: number[] = [];
  const started = performance.now();
  await drive(one, concurrency, ms, samples);
  return { samples, elapsedMs: performance.now() - started };
}
