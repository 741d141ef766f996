/**
 * The gateway stack: a validator's OpenAI-compatible front door. It serves `gateway_*` over the Engine API
 * (keys, status, outcomes, payments) and runs the HTTP server on `gateway.host:gateway.port`. Requests are routed to
 * miners through the network stack (`network_listPeersV1`, `network_findProvidersV1`,
 * `network_sendSynapseV1`); keys and usage live in SQLite (`gateway.dbFile`). It reaches the other stacks
 * only through `modules.engine`.
 */
import { join } from 'node:path';
import type { Config } from '@subnet/config';
import { adminTokenFileOf, createDashboard, type Dashboard } from '@subnet/dashboard';
import {
  defineApi,
  defineStack,
  type EngineApi,
  type EngineClient,
  EngineError,
  gatewayErrors,
  gatewayMethods,
  type Handlers,
} from '@subnet/engine-api';
import { errorMessage, fromPush } from '@subnet/utils';
import { createKeyStore, isKeyNotFound } from './keys.js';
import { createLimiter } from './limits.js';
import { createOpenAiServer } from './openai/server.js';
import { paymentsReport } from './payments/report.js';
import { createPayments, type Payments } from './payments/service.js';
import { createRouter, type Outcome } from './router.js';

export const gatewayApi = defineApi(gatewayMethods);

/** What the gateway stack reads from the node config. */
export interface GatewayStackOpts {
  dataDir: string;
  gateway: Config['gateway'];
  /** The subnet the dashboard shows. */
  netuid: number;
  /** The Engine API JWT secret, shared with the dashboard's managed nodes. */
  jwtSecretFile?: string;
}

async function guard<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof EngineError) throw err;
    if (isKeyNotFound(err)) throw EngineError.of(gatewayErrors.KEY_NOT_FOUND, errorMessage(err));
    throw EngineError.std('INTERNAL_ERROR', errorMessage(err));
  }
}

export default defineStack({
  api: gatewayApi,
  options: (config): GatewayStackOpts => {
    const c = config as Config;
    return {
      dataDir: c.dataDir,
      gateway: c.gateway,
      netuid: c.network.netuid,
      ...(c.engine.jwtSecretFile === undefined ? {} : { jwtSecretFile: c.engine.jwtSecretFile }),
    };
  },
  create: async (opts: GatewayStackOpts, modules) => {
    const g = opts.gateway;
    const engine = modules.engine as unknown as EngineClient<EngineApi>;
    const keys = createKeyStore({
      file: g.dbFile ?? join(opts.dataDir, 'gateway.sqlite'),
      defaults: { requestsPerMinute: g.requestsPerMinute, tokensPerMinute: g.tokensPerMinute },
    });
    const router = createRouter(
      {
        requestTimeoutMs: g.requestTimeoutMs,
        maxAttempts: g.maxAttempts,
        firstEventTimeoutMs: g.firstEventTimeoutMs,
        providerRefreshMs: g.providerRefreshMs,
        routingPollMs: g.routingPollMs,
      },
      { engine, logger: modules.logger },
    );
    const payments: Payments = createPayments(
      {
        netuid: opts.netuid,
        x402Limits: { requestsPerMinute: g.requestsPerMinute, tokensPerMinute: g.tokensPerMinute },
        settleIntervalMs: g.payments.settleIntervalMs,
        priceRefreshMs: g.payments.priceRefreshMs,
      },
      { engine, keys, logger: modules.logger },
    );
    let dashboard: Dashboard | undefined;
    let server: Awaited<ReturnType<typeof createOpenAiServer>>;
    try {
      if (g.dashboard.enabled)
        dashboard = await createDashboard(
          {
            netuid: opts.netuid,
            adminTokenFile: adminTokenFileOf(opts.dataDir, g.adminTokenFile),
            nodes: g.dashboard.nodes,
            ...(opts.jwtSecretFile === undefined ? {} : { jwtSecretFile: opts.jwtSecretFile }),
          },
          { engine, logger: modules.logger },
        );
      server = await createOpenAiServer(
        {
          host: g.host,
          port: g.port,
          maxBodyBytes: g.maxBodyBytes,
          requestTimeoutMs: g.requestTimeoutMs,
          keyBindsPerMinute: g.payments.keyBindsPerMinute,
        },
        {
          router,
          keys,
          limiter: createLimiter(),
          usage: keys,
          payments,
          logger: modules.logger,
          registry: modules.registry,
          ...(dashboard === undefined ? {} : { other: dashboard.handle }),
        },
      );
    } catch (err) {
      await dashboard?.close();
      keys.close();
      throw err;
    }
    router.start();
    payments.start();
    modules.logger.info(
      { url: server.url, ...(dashboard === undefined ? {} : { dashboard: `${server.url}/` }) },
      'gateway listening',
    );

    const handlers: Handlers<typeof gatewayApi> = {
      gateway_createKeyV1: (p) => guard(() => keys.create(p)),
      gateway_listKeysV1: ({ includeRevoked }) => guard(() => ({ keys: keys.list({ includeRevoked }) })),
      gateway_revokeKeyV1: ({ id }) => guard(() => ({ revoked: keys.revoke(id) })),
      gateway_getStatusV1: (_p, ctx) =>
        guard(async () => ({
          url: server.url,
          models: await router.models({ signal: ctx.signal }),
          miners: router.stats(),
          requests: router.requests,
        })),
      gateway_getPaymentsV1: ({ settlements }) =>
        guard(() => paymentsReport(payments.store, keys, settlements)),
      // A slow reader loses outcomes rather than holding up requests.
      gateway_watchOutcomesV1: ({ sampleRate }, ctx) =>
        fromPush<Outcome>(
          ctx.signal,
          (push, _fail, done) => {
            const off = router.onOutcome(push, { sampleRate });
            done.addEventListener('abort', off, { once: true });
          },
          { capacity: 4096 },
        ),
    };
    return {
      handlers,
      stop: async () => {
        router.stop();
        await payments.stop();
        await dashboard?.close();
        await server.close();
        keys.close();
      },
    };
  },
});
