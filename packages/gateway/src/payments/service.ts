/**
 * The gateway's payment service: the I/O around the pure policy (`policy.ts`). It reads the payment terms
 * (prices, token, split) from the chain stack (`chain_getPaymentsV1`, cached for `priceRefreshMs`), binds
 * API keys to clients' spending authorizations (`POST /v1/payments/keys`, checked with
 * `chain_checkAuthorizationV1`), meters each request of a bound key (reserve the upper bound before it is
 * relayed, charge the validator-counted usage after, at the price read at its start), signs a usage receipt
 * per metered request (with an ed25519 key its hotkey delegates, `receiptSigner.ts`) and settles what was charged on chain every
 * `settleIntervalMs` (`chain_settlePaymentsV1`, one transaction per interval). It reaches the chain only
 * through the Engine API.
 */

import { requestIdHash, type UsageReceipt } from '@subnet/contracts';
import {
  type chain_getPaymentsV1,
  type EngineApi,
  type EngineClient,
  EngineError,
  SpendingAuthorizationSchema,
} from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';
import type { Address } from 'viem';
import { z } from 'zod';
import { GatewayError, GatewayErrorCode } from '../errors.js';
import { isAuthorizationBound, type KeyStore } from '../keys.js';
import type { KeyRecord } from '../types.js';
import {
  decodePaymentSignature,
  encodePaymentResponse,
  type PaymentRequiredAnswer,
  paymentRequiredResponse,
  paymentRequirementsFor,
  type X402PriceOpts,
} from '../x402.js';
import { charge, costOf, decideQuota, type Price, planSettlement, type SettlementPlan } from './policy.js';
import { createReceiptSigner } from './receiptSigner.js';
import { createPaymentStore, type PaymentStore } from './store.js';

export type PaymentTerms = z.output<(typeof chain_getPaymentsV1)['result']>;

/** The response header carrying a metered request's signed usage receipt (base64url of its JSON). */
export const RECEIPT_HEADER = 'x-subnet-receipt';

export interface PaymentsOpts {
  netuid: number;
  /** Rate limits of each x402 payer (`gateway.requestsPerMinute`, `gateway.tokensPerMinute`). */
  x402Limits?: { requestsPerMinute: number; tokensPerMinute: number };
  /** How often charged totals are settled on chain; 0 = never (`gateway.payments.settleIntervalMs`). */
  settleIntervalMs: number;
  /** How long the terms (prices) read from the chain are reused (`gateway.payments.priceRefreshMs`). */
  priceRefreshMs: number;
  /** How long a client's on-chain spendable balance is reused before a request reads it again. */
  accountRefreshMs?: number;
  /**
   * Seconds before an authorization's expiry from which it serves no more, so it can still be settled
   * (default: two settlement intervals).
   */
  expiryMarginS?: number;
}

export interface PaymentsModules {
  engine: Pick<EngineClient<EngineApi>, 'call'>;
  keys: KeyStore;
  logger: Logger;
  /** Unix ms; for tests. */
  now?: () => number;
}

/** A metered request's reservation. */
export interface Meter {
  /** The upper bound reserved. */
  readonly bound: bigint;
  readonly priceBlock: number;
  /**
   * Charges `usage` (validator-counted) at the price of the request's start and releases the rest; signs
   * and returns the receipt header value when `sign`. Charges once: later calls return undefined.
   */
  finish(
    usage: { promptTokens: number; completionTokens: number },
    opts: { miner: string | undefined; requestId: string; sign: boolean },
  ): Promise<string | undefined>;
}

export interface Payments {
  /** The terms, or undefined when this chain takes no payments. */
  terms(): Promise<PaymentTerms | undefined>;
  /** The `pricing` object of a `/v1/models` entry, from the cached terms (no chain call). */
  pricingOf(model: string): Record<string, string | number> | undefined;
  /** `GET /v1/payments`. */
  info(): Promise<Record<string, unknown>>;
  /** `POST /v1/payments/keys`. */
  bindKey(body: unknown): Promise<Record<string, unknown>>;
  /** Reserves a bound key's request (prompt and completion token bounds); throws 429 insufficient_quota. */
  begin(
    key: KeyRecord & { account: { client: string; digest: string } },
    model: string,
    bounds: { promptTokens: number; completionTokens: number },
  ): Promise<Meter>;
  /**
   * An x402 request (no API key): without a `PAYMENT-SIGNATURE` the 402 to answer; with one, the payment
   * verified and settled on chain (before the request is served), the key record to serve it under, its
   * meter and the `PAYMENT-RESPONSE` header. A refused payment is a new 402 naming the reason; undefined when
   * this gateway takes no x402 payments (no payment contracts, or a token without EIP-3009) or the model has no
   * price.
   */
  x402(p: {
    header: string | readonly string[] | undefined;
    model: string;
    bounds: { promptTokens: number; completionTokens: number };
    resource: string;
  }): Promise<
    | { paid: false; answer: PaymentRequiredAnswer }
    | { paid: true; key: KeyRecord; meter: Meter; responseHeader: string }
    | undefined
  >;
  /** One settlement now (what the loop does each interval); undefined when nothing grew. */
  settle(): Promise<SettlementResult | undefined>;
  readonly store: PaymentStore;
  start(): void;
  stop(): Promise<void>;
}

export type SettlementResult = z.output<
  typeof import('@subnet/engine-api')['chain_settlePaymentsV1']['result']
>;

const BindBodySchema = z
  .object({ authorization: SpendingAuthorizationSchema, signature: z.string() })
  .strict();
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';
/** Vouchers of one settlement (the Engine API method's bound). */
const MAX_VOUCHERS = 1000;

const zeroPrice: Price = { promptPerMillion: 0n, completionPerMillion: 0n };

function quotaError(message: string): GatewayError {
  return new GatewayError(GatewayErrorCode.INSUFFICIENT_QUOTA, message);
}

export function createPayments(opts: PaymentsOpts, modules: PaymentsModules): Payments {
  const { engine, keys, logger } = modules;
  const now = modules.now ?? Date.now;
  const store = createPaymentStore(keys.db, now);
  const accountTtl = opts.accountRefreshMs ?? 2000;
  // Default: two settlement intervals, so the last charges under an authorization are settled before it expires.
  const margin = BigInt(
    opts.expiryMarginS ?? (opts.settleIntervalMs > 0 ? Math.ceil((2 * opts.settleIntervalMs) / 1000) : 0),
  );

  let cached: { at: number; terms: PaymentTerms | undefined } | undefined;
  let loading: Promise<PaymentTerms | undefined> | undefined;
  const accounts = new Map<string, { at: number; spendable: bigint }>();

  async function load(): Promise<PaymentTerms | undefined> {
    try {
      const t = await engine.call('chain_getPaymentsV1', { netuid: opts.netuid });
      cached = { at: now(), terms: t };
    } catch (err) {
      // No payment contracts, or a node whose chain stack has no payment methods: no payments.
      if (
        err instanceof EngineError &&
        (err.code === 'PAYMENTS_NOT_DEPLOYED' || err.code === 'METHOD_NOT_FOUND')
      )
        cached = { at: now(), terms: undefined };
      else if (cached === undefined)
        throw new GatewayError(
          GatewayErrorCode.PAYMENTS_UNAVAILABLE,
          `The gateway cannot read the payment terms from its chain stack: ${errorMessage(err)}`,
        );
      else logger.warn({ err: errorMessage(err) }, 'cannot refresh payment terms; using the last ones');
    }
    return cached?.terms;
  }

  async function terms(): Promise<PaymentTerms | undefined> {
    if (cached !== undefined && now() - cached.at < opts.priceRefreshMs) return cached.terms;
    loading ??= load().finally(() => {
      loading = undefined;
    });
    return loading;
  }

  const priceOf = (t: PaymentTerms, model: string): Price => {
    const m = t.models.find((p) => p.model === model);
    return m === undefined
      ? zeroPrice
      : {
          promptPerMillion: BigInt(m.promptPerMillion),
          completionPerMillion: BigInt(m.completionPerMillion),
        };
  };

  async function spendable(client: string, fresh: boolean): Promise<bigint> {
    const c = accounts.get(client);
    if (!fresh && c !== undefined && now() - c.at < accountTtl) return c.spendable;
    try {
      const a = await engine.call('chain_getPaymentAccountV1', { client });
      const s = BigInt(a.spendable);
      accounts.set(client, { at: now(), spendable: s });
      return s;
    } catch (err) {
      if (c !== undefined) return c.spendable;
      throw new GatewayError(
        GatewayErrorCode.PAYMENTS_UNAVAILABLE,
        `The gateway cannot read the client's account from its chain stack: ${errorMessage(err)}`,
      );
    }
  }

  const signer = createReceiptSigner({ engine, now });

  /** The receipt header of a metered request (undefined when it cannot be signed: the request is not failed). */
  async function signReceipt(
    t: PaymentTerms,
    receipt: Omit<UsageReceipt, 'gateway' | 'requestId' | 'priceBlock' | 'cost' | 'cumulative'> & {
      requestId: string;
      priceBlock: number;
      cost: bigint;
      cumulative: bigint;
    },
  ): Promise<string | undefined> {
    try {
      if (t.gateway === null) throw new Error('the chain stack has no hotkey');
      const signed = await signer.sign(
        {
          ...receipt,
          requestId: requestIdHash(receipt.requestId),
          client: receipt.client as Address,
          gateway: t.gateway as Address,
          miner: receipt.miner as Address,
          priceBlock: BigInt(receipt.priceBlock),
        },
        { chainId: t.chainId, paymentEscrow: t.escrow as Address },
      );
      return Buffer.from(JSON.stringify(signed)).toString('base64url');
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'cannot sign a usage receipt; the response goes without one');
      return undefined;
    }
  }

  async function begin(
    key: KeyRecord & { account: { client: string; digest: string } },
    model: string,
    bounds: { promptTokens: number; completionTokens: number },
  ): Promise<Meter> {
    const t = await terms();
    if (t === undefined)
      throw new GatewayError(GatewayErrorCode.PAYMENTS_UNAVAILABLE, 'This gateway takes no payments now.');
    const auth = store.get(key.account.digest);
    if (auth === undefined)
      throw new GatewayError(
        GatewayErrorCode.UNAUTHORIZED,
        'The API key is bound to no known authorization.',
      );
    const price = priceOf(t, model);
    const priceBlock = t.block;
    const bound = costOf(bounds.promptTokens, bounds.completionTokens, price);
    const client = auth.client;
    const nowS = BigInt(Math.floor(now() / 1000));
    let decision = decideQuota(
      auth,
      store.ofClient(client),
      await spendable(client, false),
      bound,
      nowS,
      margin,
    );
    if (!decision.ok && decision.reason === 'balance')
      decision = decideQuota(
        auth,
        store.ofClient(client),
        await spendable(client, true),
        bound,
        nowS,
        margin,
      );
    if (!decision.ok) {
      const why =
        decision.reason === 'expired'
          ? 'the spending authorization of this key has expired; sign a new one (subnet pay key)'
          : decision.reason === 'cap'
            ? `this key's spending authorization has ${decision.available} units left of its cap, and the request may cost up to ${bound}; sign a new authorization (subnet pay key)`
            : `the prepaid account has ${decision.available} units spendable, and the request may cost up to ${bound}; deposit more (subnet pay deposit)`;
      throw quotaError(`You exceeded your current quota: ${why}. Lower max_tokens to ask for less.`);
    }
    auth.reserved += bound;
    let done = false;
    return {
      bound,
      priceBlock,
      async finish(usage, o) {
        if (done) return undefined;
        done = true;
        const cost = costOf(usage.promptTokens, usage.completionTokens, price);
        const r = charge(auth, bound, cost);
        auth.reserved = r.state.reserved;
        const miner = o.miner !== undefined && ADDRESS.test(o.miner) ? o.miner.toLowerCase() : undefined;
        let cumulative: bigint;
        try {
          cumulative = store.charge(auth.digest, r.charged, miner);
        } catch (err) {
          logger.error({ err: errorMessage(err), digest: auth.digest }, 'cannot persist a charge');
          return undefined;
        }
        if (!o.sign) return undefined;
        return signReceipt(t, {
          requestId: o.requestId,
          client: client as Address,
          miner: (miner ?? ZERO_ADDRESS) as Address,
          netuid: opts.netuid,
          model,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          priceBlock,
          cost: r.charged,
          cumulative,
        });
      },
    };
  }

  /** The x402 price options of a request: its upper bound at the price read at its start. */
  function x402Terms(
    t: PaymentTerms,
    model: string,
    bounds: { promptTokens: number; completionTokens: number },
    resource: string,
  ): { opts: X402PriceOpts; price: Price } | undefined {
    if (t.gateway === null || t.token.eip712 === null) return undefined;
    const price = priceOf(t, model);
    const amount = costOf(bounds.promptTokens, bounds.completionTokens, price);
    if (amount <= 0n) return undefined;
    return {
      price,
      opts: {
        chainId: t.chainId,
        token: { address: t.token.address, eip712: t.token.eip712 },
        payTo: t.gateway,
        amount,
        resource,
        description: `${model}: up to ${bounds.promptTokens} prompt and ${bounds.completionTokens} completion tokens`,
      },
    };
  }

  /** The key record an x402 payer's requests are served and rate-limited under (one bucket per payer). */
  const x402Key = (payer: string): KeyRecord =>
    Object.freeze({
      id: `x402:${payer}`,
      name: 'x402',
      requestsPerMinute: opts.x402Limits?.requestsPerMinute ?? 600,
      tokensPerMinute: opts.x402Limits?.tokensPerMinute ?? 1_000_000,
    });

  const x402: Payments['x402'] = async ({ header, model, bounds, resource }) => {
    const t = await terms();
    if (t === undefined) return undefined;
    const priced = x402Terms(t, model, bounds, resource);
    if (priced === undefined) return undefined;
    const refuse = (error: string) => ({
      paid: false as const,
      answer: paymentRequiredResponse({ ...priced.opts, error }),
    });
    if (header === undefined) return refuse('Payment required');
    let payload: unknown;
    try {
      payload = decodePaymentSignature(header);
    } catch (err) {
      return refuse(errorMessage(err));
    }
    const requirements = paymentRequirementsFor(priced.opts);
    const params = {
      paymentPayload: payload as Record<string, unknown>,
      paymentRequirements: requirements as unknown as Record<string, unknown>,
    };
    const checked = await engine.call('chain_verifyX402V1', params);
    if (!checked.isValid) return refuse(checked.invalidReason ?? 'invalid payment');
    // Settled before the request is served: a client cannot take the answer and let the payment lapse.
    const settled = await engine.call('chain_settleX402V1', params);
    if (!settled.success) return refuse(settled.errorReason ?? 'payment not settled');
    const payer = (settled.payer ?? checked.payer ?? '').toLowerCase();
    const paid = priced.opts.amount as bigint;
    const priceBlock = t.block;
    let done = false;
    const meter: Meter = {
      bound: paid,
      priceBlock,
      async finish(usage, o) {
        if (done) return undefined;
        done = true;
        const exact = costOf(usage.promptTokens, usage.completionTokens, priced.price);
        const cost = exact < paid ? exact : paid;
        const miner = o.miner !== undefined && ADDRESS.test(o.miner) ? o.miner.toLowerCase() : undefined;
        try {
          store.x402Charge({ payer, paid, cost, miner, txHash: settled.transaction });
        } catch (err) {
          logger.error({ err: errorMessage(err), payer }, 'cannot persist an x402 charge');
          return undefined;
        }
        if (!o.sign) return undefined;
        return signReceipt(t, {
          requestId: o.requestId,
          client: payer as Address,
          miner: (miner ?? ZERO_ADDRESS) as Address,
          netuid: opts.netuid,
          model,
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          priceBlock,
          cost,
          cumulative: paid,
        });
      },
    };
    return { paid: true, key: x402Key(payer), meter, responseHeader: encodePaymentResponse(settled) };
  };

  async function bindKey(body: unknown): Promise<Record<string, unknown>> {
    const parsed = BindBodySchema.safeParse(body);
    if (!parsed.success)
      throw new GatewayError(
        GatewayErrorCode.INVALID_REQUEST,
        `The body must be { authorization: SpendingAuthorization, signature }: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
      );
    const { authorization, signature } = parsed.data;
    const t = await terms();
    if (t === undefined || t.gateway === null)
      throw new GatewayError(GatewayErrorCode.PAYMENTS_UNAVAILABLE, 'This gateway takes no payments now.');
    if (authorization.gateway.toLowerCase() !== t.gateway.toLowerCase())
      throw new GatewayError(
        GatewayErrorCode.INVALID_REQUEST,
        `The authorization is for gateway ${authorization.gateway}, not this one (${t.gateway}; GET /v1/payments).`,
        { meta: { param: 'authorization.gateway' } },
      );
    let checked: { digest: string; collected: string };
    try {
      checked = await engine.call('chain_checkAuthorizationV1', { authorization, signature });
    } catch (err) {
      if (err instanceof EngineError && err.code === 'INVALID_AUTHORIZATION') {
        const reason = (err.data as { reason?: unknown } | undefined)?.reason;
        throw new GatewayError(
          GatewayErrorCode.INVALID_REQUEST,
          `The spending authorization does not hold: ${typeof reason === 'string' ? reason : err.message}`,
          { meta: { param: 'authorization' } },
        );
      }
      throw new GatewayError(
        GatewayErrorCode.PAYMENTS_UNAVAILABLE,
        `The gateway cannot check the authorization now: ${errorMessage(err)}`,
      );
    }
    const client = authorization.client.toLowerCase();
    try {
      const made = keys.createBound({
        name: `pay-${client.slice(0, 10)}`,
        client,
        digest: checked.digest,
        authorization: { ...authorization },
        signature,
        collected: checked.collected,
      });
      return {
        key: made.key,
        id: made.info.id,
        client,
        cap: authorization.cap,
        expiry: authorization.expiry,
        digest: checked.digest,
      };
    } catch (err) {
      if (isAuthorizationBound(err))
        throw new GatewayError(
          GatewayErrorCode.CONFLICT,
          'A key was already made for this spending authorization; each authorization gets one key. Sign a new authorization (another nonce) for another key.',
          { meta: { param: 'authorization' } },
        );
      throw err;
    }
  }

  let settling: Promise<SettlementResult | undefined> | undefined;

  /** Deposits the unused parts of x402 payments into their payers' accounts (one transaction per payer). */
  async function creditX402(): Promise<void> {
    for (const c of store.x402Open().credits) {
      await engine.call('chain_depositForV1', { client: c.payer, amount: c.amount.toString() });
      store.x402Credited(c.ids);
      logger.info({ payer: c.payer, amount: c.amount.toString() }, 'x402: unused payment credited');
    }
  }

  /**
   * What each voucher can still collect on chain: an authorization whose collected total already reached the
   * charged one (a settlement whose record was lost in a crash) is marked settled and left out, since the
   * escrow refuses a total it already collected; a client that withdrew below the charged total is collected
   * only what its account holds (the rest stays charged and unsettled, and is logged).
   */
  /** Whether an authorization can no longer be collected (its expiry is past, or within 30 s of now). */
  const lapsed = (a: { expiry: bigint }): boolean => a.expiry <= BigInt(Math.floor(now() / 1000)) + 30n;

  async function refreshVouchers(all: ReturnType<PaymentStore['all']>): Promise<void> {
    for (const a of all) {
      // A lapsed authorization is refused by the check below (expired): capVouchers leaves it out.
      if (a.charged <= a.settled || lapsed(a)) continue;
      const checked = await engine.call('chain_checkAuthorizationV1', {
        authorization: a.authorization as z.input<typeof SpendingAuthorizationSchema>,
        signature: a.signature,
      });
      const collected = BigInt(checked.collected);
      if (collected > a.settled) {
        logger.warn(
          { digest: a.digest, collected: collected.toString() },
          'found a settlement the store had lost',
        );
        store.recovered(a.digest, collected);
      }
    }
  }

  /** Caps each voucher at what its client's account holds now (a client may withdraw after being served). */
  async function capVouchers(plan: SettlementPlan, all: ReturnType<PaymentStore['all']>): Promise<void> {
    const byDigest = new Map(all.map((a) => [a.digest, a]));
    const balances = new Map<string, bigint>();
    const kept: SettlementPlan['vouchers'] = [];
    for (const v of plan.vouchers) {
      const a = byDigest.get(v.digest);
      if (a === undefined) continue;
      // An authorization past its expiry cannot be collected any more (the escrow refuses it and would revert
      // the whole batch): what it still owed is lost to this gateway, and said so.
      if (lapsed(a)) {
        logger.warn(
          { digest: a.digest, owed: v.increase.toString() },
          'an authorization expired before it was settled',
        );
        continue;
      }
      let balance = balances.get(a.client);
      if (balance === undefined) {
        balance = BigInt((await engine.call('chain_getPaymentAccountV1', { client: a.client })).balance);
      }
      const increase = v.increase < balance ? v.increase : balance;
      balances.set(a.client, balance - increase);
      if (increase < v.increase)
        logger.warn(
          { client: a.client, charged: v.increase.toString(), collectable: increase.toString() },
          "a client's account holds less than it was charged; collecting what it holds",
        );
      if (increase > 0n)
        kept.push({ digest: v.digest, cumulative: v.cumulative - v.increase + increase, increase });
    }
    plan.vouchers = kept;
    plan.total = kept.reduce((t, v) => t + v.increase, 0n);
  }

  async function settleOnce(): Promise<SettlementResult | undefined> {
    await creditX402();
    await refreshVouchers(store.all());
    const all = store.all();
    const open = store.x402Open();
    const plan = planSettlement(all, store.miners(), open.direct);
    if (plan === undefined) return undefined;
    plan.directIds = open.directIds;
    await capVouchers(plan, all);
    if (plan.total === 0n && plan.direct === 0n) return undefined;
    // At most MAX_VOUCHERS per transaction; the miners' weights are marked settled only with the last batch
    // (weights are relative: the next batch pays them again for what is still unsettled).
    const complete = plan.vouchers.length <= MAX_VOUCHERS;
    const batch: SettlementPlan = complete
      ? plan
      : {
          ...plan,
          vouchers: plan.vouchers.slice(0, MAX_VOUCHERS),
          total: plan.vouchers.slice(0, MAX_VOUCHERS).reduce((s, v) => s + v.increase, 0n),
        };
    const byDigest = new Map(all.map((a) => [a.digest, a]));
    const vouchers = batch.vouchers.map((v) => {
      const a = byDigest.get(v.digest) as (typeof all)[number];
      return {
        authorization: a.authorization as z.input<typeof SpendingAuthorizationSchema>,
        signature: a.signature,
        cumulative: v.cumulative.toString(),
      };
    });
    const result = await engine.call('chain_settlePaymentsV1', {
      netuid: opts.netuid,
      vouchers,
      direct: batch.direct.toString(),
      miners: batch.miners.map((m) => ({ miner: m.miner, weight: m.weight.toString() })),
    });
    store.settled(batch, complete, result);
    logger.info(
      {
        settlementId: result.settlementId,
        total: result.total,
        vouchers: vouchers.length,
        txHash: result.txHash,
      },
      'payments settled',
    );
    return result;
  }

  function settle(): Promise<SettlementResult | undefined> {
    settling ??= settleOnce().finally(() => {
      settling = undefined;
    });
    return settling;
  }

  let timer: NodeJS.Timeout | undefined;

  return {
    store,
    terms,
    pricingOf(model) {
      const t = cached?.terms;
      if (t === undefined) return undefined;
      const m = t.models.find((p) => p.model === model);
      if (m === undefined) return undefined;
      return {
        prompt_per_million: m.promptPerMillion,
        completion_per_million: m.completionPerMillion,
        currency: t.token.symbol,
        decimals: t.token.decimals,
      };
    },
    async info() {
      const t = await terms();
      if (t === undefined)
        throw new GatewayError(GatewayErrorCode.PAYMENTS_UNAVAILABLE, 'This gateway takes no payments.');
      return {
        object: 'payments',
        chain_id: t.chainId,
        block: t.block,
        netuid: opts.netuid,
        gateway: t.gateway,
        token: t.token,
        escrow: t.escrow,
        pricing: t.pricing,
        notice_period_s: t.noticePeriodS,
        models: t.models.map((m) => ({
          id: m.model,
          prompt_per_million: m.promptPerMillion,
          completion_per_million: m.completionPerMillion,
          effective_block: m.effectiveBlock,
          pending: m.pending,
        })),
        split: t.split,
      };
    },
    bindKey,
    begin,
    x402,
    settle,
    start() {
      if (opts.settleIntervalMs <= 0 || timer !== undefined) return;
      timer = setInterval(() => {
        settle().catch((err: unknown) =>
          logger.warn({ err: errorMessage(err) }, 'settlement failed; it is retried next interval'),
        );
      }, opts.settleIntervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await settling?.catch(() => undefined);
    },
  };
}
