/**
 * The dashboard's payments view (issue 15), through the Engine API only: the chain stack's payment terms
 * (`chain_getPaymentsV1`) and each metagraph miner's earnings (`chain_getMinerEarningsV1`), read together
 * and reused for `PAYMENTS_TTL_MS` like the collector's other chain reads (one read in flight at a time);
 * a client's prepaid account (`chain_getPaymentAccountV1`, reused for a few seconds per address); and the
 * gateway's spend per key and settlements (`gateway_getPaymentsV1`, admin). A chain without payment
 * contracts (`PAYMENTS_NOT_DEPLOYED`) or a node without the payment methods (`METHOD_NOT_FOUND`) answers
 * `{ enabled: false }`.
 */
import type { EngineApi, EngineClient, ResultOf } from '@subnet/engine-api';
import { hasCode } from '@subnet/utils';
import type { PaymentAccount, PaymentKeys, Payments } from './api.js';

/** How long the terms and miners' earnings are reused. */
export const PAYMENTS_TTL_MS = 10_000;
/** How long one client's account read is reused, and how many are kept. */
const ACCOUNT_TTL_MS = 5000;
const MAX_ACCOUNTS = 256;
const CALL_TIMEOUT_MS = 10_000;

type Terms = ResultOf<EngineApi['chain_getPaymentsV1']>;

export interface PaymentsViewModules {
  engine: EngineClient<EngineApi>;
  /** The metagraph's miners now (the collector's). */
  miners: () => { uid: number; hotkey: string }[];
  now?: () => number;
}

export interface PaymentsView {
  info(signal: AbortSignal): Promise<Payments>;
  account(address: string, signal: AbortSignal): Promise<PaymentAccount>;
  keys(signal: AbortSignal): Promise<PaymentKeys>;
}

/** Whether `err` says this chain or node takes no payments. */
function isDisabled(err: unknown): boolean {
  return hasCode(err) && (err.code === 'PAYMENTS_NOT_DEPLOYED' || err.code === 'METHOD_NOT_FOUND');
}

const tokenOf = (t: Terms) => ({
  address: t.token.address,
  name: t.token.name,
  symbol: t.token.symbol,
  decimals: t.token.decimals,
});

export function createPaymentsView(opts: { netuid: number }, modules: PaymentsViewModules): PaymentsView {
  const { engine } = modules;
  const now = modules.now ?? Date.now;
  let cached: { at: number; value: Payments; terms: Terms | undefined } | undefined;
  let loading: Promise<{ value: Payments; terms: Terms | undefined }> | undefined;
  const accounts = new Map<string, { at: number; value: PaymentAccount }>();
  // Reads shared by several requests are not cut short by the one that started them.
  const shared = () => ({ timeoutMs: CALL_TIMEOUT_MS });

  async function load(): Promise<{ value: Payments; terms: Terms | undefined }> {
    let terms: Terms;
    try {
      terms = await engine.call('chain_getPaymentsV1', { netuid: opts.netuid }, shared());
    } catch (err) {
      if (isDisabled(err)) return { value: { enabled: false }, terms: undefined };
      throw err;
    }
    const miners = await Promise.all(
      modules.miners().map(async (m) => {
        const e = await engine.call('chain_getMinerEarningsV1', { miner: m.hotkey }, shared());
        return { uid: m.uid, hotkey: m.hotkey, unclaimed: e.unclaimed, claimed: e.claimed };
      }),
    );
    return {
      terms,
      value: {
        enabled: true,
        chainId: terms.chainId,
        block: terms.block,
        token: tokenOf(terms),
        escrow: terms.escrow,
        gateway: terms.gateway,
        noticePeriodS: terms.noticePeriodS,
        models: terms.models.map((m) => ({
          model: m.model,
          promptPerMillion: m.promptPerMillion,
          completionPerMillion: m.completionPerMillion,
          effectiveBlock: m.effectiveBlock,
          pending: m.pending,
        })),
        split: terms.split,
        miners,
      },
    };
  }

  async function current(signal: AbortSignal): Promise<{ value: Payments; terms: Terms | undefined }> {
    if (cached !== undefined && now() - cached.at < PAYMENTS_TTL_MS) return cached;
    if (loading === undefined)
      loading = load()
        .then((r) => {
          cached = { at: now(), ...r };
          return r;
        })
        .finally(() => {
          loading = undefined;
        });
    const p = loading;
    return await new Promise((resolve, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      p.then(resolve, reject);
    });
  }

  return {
    async info(signal) {
      return (await current(signal)).value;
    },

    async account(address, signal) {
      const client = address.toLowerCase();
      const hit = accounts.get(client);
      if (hit !== undefined && now() - hit.at < ACCOUNT_TTL_MS) return hit.value;
      const { terms } = await current(signal);
      if (terms === undefined) return { enabled: false };
      let value: PaymentAccount;
      try {
        const a = await engine.call(
          'chain_getPaymentAccountV1',
          { client: address, ...(terms.gateway === null ? {} : { gateway: terms.gateway }) },
          { signal, timeoutMs: CALL_TIMEOUT_MS },
        );
        value = { enabled: true, token: tokenOf(terms), ...a };
      } catch (err) {
        if (!isDisabled(err)) throw err;
        value = { enabled: false };
      }
      if (accounts.size >= MAX_ACCOUNTS) accounts.delete(accounts.keys().next().value as string);
      accounts.set(client, { at: now(), value });
      return value;
    },

    async keys(signal) {
      const { terms } = await current(signal);
      if (terms === undefined) return { enabled: false };
      let r: ResultOf<EngineApi['gateway_getPaymentsV1']>;
      try {
        r = await engine.call(
          'gateway_getPaymentsV1',
          { settlements: 100 },
          { signal, timeoutMs: CALL_TIMEOUT_MS },
        );
      } catch (err) {
        if (isDisabled(err)) return { enabled: false };
        throw err;
      }
      const uids = new Map(modules.miners().map((m) => [m.hotkey.toLowerCase(), m.uid]));
      return {
        enabled: true,
        token: tokenOf(terms),
        keys: r.keys,
        miners: r.miners.map((m) => ({ ...m, uid: uids.get(m.miner.toLowerCase()) ?? null })),
        settlements: r.settlements,
        totals: r.totals,
        ...(r.x402 === undefined ? {} : { x402: r.x402 }),
      };
    },
  };
}
