/**
 * The libp2p node of a subnet neuron: TCP and WebSockets, noise, yamux, identify, ping, a Kademlia DHT under
 * the subnet's private protocol prefix, and gossipsub. Its key is the neuron's hotkey, and its connection
 * gate admits only peers whose hotkey is registered in the subnet. The gate runs after the noise handshake
 * (`deny*EncryptedConnection`), when the remote has proven it holds the key its peer id names; dialling an
 * unregistered peer id is refused before any socket opens (`denyDialPeer`).
 */
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht';
import { noise } from '@libp2p/noise';
import { ping } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { createLibp2p } from 'libp2p';
import { corkConnection } from './cork.js';
import type { Membership } from './membership.js';
import { GOSSIP_SCORE_THRESHOLDS, gossipScoreParams, MAX_GOSSIP_FRAME_BYTES } from './topics.js';

/** Why the gate turned a peer away (a metrics label). */
export type GateDirection = 'inbound' | 'outbound' | 'dial';

export interface SubnetLibp2pOpts {
  privateKey: PrivateKey;
  netuid: number;
  /** Listen multiaddrs, e.g. `/ip4/127.0.0.1/tcp/0` and `/ip4/127.0.0.1/tcp/0/ws`. */
  listen: readonly string[];
  /** Addresses to announce instead of the listen addresses (empty: the listen addresses). */
  announce?: readonly string[];
  maxConnections?: number;
}

export interface SubnetLibp2pModules {
  membership: Membership;
  /** Told about every peer the gate turns away. */
  onRefused?: (peerId: PeerId, direction: GateDirection) => void;
}

/** The DHT protocol id of a subnet (private: nodes of other subnets or the public IPFS DHT never mix). */
export function dhtProtocol(netuid: number): string {
  return `/subnet/${netuid}/kad/1.0.0`;
}

/** Creates (and starts) the libp2p node. */
export async function createSubnetLibp2p(opts: SubnetLibp2pOpts, modules: SubnetLibp2pModules) {
  const { membership, onRefused } = modules;
  const refuse = (peerId: PeerId, direction: GateDirection): boolean => {
    if (membership.byPeer(peerId) !== undefined) return false;
    onRefused?.(peerId, direction);
    return true;
  };
  const libp2p = await createLibp2p({
    privateKey: opts.privateKey,
    addresses: {
      listen: [...opts.listen],
      ...(opts.announce !== undefined && opts.announce.length > 0 ? { announce: [...opts.announce] } : {}),
    },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: opts.maxConnections ?? 300,
      // The defaults (5 inbound connections a second per host, 10 pending) reset most of a devnet's
      // neurons, which all dial from 127.0.0.1 at once; admission is by hotkey after the handshake anyway.
      inboundConnectionThreshold: 100,
      maxIncomingPendingConnections: 100,
    },
    // libp2p pings every connection each 10 s and aborts it on one ping slower than its adaptive timeout
    // (at least 5 s). A node busy for a few seconds (a stack restarting beside it, a saturated 2-core
    // machine) lost live connections that way, and every synapse on them (seen in CI: a validator dropped a
    // miner whose app stack restarted). A dead peer is still found: its ping fails after 20 s, and requests
    // on it have their own deadlines.
    connectionMonitor: { pingTimeout: { minTimeout: 20_000 } },
    connectionGater: {
      // Loopback and private addresses are how a devnet and a LAN subnet talk: allow them.
      denyDialMultiaddr: () => false,
      denyDialPeer: (peerId) => refuse(peerId, 'dial'),
      denyInboundEncryptedConnection: (peerId) => refuse(peerId, 'inbound'),
      denyOutboundEncryptedConnection: (peerId) => refuse(peerId, 'outbound'),
    },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: dhtProtocol(opts.netuid),
        // A closed network: every node serves the DHT, and private (loopback) addresses are kept.
        clientMode: false,
        peerInfoMapper: passthroughMapper,
      }),
      pubsub: gossipsub({
        // Gossipsub's message signatures cost ~1 ms of CPU per delivery with secp256k1 keys; connections are
        // already authenticated and admitted by hotkey, so messages travel unsigned and their contents are
        // treated as claims of the peer they name (checked against the relaying connection when direct).
        globalSignaturePolicy: 'StrictNoSign',
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // Frames above this reset the stream undecoded; each message's own limit (64 KiB) is enforced by the
        // topic validators of gossip.ts, which reject (and so penalise) larger ones.
        maxInboundDataLength: MAX_GOSSIP_FRAME_BYTES,
        // Peers that send invalid messages lose score and end up graylisted (see topics.ts).
        scoreParams: gossipScoreParams(opts.netuid),
        scoreThresholds: GOSSIP_SCORE_THRESHOLDS,
      }),
    },
  });
  // Every TCP connection sends a turn's frames in one system call (cork.ts).
  libp2p.addEventListener('connection:open', (e) => {
    corkConnection(e.detail);
  });
  return libp2p;
}

export type SubnetLibp2p = Awaited<ReturnType<typeof createSubnetLibp2p>>;

/** Calls `on.connect` / `on.disconnect` with each peer that connects or disconnects; returns the unsubscriber. */
export function onPeerEvents(
  libp2p: SubnetLibp2p,
  on: { connect: (event: CustomEvent<PeerId>) => void; disconnect: (event: CustomEvent<PeerId>) => void },
): () => void {
  libp2p.addEventListener('peer:connect', on.connect);
  libp2p.addEventListener('peer:disconnect', on.disconnect);
  return () => {
    libp2p.removeEventListener('peer:connect', on.connect);
    libp2p.removeEventListener('peer:disconnect', on.disconnect);
  };
}
