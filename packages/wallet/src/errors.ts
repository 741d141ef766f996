/**
 * Errors of the wallet package: one code table and one error class. Messages say what to do next; they
 * never include a password or a private key.
 */
import { SubnetError } from '@subnet/utils';

/** Codes of {@link WalletError}. */
export const WalletErrorCode = {
  /** The MAC does not match: the password is wrong, or the ciphertext was altered. */
  WRONG_PASSWORD: 'WALLET_WRONG_PASSWORD',
  /** The keystore is not valid JSON or does not have the Web3 Secret Storage (V3) shape. */
  MALFORMED_KEYSTORE: 'WALLET_MALFORMED_KEYSTORE',
  /** The keystore uses a key-derivation function (or parameters) this package does not run. */
  UNSUPPORTED_KDF: 'WALLET_UNSUPPORTED_KDF',
  /** The keystore uses a cipher other than `aes-128-ctr`. */
  UNSUPPORTED_CIPHER: 'WALLET_UNSUPPORTED_CIPHER',
  /** The wallet or key does not exist. */
  NOT_FOUND: 'WALLET_NOT_FOUND',
  /** The wallet or key already exists; nothing was overwritten. */
  EXISTS: 'WALLET_EXISTS',
  /** A new password is shorter than {@link MIN_PASSWORD_LENGTH} characters. */
  WEAK_PASSWORD: 'WALLET_WEAK_PASSWORD',
  /** A wallet or hotkey name is not `[a-zA-Z0-9_-]{1,64}` (or is reserved). */
  INVALID_NAME: 'WALLET_INVALID_NAME',
  /** A private key is not 32 bytes of hex in the secp256k1 range. */
  INVALID_PRIVATE_KEY: 'WALLET_INVALID_PRIVATE_KEY',
  /** No password source is available (no file, no variable, no terminal), or the source is empty. */
  NO_PASSWORD: 'WALLET_NO_PASSWORD',
  /** The two passwords typed at the prompt differ. */
  PASSWORD_MISMATCH: 'WALLET_PASSWORD_MISMATCH',
} as const;
export type WalletErrorCode = (typeof WalletErrorCode)[keyof typeof WalletErrorCode];

/** Structured details carried by a {@link WalletError}; never secrets. */
export type WalletErrorMeta = { wallet?: string; key?: string; file?: string; issues?: string[] };

/** A wallet operation that failed; `code` says why. */
export class WalletError extends SubnetError<WalletErrorCode, WalletErrorMeta> {
  override readonly name: string = 'WalletError';
}

/** True for a {@link WalletError}, compared by `name` and `code` (safe across package copies). */
export function isWalletError(err: unknown, code?: WalletErrorCode): err is WalletError {
  if (!(err instanceof Error) || err.name !== 'WalletError') return false;
  const actual = (err as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
