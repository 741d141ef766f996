/**
 * `subnet wallet create | list | show | import | export | add-hotkey`: named wallets (a coldkey and
 * hotkeys, each a keystore V3 file) under `<dataDir>/wallets` or `--wallet-dir`. Passwords come from
 * `--password-file`, `--password-env` (default WALLET_PASSWORD) or a prompt on a terminal; never from an
 * argument, so this file must never add a `--password VALUE` option. @subnet/wallet (viem, ~150 ms) is
 * loaded only when a wallet command runs, so other commands start no slower.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hasCode } from '@subnet/utils';
import type { ResolvePasswordOpts, WalletErrorCode, WalletInfo, WalletStore } from '@subnet/wallet';
import { type Command, Option } from 'commander';
import { type GlobalOpts, output, resolveConfig, withProgress } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';

interface StoreFlags {
  walletDir?: string;
}
interface PasswordFlags {
  passwordFile?: string | undefined;
  passwordEnv?: string | undefined;
}
interface KdfFlags {
  kdf?: 'standard' | 'light';
}
type ImportFlags = StoreFlags &
  PasswordFlags &
  KdfFlags & {
    privateKeyFile?: string;
    keystore?: string;
    keystorePasswordFile?: string;
    keystorePasswordEnv?: string;
    as: string;
  };
type ExportFlags = StoreFlags & PasswordFlags & { key: string; privateKey?: boolean; out?: string };

/** Wallet error codes to exit codes: bad input is a usage error, everything else a failure. */
const EXIT_CODES: Record<WalletErrorCode, ExitCode> = {
  WALLET_WRONG_PASSWORD: ExitCode.FAILURE,
  WALLET_MALFORMED_KEYSTORE: ExitCode.FAILURE,
  WALLET_UNSUPPORTED_KDF: ExitCode.FAILURE,
  WALLET_UNSUPPORTED_CIPHER: ExitCode.FAILURE,
  WALLET_NOT_FOUND: ExitCode.FAILURE,
  WALLET_EXISTS: ExitCode.FAILURE,
  WALLET_WEAK_PASSWORD: ExitCode.USAGE,
  WALLET_INVALID_NAME: ExitCode.USAGE,
  WALLET_INVALID_PRIVATE_KEY: ExitCode.USAGE,
  WALLET_NO_PASSWORD: ExitCode.USAGE,
  WALLET_PASSWORD_MISMATCH: ExitCode.USAGE,
};

type WalletModule = typeof import('@subnet/wallet');

/** Selects the coldkey wherever a key is named (the wallet package's `COLDKEY`). */
const COLDKEY = 'coldkey';
/** The wallet package's `DEFAULT_PASSWORD_ENV`, for help texts. */
const DEFAULT_PASSWORD_ENV = 'WALLET_PASSWORD';

/** What a wallet action gets: the wallet package, a signal that Ctrl-C aborts, and helpers bound to them. */
interface WalletContext {
  w: WalletModule;
  signal: AbortSignal;
  /** The store in `--wallet-dir`, else `<dataDir>/wallets` from the config. */
  openStore(flags: StoreFlags): WalletStore;
  /** The password from `--password-file`, `--password-env` / WALLET_PASSWORD, or a terminal prompt. */
  password(flags: PasswordFlags, opts: { prompt: string; isNew?: boolean }): Promise<string>;
}

/**
 * Runs a wallet action, mapping wallet errors to exit codes. Password variable names are checked first:
 * a `SUBNET_*` one would otherwise fail later as an unknown config variable.
 */
async function walletAction(
  global: GlobalOpts,
  passwordEnvs: (string | undefined)[],
  work: (ctx: WalletContext) => Promise<void>,
): Promise<void> {
  const w = await import('@subnet/wallet');
  const ctl = new AbortController();
  const onSigint = () => ctl.abort(new CliError(ExitCode.FAILURE, 'interrupted'));
  process.once('SIGINT', onSigint);
  try {
    for (const name of passwordEnvs) if (name !== undefined) w.checkPasswordEnvName(name);
    await work({
      w,
      signal: ctl.signal,
      openStore: (flags) =>
        w.createWalletStore({
          dir: path.resolve(flags.walletDir ?? w.defaultWalletDir(resolveConfig(global).dataDir)),
        }),
      password: (flags, opts) => {
        const resolve: ResolvePasswordOpts = {
          file: flags.passwordFile,
          envName: flags.passwordEnv,
          prompt: opts.prompt,
          confirm: opts.isNew === true,
          minLength: opts.isNew === true ? w.MIN_PASSWORD_LENGTH : undefined,
          signal: ctl.signal,
        };
        return w.resolvePassword(resolve);
      },
    });
  } catch (err) {
    if (w.isWalletError(err)) throw new CliError(EXIT_CODES[err.code], err.message);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** Reads a file named by a flag; a missing file is a usage error. */
async function readInput(file: string, what: string, signal: AbortSignal): Promise<string> {
  try {
    return await readFile(file, { encoding: 'utf8', signal });
  } catch (err) {
    const why = hasCode(err) && err.code === 'ENOENT' ? 'not found' : (err as Error).message;
    throw new CliError(ExitCode.USAGE, `cannot read ${what} ${file}: ${why}`);
  }
}

function renderWallet(w: WalletInfo): string {
  const width = Math.max(7, ...w.hotkeys.map((h) => h.name.length));
  return [
    `wallet ${w.name} (${w.path})`,
    `  ${'coldkey'.padEnd(width + 7)}  ${w.coldkey.address ?? '(address not recorded)'}`,
    ...w.hotkeys.map((h) => `  hotkey ${h.name.padEnd(width)}  ${h.address ?? '(address not recorded)'}`),
  ].join('\n');
}

const kdfOption = () =>
  new Option(
    '--kdf <preset>',
    'scrypt cost: standard (geth, ~1 s) or light (tests and devnets only)',
  ).choices(['standard', 'light']);

function withStoreOption(cmd: Command): Command {
  return cmd.option('--wallet-dir <dir>', 'wallet directory (default: <dataDir>/wallets)');
}

function withPasswordOptions(cmd: Command): Command {
  return cmd
    .option('--password-file <file>', 'read the wallet password from the first line of this file')
    .option(
      '--password-env <name>',
      `read the wallet password from this environment variable (default: ${DEFAULT_PASSWORD_ENV} when set; else a prompt on a terminal)`,
    );
}

export function registerWallet(program: Command): void {
  const wallet = program
    .command('wallet')
    .description('Manage wallets: a coldkey and hotkeys each, stored as encrypted keystore V3 files');

  withPasswordOptions(withStoreOption(wallet.command('create')))
    .description('Create a wallet with a new coldkey and hotkeys (asks for the password twice on a terminal)')
    .argument('<name>', 'wallet name: 1 to 64 letters, digits, _ or -')
    .option('--hotkey <name>', 'hotkey to create; repeat for several (default: "default")', collect, [])
    .addOption(kdfOption())
    .action(
      async (
        name: string,
        flags: StoreFlags & PasswordFlags & KdfFlags & { hotkey: string[] },
        cmd: Command,
      ) => {
        const global = cmd.optsWithGlobals<GlobalOpts>();
        await walletAction(global, [flags.passwordEnv], async ({ w, signal, openStore, password }) => {
          w.checkName(name, 'wallet');
          for (const hotkey of flags.hotkey) w.checkName(hotkey, 'hotkey');
          const store = openStore(flags);
          const pw = await password(flags, { prompt: `New password for wallet ${name}: `, isNew: true });
          const info = await withProgress(global, 'encrypting keys (scrypt)…', () =>
            store.create(name, {
              password: pw,
              hotkeys: flags.hotkey.length === 0 ? undefined : flags.hotkey,
              kdf: flags.kdf,
              signal,
            }),
          );
          output(global, info, () => `created ${renderWallet(info)}`);
        });
      },
    );

  withStoreOption(wallet.command('list'))
    .description('List wallets with their coldkey and hotkey addresses (no password needed)')
    .action(async (flags: StoreFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      await walletAction(global, [], async ({ signal, openStore }) => {
        const store = openStore(flags);
        const wallets = await store.list({ signal });
        output(global, { dir: store.dir, wallets }, () =>
          wallets.length === 0
            ? `no wallets in ${store.dir} (create one with \`subnet wallet create NAME\`)`
            : wallets.map(renderWallet).join('\n'),
        );
      });
    });

  withStoreOption(wallet.command('show'))
    .description("Show one wallet's keys and addresses (no password needed)")
    .argument('<name>', 'wallet name')
    .action(async (name: string, flags: StoreFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      await walletAction(global, [], async ({ signal, openStore }) => {
        const info = await openStore(flags).show(name, { signal });
        output(global, info, () => renderWallet(info));
      });
    });

  withPasswordOptions(withStoreOption(wallet.command('import')))
    .description(
      'Import a private key or a keystore V3 file (geth, MetaMask, …) as the coldkey of a new wallet, or as a hotkey of an existing one',
    )
    .argument('<name>', 'wallet name')
    .option('--private-key-file <file>', 'file whose first line is the private key (hex)')
    .option('--keystore <file>', 'keystore V3 JSON file to import')
    .option(
      '--keystore-password-file <file>',
      "the keystore's password, first line of this file (default: the wallet password)",
    )
    .option('--keystore-password-env <name>', "the keystore's password, from this environment variable")
    .option(
      '--as <key>',
      `"${COLDKEY}" for a new wallet, or the name of a new hotkey of an existing wallet`,
      COLDKEY,
    )
    .addOption(kdfOption())
    .action(async (name: string, flags: ImportFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      if ((flags.privateKeyFile === undefined) === (flags.keystore === undefined)) {
        throw new CliError(ExitCode.USAGE, 'give exactly one of --private-key-file FILE or --keystore FILE');
      }
      const envs = [flags.passwordEnv, flags.keystorePasswordEnv];
      await walletAction(global, envs, async ({ w, signal, openStore, password }) => {
        w.checkName(name, 'wallet');
        if (flags.as !== COLDKEY) w.checkName(flags.as, 'hotkey');
        const store = openStore(flags);
        if (flags.as !== COLDKEY) await store.show(name, { signal }); // missing wallet: fail before asking
        const isNew = flags.as === COLDKEY;
        const pw = await password(flags, {
          prompt: isNew ? `New password for wallet ${name}: ` : `Password of wallet ${name}: `,
          isNew,
        });
        const common = { password: pw, as: flags.as, kdf: flags.kdf, signal };
        let info: WalletInfo;
        if (flags.keystore === undefined) {
          const text = await readInput(flags.privateKeyFile ?? '', 'private key file', signal);
          const privateKey = text.split(/\r?\n/, 1)[0] ?? '';
          info = await withProgress(global, 'encrypting key (scrypt)…', () =>
            store.import(name, { ...common, privateKey }),
          );
        } else {
          const keystore = await readInput(flags.keystore, 'keystore file', signal);
          const ownPassword =
            flags.keystorePasswordFile !== undefined || flags.keystorePasswordEnv !== undefined;
          const keystorePassword = ownPassword
            ? await password(
                { passwordFile: flags.keystorePasswordFile, passwordEnv: flags.keystorePasswordEnv },
                { prompt: 'Password of the keystore: ' },
              )
            : pw;
          info = await withProgress(global, 'decrypting and re-encrypting key (scrypt)…', () =>
            store.import(name, { ...common, keystore, keystorePassword }),
          );
        }
        output(global, info, () => `imported into ${renderWallet(info)}`);
      });
    });

  withPasswordOptions(withStoreOption(wallet.command('export')))
    .description('Print a key as its keystore V3 JSON (after checking the password), or as a raw private key')
    .argument('<name>', 'wallet name')
    .option('--key <key>', `"${COLDKEY}" or a hotkey name`, COLDKEY)
    .option(
      '--private-key',
      'print the private key in the clear instead (anyone who sees it owns the account)',
    )
    .option('--out <file>', 'write to this new file (mode 0600) instead of stdout')
    .action(async (name: string, flags: ExportFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      await walletAction(global, [flags.passwordEnv], async ({ w, signal, openStore, password }) => {
        if (flags.key !== COLDKEY) w.checkName(flags.key, 'hotkey');
        const store = openStore(flags);
        await store.show(name, { signal }); // missing wallet: fail before asking for a password
        const pw = await password(flags, { prompt: `Password of wallet ${name}: ` });
        let text: string;
        if (flags.privateKey === true) {
          const privateKey = await withProgress(global, 'decrypting key (scrypt)…', () =>
            store.exportPrivateKey(name, flags.key, pw, { signal }),
          );
          process.stderr.write(
            'warning: printing a private key in the clear; anyone who sees it controls the account and its funds\n',
          );
          text =
            global.json === true
              ? `${JSON.stringify({ wallet: name, key: flags.key, privateKey })}\n`
              : `${privateKey}\n`;
        } else {
          const keystore = await withProgress(global, 'checking the password (scrypt)…', () =>
            store.export(name, flags.key, pw, { signal }),
          );
          // A file gets geth's compact form; a terminal gets it indented.
          text = `${JSON.stringify(keystore, null, flags.out === undefined ? 2 : undefined)}\n`;
        }
        if (flags.out === undefined) {
          process.stdout.write(text);
          return;
        }
        const out = flags.out;
        await writeFile(out, text, { mode: 0o600, flag: 'wx', signal }).catch((err: unknown) => {
          if (hasCode(err) && err.code === 'EEXIST') {
            throw new CliError(ExitCode.FAILURE, `${out} exists; refusing to overwrite it`);
          }
          throw err;
        });
        process.stderr.write(`wrote ${out}\n`);
      });
    });

  withPasswordOptions(withStoreOption(wallet.command('add-hotkey')))
    .description("Add a new hotkey to a wallet, encrypted with the wallet's password")
    .argument('<name>', 'wallet name')
    .argument('<hotkey>', 'hotkey name: 1 to 64 letters, digits, _ or -')
    .addOption(kdfOption())
    .action(
      async (name: string, hotkey: string, flags: StoreFlags & PasswordFlags & KdfFlags, cmd: Command) => {
        const global = cmd.optsWithGlobals<GlobalOpts>();
        await walletAction(global, [flags.passwordEnv], async ({ w, signal, openStore, password }) => {
          w.checkName(name, 'wallet');
          w.checkName(hotkey, 'hotkey');
          const store = openStore(flags);
          await store.show(name, { signal }); // missing wallet: fail before asking for a password
          const pw = await password(flags, { prompt: `Password of wallet ${name}: ` });
          const info = await withProgress(
            global,
            'checking the password, encrypting the hotkey (scrypt)…',
            () => store.addHotkey(name, hotkey, pw, { kdf: flags.kdf, signal }),
          );
          output(global, info, () => `added hotkey ${hotkey} to ${renderWallet(info)}`);
        });
      },
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
