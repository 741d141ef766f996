/**
 * A neuron's network node: the libp2p node keyed by its hotkey, with the admission gate, gossip (heartbeats
 * and app topics), the peer table, discovery (bootstrap, redial, model adverts, finding providers) and both
 * ends of the synapse protocol. The network stack wraps one of these in the Engine API; tests and
 * benchmarks can run many in one process. It talks to nothing but libp2p: what it serves, what its
 * heartbeats say and how it registers its addresses are callbacks its owner passes in.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Config } from '@subnet/config';
import { errorMessage, fromPush, type Logger } from '@subnet/utils';
import type { Registry } from 'prom-client';
import type { Address, Hex } from 'viem';
import { createDiscovery, type Discovery } from './discovery.js';
import { NetworkError, NetworkErrorCode } from './errors.js';
import { createGossip, type Gossip, type GossipMessage, type HeartbeatContent } from './gossip.js';
import { addressOfPeerId, libp2pKeyFromHotkey } from './identity.js';
import { createSubnetLibp2p, type SubnetLibp2p } from './libp2p.js';
import type { Membership } from './membership.js';
import { type NetworkMetrics, networkMetrics } from './metrics.js';
import { createPeerTable, type NetworkPeer, type PeerTable } from './peers.js';
import { createSynapseClient, type SynapseClient, type SynapseResult } from './synapse/client.js';
import type { SynapseKind } from './synapse/protocol.js';
import type { Receipt, ReceiptSigner } from './synapse/receipts.js';
import { createSynapseServer, type SynapseHandler, type SynapseServer } from './synapse/server.js';

export type { SynapseHandler } from './synapse/server.js';

export interface NetworkNodeOpts {
  /** The hotkey's private key: the libp2p identity. */
  privateKey: Hex;
  network: Config['network'];
}

export interface NetworkNodeModules {
  logger: Logger;
  registry: Registry;
  membership: Membership;
  /** Signs receipt roots: the hotkey's account. */
  signer: ReceiptSigner;
  /** Serves synapses (a miner's app stack); without it every synapse is refused as unsupported. */
  handler?: SynapseHandler;
  /** What each heartbeat carries (models, load, hardware); its model ids are advertised on the DHT. */
  heartbeat?: () => Promise<HeartbeatContent>;
  /** Writes this node's peer id and addresses on chain; called when the registered ones differ. */
  registerAddresses?: (info: { peerId: string; multiaddrs: string[] }) => Promise<void>;
}

export interface NetworkStatus {
  peerId: string;
  hotkey: string;
  netuid: number;
  multiaddrs: string[];
  uid: number | null;
  role: 'validator' | 'miner' | null;
  connections: number;
  metagraphBlock: number | null;
  topics: string[];
}

export interface SendSynapseParams {
  peerId?: string | undefined;
  uid?: number | undefined;
  kind: SynapseKind;
  params: unknown;
  timeoutMs: number;
}

export interface NetworkNode {
  readonly peerId: string;
  readonly libp2p: SubnetLibp2p;
  readonly gossip: Gossip;
  readonly synapse: SynapseClient;
  /** The addresses this node announces (without the `/p2p/` suffix). */
  multiaddrs(): string[];
  status(): NetworkStatus;
  peers(opts?: { connectedOnly?: boolean }): NetworkPeer[];
  dial(
    target: { multiaddr?: string | undefined; peerId?: string | undefined },
    opts?: { signal?: AbortSignal },
  ): Promise<{ peerId: string; latencyMs: number }>;
  findProviders(model: string, opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<NetworkPeer[]>;
  publish(topic: string, data: unknown): Promise<{ recipients: number }>;
  /** The topic's messages until `signal` aborts (a slow reader loses messages, never blocks gossip). */
  subscribe(topic: string, opts: { signal: AbortSignal }): AsyncIterable<GossipMessage>;
  sendSynapse(p: SendSynapseParams, opts?: { signal?: AbortSignal }): AsyncIterable<SynapseResult>;
  receipt(requestId: string): Receipt;
  stop(): Promise<void>;
}

const SUBSCRIBER_BUFFER = 1024;

/** Creates and starts a network node. */
export async function createNetworkNode(
  opts: NetworkNodeOpts,
  modules: NetworkNodeModules,
): Promise<NetworkNode> {
  const { logger, membership } = modules;
  const net = opts.network;
  const metrics: NetworkMetrics = networkMetrics(modules.registry);
  const privateKey = libp2pKeyFromHotkey(opts.privateKey);
  const libp2p = await createSubnetLibp2p(
    {
      privateKey,
      netuid: net.netuid,
      listen: net.listen,
      announce: net.announce,
      maxConnections: net.maxConnections,
    },
    {
      membership,
      onRefused: (peerId, direction) => {
        metrics.refused.inc({ layer: 'gate', reason: 'unregistered' });
        logger.debug({ peerId: peerId.toString(), direction }, 'refused an unregistered peer');
      },
    },
  );
  const peerId = libp2p.peerId.toString();
  const hotkey = addressOfPeerId(libp2p.peerId) as Address;

  const gossip = createGossip(
    {
      netuid: net.netuid,
      heartbeatIntervalMs: net.heartbeatIntervalMs,
      maxHeartbeatModels: net.gossip.maxHeartbeatModels,
      heartbeatsPerInterval: net.gossip.heartbeatsPerInterval,
    },
    { libp2p, privateKey, membership, metrics, logger },
  );
  const peers: PeerTable = createPeerTable({}, { libp2p, membership, gossip, metrics, logger });
  const discovery: Discovery = createDiscovery(
    { netuid: net.netuid, bootnodes: net.bootnodes },
    { libp2p, membership, peers, logger },
  );
  const synapse = createSynapseClient(
    {
      netuid: net.netuid,
      maxResponseBytes: net.synapse.maxResponseBytes,
      maxTokenTextBytes: net.synapse.maxTokenTextBytes,
      tokenSlack: net.synapse.tokenSlack,
      maxEmbeddingDims: net.synapse.maxEmbeddingDims,
      maxStrayBytes: net.synapse.maxStrayBytes,
      maxBufferedBytes: net.synapse.maxBufferedBytes,
      overLimitBanMs: net.synapse.overLimitBanMs,
    },
    { libp2p, membership, metrics, logger },
  );
  const handler: SynapseHandler = modules.handler ?? {
    // biome-ignore lint/correctness/useYield: refuses before yielding anything.
    async *serve() {
      throw new NetworkError(NetworkErrorCode.REFUSED, 'this node serves no synapses', {
        meta: { reason: 'unsupported' },
      });
    },
  };
  const server: SynapseServer = createSynapseServer(
    {
      netuid: net.netuid,
      maxRequestBytes: net.synapse.maxRequestBytes,
      maxInFlight: net.synapse.maxInFlight,
      replayWindowMs: net.synapse.replayWindowMs,
      receiptIntervalMs: net.synapse.receiptIntervalMs,
      receiptBatchSize: net.synapse.receiptBatchSize,
      maxStreamsPerConnection: net.synapse.maxStreamsPerConnection,
      maxPendingRequestBytes: net.synapse.maxPendingRequestBytes,
    },
    { libp2p, membership, handler, signer: modules.signer, metrics, logger },
  );

  const announced = (): string[] =>
    net.announce.length > 0
      ? [...net.announce]
      : libp2p.getMultiaddrs().map((a) => a.toString().replace(/\/p2p\/[^/]+$/, ''));

  // Heartbeats carry the owner's content; its model ids are what discovery advertises.
  const heartbeat = modules.heartbeat;
  gossip.setHeartbeat(
    heartbeat === undefined
      ? null
      : async () => {
          const content = await heartbeat();
          discovery.setModels(content.models.map((m) => m.id));
          return content;
        },
  );

  // Register this node's peer id and addresses on chain when the metagraph shows others.
  let lastRegistered = '';
  const checkRegistration = () => {
    const me = membership.byHotkey(hotkey);
    if (me === undefined || !net.registerAddresses || modules.registerAddresses === undefined) return;
    const multiaddrs = announced();
    const wanted = `${peerId} ${multiaddrs.join(',')}`;
    if (me.peerId === peerId && me.multiaddrs.join(',') === multiaddrs.join(',')) return;
    if (wanted === lastRegistered) return;
    lastRegistered = wanted;
    modules.registerAddresses({ peerId, multiaddrs }).then(
      () => logger.info({ peerId, multiaddrs }, 'registered this node’s peer id and addresses on chain'),
      (err: unknown) => {
        lastRegistered = '';
        logger.warn({ err: errorMessage(err) }, 'could not register this node’s addresses on chain');
      },
    );
  };
  const unwatch = membership.onChange(checkRegistration);

  await server.start();
  gossip.start();
  peers.start();
  discovery.start();
  checkRegistration();

  let stopped = false;
  const node: NetworkNode = {
    peerId,
    libp2p,
    gossip,
    synapse,
    multiaddrs: announced,
    status() {
      const me = membership.byHotkey(hotkey);
      return {
        peerId,
        hotkey,
        netuid: net.netuid,
        multiaddrs: libp2p.getMultiaddrs().map(String),
        uid: me?.uid ?? null,
        role: me?.role ?? null,
        connections: libp2p.getConnections().length,
        metagraphBlock: membership.block,
        topics: gossip.topics(),
      };
    },
    peers: (o = {}) => peers.rows(o),
    async dial(target, o = {}) {
      try {
        let remote: string;
        if (target.multiaddr !== undefined) {
          const conn = await libp2p.dial(
            multiaddr(target.multiaddr),
            o.signal === undefined ? {} : { signal: o.signal },
          );
          remote = conn.remotePeer.toString();
        } else {
          const member = membership.byPeer(target.peerId as string);
          if (member === undefined) {
            throw new NetworkError(
              NetworkErrorCode.PEER_NOT_FOUND,
              `${target.peerId} is not registered in the subnet`,
            );
          }
          const id = peerIdFromString(target.peerId as string);
          if (member.multiaddrs.length > 0) {
            await libp2p.peerStore.merge(id, { multiaddrs: member.multiaddrs.map((a) => multiaddr(a)) });
          }
          await libp2p.dial(id, o.signal === undefined ? {} : { signal: o.signal });
          remote = id.toString();
        }
        // A peer whose gate refuses us may let the handshake finish before it hangs up: only a ping that
        // comes back proves the connection is admitted.
        const latencyMs = await peers.ping(remote);
        if (latencyMs === null) {
          throw new NetworkError(
            NetworkErrorCode.DIAL_FAILED,
            `${remote} closed the connection (is this node registered in subnet ${net.netuid}?)`,
          );
        }
        return { peerId: remote, latencyMs };
      } catch (err) {
        if (err instanceof NetworkError) throw err;
        throw new NetworkError(NetworkErrorCode.DIAL_FAILED, `cannot connect: ${errorMessage(err)}`, {
          cause: err,
        });
      }
    },
    findProviders: (model, o = {}) => discovery.findProviders(model, o),
    publish: (topic, data) => gossip.publish(topic, data),
    subscribe: (topic, o) =>
      fromPush<GossipMessage>(
        o.signal,
        (push, _fail, done) => {
          const unsubscribe = gossip.subscribe(topic, push);
          done.addEventListener('abort', unsubscribe, { once: true });
        },
        { capacity: SUBSCRIBER_BUFFER },
      ),
    sendSynapse(p, o = {}) {
      let target = p.peerId;
      if (p.uid !== undefined) {
        const member = membership.byUid(p.uid);
        if (member === undefined) {
          throw new NetworkError(
            NetworkErrorCode.PEER_NOT_FOUND,
            `no neuron with uid ${p.uid} in subnet ${net.netuid}`,
          );
        }
        target = member.peerId;
      }
      if (target === undefined || target === '') {
        throw new NetworkError(NetworkErrorCode.PEER_NOT_FOUND, 'that neuron has not registered a peer id');
      }
      return synapse.request(
        target,
        { kind: p.kind, params: p.params as never, deadlineMs: p.timeoutMs },
        { signal: o.signal },
      );
    },
    receipt: (requestId) => synapse.receipts.get(requestId),
    async stop() {
      if (stopped) return;
      stopped = true;
      unwatch();
      discovery.stop();
      peers.stop();
      gossip.stop();
      await synapse.stop();
      await server.stop();
      await libp2p.stop();
    },
  };
  return node;
}
