/**
 * The payment contracts (issue 15, docs/payments.md) from the chain stack: reads of the token, prices,
 * revenue split, prepaid accounts and miner earnings; a client's writes (deposit, withdrawal), the subnet
 * owner's (prices, split) and a gateway's (settle with the revenue split, depositFor, usage receipts) and a
 * miner's (claim). Every write goes through {@link sendContractTx} (simulated first: reverts named).
 */
import {
  minerShares,
  paymentEscrowAbi,
  paymentTokenAbi,
  pricingAbi,
  type ReceiptKey,
  receiptKeyTypedData,
  type SpendingAuthorization,
  spendingAuthorizationTypedData,
  splitRevenue,
  type UsageReceipt,
  usageReceiptTypedData,
} from '@subnet/contracts';
import {
  type Address,
  erc20Abi,
  type Hex,
  hashTypedData,
  isAddressEqual,
  parseEventLogs,
  recoverTypedDataAddress,
} from 'viem';
import { type ChainClient, requireWallet } from './client.js';
import { ChainError, ChainErrorCode, invalidInput, toChainError } from './errors.js';
import { minedEvent, sendContractTx } from './tx.js';

/** The payment contracts' addresses, or PAYMENTS_NOT_DEPLOYED. */
export function paymentContracts(chain: ChainClient): { token: Address; pricing: Address; escrow: Address } {
  const { paymentToken, pricing, paymentEscrow } = chain.contracts;
  if (paymentToken === undefined || pricing === undefined || paymentEscrow === undefined) {
    throw new ChainError(
      ChainErrorCode.PAYMENTS_NOT_DEPLOYED,
      'the network file names no payment contracts (contracts.paymentToken, pricing, paymentEscrow): this chain takes no payments',
    );
  }
  return { token: paymentToken, pricing, escrow: paymentEscrow };
}

async function read<T>(context: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw toChainError(err, context);
  }
}

/** A subnet's revenue split in basis points; miners get the rest. */
export interface RevenueSplit {
  validatorBps: number;
  ownerBps: number;
  burnBps: number;
  minerBps: number;
}

/**
 * The revenue split in effect at `block` (Pricing.splitAt): the one place the split is read.
 */
export async function getRevenueSplit(
  chain: ChainClient,
  netuid: number,
  block: bigint,
): Promise<RevenueSplit> {
  const { pricing } = paymentContracts(chain);
  const [validatorBps, ownerBps, burnBps] = await read('splitAt', () =>
    chain.public.readContract({
      address: pricing,
      abi: pricingAbi,
      functionName: 'splitAt',
      args: [netuid, block],
    }),
  );
  return { validatorBps, ownerBps, burnBps, minerBps: 10_000 - validatorBps - ownerBps - burnBps };
}

export interface ModelPrice {
  model: string;
  modelId: Hex;
  promptPerMillion: bigint;
  completionPerMillion: bigint;
  effectiveBlock: bigint;
  pending: { promptPerMillion: bigint; completionPerMillion: bigint; effectiveBlock: bigint } | null;
}

export interface PaymentTerms {
  chainId: number;
  block: bigint;
  token: {
    address: Address;
    name: string;
    symbol: string;
    decimals: number;
    eip712: { name: string; version: string } | null;
  };
  escrow: Address;
  pricing: Address;
  noticePeriodS: number;
  models: ModelPrice[];
  split: RevenueSplit;
  /** A split change set by the owner that takes effect at `effectiveBlock` (the next epoch boundary). */
  splitPending: (RevenueSplit & { effectiveBlock: bigint }) | null;
}

/** The split change that is set but not in effect at `block` (Pricing's last split point, if in the future). */
export async function getPendingSplit(
  chain: ChainClient,
  netuid: number,
  block: bigint,
): Promise<(RevenueSplit & { effectiveBlock: bigint }) | null> {
  const { pricing } = paymentContracts(chain);
  const points = await read('getSplitHistory', () =>
    chain.public.readContract({
      address: pricing,
      abi: pricingAbi,
      functionName: 'getSplitHistory',
      args: [netuid],
    }),
  );
  const last = points.at(-1);
  if (last === undefined || BigInt(last.fromBlock) <= block) return null;
  const { validatorBps, ownerBps, burnBps } = last;
  return {
    validatorBps,
    ownerBps,
    burnBps,
    minerBps: 10_000 - validatorBps - ownerBps - burnBps,
    effectiveBlock: BigInt(last.fromBlock),
  };
}

/** The token's EIP-712 domain name and version (ERC-5267 `eip712Domain`), or null when it has none. */
async function tokenEip712(
  chain: ChainClient,
  token: Address,
): Promise<{ name: string; version: string } | null> {
  try {
    const d = await chain.public.readContract({
      address: token,
      abi: paymentTokenAbi,
      functionName: 'eip712Domain',
    });
    return { name: d[1], version: d[2] };
  } catch {
    return null;
  }
}

/** A subnet's payment terms at the latest block: token, contracts, prices (in effect and pending), split. */
export async function getPaymentTerms(chain: ChainClient, netuid: number): Promise<PaymentTerms> {
  const { token, pricing, escrow } = paymentContracts(chain);
  // Not viem's cached block number: the answer's prices and split are those in effect at this very block.
  const block = await read('getBlockNumber', () => chain.public.getBlockNumber({ cacheTime: 0 }));
  const [name, symbol, decimals, eip712, noticePeriod, models, split, splitPending] = await Promise.all([
    read('name', () => chain.public.readContract({ address: token, abi: erc20Abi, functionName: 'name' })),
    read('symbol', () =>
      chain.public.readContract({ address: token, abi: erc20Abi, functionName: 'symbol' }),
    ),
    read('decimals', () =>
      chain.public.readContract({ address: token, abi: erc20Abi, functionName: 'decimals' }),
    ),
    tokenEip712(chain, token),
    read('noticePeriod', () =>
      chain.public.readContract({ address: escrow, abi: paymentEscrowAbi, functionName: 'noticePeriod' }),
    ),
    getModelPrices(chain, netuid, block),
    getRevenueSplit(chain, netuid, block),
    getPendingSplit(chain, netuid, block),
  ]);
  return {
    chainId: chain.chain.id,
    block,
    token: { address: token, name, symbol, decimals, eip712 },
    escrow,
    pricing,
    noticePeriodS: Number(noticePeriod),
    models,
    split,
    splitPending,
  };
}

/** Every model a subnet priced, with its price in effect at `block` and the pending change, if any. */
export async function getModelPrices(
  chain: ChainClient,
  netuid: number,
  block: bigint,
): Promise<ModelPrice[]> {
  const { pricing } = paymentContracts(chain);
  const [ids, names] = await read('getModels', () =>
    chain.public.readContract({
      address: pricing,
      abi: pricingAbi,
      functionName: 'getModels',
      args: [netuid],
    }),
  );
  return Promise.all(
    ids.map(async (id, i) => {
      const history = await read('getPriceHistory', () =>
        chain.public.readContract({
          address: pricing,
          abi: pricingAbi,
          functionName: 'getPriceHistory',
          args: [netuid, id],
        }),
      );
      const current = [...history].reverse().find((p) => p.fromBlock <= block);
      const next = history.at(-1);
      return {
        model: names[i] ?? '',
        modelId: id,
        promptPerMillion: current?.promptPerMillion ?? 0n,
        completionPerMillion: current?.completionPerMillion ?? 0n,
        effectiveBlock: current?.fromBlock ?? 0n,
        pending:
          next !== undefined && next.fromBlock > block
            ? {
                promptPerMillion: next.promptPerMillion,
                completionPerMillion: next.completionPerMillion,
                effectiveBlock: next.fromBlock,
              }
            : null,
      };
    }),
  );
}

export interface PaymentAccount {
  client: Address;
  gateway: Address;
  balance: bigint;
  pendingWithdrawal: bigint;
  withdrawableAt: bigint;
  spendable: bigint;
  walletBalance: bigint;
}

/** A client's prepaid account with a gateway, and its wallet's token balance. */
export async function getPaymentAccount(
  chain: ChainClient,
  p: { client: Address; gateway: Address },
): Promise<PaymentAccount> {
  const { token, escrow } = paymentContracts(chain);
  const [account, walletBalance] = await read('getAccount', () =>
    Promise.all([
      chain.public.readContract({
        address: escrow,
        abi: paymentEscrowAbi,
        functionName: 'getAccount',
        args: [p.client, p.gateway],
      }),
      chain.public.readContract({
        address: token,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [p.client],
      }),
    ]),
  );
  const spendable =
    account.pendingWithdrawal < account.balance ? account.balance - account.pendingWithdrawal : 0n;
  return {
    client: p.client,
    gateway: p.gateway,
    balance: account.balance,
    pendingWithdrawal: account.pendingWithdrawal,
    withdrawableAt: account.withdrawableAt,
    spendable,
    walletBalance,
  };
}

/** Why an authorization does not hold (`INVALID_AUTHORIZATION`'s `reason`). */
export type AuthorizationProblem = 'signature' | 'gateway' | 'expired';

/** A spending authorization that does not hold, with the reason. */
export class AuthorizationError extends Error {
  override readonly name = 'AuthorizationError';
  constructor(
    readonly reason: AuthorizationProblem,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks a client's signed spending authorization for `gateway`, offline (the EIP-712 signature recovered
 * with viem, the gateway, the expiry against the latest block's timestamp), then reads what was collected
 * under it. Throws {@link AuthorizationError} when it does not hold.
 */
export async function checkAuthorization(
  chain: ChainClient,
  p: { authorization: SpendingAuthorization; signature: Hex; gateway: Address },
): Promise<{ digest: Hex; collected: bigint }> {
  const { escrow } = paymentContracts(chain);
  const typed = spendingAuthorizationTypedData({
    chainId: chain.chain.id,
    paymentEscrow: escrow,
    authorization: p.authorization,
  });
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...typed, signature: p.signature });
  } catch (err) {
    throw new AuthorizationError('signature', `the signature does not decode: ${(err as Error).message}`);
  }
  if (!isAddressEqual(signer, p.authorization.client)) {
    throw new AuthorizationError(
      'signature',
      `signed by ${signer}, not by the client ${p.authorization.client}`,
    );
  }
  if (!isAddressEqual(p.authorization.gateway, p.gateway)) {
    throw new AuthorizationError(
      'gateway',
      `the authorization is for gateway ${p.authorization.gateway}, not this gateway ${p.gateway}`,
    );
  }
  const latest = await read('getBlock', () => chain.public.getBlock({ blockTag: 'latest' }));
  if (p.authorization.expiry <= latest.timestamp) {
    throw new AuthorizationError(
      'expired',
      `the authorization expired at ${p.authorization.expiry} (chain time ${latest.timestamp})`,
    );
  }
  const digest = hashTypedData(typed);
  const collected = await read('collectedByDigest', () =>
    chain.public.readContract({
      address: escrow,
      abi: paymentEscrowAbi,
      functionName: 'collectedByDigest',
      args: [digest],
    }),
  );
  return { digest, collected };
}

/** Approves the escrow for `amount` when its allowance is lower (the client's first step of a deposit). */
async function approveEscrow(chain: ChainClient, amount: bigint): Promise<void> {
  const { token, escrow } = paymentContracts(chain);
  const owner = requireWallet(chain).account.address;
  const allowance = await read('allowance', () =>
    chain.public.readContract({
      address: token,
      abi: erc20Abi,
      functionName: 'allowance',
      args: [owner, escrow],
    }),
  );
  if (allowance >= amount) return;
  await sendContractTx(chain, {
    address: token,
    abi: paymentTokenAbi,
    functionName: 'approve',
    args: [escrow, amount],
  });
}

function positive(amount: bigint, what: string): bigint {
  if (amount <= 0n) throw invalidInput(`${what} must be positive`);
  return amount;
}

/** Deposits `amount` from the signer's wallet into its account with `gateway` (approving first). */
export async function depositPayment(chain: ChainClient, p: { gateway: Address; amount: bigint }) {
  positive(p.amount, 'amount');
  const { escrow } = paymentContracts(chain);
  await approveEscrow(chain, p.amount);
  return sendContractTx(chain, {
    address: escrow,
    abi: paymentEscrowAbi,
    functionName: 'deposit',
    args: [p.gateway, p.amount],
  });
}

/** Asks to withdraw `amount` from the signer's account with `gateway` after the notice period. */
export async function requestPaymentWithdrawal(chain: ChainClient, p: { gateway: Address; amount: bigint }) {
  positive(p.amount, 'amount');
  const { escrow } = paymentContracts(chain);
  const tx = await sendContractTx(chain, {
    address: escrow,
    abi: paymentEscrowAbi,
    functionName: 'requestWithdrawal',
    args: [p.gateway, p.amount],
  });
  // The mined block's timestamp, not the simulation's: the two differ when a block is sealed in between.
  return { ...tx, withdrawableAt: minedEvent(tx, paymentEscrowAbi, 'WithdrawalRequested').withdrawableAt };
}

/** Cancels the signer's pending withdrawal from its account with `gateway`. */
export async function cancelPaymentWithdrawal(chain: ChainClient, p: { gateway: Address }) {
  const { escrow } = paymentContracts(chain);
  return sendContractTx(chain, {
    address: escrow,
    abi: paymentEscrowAbi,
    functionName: 'cancelWithdrawal',
    args: [p.gateway],
  });
}

/** Completes the signer's matured withdrawal from its account with `gateway`. */
export async function completePaymentWithdrawal(chain: ChainClient, p: { gateway: Address }) {
  const { escrow } = paymentContracts(chain);
  const tx = await sendContractTx(chain, {
    address: escrow,
    abi: paymentEscrowAbi,
    functionName: 'completeWithdrawal',
    args: [p.gateway],
  });
  return { ...tx, amount: minedEvent(tx, paymentEscrowAbi, 'Withdrawn').amount };
}

/** Sets a model's prices (units per million tokens) from the next epoch boundary (the subnet owner). */
export async function setModelPrice(
  chain: ChainClient,
  p: { netuid: number; model: string; promptPerMillion: bigint; completionPerMillion: bigint },
) {
  const { pricing } = paymentContracts(chain);
  const max = 2n ** 96n - 1n;
  for (const [v, what] of [
    [p.promptPerMillion, 'prompt price'],
    [p.completionPerMillion, 'completion price'],
  ] as const) {
    if (v < 0n || v > max) throw invalidInput(`${what} must be 0..2^96-1 units`);
  }
  return sendContractTx(chain, {
    address: pricing,
    abi: pricingAbi,
    functionName: 'setPrice',
    args: [p.netuid, p.model, p.promptPerMillion, p.completionPerMillion],
  });
}

/** Sets a subnet's revenue split from the next epoch boundary (the subnet owner). */
export async function setRevenueSplit(
  chain: ChainClient,
  p: { netuid: number; validatorBps: number; ownerBps: number; burnBps: number },
) {
  const { pricing } = paymentContracts(chain);
  return sendContractTx(chain, {
    address: pricing,
    abi: pricingAbi,
    functionName: 'setSplit',
    args: [p.netuid, p.validatorBps, p.ownerBps, p.burnBps],
  });
}

/** Signs a usage receipt with the chain client's account; `gateway` is set to its address. */
export async function signUsageReceipt(
  chain: ChainClient,
  receipt: Omit<UsageReceipt, 'gateway'>,
): Promise<{ receipt: UsageReceipt; signature: Hex }> {
  const { escrow } = paymentContracts(chain);
  const wallet = requireWallet(chain);
  const full: UsageReceipt = { ...receipt, gateway: wallet.account.address };
  const typed = usageReceiptTypedData({ chainId: chain.chain.id, paymentEscrow: escrow, receipt: full });
  const sign = wallet.account.signTypedData;
  if (sign === undefined) throw invalidInput('the hotkey account cannot sign typed data');
  return { receipt: full, signature: await sign(typed) };
}

/** Longest a receipt key may be delegated for (seconds): a leaked key signs receipts for a day at most. */
export const MAX_RECEIPT_KEY_TTL_S = 86_400;

/**
 * The hotkey's delegation of its usage receipts to the ed25519 `key` until `expires` (Unix seconds, at most
 * {@link MAX_RECEIPT_KEY_TTL_S} ahead of the latest block).
 */
export async function signReceiptKey(
  chain: ChainClient,
  p: { key: Hex; expires: bigint },
): Promise<{ receiptKey: ReceiptKey; signature: Hex }> {
  const { escrow } = paymentContracts(chain);
  const wallet = requireWallet(chain);
  const now = (await read('latest block', () => chain.public.getBlock({ blockTag: 'latest' }))).timestamp;
  if (p.expires <= now || p.expires > now + BigInt(MAX_RECEIPT_KEY_TTL_S))
    throw invalidInput(`a receipt key must expire within ${MAX_RECEIPT_KEY_TTL_S} s of now (${now})`);
  const receiptKey: ReceiptKey = { gateway: wallet.account.address, key: p.key, expires: p.expires };
  const sign = wallet.account.signTypedData;
  if (sign === undefined) throw invalidInput('the hotkey account cannot sign typed data');
  return {
    receiptKey,
    signature: await sign(
      receiptKeyTypedData({ chainId: chain.chain.id, paymentEscrow: escrow, receiptKey }),
    ),
  };
}

/** A voucher: an authorization, the client's signature and the cumulative total charged under it. */
export interface PaymentVoucher {
  authorization: SpendingAuthorization;
  signature: Hex;
  cumulative: bigint;
}

export interface SettlementResult {
  hash: Hex;
  gasUsed: bigint;
  settlementId: bigint;
  total: bigint;
  validatorFee: bigint;
  ownerFee: bigint;
  burned: bigint;
  minerTotal: bigint;
  shares: { miner: Address; amount: bigint }[];
}

/**
 * Settles a gateway's collected payments in one transaction (PaymentEscrow.settle): the total is what the
 * vouchers collect (their increase over what was collected before) plus `direct` from the signer's balance;
 * miners' shares are pro rata to `miners[].weight` ({@link minerShares}) of the miners' part of the split in
 * effect at the block the transaction is expected in (the latest + 1). When an epoch boundary changes the split
 * between the read and the transaction anyway (the transaction lands later) the contract refuses
 * (`MinerTotalMismatch`) and the shares are computed once more, at the then latest block + 1.
 */
export async function settlePayments(
  chain: ChainClient,
  p: {
    netuid: number;
    vouchers: readonly PaymentVoucher[];
    direct: bigint;
    miners: readonly { miner: Address; weight: bigint }[];
  },
): Promise<SettlementResult> {
  const { escrow, token } = paymentContracts(chain);
  if (p.direct < 0n) throw invalidInput('direct must not be negative');
  const gateway = requireWallet(chain).account.address;
  // What each voucher adds: the increase over what was already collected under its authorization.
  let collected = 0n;
  for (const v of p.vouchers) {
    const digest = hashTypedData(
      spendingAuthorizationTypedData({
        chainId: chain.chain.id,
        paymentEscrow: escrow,
        authorization: v.authorization,
      }),
    );
    const before = await read('collectedByDigest', () =>
      chain.public.readContract({
        address: escrow,
        abi: paymentEscrowAbi,
        functionName: 'collectedByDigest',
        args: [digest],
      }),
    );
    collected += v.cumulative > before ? v.cumulative - before : 0n;
  }
  const total = collected + p.direct;
  if (p.direct > 0n) {
    const allowance = await read('allowance', () =>
      chain.public.readContract({
        address: token,
        abi: erc20Abi,
        functionName: 'allowance',
        args: [gateway, escrow],
      }),
    );
    if (allowance < p.direct) {
      await sendContractTx(chain, {
        address: token,
        abi: paymentTokenAbi,
        functionName: 'approve',
        args: [escrow, p.direct],
      });
    }
  }
  const vouchers = p.vouchers.map((v) => ({
    authorization: v.authorization,
    signature: v.signature,
    cumulative: v.cumulative,
  }));
  const attempt = async () => {
    const latest = await read('getBlockNumber', () => chain.public.getBlockNumber({ cacheTime: 0 }));
    const split = await getRevenueSplit(chain, p.netuid, latest + 1n);
    const shares = settlementShares(total, split, p.miners);
    // Simulated in the pending block, the one the split was read for: at an epoch boundary the latest
    // block still has the old split.
    const tx = await sendContractTx(
      chain,
      {
        address: escrow,
        abi: paymentEscrowAbi,
        functionName: 'settle',
        args: [p.netuid, vouchers, p.direct, shares],
      },
      { blockTag: 'pending' },
    );
    return { tx, shares };
  };
  let out: Awaited<ReturnType<typeof attempt>>;
  try {
    out = await attempt();
  } catch (err) {
    if (!(err instanceof ChainError && err.errorName === 'MinerTotalMismatch')) throw err;
    out = await attempt();
  }
  const [settled] = parseEventLogs({
    abi: paymentEscrowAbi,
    eventName: 'Settled',
    logs: out.tx.receipt.logs,
  });
  if (settled === undefined) {
    throw new ChainError(ChainErrorCode.TX_FAILED, `settle ${out.tx.hash}: no Settled event in the receipt`);
  }
  return {
    hash: out.tx.hash,
    gasUsed: out.tx.receipt.gasUsed,
    settlementId: settled.args.settlementId,
    total: settled.args.total,
    validatorFee: settled.args.validatorFee,
    ownerFee: settled.args.ownerFee,
    burned: settled.args.burned,
    minerTotal: settled.args.minerTotal,
    shares: out.shares,
  };
}

/**
 * The miners' shares of a settlement of `total` under `split`: the contract's fee arithmetic (each fee
 * floored, the miners get the rest) then {@link minerShares} pro rata to the weights, zero shares dropped.
 */
export function settlementShares(
  total: bigint,
  split: Pick<RevenueSplit, 'validatorBps' | 'ownerBps' | 'burnBps'>,
  miners: readonly { miner: Address; weight: bigint }[],
): { miner: Address; amount: bigint }[] {
  return minerShares(splitRevenue(total, split).minerTotal, miners);
}

/** Credits `client`'s account with the signer (as gateway) from the signer's balance. */
export async function depositFor(chain: ChainClient, p: { client: Address; amount: bigint }) {
  positive(p.amount, 'amount');
  const { escrow } = paymentContracts(chain);
  const gateway = requireWallet(chain).account.address;
  await approveEscrow(chain, p.amount);
  return sendContractTx(chain, {
    address: escrow,
    abi: paymentEscrowAbi,
    functionName: 'depositFor',
    args: [p.client, gateway, p.amount],
  });
}

/** A miner's payment earnings: unclaimed and claimed. */
export async function getMinerEarnings(
  chain: ChainClient,
  miner: Address,
): Promise<{ miner: Address; unclaimed: bigint; claimed: bigint }> {
  const { escrow } = paymentContracts(chain);
  const [unclaimed, claimed] = await read('earningsOf', () =>
    chain.public.readContract({
      address: escrow,
      abi: paymentEscrowAbi,
      functionName: 'earningsOf',
      args: [miner],
    }),
  );
  return { miner, unclaimed, claimed };
}

/** Pays the signer's unclaimed earnings to it. */
export async function claimMinerEarnings(chain: ChainClient) {
  const { escrow } = paymentContracts(chain);
  const tx = await sendContractTx(chain, {
    address: escrow,
    abi: paymentEscrowAbi,
    functionName: 'claimEarnings',
    args: [],
  });
  return { ...tx, amount: minedEvent(tx, paymentEscrowAbi, 'EarningsClaimed').amount };
}
