/**
 * Gossip on the subnet's topics (`/subnet/<netuid>/<name>/1`): the heartbeat every neuron publishes (its
 * models, load and hardware, signed with its hotkey) and app topics carrying JSON values. Every received
 * message passes a topic validator before it is delivered or relayed: malformed, oversized and forged
 * messages are rejected, which gossipsub's peer scoring turns into a penalty for the peer that sent them;
 * stale, replayed and unknown-origin heartbeats are ignored (dropped without penalty). Every verdict is
 * counted. A heartbeat is checked cheaply first (size, shape, models per heartbeat, timestamp window,
 * sequence, the origin's rate: a token bucket of `heartbeatsPerInterval` per interval) and its signature
 * verified last, so a flood costs a parse, not a verify. This module must never deliver or relay a
 * message its validator did not accept.
 */
import { type GossipsubMessage, TopicValidatorResult } from '@libp2p/gossipsub';
import type { TopicScoreParams } from '@libp2p/gossipsub/score';
import type { PeerId, PrivateKey, PublicKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { AppModelInfoSchema, HardwareSchema, PeerLoadSchema } from '@subnet/engine-api';
import { errorMessage, type Logger } from '@subnet/utils';
import { z } from 'zod';
import { LimitName, NetworkError, NetworkErrorCode } from './errors.js';
import type { SubnetLibp2p } from './libp2p.js';
import type { Membership } from './membership.js';
import type { NetworkMetrics } from './metrics.js';
import {
  gossipTopic,
  HEARTBEAT_TOPIC,
  MAX_GOSSIP_MESSAGE_BYTES,
  TOPIC_NAME_PATTERN,
  topicName,
  topicScoreParams,
} from './topics.js';

/** The heartbeat format version this node speaks; heartbeats of other versions are ignored. */
export const HEARTBEAT_VERSION = 1;

/** A neuron's heartbeat: what it serves, how busy it is, on what hardware. */
export const HeartbeatSchema = z.object({
  version: z.literal(HEARTBEAT_VERSION),
  peerId: z.string().min(1).max(128),
  models: z.array(AppModelInfoSchema).max(256),
  load: PeerLoadSchema,
  queueDepth: z.number().int().min(0),
  hardware: HardwareSchema.nullable(),
  /** Unix ms when it was sent. */
  ts: z.number().int().min(0),
  /** Increases with every heartbeat of a peer, across restarts (it starts at the start time in ms). */
  seq: z.number().int().min(0),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/** What the node's owner provides for each heartbeat; the rest is filled in here. */
export type HeartbeatContent = Pick<Heartbeat, 'models' | 'load' | 'queueDepth' | 'hardware'>;

/**
 * A heartbeat on the wire: its JSON (`payload`) and the signature of those exact bytes by the key of the
 * peer id it names (hex). Gossipsub runs unsigned, so this is what proves who a relayed heartbeat is from.
 */
export const SignedHeartbeatSchema = z.object({
  payload: z.string(),
  sig: z
    .string()
    .regex(/^[0-9a-f]*$/)
    .max(256),
});

/** A message delivered to a subscriber (the `network_subscribeV1` event shape). */
export interface GossipMessage {
  /** The topic name (`heartbeat` or an app topic). */
  topic: string;
  /** The peer that relayed it to this node. */
  from: string | null;
  /** The JSON value (a {@link Heartbeat} on the heartbeat topic). */
  data: unknown;
  receivedAt: number;
}

/** An accepted heartbeat and the peer that relayed it. */
export interface ReceivedHeartbeat {
  heartbeat: Heartbeat;
  from: string;
  receivedAt: number;
}

export interface GossipOpts {
  netuid: number;
  /** How often the heartbeat is published. */
  heartbeatIntervalMs: number;
  /** How far a heartbeat's `ts` may be from this node's clock (default: 30 s or 3 intervals, the larger). */
  maxHeartbeatSkewMs?: number;
  /** Largest message data on any topic (default and most: 64 KiB). */
  maxMessageBytes?: number;
  /** Most models one heartbeat may list (default 64); more is rejected. */
  maxHeartbeatModels?: number;
  /** Heartbeats of one origin accepted per heartbeat interval (default 4); more are ignored. */
  heartbeatsPerInterval?: number;
}

export interface GossipModules {
  libp2p: SubnetLibp2p;
  /** This node's libp2p key (the hotkey): signs its heartbeats. */
  privateKey: PrivateKey;
  membership: Membership;
  metrics?: NetworkMetrics;
  logger?: Logger;
}

export interface Gossip {
  /** The full gossipsub topic of the heartbeat. */
  readonly heartbeatTopic: string;
  /** Subscribes to the heartbeat topic and starts the heartbeat timer. Idempotent. */
  start(): void;
  /** Stops publishing and unsubscribes from every topic. Idempotent. */
  stop(): void;
  /** Sets what each heartbeat carries (called at every interval); null stops publishing heartbeats. */
  setHeartbeat(content: (() => HeartbeatContent | Promise<HeartbeatContent>) | null): void;
  /** Publishes a heartbeat now; resolves to the number of peers it was sent to (0 without content). */
  publishHeartbeat(): Promise<number>;
  /** Publishes a JSON value on an app topic; throws INVALID_INPUT for a bad name, non-JSON or >64 KiB. */
  publish(topic: string, data: unknown): Promise<{ recipients: number }>;
  /** Delivers the topic's accepted messages to `listener` until the returned function is called. */
  subscribe(topic: string, listener: (message: GossipMessage) => void): () => void;
  /** Calls `listener` with every accepted heartbeat. */
  onHeartbeat(listener: (heartbeat: ReceivedHeartbeat) => void): () => void;
  /** The topic names this node is subscribed to. */
  topics(): string[];
  /** A peer's gossipsub score (null when the router does not expose scores). */
  score(peerId: string): number | null;
}

type Verdict = { result: 'accept'; value: unknown } | { result: 'reject' | 'ignore'; reason: GossipRefusal };

/** Why a gossip message was refused (the `reason` label of `refused{layer="gossip"}`). */
export type GossipRefusal =
  | 'malformed'
  | 'oversized'
  | 'forged'
  | 'unregistered'
  | 'stale'
  | 'replayed'
  | 'unsupported'
  | 'too_many_models'
  | 'rate_limited';

/** The part of the gossipsub router that exposes peer scores (not in its public interface). */
interface ScoringRouter {
  getScore(peerId: string): number;
  score: { params: { topics: Record<string, TopicScoreParams> } };
}

function scoringRouter(pubsub: object): ScoringRouter | null {
  const r = pubsub as Partial<ScoringRouter>;
  return typeof r.getScore === 'function' && r.score?.params?.topics !== undefined
    ? (r as ScoringRouter)
    : null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function invalid(message: string): NetworkError {
  return new NetworkError(NetworkErrorCode.INVALID_INPUT, message);
}

/**
 * A token bucket per heartbeat origin: `perInterval` tokens, refilled at `perInterval` per interval. Holds
 * only registered origins (the membership check comes first), so it is bounded by the metagraph.
 */
class OriginRate {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perInterval: number, intervalMs: number) {
    this.#capacity = Math.max(1, perInterval);
    this.#perMs = this.#capacity / Math.max(1, intervalMs);
  }

  /** Takes a token of `origin`; false when its bucket is empty. */
  take(origin: string): boolean {
    const now = performance.now();
    let b = this.#buckets.get(origin);
    if (b === undefined) {
      b = { tokens: this.#capacity, at: now };
      this.#buckets.set(origin, b);
    } else {
      b.tokens = Math.min(this.#capacity, b.tokens + (now - b.at) * this.#perMs);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Gives back a token taken for a message that turned out not to be the origin's. */
  refund(origin: string): void {
    const b = this.#buckets.get(origin);
    if (b !== undefined) b.tokens = Math.min(this.#capacity, b.tokens + 1);
  }

  forget(origin: string): void {
    this.#buckets.delete(origin);
  }
}

/** Creates the gossip module of a node. */
export function createGossip(opts: GossipOpts, modules: GossipModules): Gossip {
  const { libp2p, privateKey, membership, metrics, logger } = modules;
  const pubsub = libp2p.services.pubsub;
  const self = libp2p.peerId.toString();
  const maxBytes = Math.min(opts.maxMessageBytes ?? MAX_GOSSIP_MESSAGE_BYTES, MAX_GOSSIP_MESSAGE_BYTES);
  const maxSkewMs = opts.maxHeartbeatSkewMs ?? Math.max(30_000, 3 * opts.heartbeatIntervalMs);
  const heartbeatTopic = gossipTopic(opts.netuid, HEARTBEAT_TOPIC);
  const maxModels = opts.maxHeartbeatModels ?? 64;
  const rate = new OriginRate(opts.heartbeatsPerInterval ?? 4, opts.heartbeatIntervalMs);

  /** Values the validators decoded, keyed by the message data they came from (read on delivery). */
  const decoded = new WeakMap<Uint8Array, unknown>();
  const listeners = new Map<string, Set<(message: GossipMessage) => void>>();
  const heartbeatListeners = new Set<(heartbeat: ReceivedHeartbeat) => void>();
  const lastSeq = new Map<string, number>();
  const publicKeys = new Map<string, PublicKey>();
  let content: (() => HeartbeatContent | Promise<HeartbeatContent>) | null = null;
  let seq = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let unsubscribeMembership: (() => void) | undefined;

  const count = (name: string, verdict: Verdict): void => {
    if (metrics === undefined) return;
    metrics.gossip.inc({ topic: name, result: verdict.result });
    if (verdict.result !== 'accept') metrics.refused.inc({ layer: 'gossip', reason: verdict.reason });
  };

  const parseJson = (data: Uint8Array): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: JSON.parse(decoder.decode(data)) };
    } catch {
      return { ok: false };
    }
  };

  const publicKeyOf = (peerId: string): PublicKey | undefined => {
    let key = publicKeys.get(peerId);
    if (key === undefined) {
      try {
        key = peerIdFromString(peerId).publicKey;
      } catch {
        return undefined;
      }
      if (key === undefined) return undefined;
      if (publicKeys.size > 10_000) publicKeys.clear();
      publicKeys.set(peerId, key);
    }
    return key;
  };

  const checkHeartbeat = async (data: Uint8Array): Promise<Verdict> => {
    if (data.byteLength > maxBytes) return { result: 'reject', reason: 'oversized' };
    const json = parseJson(data);
    if (!json.ok) return { result: 'reject', reason: 'malformed' };
    const envelope = SignedHeartbeatSchema.safeParse(json.value);
    if (!envelope.success) return { result: 'reject', reason: 'malformed' };
    const payload = parseJson(encoder.encode(envelope.data.payload));
    if (!payload.ok) return { result: 'reject', reason: 'malformed' };
    const version = (payload.value as { version?: unknown } | null)?.version;
    if (typeof version === 'number' && version !== HEARTBEAT_VERSION) {
      return { result: 'ignore', reason: 'unsupported' };
    }
    const models = (payload.value as { models?: unknown } | null)?.models;
    if (Array.isArray(models) && models.length > maxModels) {
      metrics?.overLimit.inc({ side: 'gossip', limit: LimitName.MODELS });
      return { result: 'reject', reason: 'too_many_models' };
    }
    const parsed = HeartbeatSchema.safeParse(payload.value);
    if (!parsed.success) return { result: 'reject', reason: 'malformed' };
    const hb = parsed.data;
    // Cheap checks first: only a heartbeat that would be taken is worth a signature verify.
    if (hb.peerId === self) return { result: 'ignore', reason: 'replayed' };
    if (Math.abs(Date.now() - hb.ts) > maxSkewMs) return { result: 'ignore', reason: 'stale' };
    const seen = lastSeq.get(hb.peerId);
    if (seen !== undefined && hb.seq <= seen) return { result: 'ignore', reason: 'replayed' };
    // Not (or no longer, or not yet) in this node's metagraph. Ignored rather than rejected: the relay
    // admitted it under its own snapshot, which may be a block ahead or behind ours.
    if (membership.byPeer(hb.peerId) === undefined) return { result: 'ignore', reason: 'unregistered' };
    const key = publicKeyOf(hb.peerId);
    if (key === undefined) return { result: 'reject', reason: 'malformed' };
    // A token is taken before the verify and given back when it fails, so a forger cannot spend an
    // origin's budget, and concurrent heartbeats of one origin cannot all pass.
    if (!rate.take(hb.peerId)) {
      metrics?.overLimit.inc({ side: 'gossip', limit: LimitName.RATE });
      return { result: 'ignore', reason: 'rate_limited' };
    }
    let genuine = false;
    try {
      genuine = await key.verify(
        encoder.encode(envelope.data.payload),
        Buffer.from(envelope.data.sig, 'hex'),
      );
    } catch {
      genuine = false;
    }
    if (!genuine) {
      rate.refund(hb.peerId);
      return { result: 'reject', reason: 'forged' };
    }
    // Another heartbeat of this origin may have been taken while this one was being verified.
    const last = lastSeq.get(hb.peerId);
    if (last !== undefined && hb.seq <= last) return { result: 'ignore', reason: 'replayed' };
    lastSeq.set(hb.peerId, hb.seq);
    return { result: 'accept', value: hb };
  };

  const checkApp = (data: Uint8Array): Verdict => {
    if (data.byteLength > maxBytes) return { result: 'reject', reason: 'oversized' };
    const json = parseJson(data);
    if (!json.ok) return { result: 'reject', reason: 'malformed' };
    return { result: 'accept', value: json.value };
  };

  const RESULT = {
    accept: TopicValidatorResult.Accept,
    reject: TopicValidatorResult.Reject,
    ignore: TopicValidatorResult.Ignore,
  } as const;

  const validator =
    (name: string) =>
    async (_from: PeerId, msg: { data: Uint8Array }): Promise<TopicValidatorResult> => {
      const verdict = name === HEARTBEAT_TOPIC ? await checkHeartbeat(msg.data) : checkApp(msg.data);
      count(name, verdict);
      if (verdict.result === 'accept') decoded.set(msg.data, verdict.value);
      return RESULT[verdict.result];
    };

  const onMessage = (event: CustomEvent<GossipsubMessage>): void => {
    const { msg, propagationSource } = event.detail;
    const name = topicName(opts.netuid, msg.topic);
    if (name === null || !decoded.has(msg.data)) return;
    const data = decoded.get(msg.data);
    const receivedAt = Date.now();
    const from = propagationSource.toString();
    if (name === HEARTBEAT_TOPIC) {
      for (const l of heartbeatListeners) {
        try {
          l({ heartbeat: data as Heartbeat, from, receivedAt });
        } catch (err) {
          logger?.warn({ err: errorMessage(err) }, 'heartbeat listener failed');
        }
      }
    }
    for (const l of listeners.get(name) ?? []) {
      try {
        l({ topic: name, from, data, receivedAt });
      } catch (err) {
        logger?.warn({ err: errorMessage(err), topic: name }, 'gossip listener failed');
      }
    }
  };

  /** Starts receiving a topic: validator, score parameters, subscription. */
  const join = (name: string): void => {
    const topic = gossipTopic(opts.netuid, name);
    pubsub.topicValidators.set(topic, validator(name));
    const router = scoringRouter(pubsub);
    if (router !== null && router.score.params.topics[topic] === undefined) {
      router.score.params.topics[topic] = topicScoreParams();
    }
    pubsub.subscribe(topic);
  };

  const leave = (name: string): void => {
    const topic = gossipTopic(opts.netuid, name);
    pubsub.unsubscribe(topic);
    pubsub.topicValidators.delete(topic);
  };

  const checkName = (name: string): void => {
    if (!TOPIC_NAME_PATTERN.test(name)) {
      throw invalid(`"${name}" is not a topic name: use lowercase letters, digits and dashes, at most 32`);
    }
  };

  const encodeJson = (data: unknown): Uint8Array => {
    let text: string | undefined;
    try {
      text = JSON.stringify(data);
    } catch (err) {
      throw invalid(`gossip data must be JSON: ${errorMessage(err)}`);
    }
    if (text === undefined) throw invalid('gossip data must be a JSON value, not undefined');
    const bytes = encoder.encode(text);
    if (bytes.byteLength > maxBytes) {
      throw invalid(`gossip message is ${bytes.byteLength} bytes; the most is ${maxBytes}: send less`);
    }
    return bytes;
  };

  const publishHeartbeat = async (): Promise<number> => {
    if (content === null) return 0;
    const body = await content();
    if (body.models.length > maxModels) {
      throw invalid(
        `heartbeat lists ${body.models.length} models; peers reject more than ${maxModels}: serve fewer`,
      );
    }
    seq += 1;
    const hb: Heartbeat = {
      version: HEARTBEAT_VERSION,
      peerId: self,
      models: body.models,
      load: body.load,
      queueDepth: body.queueDepth,
      hardware: body.hardware,
      ts: Date.now(),
      seq,
    };
    const payload = JSON.stringify(HeartbeatSchema.parse(hb));
    const sig = await privateKey.sign(encoder.encode(payload));
    const bytes = encoder.encode(JSON.stringify({ payload, sig: toHex(sig) }));
    if (bytes.byteLength > maxBytes) {
      throw invalid(`heartbeat is ${bytes.byteLength} bytes; the most is ${maxBytes}: list fewer models`);
    }
    const { recipients } = await pubsub.publish(heartbeatTopic, bytes);
    return recipients.length;
  };

  const tick = (): void => {
    publishHeartbeat().catch((err: unknown) => {
      logger?.warn({ err: errorMessage(err) }, 'heartbeat not published');
    });
  };

  // A peer that just joined the heartbeat topic would otherwise wait a whole interval to learn what this node
  // serves: answer a new subscriber with a heartbeat soon (one per 250 ms at most, however many join).
  let early: NodeJS.Timeout | undefined;
  const onSubscription = (event: CustomEvent<{ subscriptions: { topic: string; subscribe: boolean }[] }>) => {
    if (early !== undefined || content === null) return;
    if (!event.detail.subscriptions.some((s) => s.subscribe && s.topic === heartbeatTopic)) return;
    early = setTimeout(() => {
      early = undefined;
      tick();
    }, 250);
  };

  return {
    heartbeatTopic,
    start() {
      if (started) return;
      started = true;
      pubsub.addEventListener('gossipsub:message', onMessage);
      pubsub.addEventListener('subscription-change', onSubscription);
      join(HEARTBEAT_TOPIC);
      for (const name of listeners.keys()) if (name !== HEARTBEAT_TOPIC) join(name);
      unsubscribeMembership = membership.onChange((removed) => {
        for (const m of removed) {
          lastSeq.delete(m.peerId);
          rate.forget(m.peerId);
        }
      });
      timer = setInterval(tick, opts.heartbeatIntervalMs);
      timer.unref();
      tick();
    },
    stop() {
      if (!started) return;
      started = false;
      clearInterval(timer);
      timer = undefined;
      clearTimeout(early);
      early = undefined;
      pubsub.removeEventListener('subscription-change', onSubscription);
      unsubscribeMembership?.();
      pubsub.removeEventListener('gossipsub:message', onMessage);
      for (const name of new Set([HEARTBEAT_TOPIC, ...listeners.keys()])) {
        try {
          leave(name);
        } catch {
          // the node may already be stopping
        }
      }
    },
    setHeartbeat(provider) {
      content = provider;
    },
    publishHeartbeat,
    async publish(topic, data) {
      checkName(topic);
      if (topic === HEARTBEAT_TOPIC) throw invalid('heartbeats are published by the node itself');
      const bytes = encodeJson(data);
      const { recipients } = await pubsub.publish(gossipTopic(opts.netuid, topic), bytes);
      return { recipients: recipients.length };
    },
    subscribe(topic, listener) {
      checkName(topic);
      let set = listeners.get(topic);
      if (set === undefined) {
        set = new Set();
        listeners.set(topic, set);
        if (started && topic !== HEARTBEAT_TOPIC) join(topic);
      }
      set.add(listener);
      return () => {
        const current = listeners.get(topic);
        if (current === undefined || !current.delete(listener) || current.size > 0) return;
        listeners.delete(topic);
        if (started && topic !== HEARTBEAT_TOPIC) leave(topic);
      };
    },
    onHeartbeat(listener) {
      heartbeatListeners.add(listener);
      return () => heartbeatListeners.delete(listener);
    },
    topics() {
      return started ? [...new Set([HEARTBEAT_TOPIC, ...listeners.keys()])] : [];
    },
    score(peerId) {
      return scoringRouter(pubsub)?.getScore(peerId) ?? null;
    },
  };
}
