/**
 * Test helpers for the `subnet devnet` process the CLI tests run: spawn it (`--json`, anvil on a free port,
 * extra `SUBNET_*` settings in `env`), read its ready line, stop it as Ctrl-C would; and run one `subnet …`
 * command against it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  type EngineApi,
  type EngineClient,
  engineApi,
  loadOrCreateJwtSecret,
} from '@subnet/engine-api';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));

/** `subnet --json devnet --port 0 [...args]` in `cwd`, with `env` on top of this process's environment. */
export function spawnDevnet(cwd: string, env: Record<string, string>, args: string[] = []): ChildProcess {
  return spawn(process.execPath, [BIN, '--json', 'devnet', ...args, '--port', '0'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/**
 * The first line `proc` writes on stdout; rejects with its stderr if it exits first or writes nothing within
 * `timeoutMs` (a devnet that hangs while starting fails the hook instead of hanging the run).
 */
export async function firstLine(proc: ChildProcess, timeoutMs = 180_000): Promise<string> {
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const ac = new AbortController();
  const exited = once(proc, 'exit', { signal: ac.signal }).then(([code]) => {
    throw new Error(`subnet devnet exited with ${code} before it was ready:\n${stderr}`);
  });
  const late = sleep(timeoutMs, undefined, { signal: ac.signal }).then(() => {
    throw new Error(`subnet devnet wrote no ready line in ${timeoutMs} ms:\n${stderr}`);
  });
  try {
    return await Promise.race([once(lines, 'line').then(([line]) => line as string), exited, late]);
  } finally {
    ac.abort();
    exited.catch(() => {});
    late.catch(() => {});
    lines.close();
  }
}

/**
 * Stops `proc` as Ctrl-C would and resolves with its exit code (at once when it already exited). A devnet
 * that has not exited 60 s after SIGINT gets a second one (its nodes are killed at once), and 30 s later
 * SIGKILL, with the node (and anvil) processes in `pids`: a stuck shutdown fails its test, never hangs the run.
 */
export async function stopDevnet(proc: ChildProcess, pids: number[] = []): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  const exited = once(proc, 'exit') as Promise<[number | null]>;
  const within = (ms: number) => Promise.race([exited.then(() => true), sleep(ms, false, { ref: false })]);
  proc.kill('SIGINT');
  if (!(await within(60_000))) {
    proc.kill('SIGINT');
    if (!(await within(30_000))) {
      for (const pid of pids) {
        try {
          process.kill(-pid, 'SIGKILL'); // a detached node: its process group
        } catch {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {}
        }
      }
      proc.kill('SIGKILL');
    }
  }
  const [code] = await exited;
  return code;
}

/** The outcome of one `subnet …` command. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `subnet …` in `cwd` against the devnet at `rpcUrl`, with `password` as WALLET_PASSWORD and nothing else of
 * this process's environment but PATH and HOME; at most 60 s.
 */
export function runCli(args: string[], cwd: string, rpcUrl: string, password: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          SUBNET_CHAIN__RPC_URL: rpcUrl,
          WALLET_PASSWORD: password,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

/** The processes a devnet's ready line names (anvil and the nodes), for `stopDevnet`'s last resort. */
export function devnetPids(info: { anvilPid?: number; nodes?: { pid: number }[] } | undefined): number[] {
  return [...(info?.nodes ?? []).map((n) => n.pid), ...(info?.anvilPid === undefined ? [] : [info.anvilPid])];
}

/** An Engine API client of the devnet node at `url`, with the secret the devnet in `dir` shares. */
export async function devnetEngine(dir: string, url: string): Promise<EngineClient<EngineApi>> {
  const secret = await loadOrCreateJwtSecret(join(dir, '.subnet', 'engine-jwt.hex'));
  return createEngineClient(
    engineApi,
    createHttpTransport({ url, token: createTokenSigner(secret, { subject: 'test', lifetimeS: 60 }) }),
  );
}

/** Gives `address` 1,000 ETH on the devnet's anvil (`anvil_setBalance`), for gas; throws if anvil refuses. */
export async function setEthBalance(rpcUrl: string, address: string): Promise<void> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'anvil_setBalance',
      params: [address, '0x3635c9adc5dea00000'],
    }),
  });
  const body = (await res.json()) as { error?: { message: string } };
  if (res.status !== 200 || body.error !== undefined)
    throw new Error(`anvil_setBalance ${address}: ${res.status} ${body.error?.message ?? ''}`);
}
