/**
 * Starts and stops an anvil EVM node (Foundry). The binary comes from the `@foundry-rs/anvil-linux-amd64`
 * optional dependency on Linux x64; elsewhere from `ANVIL_BIN` or `anvil` on PATH. Listens on 127.0.0.1
 * only; `stateFile` persists the chain across restarts (written every second and on exit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SubnetError } from '@subnet/utils';

export const AnvilErrorCode = {
  ANVIL_NOT_FOUND: 'ANVIL_NOT_FOUND',
  ANVIL_START_FAILED: 'ANVIL_START_FAILED',
} as const;

/** Options for {@link startAnvil}. */
export interface AnvilOpts {
  /** Port on 127.0.0.1; 0 lets anvil pick a free one. */
  port: number;
  chainId?: number;
  /** Persist state here (loaded if it exists). */
  stateFile?: string;
  /** Seconds between blocks; undefined = automine (a block per transaction). */
  blockTimeS?: number;
  /** With `blockTimeS`: also mine a block for each transaction (anvil's mixed mining). */
  mixedMining?: boolean;
  /** Dev accounts to fund and their balance in ether. */
  accounts?: number;
  balanceEth?: number;
  /** Mnemonic of the dev accounts (anvil's default when unset). */
  mnemonic?: string;
  /** Gas limit per block. */
  gasLimit?: bigint;
  startTimeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Further anvil flags, passed as they are (the simulator's `--order fifo`, `--timestamp`,
   * `--auto-impersonate`, `--no-mining`).
   */
  extraArgs?: readonly string[];
}

export interface Anvil {
  readonly rpcUrl: string;
  readonly port: number;
  readonly pid: number;
  /** Stops anvil (SIGTERM so it writes its state; SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
}

/** Finds the anvil binary: ANVIL_BIN, the npm package, then PATH. */
export function anvilBinary(): string {
  const fromEnv = process.env.ANVIL_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@foundry-rs/anvil-linux-amd64/package.json');
    const bin = join(dirname(pkg), 'bin', 'anvil');
    if (existsSync(bin)) return bin;
  } catch {
    // not installed on this platform
  }
  return 'anvil';
}

/** Starts anvil and resolves once it listens. */
export async function startAnvil(opts: AnvilOpts): Promise<Anvil> {
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--chain-id',
    String(opts.chainId ?? 31337),
  ];
  if (opts.stateFile !== undefined) args.push('--state', opts.stateFile, '--state-interval', '1');
  if (opts.blockTimeS !== undefined) args.push('--block-time', String(opts.blockTimeS));
  if (opts.blockTimeS !== undefined && opts.mixedMining === true) args.push('--mixed-mining');
  if (opts.accounts !== undefined) args.push('--accounts', String(opts.accounts));
  if (opts.balanceEth !== undefined) args.push('--balance', String(opts.balanceEth));
  if (opts.mnemonic !== undefined) args.push('--mnemonic', opts.mnemonic);
  if (opts.gasLimit !== undefined) args.push('--gas-limit', opts.gasLimit.toString());
  if (opts.extraArgs !== undefined) args.push(...opts.extraArgs);
  const bin = anvilBinary();
  let proc: ChildProcess;
  try {
    proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new SubnetError(
      AnvilErrorCode.ANVIL_NOT_FOUND,
      `cannot start anvil (${bin}): ${(err as Error).message}`,
    );
  }
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`anvil did not start within ${opts.startTimeoutMs ?? 15_000} ms`),
      opts.startTimeoutMs ?? 15_000,
    );
    const onAbort = () => fail('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    function done() {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    function fail(why: string) {
      done();
      proc.kill('SIGKILL');
      reject(
        new SubnetError(
          AnvilErrorCode.ANVIL_START_FAILED,
          `${why}; anvil said: ${output.slice(-2000).trim() || '(nothing)'}`,
        ),
      );
    }
    const onErr = (c: Buffer) => {
      output += c.toString();
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (m !== null) {
        done();
        // Anvil logs every request from here on: keep none of it (the output kept growing and was searched
        // again on every chunk, quadratic in a long run: a busy devnet or the simulator spent seconds here).
        proc.stdout?.off('data', onData);
        proc.stderr?.off('data', onErr);
        output = '';
        resolve(Number(m[1]));
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onErr);
    proc.once('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(
        new SubnetError(
          err.code === 'ENOENT' ? AnvilErrorCode.ANVIL_NOT_FOUND : AnvilErrorCode.ANVIL_START_FAILED,
          err.code === 'ENOENT'
            ? `anvil not found (${bin}): on Linux x64 run npm ci; elsewhere install Foundry or set ANVIL_BIN`
            : `anvil failed: ${err.message}`,
        ),
      );
    });
    proc.once('exit', (code) => fail(`anvil exited with code ${code}`));
  });
  // Keep draining output so anvil never blocks on a full pipe.
  proc.stdout?.resume();
  proc.stderr?.resume();
  proc.removeAllListeners('exit');
  let stopped: Promise<void> | undefined;
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    port,
    pid: proc.pid as number,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        proc.kill('SIGTERM');
      });
      return stopped;
    },
  };
}
