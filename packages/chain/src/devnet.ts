/**
 * The local devnet's chain: starts anvil on 127.0.0.1 with its state under `<dataDir>/devnet/`, deploys
 * the contracts (or resumes them when the state holds them), creates dev wallets, funds them, creates
 * subnet 1, stakes and registers its validators and registers its miners, and writes
 * `<dataDir>/devnet.json`. A second start on the same dataDir resumes the same chain.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Anvil,
  deployContracts,
  paymentTokenAbi,
  startAnvil,
  subnetRegistryAbi,
  subnetTokenAbi,
} from '@subnet/contracts';
import { errorMessage } from '@subnet/utils';
import { createWalletStore, peerIdOfPublicKey, type WalletStore } from '@subnet/wallet';
import {
  type Account,
  createPublicClient,
  createWalletClient,
  type Hash,
  http,
  type PrivateKeyAccount,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { ChainError, ChainErrorCode } from './errors.js';
import { loadNetwork, type Network } from './network.js';
import { getPaymentTerms, setModelPrice } from './payments.js';
import { createSubnetClient } from './subnetClient.js';
import type { Hyperparams } from './types.js';

/** Anvil's first default account (public knowledge; devnet only): deploys and owns the contracts. */
const DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const SUB = 10n ** 18n;
const CHAIN_ID = 31337;
/** One sUSD in units (6 decimals). */
const SUSD = 10n ** 6n;

/** The devnet's prices, units (6 decimals) per million prompt / completion tokens, set for subnet 1. */
export const DEVNET_PRICES: readonly {
  model: string;
  promptPerMillion: bigint;
  completionPerMillion: bigint;
}[] = [
  { model: 'devnet-chat', promptPerMillion: (10n * SUSD) / 100n, completionPerMillion: (40n * SUSD) / 100n },
  { model: 'use-embed', promptPerMillion: (2n * SUSD) / 100n, completionPerMillion: 0n },
];
/** The devnet's paying client: a wallet `client1` (coldkey pays) funded with this many sUSD. */
export const DEVNET_CLIENT = { wallet: 'client1', susd: 1000n * SUSD } as const;

/** Hyperparameters of the devnet's subnet 1: short epochs so a person sees things move. */
export const DEVNET_SUBNET_PARAMS: Hyperparams = {
  tempo: 20n,
  maxAllowedUids: 256,
  maxValidators: 64,
  immunityPeriod: 100n,
  minStake: 100n * SUB,
  registrationBurn: 1n * SUB,
  maxRegistrationBurn: 100n * SUB,
  kappa: 32_767,
  bondsMovingAverage: 900_000,
  ownerSplit: 1800,
  minerSplit: 4100,
  validatorSplit: 4100,
  commitRevealPeriod: 1,
  weightsRateLimit: 5n,
  minAllowedWeights: 1,
  maxWeightLimit: 65_535,
  weightsVersionKey: 0n,
  registrationAllowed: true,
  burnAdjustmentInterval: 100n,
};

export interface DevnetOpts {
  dataDir: string;
  port: number;
  blockTimeS: number;
  validators: number;
  miners: number;
  /** Blocks per epoch of subnet 1 (default {@link DEVNET_SUBNET_PARAMS}' tempo). */
  tempo?: number;
  /** First libp2p port of the neurons (default 9100): neuron i listens on TCP `p2pBasePort + 2i`, WebSockets `+ 1`. */
  p2pBasePort?: number;
  signal?: AbortSignal;
  /** Told each step as it starts. */
  onProgress?: (step: string) => void;
}

export interface Devnet {
  readonly anvil: Anvil;
  readonly network: Network;
  /** Path of devnet.json. */
  readonly file: string;
  /** True when an existing chain was resumed rather than bootstrapped. */
  readonly resumed: boolean;
  /**
   * From now on, mines a block only every `blockTimeS` (no block per transaction), as a real chain does. The
   * bootstrap wants a block per transaction; running nodes do not: their own transactions (weights, epoch
   * proposals, attestations, claims) would each mine a block and cut every epoch short.
   */
  intervalMiningOnly(): Promise<void>;
  stop(): Promise<void>;
}

/** Paths of the devnet's files under `dataDir`. */
export function devnetPaths(dataDir: string) {
  const dir = join(dataDir, 'devnet');
  return {
    dir,
    state: join(dir, 'anvil-state.json'),
    password: join(dir, 'wallet-password'),
    network: join(dataDir, 'devnet.json'),
    wallets: join(dataDir, 'wallets'),
  };
}

async function devPassword(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(18).toString('base64url');
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    return password;
  }
}

/** Unlocks (or creates) a dev wallet's coldkey and default hotkey. */
async function devWallet(
  store: WalletStore,
  name: string,
  password: string,
): Promise<{ coldkey: PrivateKeyAccount; hotkey: PrivateKeyAccount }> {
  const existing = await store.list();
  if (!existing.some((w) => w.name === name)) {
    await store.create(name, { password, hotkeys: ['default'], kdf: 'light' });
  }
  try {
    const [coldkey, hotkey] = await Promise.all([
      store.unlock(name, 'coldkey', password),
      store.unlock(name, 'default', password),
    ]);
    return { coldkey, hotkey };
  } catch (err) {
    throw new ChainError(
      ChainErrorCode.NETWORK_FILE,
      `cannot open dev wallet ${name} with the devnet password (${errorMessage(err)}); delete ${store.dir}/${name} or the whole data dir to start over`,
    );
  }
}

/** Starts (or resumes) the devnet chain. */
export async function startDevnet(opts: DevnetOpts): Promise<Devnet> {
  const paths = devnetPaths(opts.dataDir);
  const progress = opts.onProgress ?? (() => {});
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  progress(`starting anvil on 127.0.0.1:${opts.port}`);
  const anvil = await startAnvil({
    port: opts.port,
    chainId: CHAIN_ID,
    stateFile: paths.state,
    blockTimeS: opts.blockTimeS,
    mixedMining: true,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  try {
    const chain = { ...foundry, rpcUrls: { default: { http: [anvil.rpcUrl] } } };
    const transport = http(anvil.rpcUrl, { timeout: 10_000, retryCount: 0 });
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
    const intervalMiningOnly = async (): Promise<void> => {
      await publicClient.request({
        method: 'evm_setIntervalMining' as never,
        params: [opts.blockTimeS] as never,
      });
    };
    const previous = await loadNetwork(paths.network).catch(() => undefined);
    if (previous !== undefined && previous.netuid !== undefined) {
      const code = await publicClient.getCode({ address: previous.contracts.subnetRegistry });
      const exists =
        code !== undefined &&
        code !== '0x' &&
        (await publicClient.readContract({
          address: previous.contracts.subnetRegistry,
          abi: subnetRegistryAbi,
          functionName: 'subnetExists',
          args: [previous.netuid],
        }));
      if (exists) {
        progress('resumed the devnet chain from its saved state');
        const network: Network = { ...previous, rpcUrl: anvil.rpcUrl };
        await writeFile(paths.network, `${JSON.stringify(network, null, 2)}\n`);
        return {
          anvil,
          network,
          file: paths.network,
          resumed: true,
          intervalMiningOnly,
          stop: () => anvil.stop(),
        };
      }
    }

    progress('deploying the contracts');
    const deployer = privateKeyToAccount(DEPLOYER_KEY);
    const deployerWallet = createWalletClient({ chain, transport, account: deployer, pollingInterval: 100 });
    const deployedAtBlock = Number(await publicClient.getBlockNumber());
    const contracts = await deployContracts(deployerWallet, publicClient, {
      faucet: { amount: 1000n * SUB, cooldownBlocks: 10n },
      unbondingPeriod: 20n,
      // Deallocated stake stays slashable this long: three devnet tempos, as long as a vote stays provable.
      deallocationPeriod: 60n,
      // The payment rail (issue 15): a devnet stablecoin (sUSD), Pricing and PaymentEscrow.
      payments: {},
    });

    progress('creating and funding dev wallets');
    const password = await devPassword(paths.password);
    const store = createWalletStore({ dir: paths.wallets });
    const names = [
      'owner',
      ...Array.from({ length: opts.validators }, (_, i) => `validator${i + 1}`),
      ...Array.from({ length: opts.miners }, (_, i) => `miner${i + 1}`),
      DEVNET_CLIENT.wallet,
    ];
    const wallets = new Map<string, { coldkey: PrivateKeyAccount; hotkey: PrivateKeyAccount }>();
    for (const name of names) wallets.set(name, await devWallet(store, name, password));
    const tokenFor = (name: string) =>
      (name === 'owner' || name.startsWith('validator') ? 10_000n : 1_000n) * SUB;
    let nonce = await publicClient.getTransactionCount({ address: deployer.address, blockTag: 'pending' });
    const transfers: Hash[] = [];
    for (const [name, w] of wallets) {
      for (const a of [w.coldkey.address, w.hotkey.address]) {
        await publicClient.request({
          method: 'anvil_setBalance' as never,
          params: [a, `0x${(1000n * SUB).toString(16)}`] as never,
        });
      }
      transfers.push(
        await deployerWallet.writeContract({
          address: contracts.token,
          abi: subnetTokenAbi,
          functionName: 'transfer',
          args: [w.coldkey.address, tokenFor(name)],
          nonce: nonce++,
        }),
      );
    }
    const client = wallets.get(DEVNET_CLIENT.wallet) as { coldkey: PrivateKeyAccount };
    transfers.push(
      await deployerWallet.writeContract({
        address: contracts.paymentToken as `0x${string}`,
        abi: paymentTokenAbi,
        functionName: 'transfer',
        args: [client.coldkey.address, DEVNET_CLIENT.susd],
        nonce: nonce++,
      }),
    );
    for (const hash of transfers) await publicClient.waitForTransactionReceipt({ hash });

    const sdkFor = (account: Account) =>
      createSubnetClient({
        rpcUrl: anvil.rpcUrl,
        chainId: CHAIN_ID,
        contracts,
        pollingIntervalMs: 100,
        account,
      });
    const owner = wallets.get('owner') as { coldkey: PrivateKeyAccount };
    progress('creating subnet 1');
    const { netuid } = await sdkFor(owner.coldkey).registerSubnet({
      name: 'devnet-llm',
      description: 'Local devnet subnet: LLM chat and completions, embeddings',
      params: {
        ...DEVNET_SUBNET_PARAMS,
        ...(opts.tempo === undefined ? {} : { tempo: BigInt(opts.tempo) }),
      },
    });
    await sdkFor(owner.coldkey).activateSubnet(netuid);
    progress('setting the prices of the devnet models');
    for (const price of DEVNET_PRICES) await setModelPrice(sdkFor(owner.coldkey).chain, { netuid, ...price });

    progress(`registering ${opts.validators} validator(s) and ${opts.miners} miner(s)`);
    const neurons: NonNullable<Network['neurons']> = [];
    const register = async (name: string, index: number) => {
      const w = wallets.get(name) as { coldkey: PrivateKeyAccount; hotkey: PrivateKeyAccount };
      const peerId = peerIdOfPublicKey(w.hotkey.publicKey);
      const port = (opts.p2pBasePort ?? 9100) + 2 * index;
      const multiaddrs = [`/ip4/127.0.0.1/tcp/${port}`, `/ip4/127.0.0.1/tcp/${port + 1}/ws`];
      const sdk = sdkFor(w.coldkey);
      const role = name.startsWith('validator') ? 'validator' : 'miner';
      if (role === 'validator') {
        await sdk.addStake(1000n * SUB);
        await sdk.allocateToSubnet(netuid, w.hotkey.address, 1000n * SUB);
      }
      const { uid } = await sdk.registerNeuron({
        netuid,
        hotkey: w.hotkey.address,
        hotkeyAccount: w.hotkey,
        role,
        peerId,
        multiaddrs,
      });
      neurons.push({
        uid,
        role,
        wallet: name,
        hotkey: w.hotkey.address,
        coldkey: w.coldkey.address,
        peerId,
        multiaddrs,
      });
    };
    // In name order, so validators get the first uids and the layout is the same on every bootstrap.
    for (const [i, name] of names.filter((n) => n !== 'owner' && n !== DEVNET_CLIENT.wallet).entries())
      await register(name, i);
    neurons.sort((a, b) => a.uid - b.uid);
    // Prices take effect at the next epoch boundary: mine up to it, so the devnet is ready to take payments
    // when it says it is ready (a client paying at once found no price in effect).
    const terms = await getPaymentTerms(sdkFor(owner.coldkey).chain, netuid);
    const effective = terms.models.reduce(
      (b, m) => (m.pending !== null && m.pending.effectiveBlock > b ? m.pending.effectiveBlock : b),
      0n,
    );
    if (effective > terms.block)
      await publicClient.request({
        method: 'anvil_mine' as never,
        params: [`0x${(effective - terms.block).toString(16)}`] as never,
      });
    const network: Network = {
      name: 'devnet',
      rpcUrl: anvil.rpcUrl,
      chainId: CHAIN_ID,
      contracts,
      deployedAtBlock,
      netuid,
      neurons,
      payments: {
        token: contracts.paymentToken as `0x${string}`,
        escrow: contracts.paymentEscrow as `0x${string}`,
        pricing: contracts.pricing as `0x${string}`,
        clientWallet: DEVNET_CLIENT.wallet,
        client: client.coldkey.address,
      },
    };
    await writeFile(paths.network, `${JSON.stringify(network, null, 2)}\n`);
    return {
      anvil,
      network,
      file: paths.network,
      resumed: false,
      intervalMiningOnly,
      stop: () => anvil.stop(),
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}
