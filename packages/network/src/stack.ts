/**
 * The network stack: serves `network_*` over the Engine API and runs this neuron's libp2p node, keyed by
 * its hotkey. It learns who is registered from the chain stack (`chain_watchMetagraphV1`, followed for as
 * long as the stack runs, across chain stack restarts), serves synapses to validators by calling the app
 * stack (`app_generateV1`, `app_embedV1`, `app_getCapabilitiesV1`), gossips heartbeats built from the app
 * stack's capabilities and load, and advertises its models on the DHT. It reaches the other stacks only
 * through `modules.engine`, so in split mode it keeps its connections while the app stack restarts. When
 * configured, it also carries llama.cpp's RPC protocol between a pipeline group's members (llamaRpc.ts).
 */
import type { Config } from '@subnet/config';
import {
  defineApi,
  defineStack,
  type EngineApi,
  type EngineClient,
  EngineError,
  type Handlers,
  networkErrors,
  networkMethods,
} from '@subnet/engine-api';
import { errorMessage, type Logger, reopen } from '@subnet/utils';
import { DEFAULT_PASSWORD_ENV, unlockNodeHotkey } from '@subnet/wallet';
import { privateKeyToAccount } from 'viem/accounts';
import { NetworkError, NetworkErrorCode } from './errors.js';
import type { HeartbeatContent } from './gossip.js';
import {
  type LlamaRpcModules,
  type LlamaRpcServer,
  type LlamaRpcTunnel,
  openLlamaRpcTunnel,
  serveLlamaRpc,
} from './llamaRpc.js';
import { createMembership, type Membership } from './membership.js';
import { networkMetrics } from './metrics.js';
import { createNetworkNode, type NetworkNode, type SynapseHandler } from './node.js';
import type { SynapseKind } from './synapse/protocol.js';
import type { SynapseContext } from './synapse/server.js';

export const networkApi = defineApi(networkMethods);

/** What the network stack reads from the node config. */
export interface NetworkStackOpts {
  dataDir: string;
  chain: Config['chain'];
  network: Config['network'];
}

const ERROR_DEFS = {
  [NetworkErrorCode.PEER_NOT_FOUND]: networkErrors.PEER_NOT_FOUND,
  [NetworkErrorCode.DIAL_FAILED]: networkErrors.DIAL_FAILED,
  [NetworkErrorCode.REFUSED]: networkErrors.REFUSED,
  [NetworkErrorCode.REMOTE_ERROR]: networkErrors.REMOTE_ERROR,
  [NetworkErrorCode.PEER_GONE]: networkErrors.PEER_GONE,
  [NetworkErrorCode.TIMEOUT]: networkErrors.TIMEOUT,
  [NetworkErrorCode.NOT_READY]: networkErrors.NOT_READY,
  [NetworkErrorCode.RECEIPT_PENDING]: networkErrors.RECEIPT_PENDING,
  [NetworkErrorCode.RECEIPT_NOT_FOUND]: networkErrors.RECEIPT_NOT_FOUND,
} as const;

/** Maps a network failure to the Engine API's network error codes. */
export function engineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (!(err instanceof NetworkError)) return EngineError.std('INTERNAL_ERROR', errorMessage(err));
  if (err.code === NetworkErrorCode.INVALID_INPUT) return EngineError.std('INVALID_PARAMS', err.message);
  if (err.code === NetworkErrorCode.CANCELLED) return EngineError.std('CANCELLED', err.message);
  // A miner over a bound is the miner's failure: REMOTE_ERROR with remoteCode OVER_LIMIT and the limit.
  const over = err.code === NetworkErrorCode.OVER_LIMIT;
  const def = over ? networkErrors.REMOTE_ERROR : ERROR_DEFS[err.code as keyof typeof ERROR_DEFS];
  if (def === undefined) return EngineError.std('INTERNAL_ERROR', err.message);
  const remote = over ? 'OVER_LIMIT' : err.meta?.remoteCode;
  const data = {
    ...(err.meta?.reason === undefined ? {} : { reason: err.meta.reason }),
    ...(remote === undefined ? {} : { remoteCode: remote }),
    ...(err.meta?.limit === undefined ? {} : { limit: err.meta.limit }),
    ...(err.meta?.peerId === undefined ? {} : { peerId: err.meta.peerId }),
  };
  return EngineError.of(def, err.message, Object.keys(data).length === 0 ? undefined : data);
}

async function guard<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw engineError(err);
  }
}

/**
 * Follows the chain stack's metagraph stream into `membership` until `signal` aborts, reconnecting with
 * backoff when the chain stack is down or restarts (the stream ends or fails).
 */
export async function followMetagraph(
  engine: EngineClient<EngineApi>,
  netuid: number,
  membership: Membership,
  ctx: { signal: AbortSignal; logger: Logger },
): Promise<void> {
  await reopen(
    async ({ signal, healthy }) => {
      const stream = await engine.stream('chain_watchMetagraphV1', { netuid }, { signal });
      for await (const snapshot of stream) {
        membership.update(snapshot);
        healthy();
      }
    },
    {
      signal: ctx.signal,
      onError: (err, retryInMs) => {
        ctx.logger.warn({ err: errorMessage(err), retryInMs }, 'metagraph stream failed; retrying');
        return undefined;
      },
    },
  );
}

/** The synapse handler of a miner: each kind answered by the app stack through the Engine API. */
export function appSynapseHandler(engine: EngineClient<EngineApi>): SynapseHandler {
  return {
    serve: async function* (kind: SynapseKind, params: unknown, ctx: SynapseContext) {
      switch (kind) {
        case 'generate': {
          const stream = await engine.stream('app_generateV1', params as never, { signal: ctx.signal });
          yield* stream;
          return;
        }
        case 'embed':
          yield await engine.call('app_embedV1', params as never, { signal: ctx.signal, timeoutMs: 120_000 });
          return;
        case 'capabilities':
          yield await engine.call('app_getCapabilitiesV1', {}, { signal: ctx.signal });
          return;
      }
    } as SynapseHandler['serve'],
  };
}

/**
 * What this node's heartbeats say, from the app stack: its models, hardware and load. A node without an
 * app stack (a validator) has no models and no load.
 */
export function appHeartbeat(engine: EngineClient<EngineApi>): () => Promise<HeartbeatContent> {
  return async () => {
    const [caps, stats] = await Promise.all([
      engine.call('app_getCapabilitiesV1', {}, { timeoutMs: 5000 }).catch(() => undefined),
      engine.call('app_getStatsV1', {}, { timeoutMs: 5000 }).catch(() => undefined),
    ]);
    const perModel = Object.values(stats?.models ?? {});
    const queued = perModel.reduce((n, m) => n + m.queued, 0);
    const running = perModel.reduce((n, m) => n + m.running, 0);
    return {
      models: caps?.models ?? [],
      load: { queued, running },
      queueDepth: queued,
      hardware: caps?.hardware ?? null,
    };
  };
}

/**
 * Starts `network.llamaRpc` on a running node: the member's endpoint when `serve` is set, and the lead's
 * loopback listener of each tunnel. Returns the function that closes them all; on a failure closes what it
 * opened and throws (a tunnel port in use is LISTEN_FAILED).
 */
export async function startLlamaRpc(
  cfg: Config['network']['llamaRpc'],
  node: NetworkNode,
  modules: LlamaRpcModules,
  io: { signal?: AbortSignal | undefined } = {},
): Promise<() => Promise<void>> {
  const opened: (LlamaRpcServer | LlamaRpcTunnel)[] = [];
  const close = async () => {
    await Promise.all(opened.splice(0).map((o) => o.close()));
  };
  try {
    if (cfg.serve !== undefined) {
      opened.push(await serveLlamaRpc(cfg.serve, { ...modules, libp2p: node.libp2p }));
    }
    for (const t of cfg.tunnels) {
      opened.push(await openLlamaRpcTunnel(t, { ...modules, libp2p: node.libp2p }, io));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return close;
}

/** Unlocks this node's hotkey (the same wallet the chain stack signs with): its libp2p identity. */
async function unlockHotkey(opts: NetworkStackOpts) {
  const key = await unlockNodeHotkey({
    dataDir: opts.dataDir,
    wallet: opts.chain.wallet,
    hotkey: opts.chain.hotkey,
    passwordFile: opts.chain.passwordFile,
  });
  if (key === undefined) {
    throw new NetworkError(
      NetworkErrorCode.INVALID_INPUT,
      `the network stack needs its hotkey: set chain.passwordFile or ${DEFAULT_PASSWORD_ENV} for wallet ${opts.chain.wallet}`,
    );
  }
  return key;
}

/** The `network_*` handlers over a running network node (exported for tests). */
export function networkHandlers(node: NetworkNode): Handlers<typeof networkApi> {
  return {
    network_getStatusV1: () => guard(() => node.status()),
    network_listPeersV1: ({ connectedOnly }) => guard(() => ({ peers: node.peers({ connectedOnly }) })),
    network_dialV1: (p, ctx) => guard(() => node.dial(p, { signal: ctx.signal })),
    network_findProvidersV1: ({ model, timeoutMs }, ctx) =>
      guard(async () => ({ providers: await node.findProviders(model, { timeoutMs, signal: ctx.signal }) })),
    network_publishV1: ({ topic, data }) => guard(() => node.publish(topic, data)),
    network_subscribeV1: ({ topic }, ctx) => node.subscribe(topic, { signal: ctx.signal }),
    network_sendSynapseV1: (p, ctx) =>
      (async function* () {
        try {
          yield* node.sendSynapse(p, { signal: ctx.signal });
        } catch (err) {
          throw engineError(err);
        }
      })(),
    network_getReceiptV1: ({ requestId }) => guard(() => node.receipt(requestId)),
  };
}

export default defineStack({
  api: networkApi,
  options: (config): NetworkStackOpts => {
    const c = config as Config;
    return { dataDir: c.dataDir, chain: c.chain, network: c.network };
  },
  create: async (opts: NetworkStackOpts, modules) => {
    const engine = modules.engine as unknown as EngineClient<EngineApi>;
    const privateKey = await unlockHotkey(opts);
    const account = privateKeyToAccount(privateKey);
    const membership = createMembership({
      logger: modules.logger,
      metrics: networkMetrics(modules.registry),
    });
    const netuid = opts.network.netuid;
    const node = await createNetworkNode(
      { privateKey, network: opts.network },
      {
        logger: modules.logger,
        registry: modules.registry,
        membership,
        signer: account,
        handler: appSynapseHandler(engine),
        heartbeat: appHeartbeat(engine),
        registerAddresses: async ({ peerId, multiaddrs }) => {
          await engine.call(
            'chain_updateServiceInfoV1',
            { netuid, peerId, multiaddrs },
            { timeoutMs: 30_000 },
          );
        },
      },
    );
    let closeLlamaRpc: () => Promise<void>;
    try {
      closeLlamaRpc = await startLlamaRpc(
        opts.network.llamaRpc,
        node,
        { membership, metrics: networkMetrics(modules.registry), logger: modules.logger },
        { signal: modules.signal },
      );
    } catch (err) {
      await node.stop();
      throw err;
    }
    void followMetagraph(engine, netuid, membership, {
      signal: modules.signal,
      logger: modules.logger,
    });
    modules.logger.info(
      { peerId: node.peerId, hotkey: account.address, multiaddrs: node.multiaddrs() },
      'network stack ready',
    );
    return {
      handlers: networkHandlers(node),
      stop: async () => {
        await closeLlamaRpc();
        await node.stop();
      },
    };
  },
});
