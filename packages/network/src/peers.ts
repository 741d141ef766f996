/**
 * The peer table: what this node knows of each registered neuron — its membership (uid, hotkey, role,
 * permit, addresses), whether it is connected, its last ping round trip, and its latest heartbeat (models,
 * load, hardware). Rows have the `network_listPeersV1` shape. Peers that leave the metagraph are forgotten.
 * It only listens and pings; it never dials (discovery.ts does).
 */
import type { PeerId } from '@libp2p/interface';
import type { NetworkPeerSchema } from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';
import type { z } from 'zod';
import type { Gossip, Heartbeat } from './gossip.js';
import { addressOfPeerId } from './identity.js';
import { onPeerEvents, type SubnetLibp2p } from './libp2p.js';
import type { Member, Membership } from './membership.js';
import type { NetworkMetrics } from './metrics.js';

/** A row of the peer table (`NetworkPeerSchema`). */
export type NetworkPeer = z.infer<typeof NetworkPeerSchema>;

export interface PeerTableOpts {
  /** Ping a peer again after this many of its heartbeats (default 6); every peer is pinged on connect. */
  pingEveryHeartbeats?: number;
  /** Deadline of one ping (default 2 s). */
  pingTimeoutMs?: number;
}

export interface PeerTableModules {
  libp2p: SubnetLibp2p;
  membership: Membership;
  /** Heartbeats come from here; without it the rows carry no heartbeat state. */
  gossip?: Gossip;
  metrics?: NetworkMetrics;
  logger?: Logger;
}

export interface PeerTable {
  /** Starts listening to connections and heartbeats. Idempotent. */
  start(): void;
  /** Stops listening (the state is kept). Idempotent. */
  stop(): void;
  /** One row per registered neuron other than this node, by uid; `connectedOnly` keeps connected ones. */
  rows(opts?: { connectedOnly?: boolean }): NetworkPeer[];
  /** The row of one peer, if it is a registered neuron. */
  get(peerId: string): NetworkPeer | undefined;
  /** The latest heartbeat of a peer. */
  heartbeat(peerId: string): { heartbeat: Heartbeat; receivedAt: number } | undefined;
  /** Pings a peer now and records the round trip (ms); null when the ping failed. */
  ping(peerId: PeerId | string): Promise<number | null>;
}

interface PeerState {
  heartbeat?: Heartbeat;
  lastHeartbeatAt?: number;
  heartbeatsSincePing: number;
  latencyMs?: number;
  pinging: boolean;
}

/** Creates the peer table of a node. */
export function createPeerTable(opts: PeerTableOpts, modules: PeerTableModules): PeerTable {
  const { libp2p, membership, gossip, metrics, logger } = modules;
  const pingEvery = opts.pingEveryHeartbeats ?? 6;
  const pingTimeoutMs = opts.pingTimeoutMs ?? 2000;
  const self = libp2p.peerId.toString();
  const state = new Map<string, PeerState>();
  const unsubscribe: (() => void)[] = [];
  let started = false;

  const stateOf = (peerId: string): PeerState => {
    let s = state.get(peerId);
    if (s === undefined) {
      s = { heartbeatsSincePing: 0, pinging: false };
      state.set(peerId, s);
    }
    return s;
  };

  const ping = async (peerId: PeerId | string): Promise<number | null> => {
    const id = peerId.toString();
    if (membership.byPeer(id) === undefined || id === self) return null;
    const s = stateOf(id);
    if (s.pinging) return s.latencyMs ?? null;
    s.pinging = true;
    try {
      const target = libp2p.getConnections().find((c) => c.remotePeer.toString() === id)?.remotePeer;
      if (target === undefined) return null;
      const ms = await libp2p.services.ping.ping(target, { signal: AbortSignal.timeout(pingTimeoutMs) });
      s.latencyMs = ms;
      s.heartbeatsSincePing = 0;
      return ms;
    } catch (err) {
      logger?.debug({ peerId: id, err: errorMessage(err) }, 'ping failed');
      return null;
    } finally {
      s.pinging = false;
    }
  };

  const updatePeersGauge = (): void => {
    metrics?.peers.set(libp2p.getPeers().length);
  };

  const onConnect = (event: CustomEvent<PeerId>): void => {
    updatePeersGauge();
    void ping(event.detail);
  };

  const onDisconnect = (): void => {
    updatePeersGauge();
  };

  const onHeartbeat = ({ heartbeat, receivedAt }: { heartbeat: Heartbeat; receivedAt: number }): void => {
    if (membership.byPeer(heartbeat.peerId) === undefined) return;
    const s = stateOf(heartbeat.peerId);
    s.heartbeat = heartbeat;
    s.lastHeartbeatAt = receivedAt;
    s.heartbeatsSincePing += 1;
    if (s.latencyMs === undefined || s.heartbeatsSincePing >= pingEvery) void ping(heartbeat.peerId);
  };

  const connectedPeers = (): Map<string, string[]> => {
    const out = new Map<string, string[]>();
    for (const c of libp2p.getConnections()) {
      const id = c.remotePeer.toString();
      const addrs = out.get(id) ?? [];
      addrs.push(c.remoteAddr.toString());
      out.set(id, addrs);
    }
    return out;
  };

  const rowOf = (m: Member, connected: Map<string, string[]>): NetworkPeer => {
    const s = state.get(m.peerId);
    const hb = s?.heartbeat;
    const remote = connected.get(m.peerId);
    return {
      peerId: m.peerId,
      hotkey: m.hotkey,
      uid: m.uid,
      role: m.role,
      validatorPermit: m.validatorPermit,
      connected: remote !== undefined,
      multiaddrs: m.multiaddrs.length > 0 ? [...m.multiaddrs] : (remote ?? []),
      latencyMs: s?.latencyMs ?? null,
      models: hb?.models ?? [],
      load: hb?.load ?? null,
      hardware: hb?.hardware ?? null,
      lastHeartbeatAt: s?.lastHeartbeatAt ?? null,
    };
  };

  return {
    start() {
      if (started) return;
      started = true;
      unsubscribe.push(
        onPeerEvents(libp2p, { connect: onConnect, disconnect: onDisconnect }),
        membership.onChange((removed) => {
          if (removed.length === 0) return;
          // Rows are keyed by the peer id a heartbeat or connection authenticated; forget those of the
          // hotkeys that left, whatever string they had registered.
          const gone = new Set(removed.map((m) => m.hotkey));
          for (const id of [...state.keys()]) {
            const address = addressOfPeerId(id);
            if (address !== null && gone.has(address)) state.delete(id);
          }
        }),
      );
      if (gossip !== undefined) unsubscribe.push(gossip.onHeartbeat(onHeartbeat));
      updatePeersGauge();
    },
    stop() {
      if (!started) return;
      started = false;
      for (const u of unsubscribe.splice(0)) u();
    },
    rows(rowOpts = {}) {
      const connected = connectedPeers();
      return membership
        .members()
        .filter((m) => m.peerId !== self && (rowOpts.connectedOnly !== true || connected.has(m.peerId)))
        .sort((a, b) => a.uid - b.uid)
        .map((m) => rowOf(m, connected));
    },
    get(peerId) {
      const m = membership.byPeer(peerId);
      if (m === undefined || m.peerId !== peerId || peerId === self) return undefined;
      return rowOf(m, connectedPeers());
    },
    heartbeat(peerId) {
      const s = state.get(peerId);
      return s?.heartbeat === undefined || s.lastHeartbeatAt === undefined
        ? undefined
        : { heartbeat: s.heartbeat, receivedAt: s.lastHeartbeatAt };
    },
    ping,
  };
}
