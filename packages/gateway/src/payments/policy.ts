/**
 * The gateway's payment policy, pure and in bigint (no I/O, no clock): what a request costs, what it
 * reserves before it is relayed, whether it fits the client's quota, what it is charged after the answer,
 * and what one settlement carries. The I/O around it (`payments/service.ts`, `payments/store.ts`) keeps
 * the state; every figure is computed here.
 *
 * Rules (docs/payments.md, "Gateway"):
 * - cost(p, c) at a price = ceil((p × promptPerMillion + c × completionPerMillion) / 1e6) (the escrow's
 *   `costAt`); the price is the one read at the request's start (its `priceBlock`), whatever happens later.
 * - reserve: the upper bound = cost(prompt bound, completion bound) at that price, where the prompt bound is
 *   the prompt's UTF-8 bytes (no tokenizer makes more tokens than bytes) and the completion bound is
 *   max_tokens + the network's token slack (the validator's counts are clamped to both, `usage.ts`). So the
 *   exact charge never exceeds the reservation.
 * - quota: a request is admitted when, with its bound reserved,
 *     charged + reserved + bound ≤ cap                          (its authorization), and
 *     Σ over the client's authorizations (charged − collected) + Σ reserved + bound ≤ spendable
 *   (the on-chain account balance less a pending withdrawal, which already excludes what was collected),
 *   and the authorization is not expired. Otherwise 429 `insufficient_quota`.
 * - charge: min(exact cost, bound) is added to `charged`, and the bound is released from `reserved`.
 * - settlement: one voucher per authorization whose charged total grew since the last settlement
 *   (cumulative = charged), miners weighted by the unsettled cost they served; applying a settled
 *   snapshot sets `settled` to the snapshot's totals (never adds), so an increase is never settled twice.
 */

/** Units per million tokens, at one block. */
export interface Price {
  promptPerMillion: bigint;
  completionPerMillion: bigint;
}

const MILLION = 1_000_000n;

/** ceil((p × pp + c × cp) / 1e6): the escrow's `costAt`. */
export function costOf(
  promptTokens: number | bigint,
  completionTokens: number | bigint,
  price: Price,
): bigint {
  const p = BigInt(promptTokens);
  const c = BigInt(completionTokens);
  if (p < 0n || c < 0n) throw new RangeError('token counts are non-negative');
  const n = p * price.promptPerMillion + c * price.completionPerMillion;
  return (n + MILLION - 1n) / MILLION;
}

/** One authorization's running figures, in token units. */
export interface AuthorizationState {
  cap: bigint;
  /** Unix seconds from which the escrow refuses to collect under it. */
  expiry: bigint;
  /** Collected on chain (settled by this gateway, or read from the escrow at binding). */
  collected: bigint;
  /** Everything charged under it so far (≥ collected). */
  charged: bigint;
  /** Upper bounds of requests in flight. */
  reserved: bigint;
}

/** Why a request does not fit. */
export type QuotaRefusal = 'expired' | 'cap' | 'balance';

export type QuotaDecision = { ok: true } | { ok: false; reason: QuotaRefusal; available: bigint };

/**
 * Whether a request with upper bound `bound` fits `auth`, given all of the client's authorizations with
 * this gateway (`auth` among them) and the account's `spendable` on chain, at unix second `now`.
 * `expiryMarginS` keeps the last seconds before expiry unused, so a settlement can still collect.
 */
export function decideQuota(
  auth: AuthorizationState,
  clientAuths: readonly AuthorizationState[],
  spendable: bigint,
  bound: bigint,
  now: bigint,
  expiryMarginS = 0n,
): QuotaDecision {
  if (now + expiryMarginS >= auth.expiry) return { ok: false, reason: 'expired', available: 0n };
  const capLeft = auth.cap - auth.charged - auth.reserved;
  let owed = 0n;
  for (const a of clientAuths) owed += a.charged - a.collected + a.reserved;
  const balanceLeft = spendable - owed;
  if (bound > capLeft) return { ok: false, reason: 'cap', available: max0(min(capLeft, balanceLeft)) };
  if (bound > balanceLeft)
    return { ok: false, reason: 'balance', available: max0(min(capLeft, balanceLeft)) };
  return { ok: true };
}

/** Reserves `bound` (after an ok decision). */
export function reserve(auth: AuthorizationState, bound: bigint): AuthorizationState {
  return { ...auth, reserved: auth.reserved + bound };
}

/**
 * Charges a finished request: `cost` capped at its `bound`, and releases the bound. Returns the new state
 * and the amount charged (what the receipt says).
 */
export function charge(
  auth: AuthorizationState,
  bound: bigint,
  cost: bigint,
): { state: AuthorizationState; charged: bigint } {
  const charged = cost < 0n ? 0n : cost > bound ? bound : cost;
  const reserved = auth.reserved - bound;
  return {
    state: { ...auth, reserved: reserved < 0n ? 0n : reserved, charged: auth.charged + charged },
    charged,
  };
}

/** One authorization as settlement sees it. */
export interface SettleableAuth {
  digest: string;
  charged: bigint;
  settled: bigint;
}

export interface MinerServed {
  miner: string;
  /** Cost of every request it served (charged), ever. */
  served: bigint;
  /** The part of `served` already settled. */
  settled: bigint;
}

/** What one settlement carries: the vouchers' cumulative totals, the direct revenue and the miners' weights. */
export interface SettlementPlan {
  vouchers: { digest: string; cumulative: bigint; increase: bigint }[];
  miners: { miner: string; weight: bigint; served: bigint }[];
  /** Σ of the vouchers' increases (what will be collected). */
  total: bigint;
  /** x402 revenue not settled yet, paid into the settlement from the gateway's own balance. */
  direct: bigint;
  /** The store's ids of the x402 payments `direct` is made of (marked settled with the settlement). */
  directIds?: readonly number[];
}

/**
 * The settlement of everything charged and not yet settled (and of `direct` x402 revenue), or undefined when
 * nothing grew.
 */
export function planSettlement(
  auths: readonly SettleableAuth[],
  miners: readonly MinerServed[],
  direct = 0n,
): SettlementPlan | undefined {
  const vouchers: SettlementPlan['vouchers'] = [];
  let total = 0n;
  for (const a of auths) {
    if (a.charged <= a.settled) continue;
    vouchers.push({ digest: a.digest, cumulative: a.charged, increase: a.charged - a.settled });
    total += a.charged - a.settled;
  }
  if (total === 0n && direct <= 0n) return undefined;
  const ms: SettlementPlan['miners'] = [];
  for (const m of miners)
    if (m.served > m.settled) ms.push({ miner: m.miner, weight: m.served - m.settled, served: m.served });
  return { vouchers, miners: ms, total, direct: direct > 0n ? direct : 0n };
}

/**
 * The state after `plan` settled: each voucher's authorization is settled (and collected) up to its
 * cumulative, each miner up to the `served` of the snapshot. Setting, not adding: applying it twice
 * changes nothing.
 */
export function applySettlement(
  plan: SettlementPlan,
  auths: ReadonlyMap<string, SettleableAuth>,
  miners: ReadonlyMap<string, MinerServed>,
): { auths: SettleableAuth[]; miners: MinerServed[] } {
  const outA: SettleableAuth[] = [];
  for (const v of plan.vouchers) {
    const a = auths.get(v.digest);
    if (a !== undefined) outA.push({ ...a, settled: a.settled > v.cumulative ? a.settled : v.cumulative });
  }
  const outM: MinerServed[] = [];
  for (const w of plan.miners) {
    const m = miners.get(w.miner);
    if (m !== undefined) outM.push({ ...m, settled: m.settled > w.served ? m.settled : w.served });
  }
  return { auths: outA, miners: outM };
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
function max0(a: bigint): bigint {
  return a < 0n ? 0n : a;
}
