/**
 * Test helpers for the `subnet devnet` process the CLI tests run: spawn it (`--json`, anvil on a free port,
 * extra `SUBNET_*` settings in `env`), read its ready line, stop it as Ctrl-C would; and run one `subnet …`
 * command against it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));

/** `subnet --json devnet --port 0 [...args]` in `cwd`, with `env` on top of this process's environment. */
export function spawnDevnet(cwd: string, env: Record<string, string>, args: string[] = []): ChildProcess {
  return spawn(process.execPath, [BIN, '--json', 'devnet', ...args, '--port', '0'], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/** The first line `proc` writes on stdout (or its stderr, if it exits first). */
export async function firstLine(proc: ChildProcess): Promise<string> {
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`subnet devnet exited with ${code} before it was ready:\n${stderr}`);
  });
  try {
    return await Promise.race([once(lines, 'line').then(([line]) => line as string), exited]);
  } finally {
    lines.close();
  }
}

/** Stops `proc` with SIGINT (Ctrl-C) and resolves with its exit code (at once when it already exited). */
export async function stopDevnet(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null) return proc.exitCode;
  proc.kill('SIGINT');
  const [code] = (await once(proc, 'exit')) as [number | null];
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
