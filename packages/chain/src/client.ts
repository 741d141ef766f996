/**
 * The chain client: a viem public client (every call with a deadline; reads batched into one HTTP request
 * when issued together) plus, when an account is given, a wallet client whose nonces come from viem's
 * nonce manager so concurrent writes do not collide. Nothing outside this package imports viem's clients.
 */
import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  nonceManager,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { ChainError, ChainErrorCode } from './errors.js';
import type { ContractAddresses } from './network.js';

export interface ChainClientOpts {
  rpcUrl: string;
  chainId: number;
  contracts: ContractAddresses;
  /** Deadline of each RPC call. */
  timeoutMs?: number;
  /** Retries of a failed read. */
  retryCount?: number;
  /** How often receipts, blocks and events are polled. */
  pollingIntervalMs?: number;
}

export interface ChainClient {
  readonly public: PublicClient<Transport, Chain>;
  readonly wallet: WalletClient<Transport, Chain, Account> | undefined;
  readonly contracts: ContractAddresses;
  readonly chain: Chain;
  readonly rpcUrl: string;
  /** A client for the same chain that signs with `account`. */
  withAccount(account: Account): ChainClient;
}

/** Creates a chain client (read-only unless `account` is given). */
export function createChainClient(opts: ChainClientOpts, account?: Account): ChainClient {
  const chain = defineChain({
    id: opts.chainId,
    name: `chain-${opts.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  });
  const transport = http(opts.rpcUrl, {
    timeout: opts.timeoutMs ?? 10_000,
    retryCount: opts.retryCount ?? 1,
    batch: { wait: 0 },
  });
  const pollingInterval = opts.pollingIntervalMs ?? 1000;
  const publicClient = createPublicClient({ chain, transport, pollingInterval }) as PublicClient<
    Transport,
    Chain
  >;
  // Local accounts get viem's nonce manager, so concurrent writes from one key never reuse a nonce.
  const signer =
    account !== undefined && account.type === 'local' && account.nonceManager === undefined
      ? { ...account, nonceManager }
      : account;
  const wallet =
    signer === undefined
      ? undefined
      : createWalletClient({ chain, transport, account: signer, pollingInterval });
  return {
    public: publicClient,
    wallet,
    contracts: opts.contracts,
    chain,
    rpcUrl: opts.rpcUrl,
    withAccount: (a) => createChainClient(opts, a),
  };
}

/** The wallet client, or a clear error when the client is read-only. */
export function requireWallet(client: ChainClient): WalletClient<Transport, Chain, Account> {
  if (client.wallet === undefined) {
    throw new ChainError(ChainErrorCode.NO_ACCOUNT, 'this action signs a transaction: unlock a wallet first');
  }
  return client.wallet;
}
