export {
  backoffMs,
  createDiscovery,
  type Discovery,
  type DiscoveryModules,
  type DiscoveryOpts,
  type FindProvidersOpts,
  modelCid,
  modelKey,
} from './discovery.js';
export {
  LimitName,
  NetworkError,
  NetworkErrorCode,
  type NetworkErrorMeta,
  type RefusalReason,
} from './errors.js';
export {
  createGossip,
  type Gossip,
  type GossipMessage,
  type GossipModules,
  type GossipOpts,
  type GossipRefusal,
  HEARTBEAT_VERSION,
  type Heartbeat,
  type HeartbeatContent,
  HeartbeatSchema,
  type ReceivedHeartbeat,
  SignedHeartbeatSchema,
} from './gossip.js';
export { addressOfPeerId, libp2pKeyFromHotkey, peerIdFromHotkey } from './identity.js';
export {
  createSubnetLibp2p,
  dhtProtocol,
  type GateDirection,
  type SubnetLibp2p,
  type SubnetLibp2pModules,
  type SubnetLibp2pOpts,
} from './libp2p.js';
export {
  LLAMA_RPC_PROTOCOL,
  type LlamaRpcModules,
  type LlamaRpcRefusal,
  type LlamaRpcServeOpts,
  type LlamaRpcServer,
  type LlamaRpcTunnel,
  type LlamaRpcTunnelOpts,
  openLlamaRpcTunnel,
  serveLlamaRpc,
} from './llamaRpc.js';
export { createMembership, type Member, type Membership, type MetagraphSnapshot } from './membership.js';
export { type NetworkMetrics, networkMetrics } from './metrics.js';
export {
  createNetworkNode,
  type NetworkNode,
  type NetworkNodeModules,
  type NetworkNodeOpts,
  type NetworkStatus,
  type SendSynapseParams,
} from './node.js';
export {
  createPeerTable,
  type NetworkPeer,
  type PeerTable,
  type PeerTableModules,
  type PeerTableOpts,
} from './peers.js';
export * from './synapse/index.js';
export {
  GOSSIP_SCORE_THRESHOLDS,
  gossipScoreParams,
  gossipTopic,
  HEARTBEAT_TOPIC,
  MAX_GOSSIP_FRAME_BYTES,
  MAX_GOSSIP_MESSAGE_BYTES,
  TOPIC_NAME_PATTERN,
  TOPIC_SCORE_PARAMS,
  topicName,
  topicScoreParams,
} from './topics.js';
