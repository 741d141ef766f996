/**
 * `network_*`: the network stack's namespace — this node's libp2p identity and peers, dialling, discovery
 * of the miners that serve a model, gossip publish/subscribe on the subnet's topics, and synapses (a
 * request from a validator to a miner over libp2p, answered with a stream of events and acknowledged by
 * a receipt the miner signs with its hotkey).
 */
import { z } from 'zod';
import { stream, unary } from '../define.js';
import { defineErrors } from '../errors.js';
import { AppModelInfoSchema, HardwareSchema } from './app.js';

export const networkErrors = defineErrors({
  PEER_NOT_FOUND: {
    code: 1301,
    summary: 'No such peer: not registered in the subnet, or no address is known for it.',
  },
  DIAL_FAILED: { code: 1302, summary: 'The peer could not be reached or refused the connection.' },
  REFUSED: {
    code: 1303,
    summary:
      'The peer refused the synapse: `error.data.reason` is unregistered, no_permit, replayed, malformed, oversized, busy or unsupported.',
  },
  REMOTE_ERROR: {
    code: 1304,
    summary:
      "The miner's backend failed the request; `error.data` carries the miner's error code and message.",
  },
  PEER_GONE: {
    code: 1305,
    summary: 'The connection to the peer closed before the response ended.',
  },
  TIMEOUT: { code: 1306, summary: 'The synapse did not end within its deadline.' },
  NOT_READY: {
    code: 1307,
    summary: 'The network stack has no metagraph yet (the chain stack is unreachable).',
  },
  RECEIPT_PENDING: {
    code: 1308,
    summary: 'The receipt for that request is not in yet (miners sign in batches); retry shortly.',
  },
  RECEIPT_NOT_FOUND: { code: 1309, summary: 'No receipt is held for that request id.' },
});

const PeerIdSchema = z.string().min(1).max(128);
const MultiaddrSchema = z.string().min(1).max(512);
const Netuid = z.number().int().min(1).max(65_535);
const HexSchema = z.string().regex(/^0x[0-9a-f]*$/, 'lowercase 0x-prefixed hex');

/** Load a node reports in its heartbeats. */
export const PeerLoadSchema = z.object({
  queued: z.number().int().min(0),
  running: z.number().int().min(0),
});

export const NetworkPeerSchema = z.object({
  peerId: PeerIdSchema,
  hotkey: z.string().nullable().describe('Hotkey address the peer id encodes (null for a non-secp256k1 key)'),
  uid: z.number().int().nullable().describe('UID in the subnet; null when not registered'),
  role: z.enum(['validator', 'miner']).nullable(),
  validatorPermit: z.boolean(),
  connected: z.boolean(),
  multiaddrs: z.array(z.string()),
  latencyMs: z.number().nullable().describe('Last ping round trip'),
  models: z.array(AppModelInfoSchema).describe('From its latest heartbeat'),
  load: PeerLoadSchema.nullable(),
  hardware: HardwareSchema.nullable(),
  lastHeartbeatAt: z.number().int().nullable().describe('Unix ms of its latest heartbeat'),
});

export const network_getStatusV1 = unary('network_getStatusV1', {
  summary: "This node's peer id, hotkey, listen addresses, subnet and counts of peers.",
  params: z.object({}).strict(),
  result: z.object({
    peerId: PeerIdSchema,
    hotkey: z.string(),
    netuid: Netuid,
    multiaddrs: z.array(z.string()),
    uid: z.number().int().nullable().describe('Own UID; null when this hotkey is not registered'),
    role: z.enum(['validator', 'miner']).nullable(),
    connections: z.number().int().min(0),
    metagraphBlock: z.number().int().nullable().describe('Block of the metagraph admission uses'),
    topics: z.array(z.string()),
  }),
});

export const network_listPeersV1 = unary('network_listPeersV1', {
  summary: 'Peers known to this node: connected ones and registered neurons, with heartbeat state.',
  params: z.object({ connectedOnly: z.boolean().default(false) }).strict(),
  result: z.object({ peers: z.array(NetworkPeerSchema) }),
});

export const network_dialV1 = unary('network_dialV1', {
  summary: 'Connects to a peer by multiaddr (with /p2p/<peerId>) or by the peer id of a registered neuron.',
  params: z
    .object({ multiaddr: MultiaddrSchema.optional(), peerId: PeerIdSchema.optional() })
    .strict()
    .refine(
      (p) => (p.multiaddr === undefined) !== (p.peerId === undefined),
      'give exactly one of multiaddr or peerId',
    ),
  result: z.object({ peerId: PeerIdSchema, latencyMs: z.number() }),
  errors: [networkErrors.DIAL_FAILED, networkErrors.PEER_NOT_FOUND],
});

export const network_findProvidersV1 = unary('network_findProvidersV1', {
  summary:
    'The miners that serve a model: found on the DHT and in heartbeats, each with its UID, load and models.',
  params: z
    .object({
      model: z.string().min(1).max(256),
      timeoutMs: z.number().int().min(1).max(60_000).default(3000),
    })
    .strict(),
  result: z.object({ providers: z.array(NetworkPeerSchema) }),
  errors: [networkErrors.NOT_READY],
});

const TopicSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a topic name: lowercase letters, digits and dashes, at most 32');

export const network_publishV1 = unary('network_publishV1', {
  summary: "Publishes a JSON message on one of the subnet's gossip topics.",
  params: z.object({ topic: TopicSchema, data: z.unknown() }).strict(),
  result: z.object({ recipients: z.number().int().min(0) }),
});

export const network_subscribeV1 = stream('network_subscribeV1', {
  summary: "Streams the messages of one of the subnet's gossip topics (heartbeats included).",
  params: z.object({ topic: TopicSchema }).strict(),
  event: z.object({
    topic: z.string(),
    from: PeerIdSchema.nullable().describe('Peer that relayed it to this node'),
    data: z.unknown(),
    receivedAt: z.number().int(),
  }),
});

/** The synapse kinds a miner serves, with their parameters (the app stack's request shapes). */
export const SynapseKindSchema = z.enum(['generate', 'embed', 'capabilities']);

export const network_sendSynapseV1 = stream('network_sendSynapseV1', {
  summary:
    'Sends a synapse to a miner and streams its events (token events for generate), then one done event with the request id and hashes.',
  params: z
    .object({
      peerId: PeerIdSchema.optional(),
      uid: z.number().int().min(0).optional(),
      kind: SynapseKindSchema,
      params: z.unknown(),
      timeoutMs: z.number().int().min(1).max(600_000).default(60_000),
    })
    .strict()
    .refine((p) => (p.peerId === undefined) !== (p.uid === undefined), 'give exactly one of peerId or uid'),
  event: z.discriminatedUnion('type', [
    z.object({ type: z.literal('event'), data: z.unknown() }),
    z.object({
      type: z.literal('done'),
      requestId: z.string(),
      requestHash: HexSchema,
      responseHash: HexSchema,
      latencyMs: z.number(),
      firstEventMs: z.number().nullable(),
    }),
  ]),
  errors: [
    networkErrors.PEER_NOT_FOUND,
    networkErrors.DIAL_FAILED,
    networkErrors.REFUSED,
    networkErrors.REMOTE_ERROR,
    networkErrors.PEER_GONE,
    networkErrors.TIMEOUT,
  ],
});

export const ReceiptSchema = z.object({
  requestId: z.string(),
  miner: z.string().describe('Hotkey address of the miner that signed'),
  validator: z.string().describe('Hotkey address of the validator that asked'),
  requestHash: HexSchema,
  responseHash: HexSchema,
  root: HexSchema.describe('Merkle root of the batch this receipt belongs to'),
  proof: z.array(HexSchema),
  signature: HexSchema.describe("EIP-191 signature of the root by the miner's hotkey"),
  signedAt: z.number().int(),
});

export const network_getReceiptV1 = unary('network_getReceiptV1', {
  summary: 'The receipt a miner signed for a synapse this node sent: hashes, Merkle proof and signature.',
  params: z.object({ requestId: z.string().min(1).max(64) }).strict(),
  result: ReceiptSchema,
  errors: [networkErrors.RECEIPT_PENDING, networkErrors.RECEIPT_NOT_FOUND],
});

export const networkMethods = [
  network_getStatusV1,
  network_listPeersV1,
  network_dialV1,
  network_findProvidersV1,
  network_publishV1,
  network_subscribeV1,
  network_sendSynapseV1,
  network_getReceiptV1,
] as const;
