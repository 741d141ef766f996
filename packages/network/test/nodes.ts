/**
 * Test fixture for gossip and discovery: full network-stack nodes (libp2p, gossip, peer table, discovery)
 * for test neurons on loopback, each with its own metrics registry, and small helpers to read counters.
 */
import type { PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { AppModelInfoSchema } from '@subnet/engine-api';
import { Registry } from 'prom-client';
import type { z } from 'zod';
import { createDiscovery, type Discovery, type DiscoveryOpts } from '../src/discovery.js';
import { createGossip, type Gossip } from '../src/gossip.js';
import { libp2pKeyFromHotkey } from '../src/identity.js';
import { createSubnetLibp2p, type SubnetLibp2p } from '../src/libp2p.js';
import type { Membership } from '../src/membership.js';
import { type NetworkMetrics, networkMetrics } from '../src/metrics.js';
import { createPeerTable, type PeerTable } from '../src/peers.js';
import { startLibp2p, type TestNeuron } from './helpers.js';

export interface TestNode {
  neuron: TestNeuron;
  libp2p: SubnetLibp2p;
  gossip: Gossip;
  peers: PeerTable;
  discovery: Discovery;
  metrics: NetworkMetrics;
  stop(): Promise<void>;
}

export function modelInfo(id: string): z.infer<typeof AppModelInfoSchema> {
  return { id, backend: 'openai', taskTypes: ['chat'], contextLength: 4096, modelType: 'llm', features: [] };
}

export interface StartNodeOpts {
  heartbeatIntervalMs?: number;
  /** Models this node serves (heartbeat and DHT); none for validators. */
  models?: string[];
  /** Publish heartbeats (default true). */
  heartbeats?: boolean;
  discovery?: Partial<DiscoveryOpts>;
  /** Start discovery (default false: tests dial by hand). */
  discover?: boolean;
  /** Listen addresses (default: TCP and WebSockets on free ports). */
  listen?: string[];
}

/** Starts the network stack of one neuron on 127.0.0.1. */
export async function startNode(
  neuron: TestNeuron,
  membership: Membership,
  opts: StartNodeOpts = {},
): Promise<TestNode> {
  const metrics = networkMetrics(new Registry());
  const onRefused = () => {
    metrics.refused.inc({ layer: 'gate', reason: 'unregistered' });
  };
  const libp2p =
    opts.listen === undefined
      ? await startLibp2p(neuron, membership, onRefused)
      : await createSubnetLibp2p(
          { privateKey: libp2pKeyFromHotkey(neuron.privateKey), netuid: 1, listen: opts.listen },
          { membership, onRefused },
        );
  const gossip = createGossip(
    { netuid: 1, heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 300 },
    { libp2p, privateKey: libp2pKeyFromHotkey(neuron.privateKey), membership, metrics },
  );
  const models = opts.models ?? [];
  if (opts.heartbeats !== false) {
    gossip.setHeartbeat(() => ({
      models: models.map(modelInfo),
      load: { queued: 0, running: 1 },
      queueDepth: 0,
      hardware: { cpus: 2, memoryBytes: 1 << 30, gpu: null },
    }));
  }
  const peers = createPeerTable({}, { libp2p, membership, gossip, metrics });
  const discovery = createDiscovery(
    { netuid: 1, minBackoffMs: 200, maxBackoffMs: 2000, dialTimeoutMs: 3000, ...opts.discovery },
    { libp2p, membership, peers },
  );
  peers.start();
  gossip.start();
  if (opts.discover === true) discovery.start();
  discovery.setModels(models);
  return {
    neuron,
    libp2p,
    gossip,
    peers,
    discovery,
    metrics,
    async stop() {
      discovery.stop();
      gossip.stop();
      peers.stop();
      await libp2p.stop();
    },
  };
}

/** The value of a counter for the given labels (0 when never incremented). */
export async function counted(
  metric: NetworkMetrics['refused'] | NetworkMetrics['gossip'],
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) =>
      Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
    )
    .reduce((sum, v) => sum + v.value, 0);
}

/** The TCP multiaddr of a node (with `/p2p/<peerId>`). */
export function tcpAddr(node: SubnetLibp2p): string {
  const addr = node.getMultiaddrs().find((a) => !a.toString().includes('/ws'));
  if (addr === undefined) throw new Error('no TCP address');
  return addr.toString();
}

/** Dials `to` from `from` by its TCP address. */
export async function connect(from: SubnetLibp2p, to: SubnetLibp2p): Promise<void> {
  await from.dial(multiaddr(tcpAddr(to)));
}

export function isConnected(node: SubnetLibp2p, peer: PeerId | string): boolean {
  const id = peer.toString();
  return node.getConnections().some((c) => c.remotePeer.toString() === id);
}
