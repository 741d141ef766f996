/**
 * Shared by the chain commands: the network (contract addresses) and RPC URL from config and flags, the
 * SDK, and signing accounts unlocked from the wallet store. @subnet/chain and @subnet/wallet are loaded
 * only when a chain command runs. Devnet wallets open with `<dataDir>/devnet/wallet-password` when no
 * other password source is given.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChainError, Network, SubnetClient } from '@subnet/chain';
import type { Config } from '@subnet/config';
import type { Command } from 'commander';
import { type GlobalOpts, resolveConfig } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';

export interface ChainFlags {
  rpcUrl?: string;
  network?: string;
}

export interface SignerFlags {
  wallet?: string;
  hotkey?: string;
  walletDir?: string;
  passwordFile?: string;
  passwordEnv?: string;
}

export type ChainModule = typeof import('@subnet/chain');
/** A signing account (viem's, as the SDK takes it). */
type Account = Parameters<SubnetClient['withAccount']>[0];

export interface ChainSetup {
  config: Config;
  chain: ChainModule;
  network: Network;
  sdk: SubnetClient;
  /** The SDK signing with a wallet's coldkey or hotkey. */
  signer(flags: SignerFlags, which: 'coldkey' | 'hotkey'): Promise<SubnetClient>;
  /**
   * The SDK signing with a wallet's coldkey, and the wallet's hotkey account (one password for both), for a
   * hotkey's consent to its binding at its first registration.
   */
  coldkeyAndHotkey(flags: SignerFlags): Promise<{ sdk: SubnetClient; hotkey: Account }>;
  /** Resolves a hotkey given as an address, or as `wallet/hotkey` / a wallet name (its default hotkey). */
  hotkeyAddress(spec: string, flags: SignerFlags): Promise<`0x${string}`>;
}

export function withChainOptions(cmd: Command): Command {
  return cmd
    .option('--rpc-url <url>', 'chain JSON-RPC URL (default: chain.rpcUrl from the config)')
    .option('--network <file>', 'network file with the contract addresses (default: <dataDir>/devnet.json)');
}

export function withSignerOptions(cmd: Command, defaultWallet = 'default'): Command {
  return cmd
    .option('--wallet <name>', 'wallet that signs', defaultWallet)
    .option('--hotkey <name>', 'hotkey name inside the wallet', 'default')
    .option('--wallet-dir <dir>', 'wallet directory (default: <dataDir>/wallets)')
    .option('--password-file <file>', 'read the wallet password from the first line of this file')
    .option(
      '--password-env <name>',
      'read the wallet password from this environment variable (default: WALLET_PASSWORD)',
    );
}

/** Maps chain and wallet errors to exit codes and clear messages. */
export function chainFailure(err: unknown): never {
  const e = err as ChainError & { code?: string };
  if (typeof e?.code === 'string') {
    if (e.code === 'CHAIN_INVALID_INPUT') throw new CliError(ExitCode.USAGE, e.message);
    if (e.code === 'CHAIN_RPC_UNREACHABLE' || e.code === 'CHAIN_RPC_TIMEOUT') {
      throw new CliError(
        ExitCode.UNREACHABLE,
        `${e.message} (is the devnet running? start it with \`npm start\`)`,
      );
    }
    if (e.code === 'CHAIN_NETWORK_FILE') throw new CliError(ExitCode.CONFIG, e.message);
    if (e.code.startsWith('CHAIN_') || e.code.startsWith('WALLET_'))
      throw new CliError(ExitCode.FAILURE, e.message);
  }
  throw err;
}

/** Loads config, network file and SDK. */
export async function chainSetup(global: GlobalOpts, flags: ChainFlags): Promise<ChainSetup> {
  const config = resolveConfig(global);
  const chain = await import('@subnet/chain');
  const networkFile = flags.network ?? config.chain.network ?? join(config.dataDir, 'devnet.json');
  const network = await chain.loadNetwork(networkFile).catch(chainFailure);
  const rpcUrl = flags.rpcUrl ?? config.chain.rpcUrl;
  const sdk = chain.createSubnetClient({
    rpcUrl,
    chainId: network.chainId,
    contracts: network.contracts,
    timeoutMs: config.chain.rpcTimeoutMs,
    retryCount: config.chain.retryCount,
    pollingIntervalMs: Math.min(config.chain.pollIntervalMs, 250),
  });
  const devnetPassword = join(config.dataDir, 'devnet', 'wallet-password');

  async function unlock(flags: SignerFlags, keys: readonly string[]) {
    const w = await import('@subnet/wallet');
    const store = w.createWalletStore({ dir: flags.walletDir ?? w.defaultWalletDir(config.dataDir) });
    const passwordFile =
      flags.passwordFile ??
      (flags.passwordEnv === undefined &&
      process.env[w.DEFAULT_PASSWORD_ENV] === undefined &&
      existsSync(devnetPassword)
        ? devnetPassword
        : undefined);
    const password = await w.resolvePassword({
      file: passwordFile,
      envName: flags.passwordEnv,
      prompt: `Password of wallet ${flags.wallet}: `,
    });
    const accounts: Account[] = [];
    for (const key of keys) accounts.push(await store.unlock(flags.wallet ?? 'default', key, password));
    return accounts;
  }

  return {
    config,
    chain,
    network,
    sdk,
    async signer(flags, which) {
      const [account] = await unlock(flags, [
        which === 'coldkey' ? 'coldkey' : (flags.hotkey ?? 'default'),
      ]).catch(chainFailure);
      if (account === undefined) throw new CliError(ExitCode.USAGE, 'no key unlocked');
      return sdk.withAccount(account);
    },
    async coldkeyAndHotkey(flags) {
      const [coldkey, hotkey] = await unlock(flags, ['coldkey', flags.hotkey ?? 'default']).catch(
        chainFailure,
      );
      if (coldkey === undefined || hotkey === undefined)
        throw new CliError(ExitCode.USAGE, 'no key unlocked');
      return { sdk: sdk.withAccount(coldkey), hotkey };
    },
    async hotkeyAddress(spec, flags) {
      if (/^0x[0-9a-fA-F]{40}$/.test(spec)) return spec as `0x${string}`;
      const w = await import('@subnet/wallet');
      const store = w.createWalletStore({ dir: flags.walletDir ?? w.defaultWalletDir(config.dataDir) });
      const [walletName, hotkeyName = 'default'] = spec.split('/');
      const info = await store.show(walletName ?? spec).catch(chainFailure);
      const hk = info.hotkeys.find((h) => h.name === hotkeyName);
      if (hk?.address == null)
        throw new CliError(ExitCode.USAGE, `wallet ${walletName} has no hotkey ${hotkeyName}`);
      return hk.address;
    },
  };
}

/** Formats wei as SUB with up to 4 decimals. */
export function formatSub(wei: bigint): string {
  const whole = wei / 10n ** 18n;
  const frac = ((wei % 10n ** 18n) * 10_000n) / 10n ** 18n;
  return `${whole}.${frac.toString().padStart(4, '0')}`;
}

export function shortAddress(a: string): string {
  return `${a.slice(0, 6)}…${a.slice(-4)}`;
}

/** Renders rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Parses an integer option, as a usage error when it is not one. */
export function intOption(value: string | undefined, what: string, min = 0, max = 65_535): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min || n > max) {
    throw new CliError(ExitCode.USAGE, `${what} must be an integer ${min}..${max}, got ${value}`);
  }
  return n;
}

/** A comma-separated list of integers. */
export function intList(value: string | undefined, what: string): number[] {
  if (value === undefined || value.trim() === '') throw new CliError(ExitCode.USAGE, `${what} is required`);
  return value.split(',').map((v) => intOption(v.trim(), `each of ${what}`));
}
