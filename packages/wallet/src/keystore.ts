/**
 * Ethereum keystore V3 (the Web3 Secret Storage definition), as geth writes and reads it: a private key
 * encrypted with AES-128-CTR under the first half of a scrypt (or PBKDF2-HMAC-SHA256) key, authenticated
 * by keccak256(second half ‖ ciphertext). We write scrypt keystores; we read scrypt and PBKDF2 ones.
 * Never logs, returns in an error, or writes anywhere a password or a private key.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { type Address, getAddress, type Hex, keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { z } from 'zod';
import { WalletError, WalletErrorCode } from './errors.js';
import { derivePbkdf2Sha256, deriveScrypt, SCRYPT_LIGHT, SCRYPT_STANDARD, type ScryptParams } from './kdf.js';

/** Lower-case or upper-case hex of exactly `bytes` bytes (any even length when omitted), no `0x`. */
function hexBytes(bytes?: number) {
  const pattern = bytes === undefined ? /^(?:[0-9a-fA-F]{2})+$/ : new RegExp(`^[0-9a-fA-F]{${2 * bytes}}$`);
  return z.string().regex(pattern, bytes === undefined ? 'expected hex' : `expected ${bytes} bytes of hex`);
}

/** `kdfparams` of a scrypt keystore (fields in the order geth writes them). */
export const ScryptKdfParamsSchema = z.object({
  dklen: z.number().int().min(32).max(64),
  n: z.number().int(),
  p: z.number().int(),
  r: z.number().int(),
  salt: hexBytes(),
});

/** `kdfparams` of a PBKDF2 keystore. */
export const Pbkdf2KdfParamsSchema = z.object({
  c: z.number().int(),
  dklen: z.number().int().min(32).max(64),
  prf: z.string(),
  salt: hexBytes(),
});

/** The `crypto` section for one KDF, fields in geth's order. */
function cryptoSchema<K extends string, P extends z.ZodType>(kdf: K, kdfparams: P) {
  return z.object({
    cipher: z.literal('aes-128-ctr'),
    // 32 bytes as a rule; geth also opens shorter keys (leading zero bytes dropped by old writers).
    ciphertext: hexBytes().refine((h) => h.length <= 64, 'expected at most 32 bytes of hex'),
    cipherparams: z.object({ iv: hexBytes(16) }),
    kdf: z.literal(kdf),
    kdfparams,
    mac: hexBytes(32),
  });
}

/** A keystore V3 file (extra fields such as `x-ethers` are dropped); parsed objects keep geth's field order. */
export const KeystoreV3Schema = z.object({
  address: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{40}$/, 'expected a 20-byte hex address')
    .optional(),
  crypto: z.discriminatedUnion('kdf', [
    cryptoSchema('scrypt', ScryptKdfParamsSchema),
    cryptoSchema('pbkdf2', Pbkdf2KdfParamsSchema),
  ]),
  id: z.string().optional(),
  version: z.literal(3),
});
/** Any keystore V3 we can read. */
export type KeystoreV3 = z.infer<typeof KeystoreV3Schema>;

/** A keystore V3 as {@link encryptKeystore} writes it, field for field like geth. */
export interface ScryptKeystoreV3 {
  /** The key's address, lower case without `0x`. */
  address: string;
  crypto: {
    cipher: 'aes-128-ctr';
    ciphertext: string;
    cipherparams: { iv: string };
    kdf: 'scrypt';
    kdfparams: { dklen: 32; n: number; p: number; r: number; salt: string };
    mac: string;
  };
  /** A random (version 4) UUID. */
  id: string;
  version: 3;
}

/** The shape checked before the KDF and cipher are known, so unknown ones get their own error codes. */
const EnvelopeSchema = z.object({
  version: z.literal(3),
  crypto: z.object({ cipher: z.string(), kdf: z.string() }),
});

/** scrypt cost: geth's `standard` (n=2^18, r=8, p=1), `light` (n=4096, r=8, p=6) or explicit parameters. */
export type KdfOption = 'standard' | 'light' | ScryptParams;

/** Options of {@link encryptKeystore}. */
export interface EncryptKeystoreOpts {
  /** scrypt cost; `standard` unless said otherwise. Use `light` only for tests and devnets. */
  kdf?: KdfOption | undefined;
  /** 32 random bytes unless given (tests only). */
  salt?: Uint8Array | undefined;
  /** 16 random bytes unless given (tests only). */
  iv?: Uint8Array | undefined;
  /** A random UUID unless given. */
  id?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** The scrypt parameters an option stands for. */
export function scryptParamsOf(kdf: KdfOption | undefined): ScryptParams {
  if (kdf === undefined || kdf === 'standard') return { ...SCRYPT_STANDARD };
  if (kdf === 'light') return { ...SCRYPT_LIGHT };
  return { n: kdf.n, r: kdf.r, p: kdf.p };
}

/**
 * Checks and normalises a private key: 32 bytes of hex (with or without `0x`, surrounding whitespace
 * ignored) in the secp256k1 range.
 * @throws {WalletError} `INVALID_PRIVATE_KEY`
 */
export function normalizePrivateKey(input: string): Hex {
  const hex = input.trim().replace(/^0x/i, '').toLowerCase();
  const fail = () =>
    new WalletError(
      WalletErrorCode.INVALID_PRIVATE_KEY,
      'a private key must be 32 bytes of hex (64 characters, optional 0x) within the secp256k1 range',
    );
  if (!/^[0-9a-f]{64}$/.test(hex)) throw fail();
  const key: Hex = `0x${hex}`;
  try {
    privateKeyToAccount(key);
  } catch {
    throw fail();
  }
  return key;
}

/**
 * Encrypts `privateKey` under `password` into a keystore V3 object (scrypt + AES-128-CTR + keccak256 MAC),
 * the shape geth writes. Takes about a second with the `standard` KDF.
 * @throws {WalletError} `INVALID_PRIVATE_KEY`; `UNSUPPORTED_KDF` for unusable scrypt parameters.
 */
export async function encryptKeystore(
  privateKey: Hex,
  password: string,
  opts: EncryptKeystoreOpts = {},
): Promise<ScryptKeystoreV3> {
  const key = normalizePrivateKey(privateKey);
  const { n, r, p } = scryptParamsOf(opts.kdf);
  const salt = opts.salt ?? randomBytes(32);
  const iv = opts.iv ?? randomBytes(16);
  if (iv.length !== 16) throw new RangeError('iv must be 16 bytes');
  const dk = await deriveScrypt(Buffer.from(password, 'utf8'), salt, { n, r, p, dkLen: 32 }, opts);
  const cipher = createCipheriv('aes-128-ctr', dk.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(key.slice(2), 'hex')), cipher.final()]);
  return {
    address: privateKeyToAccount(key).address.slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      ciphertext: ciphertext.toString('hex'),
      cipherparams: { iv: Buffer.from(iv).toString('hex') },
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n, p, r, salt: Buffer.from(salt).toString('hex') },
      mac: mac(dk, ciphertext).toString('hex'),
    },
    id: opts.id ?? randomUUID(),
    version: 3,
  };
}

/**
 * Checks that `keystore` (an object, or its JSON text) is a keystore V3 this package can open, without
 * decrypting it.
 * @throws {WalletError} `MALFORMED_KEYSTORE`, `UNSUPPORTED_KDF`, `UNSUPPORTED_CIPHER`
 */
export function parseKeystore(keystore: unknown): KeystoreV3 {
  let value = keystore;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw new WalletError(WalletErrorCode.MALFORMED_KEYSTORE, 'keystore is not valid JSON', { cause: err });
    }
  }
  // geth reads `Crypto` too (Go's JSON decoding ignores case), and some old wallets wrote it that way.
  if (isRecord(value) && value.crypto === undefined && value.Crypto !== undefined) {
    value = { ...value, crypto: value.Crypto };
  }
  const envelope = EnvelopeSchema.safeParse(value);
  if (!envelope.success) throw malformed(envelope.error);
  const { cipher, kdf } = envelope.data.crypto;
  if (cipher !== 'aes-128-ctr') {
    throw new WalletError(
      WalletErrorCode.UNSUPPORTED_CIPHER,
      `keystore cipher ${JSON.stringify(cipher)} is not supported; only aes-128-ctr is`,
    );
  }
  if (kdf !== 'scrypt' && kdf !== 'pbkdf2') {
    throw new WalletError(
      WalletErrorCode.UNSUPPORTED_KDF,
      `keystore kdf ${JSON.stringify(kdf)} is not supported; scrypt and pbkdf2 are`,
    );
  }
  const full = KeystoreV3Schema.safeParse(value);
  if (!full.success) throw malformed(full.error);
  if (full.data.crypto.kdf === 'pbkdf2' && full.data.crypto.kdfparams.prf !== 'hmac-sha256') {
    throw new WalletError(
      WalletErrorCode.UNSUPPORTED_KDF,
      `keystore pbkdf2 prf ${JSON.stringify(full.data.crypto.kdfparams.prf)} is not supported; only hmac-sha256 is`,
    );
  }
  return full.data;
}

/**
 * The address a keystore declares, checksummed, read without decrypting; `undefined` when it declares none
 * or is not a keystore. The declaration is only checked against the key by {@link decryptKeystore}.
 */
export function keystoreAddress(keystore: unknown): Address | undefined {
  if (!isRecord(keystore) || typeof keystore.address !== 'string') return undefined;
  const hex = keystore.address.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) return undefined;
  return getAddress(`0x${hex.toLowerCase()}`);
}

/**
 * Opens a keystore V3 (object or JSON text) with `password` and returns its private key.
 * @throws {WalletError} `WRONG_PASSWORD` when the MAC does not match (wrong password or altered file);
 *   `MALFORMED_KEYSTORE`, `UNSUPPORTED_KDF`, `UNSUPPORTED_CIPHER` when it cannot be read.
 */
export async function decryptKeystore(
  keystore: unknown,
  password: string,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<Hex> {
  const ks = parseKeystore(keystore);
  const { crypto } = ks;
  const secret = Buffer.from(password, 'utf8');
  const salt = Buffer.from(crypto.kdfparams.salt, 'hex');
  const dkLen = crypto.kdfparams.dklen;
  const dk =
    crypto.kdf === 'scrypt'
      ? await deriveScrypt(
          secret,
          salt,
          { n: crypto.kdfparams.n, r: crypto.kdfparams.r, p: crypto.kdfparams.p, dkLen },
          opts,
        )
      : await derivePbkdf2Sha256(secret, salt, { c: crypto.kdfparams.c, dkLen }, opts);
  const ciphertext = Buffer.from(crypto.ciphertext, 'hex');
  if (!timingSafeEqual(mac(dk, ciphertext), Buffer.from(crypto.mac, 'hex'))) {
    throw new WalletError(
      WalletErrorCode.WRONG_PASSWORD,
      'wrong password: the keystore MAC does not match (or the keystore file was altered)',
    );
  }
  const decipher = createDecipheriv(
    'aes-128-ctr',
    dk.subarray(0, 16),
    Buffer.from(crypto.cipherparams.iv, 'hex'),
  );
  const raw = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const plain = Buffer.alloc(32); // left-padded: short keys are big-endian numbers, as geth reads them
  raw.copy(plain, 32 - raw.length);
  raw.fill(0);
  let key: Hex;
  try {
    key = normalizePrivateKey(plain.toString('hex'));
  } catch (err) {
    throw new WalletError(
      WalletErrorCode.MALFORMED_KEYSTORE,
      'keystore decrypts to a value that is not a valid private key',
      { cause: err },
    );
  } finally {
    plain.fill(0);
  }
  const declared = keystoreAddress(ks);
  if (declared !== undefined && declared !== privateKeyToAccount(key).address) {
    throw new WalletError(
      WalletErrorCode.MALFORMED_KEYSTORE,
      `keystore declares address ${declared} but holds the key of another address`,
    );
  }
  return key;
}

/** keccak256(dk[16..32] ‖ ciphertext), the keystore V3 MAC. */
function mac(dk: Uint8Array, ciphertext: Uint8Array): Buffer {
  return Buffer.from(keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext]), 'bytes'));
}

function malformed(error: z.ZodError): WalletError {
  const issues = error.issues.map(
    (i) => `${i.path.length === 0 ? '(root)' : i.path.map(String).join('.')}: ${i.message}`,
  );
  return new WalletError(
    WalletErrorCode.MALFORMED_KEYSTORE,
    `not a keystore V3 file: ${issues.slice(0, 3).join('; ')}${issues.length > 3 ? '; …' : ''}`,
    { meta: { issues } },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
