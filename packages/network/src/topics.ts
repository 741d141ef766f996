/**
 * The subnet's gossip topics and the limits and peer-scoring parameters that guard them. Pure values: the
 * libp2p node (libp2p.ts) configures gossipsub from them and the gossip module (gossip.ts) validates against
 * them. Nothing here does I/O.
 */
import {
  createTopicScoreParams,
  type PeerScoreParams,
  type PeerScoreThresholds,
  type TopicScoreParams,
} from '@libp2p/gossipsub/score';

/** The heartbeat topic's name (load, models and hardware of every neuron). */
export const HEARTBEAT_TOPIC = 'heartbeat';

/** A topic name: lowercase letters, digits and dashes, at most 32 (the `network_publishV1` rule). */
export const TOPIC_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** Largest message data on any subnet topic; larger messages are refused and penalised. */
export const MAX_GOSSIP_MESSAGE_BYTES = 64 * 1024;

/**
 * Largest gossipsub RPC frame read from a peer (one frame may batch several messages and control
 * messages); a larger frame resets the peer's gossip stream before it is decoded.
 */
export const MAX_GOSSIP_FRAME_BYTES = 1024 * 1024;

/** The full gossipsub topic of a subnet topic name: `/subnet/<netuid>/<name>/1`. */
export function gossipTopic(netuid: number, name: string): string {
  return `/subnet/${netuid}/${name}/1`;
}

/** The subnet topic name of a full gossipsub topic, or null when it is not one of this subnet's. */
export function topicName(netuid: number, topic: string): string | null {
  const prefix = `/subnet/${netuid}/`;
  if (!topic.startsWith(prefix) || !topic.endsWith('/1')) return null;
  const name = topic.slice(prefix.length, -2);
  return TOPIC_NAME_PATTERN.test(name) ? name : null;
}

/**
 * Score parameters of every subnet topic. Invalid messages (P4) dominate: the counter is squared, so three
 * invalid messages take a peer below the graylist threshold, and it decays by 1% a second (about a minute
 * to halve). Mesh-delivery penalties (P3, P3b) are off because heartbeats are sparse and quiet topics are
 * normal; a little positive score comes from time in the mesh and first deliveries.
 */
export const TOPIC_SCORE_PARAMS: Partial<TopicScoreParams> = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 300,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -20,
  invalidMessageDeliveriesDecay: 0.99,
};

/** A fresh, complete copy of {@link TOPIC_SCORE_PARAMS}. */
export function topicScoreParams(): TopicScoreParams {
  return createTopicScoreParams(TOPIC_SCORE_PARAMS);
}

/**
 * Peer score parameters of a subnet's gossipsub. IP colocation (P6) is off: admission is by registered
 * hotkey, and a devnet or a LAN puts every neuron on one address. Topics not listed here (app topics) get
 * {@link TOPIC_SCORE_PARAMS} when first subscribed.
 */
export function gossipScoreParams(netuid: number): Partial<PeerScoreParams> {
  return {
    topics: { [gossipTopic(netuid, HEARTBEAT_TOPIC)]: topicScoreParams() },
    topicScoreCap: 10,
    IPColocationFactorWeight: 0,
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 6,
    behaviourPenaltyDecay: 0.9,
    decayInterval: 1000,
    decayToZero: 0.01,
    retainScore: 10 * 60_000,
  };
}

/**
 * Below 0 a peer leaves our meshes; below -10 it gets no gossip; below -50 we do not publish to it; below
 * -80 everything it sends is dropped unread (graylisted).
 */
export const GOSSIP_SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 5,
};
