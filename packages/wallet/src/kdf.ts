/**
 * Key derivation for keystores: scrypt and PBKDF2-HMAC-SHA256, both through node:crypto off the main
 * thread. OpenSSL refuses scrypt with `n >= 2^(16·r)` (RFC 7914's bound), which some published keystores
 * use (the Web3 Secret Storage scrypt test vector has r=1, n=2^18); those run on @noble/hashes' scrypt in a
 * worker thread, which an abort terminates. Parameters are bounded so a
 * hostile keystore file cannot make us allocate or spin without limit. Never logs a password.
 */
import { pbkdf2, scrypt } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { WalletError, WalletErrorCode } from './errors.js';

/** scrypt cost parameters (`n` a power of two). */
export interface ScryptParams {
  n: number;
  r: number;
  p: number;
}

/** geth's "standard" scrypt: n=2^18, r=8, p=1 (256 MiB, about a second). */
export const SCRYPT_STANDARD: Readonly<ScryptParams> = Object.freeze({ n: 262_144, r: 8, p: 1 });
/** geth's "light" scrypt: n=4096, r=8, p=6 (4 MiB, milliseconds). For tests and devnets only. */
export const SCRYPT_LIGHT: Readonly<ScryptParams> = Object.freeze({ n: 4096, r: 8, p: 6 });

/** Largest scrypt memory we agree to use, 128·n·r bytes (512 MiB: twice geth's standard). */
const MAX_SCRYPT_MEMORY = 512 * 1024 * 1024;
/** Largest scrypt work, n·r·p (16 times geth's standard). */
const MAX_SCRYPT_WORK = 2 ** 25;
/** Largest PBKDF2 iteration count we agree to run. */
const MAX_PBKDF2_ITERATIONS = 10_000_000;

/** Throws UNSUPPORTED_KDF unless `params` are valid scrypt parameters within our resource bounds. */
export function checkScryptParams(params: ScryptParams): void {
  const { n, r, p } = params;
  const valid =
    Number.isSafeInteger(n) &&
    Number.isSafeInteger(r) &&
    Number.isSafeInteger(p) &&
    n > 1 &&
    (n & (n - 1)) === 0 &&
    r >= 1 &&
    p >= 1;
  if (!valid) {
    throw new WalletError(
      WalletErrorCode.UNSUPPORTED_KDF,
      `invalid scrypt parameters n=${n}, r=${r}, p=${p}: n must be a power of two above 1, r and p at least 1`,
    );
  }
  if (128 * n * r > MAX_SCRYPT_MEMORY || n * r * p > MAX_SCRYPT_WORK) {
    throw new WalletError(
      WalletErrorCode.UNSUPPORTED_KDF,
      `scrypt parameters n=${n}, r=${r}, p=${p} exceed this tool's limits (128·n·r ≤ 512 MiB, n·r·p ≤ 2^25); ` +
        're-encrypt the key with standard parameters elsewhere',
    );
  }
}

/** Throws UNSUPPORTED_KDF unless `c` is a usable PBKDF2 iteration count. */
export function checkPbkdf2Iterations(c: number): void {
  if (!Number.isSafeInteger(c) || c < 1 || c > MAX_PBKDF2_ITERATIONS) {
    throw new WalletError(
      WalletErrorCode.UNSUPPORTED_KDF,
      `PBKDF2 iteration count ${c} is outside 1…${MAX_PBKDF2_ITERATIONS}`,
    );
  }
}

/** Derives `dkLen` bytes with scrypt; rejects with the signal's reason when it aborts. */
export async function deriveScrypt(
  password: Uint8Array,
  salt: Uint8Array,
  params: ScryptParams & { dkLen: number },
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<Uint8Array> {
  checkScryptParams(params);
  const { n, r, p, dkLen } = params;
  opts.signal?.throwIfAborted();
  // OpenSSL enforces RFC 7914's n < 2^(16·r); beyond it, use the local implementation.
  if (16 * r < 53 && n >= 2 ** (16 * r)) return scryptLocal(password, salt, params, opts.signal);
  const maxmem = 128 * r * (n + p + 2) + 1024 * 1024;
  return abortable(
    new Promise<Uint8Array>((resolve, reject) => {
      scrypt(password, salt, dkLen, { N: n, r, p, maxmem }, (err, key) =>
        err === null ? resolve(new Uint8Array(key)) : reject(err),
      );
    }),
    opts.signal,
  );
}

/** Derives `dkLen` bytes with PBKDF2-HMAC-SHA256. */
export async function derivePbkdf2Sha256(
  password: Uint8Array,
  salt: Uint8Array,
  params: { c: number; dkLen: number },
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<Uint8Array> {
  checkPbkdf2Iterations(params.c);
  opts.signal?.throwIfAborted();
  return abortable(pbkdf2Async(password, salt, params.c, params.dkLen), opts.signal);
}

function pbkdf2Async(password: Uint8Array, salt: Uint8Array, c: number, dkLen: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, c, dkLen, 'sha256', (err, key) =>
      err === null ? resolve(new Uint8Array(key)) : reject(err),
    );
  });
}

/** Settles with `work`, or rejects as soon as `signal` aborts (the thread-pool job then finishes unseen). */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * scrypt for parameters OpenSSL refuses, from @noble/hashes (audited, RFC 7914), in a worker thread so
 * the event loop stays free; aborting terminates the worker.
 */
export function scryptLocal(
  password: Uint8Array,
  salt: Uint8Array,
  params: ScryptParams & { dkLen: number },
  signal?: AbortSignal,
): Promise<Uint8Array> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./scryptWorker.js', import.meta.url), {
      workerData: {
        password,
        salt,
        N: params.n,
        r: params.r,
        p: params.p,
        dkLen: params.dkLen,
        maxmem: MAX_SCRYPT_MEMORY + 1024 * 1024,
      },
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      void worker.terminate();
      settle(() => reject(signal?.reason));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (key: Uint8Array) => settle(() => resolve(new Uint8Array(key))));
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`scrypt worker exited with code ${code}`))));
  });
}
