/**
 * The wallet store: named wallets on disk, each a coldkey and any number of hotkeys, every key a keystore
 * V3 file readable only by its owner:
 *
 *     <dir>/<name>/coldkey.json           (mode 0600; directories 0700)
 *     <dir>/<name>/hotkeys/<hotkey>.json
 *
 * All keys of a wallet share one password. Names are `[a-zA-Z0-9_-]{1,64}`, so no name can leave `dir`.
 * Files are written to a temporary name, synced, then linked into place, so a key file is either whole
 * or absent, and nothing is ever overwritten. It never writes a private key in the clear.
 */
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hasCode } from '@subnet/utils';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { WalletError, WalletErrorCode } from './errors.js';
import {
  decryptKeystore,
  encryptKeystore,
  type KdfOption,
  type KeystoreV3,
  keystoreAddress,
  normalizePrivateKey,
  parseKeystore,
} from './keystore.js';
import { DEFAULT_PASSWORD_ENV, resolvePassword } from './password.js';

/** Shortest password accepted for a new wallet. */
export const MIN_PASSWORD_LENGTH = 8;
/** The name that selects a wallet's coldkey wherever a key is named; no hotkey may take it. */
export const COLDKEY = 'coldkey';
/** Wallet and hotkey names: letters, digits, `_` and `-`, 1 to 64 of them. */
export const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** `<dataDir>/wallets`, the default store directory. */
export function defaultWalletDir(dataDir: string): string {
  return path.join(dataDir, 'wallets');
}

/** Where the store lives: `dir` itself, or `<dataDir>/wallets`. */
export type WalletStoreOpts = { dir: string } | { dataDir: string };

/** One key of a wallet; `address` is read from the file without decrypting (null if it declares none). */
export interface KeyInfo {
  /** `coldkey`, or the hotkey's name. */
  name: string;
  address: Address | null;
  path: string;
}

/** A wallet as stored. */
export interface WalletInfo {
  name: string;
  path: string;
  coldkey: KeyInfo;
  /** Sorted by name. */
  hotkeys: KeyInfo[];
}

/** Every I/O call takes a signal. */
export interface SignalOpts {
  signal?: AbortSignal | undefined;
}

/** Options of {@link WalletStore.create}. */
export interface CreateWalletOpts extends SignalOpts {
  /** At least {@link MIN_PASSWORD_LENGTH} characters; encrypts every key of the wallet. */
  password: string;
  /** Hotkeys to create with it; `['default']` unless given (may be empty). */
  hotkeys?: readonly string[] | undefined;
  /** scrypt cost; `standard` unless given. */
  kdf?: KdfOption | undefined;
}

/** Options of {@link WalletStore.import}: the key (raw, or a keystore and its password) and where it goes. */
export type ImportKeyOpts = SignalOpts & {
  /** The wallet's password: new for a coldkey (at least 8 characters), the existing one for a hotkey. */
  password: string;
  /** `coldkey` (a new wallet; the default) or the name of a new hotkey of an existing wallet. */
  as?: string | undefined;
  /** scrypt cost of the stored copy; `standard` for a coldkey, the coldkey's for a hotkey, unless given. */
  kdf?: KdfOption | undefined;
} & (
    | { privateKey: string; keystore?: undefined; keystorePassword?: undefined }
    | { keystore: unknown; keystorePassword: string; privateKey?: undefined }
  );

/** Named wallets in one directory. */
export interface WalletStore {
  readonly dir: string;
  /**
   * Creates wallet `name` with a fresh coldkey and hotkeys.
   * @throws {WalletError} `INVALID_NAME`, `WEAK_PASSWORD`, `EXISTS`
   */
  create(name: string, opts: CreateWalletOpts): Promise<WalletInfo>;
  /** Every wallet, sorted by name, with addresses read without a password; `[]` when `dir` is absent. */
  list(opts?: SignalOpts): Promise<WalletInfo[]>;
  /**
   * One wallet, without a password.
   * @throws {WalletError} `INVALID_NAME`, `NOT_FOUND`
   */
  show(name: string, opts?: SignalOpts): Promise<WalletInfo>;
  /**
   * Stores an existing key as the coldkey of a new wallet, or as a new hotkey of an existing one.
   * @throws {WalletError} `INVALID_NAME`, `INVALID_PRIVATE_KEY`, `WEAK_PASSWORD`, `EXISTS`, `NOT_FOUND`,
   *   `WRONG_PASSWORD` (of the keystore, or of the wallet for a hotkey), `MALFORMED_KEYSTORE`, …
   */
  import(name: string, opts: ImportKeyOpts): Promise<WalletInfo>;
  /**
   * The stored keystore of `which` (`coldkey` or a hotkey name), after checking that `password` opens it.
   * @throws {WalletError} `NOT_FOUND`, `WRONG_PASSWORD`, `MALFORMED_KEYSTORE`, …
   */
  export(name: string, which: string, password: string, opts?: SignalOpts): Promise<KeystoreV3>;
  /**
   * The private key of `which` in the clear. Callers must warn the user.
   * @throws {WalletError} as {@link WalletStore.export}
   */
  exportPrivateKey(name: string, which: string, password: string, opts?: SignalOpts): Promise<Hex>;
  /**
   * Adds a fresh hotkey, encrypted with the wallet's password (checked against the coldkey first).
   * @throws {WalletError} `INVALID_NAME`, `NOT_FOUND`, `EXISTS`, `WRONG_PASSWORD`
   */
  addHotkey(
    name: string,
    hotkey: string,
    password: string,
    opts?: SignalOpts & { kdf?: KdfOption | undefined },
  ): Promise<WalletInfo>;
  /**
   * Decrypts `which` into a viem account that signs locally.
   * @throws {WalletError} as {@link WalletStore.export}
   */
  unlock(name: string, which: string, password: string, opts?: SignalOpts): Promise<PrivateKeyAccount>;
}

/**
 * Checks a wallet or hotkey name; `coldkey` is reserved for hotkeys.
 * @throws {WalletError} `INVALID_NAME`
 */
export function checkName(name: string, what: 'wallet' | 'hotkey'): void {
  if (!NAME_PATTERN.test(name)) {
    throw new WalletError(
      WalletErrorCode.INVALID_NAME,
      `invalid ${what} name ${JSON.stringify(name)}: use 1 to 64 letters, digits, '_' or '-'`,
    );
  }
  if (what === 'hotkey' && name === COLDKEY) {
    throw new WalletError(
      WalletErrorCode.INVALID_NAME,
      `"${COLDKEY}" names the coldkey and cannot be a hotkey name`,
    );
  }
}

/** A key selector: `coldkey` or a valid hotkey name. */
function checkWhich(which: string): void {
  if (which !== COLDKEY) checkName(which, 'hotkey');
}

function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new WalletError(
      WalletErrorCode.WEAK_PASSWORD,
      `password too short: use at least ${MIN_PASSWORD_LENGTH} characters`,
    );
  }
}

/** Opens the store in `dir` (or `<dataDir>/wallets`); nothing is touched until the first call. */
export function createWalletStore(opts: WalletStoreOpts): WalletStore {
  const dir = path.resolve('dir' in opts ? opts.dir : defaultWalletDir(opts.dataDir));
  const walletPath = (name: string) => path.join(dir, name);
  const keyPath = (name: string, which: string) =>
    which === COLDKEY
      ? path.join(dir, name, 'coldkey.json')
      : path.join(dir, name, 'hotkeys', `${which}.json`);

  async function readWallet(name: string, signal?: AbortSignal): Promise<WalletInfo | undefined> {
    const coldPath = keyPath(name, COLDKEY);
    const coldkey = await readKeyInfo(COLDKEY, coldPath, signal);
    if (coldkey === undefined) return undefined;
    let entries: string[];
    try {
      entries = await readdir(path.join(walletPath(name), 'hotkeys'));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      entries = [];
    }
    const names = entries
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .filter((h) => NAME_PATTERN.test(h) && h !== COLDKEY)
      .sort();
    const hotkeys: KeyInfo[] = [];
    for (const hotkey of names) {
      const info = await readKeyInfo(hotkey, keyPath(name, hotkey), signal);
      if (info !== undefined) hotkeys.push(info);
    }
    return { name, path: walletPath(name), coldkey, hotkeys };
  }

  async function show(name: string, opts: SignalOpts = {}): Promise<WalletInfo> {
    checkName(name, 'wallet');
    const info = await readWallet(name, opts.signal);
    if (info === undefined) {
      throw new WalletError(WalletErrorCode.NOT_FOUND, `no wallet named ${name} in ${dir}`, {
        meta: { wallet: name },
      });
    }
    return info;
  }

  async function readKey(name: string, which: string, signal?: AbortSignal): Promise<unknown> {
    checkName(name, 'wallet');
    checkWhich(which);
    const file = keyPath(name, which);
    let text: string;
    try {
      text = await readFile(file, { encoding: 'utf8', signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const exists = await pathExists(keyPath(name, COLDKEY));
      throw new WalletError(
        WalletErrorCode.NOT_FOUND,
        exists ? `wallet ${name} has no hotkey ${which}` : `no wallet named ${name} in ${dir}`,
        { meta: { wallet: name, key: which } },
      );
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new WalletError(WalletErrorCode.MALFORMED_KEYSTORE, `key file ${file} is not valid JSON`, {
        cause: err,
        meta: { wallet: name, key: which, file },
      });
    }
  }

  async function openKey(name: string, which: string, password: string, signal?: AbortSignal) {
    const keystore = await readKey(name, which, signal);
    const privateKey = await decryptKeystore(keystore, password, { signal }).catch((err: unknown) => {
      if (err instanceof WalletError) {
        const where =
          which === COLDKEY ? `the coldkey of wallet ${name}` : `hotkey ${which} of wallet ${name}`;
        throw new WalletError(err.code, `${where}: ${err.message}`, {
          cause: err,
          meta: { ...err.meta, wallet: name, key: which },
        });
      }
      throw err;
    });
    return { keystore, privateKey };
  }

  /** The coldkey's scrypt parameters, so a wallet's keys cost the same to open. */
  async function coldkeyKdf(name: string, signal?: AbortSignal): Promise<KdfOption> {
    const cold = parseKeystore(await readKey(name, COLDKEY, signal));
    if (cold.crypto.kdf !== 'scrypt') return 'standard';
    const { n, r, p } = cold.crypto.kdfparams;
    return { n, r, p };
  }

  /** Writes a new hotkey file, failing with EXISTS if it is there already. */
  async function storeHotkey(
    name: string,
    hotkey: string,
    privateKey: Hex,
    password: string,
    kdf: KdfOption | undefined,
    signal?: AbortSignal,
  ): Promise<WalletInfo> {
    const file = keyPath(name, hotkey);
    if (await pathExists(file)) throw exists(`wallet ${name} already has a hotkey ${hotkey}`, name, hotkey);
    await openKey(name, COLDKEY, password, signal); // one password per wallet: check it first
    const keystore = await encryptKeystore(privateKey, password, {
      kdf: kdf ?? (await coldkeyKdf(name, signal)),
      signal,
    });
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeKeyFile(file, keystore, signal, () =>
      exists(`wallet ${name} already has a hotkey ${hotkey}`, name, hotkey),
    );
    return show(name, { signal });
  }

  /** Makes `<dir>/<name>` with the given keys (coldkey first); removes it again if anything fails. */
  async function storeWallet(
    name: string,
    keys: { which: string; keystore: unknown }[],
    signal?: AbortSignal,
  ): Promise<WalletInfo> {
    signal?.throwIfAborted();
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await mkdir(walletPath(name), { mode: 0o700 });
    } catch (err) {
      if (hasCode(err) && err.code === 'EEXIST')
        throw exists(`wallet ${name} already exists in ${dir}`, name);
      throw err;
    }
    try {
      await mkdir(path.join(walletPath(name), 'hotkeys'), { mode: 0o700 });
      for (const { which, keystore } of keys) {
        await writeKeyFile(keyPath(name, which), keystore, signal, () =>
          exists(`wallet ${name} already exists`, name),
        );
      }
    } catch (err) {
      await rm(walletPath(name), { recursive: true, force: true });
      throw err;
    }
    return show(name, { signal });
  }

  async function assertNoWallet(name: string): Promise<void> {
    if (await pathExists(walletPath(name))) throw exists(`wallet ${name} already exists in ${dir}`, name);
  }

  return {
    dir,

    async create(name, opts) {
      const { signal } = opts;
      checkName(name, 'wallet');
      const hotkeys = opts.hotkeys ?? ['default'];
      for (const hotkey of hotkeys) checkName(hotkey, 'hotkey');
      if (new Set(hotkeys).size !== hotkeys.length) {
        throw new WalletError(WalletErrorCode.INVALID_NAME, 'hotkey names must be unique');
      }
      checkNewPassword(opts.password);
      await assertNoWallet(name); // fail before the slow part
      const keys: { which: string; keystore: unknown }[] = [];
      // One at a time: a standard scrypt takes 256 MiB.
      for (const which of [COLDKEY, ...hotkeys]) {
        const keystore = await encryptKeystore(generatePrivateKey(), opts.password, {
          kdf: opts.kdf,
          signal,
        });
        keys.push({ which, keystore });
      }
      return storeWallet(name, keys, signal);
    },

    async list(opts = {}) {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return [];
        throw err;
      }
      const wallets: WalletInfo[] = [];
      for (const entry of entries.filter((e) => e.isDirectory() && NAME_PATTERN.test(e.name))) {
        opts.signal?.throwIfAborted();
        const info = await readWallet(entry.name, opts.signal);
        if (info !== undefined) wallets.push(info);
      }
      return wallets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    show,

    async import(name, opts) {
      const { signal } = opts;
      const as = opts.as ?? COLDKEY;
      checkName(name, 'wallet');
      checkWhich(as);
      if (as === COLDKEY) {
        checkNewPassword(opts.password);
        await assertNoWallet(name);
      } else {
        await show(name, { signal }); // NOT_FOUND before any decryption
      }
      const privateKey =
        opts.privateKey !== undefined
          ? normalizePrivateKey(opts.privateKey)
          : await decryptKeystore(opts.keystore, opts.keystorePassword ?? '', { signal }).catch(
              (err: unknown) => {
                if (!(err instanceof WalletError)) throw err;
                throw new WalletError(err.code, `keystore to import: ${err.message}`, {
                  cause: err,
                  meta: err.meta ?? {},
                });
              },
            );
      if (as !== COLDKEY) return storeHotkey(name, as, privateKey, opts.password, opts.kdf, signal);
      const keystore = await encryptKeystore(privateKey, opts.password, { kdf: opts.kdf, signal });
      return storeWallet(name, [{ which: COLDKEY, keystore }], signal);
    },

    async export(name, which, password, opts = {}) {
      const { keystore } = await openKey(name, which, password, opts.signal);
      return parseKeystore(keystore);
    },

    async exportPrivateKey(name, which, password, opts = {}) {
      return (await openKey(name, which, password, opts.signal)).privateKey;
    },

    async addHotkey(name, hotkey, password, opts = {}) {
      checkName(name, 'wallet');
      checkName(hotkey, 'hotkey');
      await show(name, opts);
      return storeHotkey(name, hotkey, generatePrivateKey(), password, opts.kdf, opts.signal);
    },

    async unlock(name, which, password, opts = {}) {
      return privateKeyToAccount((await openKey(name, which, password, opts.signal)).privateKey);
    },
  };
}

/** The key's address as declared in its file, or undefined when the file is absent. */
async function readKeyInfo(name: string, file: string, signal?: AbortSignal): Promise<KeyInfo | undefined> {
  let text: string;
  try {
    text = await readFile(file, { encoding: 'utf8', signal });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  let address: Address | null = null;
  try {
    address = keystoreAddress(JSON.parse(text)) ?? null;
  } catch {
    // An unreadable file still shows up, without an address; opening it reports what is wrong.
  }
  return { name, address, path: file };
}

/**
 * Writes `keystore` to `file` (mode 0600) via a synced temporary file linked into place, so the file is
 * whole or absent; `onExists` makes the error when `file` is already there.
 */
async function writeKeyFile(
  file: string,
  keystore: unknown,
  signal: AbortSignal | undefined,
  onExists: () => Error,
): Promise<void> {
  signal?.throwIfAborted();
  const text = JSON.stringify(keystore);
  const tmp = `${file}.${randomUUID()}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(text, { signal });
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, file);
    } catch (err) {
      if (hasCode(err) && err.code === 'EEXIST') throw onExists();
      // A file system without hard links: exclusive create, not atomic but never overwriting.
      await writeFile(file, text, { mode: 0o600, flag: 'wx', signal }).catch((e: unknown) => {
        throw hasCode(e) && e.code === 'EEXIST' ? onExists() : e;
      });
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

function exists(message: string, wallet: string, key?: string): WalletError {
  return new WalletError(WalletErrorCode.EXISTS, `${message}; nothing was overwritten`, {
    meta: key === undefined ? { wallet } : { wallet, key },
  });
}

function isNotFound(err: unknown): boolean {
  return hasCode(err) && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}

async function pathExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Where a node finds its own hotkey: the config's `chain.wallet`, `chain.hotkey` and `chain.passwordFile`. */
export interface NodeKeyOpts {
  dataDir: string;
  wallet: string;
  hotkey: string;
  passwordFile?: string | undefined;
}

/**
 * The node's own hotkey, unlocked without a prompt (a node runs unattended): the password comes from
 * `passwordFile` or `WALLET_PASSWORD`; `undefined` when neither is set. The one place a private key leaves this
 * package without a user asking: libp2p needs the raw key of the node's identity.
 */
export async function unlockNodeHotkey(opts: NodeKeyOpts): Promise<Hex | undefined> {
  if (opts.passwordFile === undefined && process.env[DEFAULT_PASSWORD_ENV] === undefined) return undefined;
  const password = await resolvePassword({ file: opts.passwordFile, input: undefined });
  return createWalletStore({ dataDir: opts.dataDir }).exportPrivateKey(opts.wallet, opts.hotkey, password);
}
