/**
 * `gateway_getPaymentsV1`: what the gateway charged and settled, read from the payment store
 * (`store.ts`) and the key store (names, revocation). Per account-bound key its authorization and totals,
 * per miner the cost it served and settled, the latest settlements with their split. It names clients: the
 * Engine API serves it to the operator, and the dashboard only with the admin token. An `x402` block is
 * added once a request was paid with x402.
 */
import type { EngineApi, ResultOf } from '@subnet/engine-api';
import type { KeyStore } from '../keys.js';
import type { PaymentStore } from './store.js';

export type PaymentsReport = ResultOf<EngineApi['gateway_getPaymentsV1']>;

/** The report of `store` (and `keys` for the key names), with the newest `settlements` settlements. */
export function paymentsReport(
  store: PaymentStore,
  keys: Pick<KeyStore, 'list'>,
  settlements = 100,
): PaymentsReport {
  const byId = new Map(keys.list({ includeRevoked: true }).map((k) => [k.id, k]));
  const auths = store.all();
  const sum = (f: (a: (typeof auths)[number]) => bigint) => auths.reduce((s, a) => s + f(a), 0n).toString();
  const t = store.x402Totals();
  const x402 =
    t.requests === 0
      ? undefined
      : {
          payments: t.requests,
          paid: t.paid.toString(),
          charged: t.cost.toString(),
          credited: t.credited.toString(),
          settled: t.settledCost.toString(),
        };
  return {
    keys: auths
      .map((a) => {
        const k = byId.get(a.keyId);
        return {
          id: a.keyId,
          name: k?.name ?? '',
          revokedAt: k?.revokedAt ?? null,
          client: a.client,
          digest: a.digest,
          cap: a.cap.toString(),
          expiry: a.expiry.toString(),
          charged: a.charged.toString(),
          collected: a.collected.toString(),
          settled: a.settled.toString(),
          createdAt: k?.createdAt ?? 0,
        };
      })
      .sort((x, y) => x.createdAt - y.createdAt || x.id.localeCompare(y.id))
      .map(({ createdAt: _, ...k }) => k),
    miners: store
      .miners()
      .map((m) => ({ miner: m.miner, served: m.served.toString(), settled: m.settled.toString() }))
      .sort((x, y) => x.miner.localeCompare(y.miner)),
    settlements: store.settlements(settlements),
    totals: {
      charged: sum((a) => a.charged),
      collected: sum((a) => a.collected),
      settled: sum((a) => a.settled),
      settlements: store.settlementCount(),
    },
    ...(x402 === undefined ? {} : { x402 }),
  };
}
