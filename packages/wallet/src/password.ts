/**
 * Where a wallet password comes from: the first line of a file, an environment variable, or a prompt on
 * a terminal with echo off; in that order. Never from a command-line argument (other users can read
 * those in the process table). Never logs or echoes the password.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { hasCode } from '@subnet/utils';
import { WalletError, WalletErrorCode } from './errors.js';

/**
 * Variable read when no other is named. Not `SUBNET_*`: the config loader rejects `SUBNET_*` variables
 * that name no config key.
 */
export const DEFAULT_PASSWORD_ENV = 'WALLET_PASSWORD';

/** A prompt's input: a terminal (`isTTY`) or anything readable standing in for one. */
export type PromptInput = NodeJS.ReadableStream & { isTTY?: boolean };

/** Options of {@link resolvePassword}. */
export interface ResolvePasswordOpts {
  /** Password file: its first line is the password (`--password-file`). */
  file?: string | undefined;
  /**
   * Environment variable to read (`--password-env`); when named it must be set. When not named,
   * {@link DEFAULT_PASSWORD_ENV} is read if set.
   */
  envName?: string | undefined;
  /** Environment to read; `process.env` unless given. */
  env?: Record<string, string | undefined> | undefined;
  /** Prompt text; `Password: ` unless given. */
  prompt?: string | undefined;
  /** Ask twice at a prompt and compare (new passwords). */
  confirm?: boolean | undefined;
  /** Reject shorter passwords from any source with `WEAK_PASSWORD` (new passwords). */
  minLength?: number | undefined;
  /** Prompt input; `process.stdin` unless given. Prompts only when it is a TTY. */
  input?: PromptInput | undefined;
  /** Where prompts go; `process.stderr` unless given (stdout stays for data). */
  output?: NodeJS.WritableStream | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Checks the name of a password variable: a shell identifier, not `SUBNET_*`.
 * @throws {WalletError} `NO_PASSWORD`
 */
export function checkPasswordEnvName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new WalletError(
      WalletErrorCode.NO_PASSWORD,
      `invalid environment variable name ${JSON.stringify(name)}`,
    );
  }
  if (name.startsWith('SUBNET_')) {
    throw new WalletError(
      WalletErrorCode.NO_PASSWORD,
      `cannot read the password from ${name}: SUBNET_* variables are reserved for config keys; use another name, e.g. ${DEFAULT_PASSWORD_ENV}`,
    );
  }
}

/**
 * Finds the password: `file`, else the variable `envName` (or {@link DEFAULT_PASSWORD_ENV} if set), else
 * a prompt with echo off when `input` is a terminal.
 * @throws {WalletError} `NO_PASSWORD` (no source, missing or empty file or variable, prompt cancelled),
 *   `PASSWORD_MISMATCH` (the confirmation differs), `WEAK_PASSWORD` (shorter than `minLength`).
 */
export async function resolvePassword(opts: ResolvePasswordOpts = {}): Promise<string> {
  const password = await findPassword(opts);
  if (opts.minLength !== undefined && password.length < opts.minLength) {
    throw new WalletError(
      WalletErrorCode.WEAK_PASSWORD,
      `password too short: use at least ${opts.minLength} characters`,
    );
  }
  return password;
}

async function findPassword(opts: ResolvePasswordOpts): Promise<string> {
  const { signal } = opts;
  if (opts.file !== undefined) return readPasswordFile(opts.file, signal);
  const env = opts.env ?? process.env;
  if (opts.envName !== undefined) {
    checkPasswordEnvName(opts.envName);
    const value = env[opts.envName];
    if (value === undefined || value === '') {
      throw new WalletError(
        WalletErrorCode.NO_PASSWORD,
        `environment variable ${opts.envName} (named by --password-env) is ${value === undefined ? 'not set' : 'empty'}`,
      );
    }
    return value;
  }
  const fromDefault = env[DEFAULT_PASSWORD_ENV];
  if (fromDefault !== undefined && fromDefault !== '') return fromDefault;

  const input: PromptInput = opts.input ?? process.stdin;
  const output = opts.output ?? process.stderr;
  if (input.isTTY !== true) {
    throw new WalletError(
      WalletErrorCode.NO_PASSWORD,
      `no password given and stdin is not a terminal to ask on: use --password-file FILE (first line), or set ${DEFAULT_PASSWORD_ENV} (or the variable named by --password-env NAME)`,
    );
  }
  const first = await promptHidden(opts.prompt ?? 'Password: ', { input, output, signal });
  if (opts.confirm !== true) return first;
  if (opts.minLength !== undefined && first.length < opts.minLength) return first; // fails before asking again
  const again = await promptHidden('Repeat password: ', { input, output, signal });
  if (again !== first) throw new WalletError(WalletErrorCode.PASSWORD_MISMATCH, 'the passwords do not match');
  return first;
}

/** The first line of `file`, without its line ending. */
async function readPasswordFile(file: string, signal: AbortSignal | undefined): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal });
  } catch (err) {
    const why =
      hasCode(err) && err.code === 'ENOENT' ? 'not found' : `unreadable (${(err as Error).message})`;
    throw new WalletError(WalletErrorCode.NO_PASSWORD, `password file ${file} ${why}`, {
      cause: err,
      meta: { file },
    });
  }
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') {
    throw new WalletError(
      WalletErrorCode.NO_PASSWORD,
      `password file ${file} has an empty first line; the password is the file's first line`,
      { meta: { file } },
    );
  }
  return line;
}

/**
 * Asks `query` on `output` and reads one line from `input` without echoing it (the terminal is put in
 * raw mode by readline; what it would echo is dropped).
 * @throws {WalletError} `NO_PASSWORD` when cancelled (Ctrl-C) or the input ends; the signal's reason on abort.
 */
export async function promptHidden(
  query: string,
  io: { input: PromptInput; output: NodeJS.WritableStream; signal?: AbortSignal | undefined },
): Promise<string> {
  const { input, output, signal } = io;
  signal?.throwIfAborted();
  let muted = false;
  const sink = new Writable({
    write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void) {
      if (!muted) output.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input, output: sink, terminal: true, historySize: 0 });
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once('SIGINT', () =>
        reject(new WalletError(WalletErrorCode.NO_PASSWORD, 'password prompt cancelled')),
      );
      rl.once('close', () =>
        reject(new WalletError(WalletErrorCode.NO_PASSWORD, 'input ended before a password was entered')),
      );
      if (signal !== undefined) {
        onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      }
      rl.question(query, resolve);
      muted = true; // the query is written; drop the echo of what is typed
    });
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    muted = false;
    output.write('\n');
    rl.close();
  }
}
