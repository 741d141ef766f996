/**
 * The synapse protocol, defined once: how a validator asks a miner for work over libp2p and how the miner
 * answers. Both ends import this file and nothing else defines the wire.
 *
 * Transport: one long-lived libp2p stream per (validator, miner) pair on `/subnet/<netuid>/synapse/1.0.0`,
 * opened by the validator and multiplexed by request id (a new libp2p stream per request costs ~1 ms of CPU
 * per side). Each frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. Frames
 * written in one event-loop turn go out in one `send`.
 *
 * validator → miner: `req` (a new request), `cancel` (abandon one).
 * miner → validator: `ev` (one event of a response), `end` (the response is complete), `err` (the request
 * failed or was refused), and now and then `rcpt`: a receipt batch. The miner hashes each request frame
 * and its response's event frames (SHA-256 over the exact bytes), builds a Merkle tree over the leaves of
 * the requests it finished since the last batch, signs the root with its hotkey (EIP-191) and sends the
 * root, the signature and each request's proof. The validator recomputes every leaf from the bytes it
 * sent and received, so a receipt is evidence of what the miner returned to whom.
 *
 * Canonical frames. A request's params are parsed by the validator with its kind's strict schema before
 * sending (defaults filled, keys in schema order), so every sender's `generate` frame has the same fields
 * in the same order, and nothing in it (no `priority`) tells a validator's challenge from a client's
 * request: the miner serves every synapse as organic. Every miner frame begins `{"t":"<type>"` and, for
 * `ev`, `end` and `err`, continues `,"id":` with the id (or null): the validator reads the type and id
 * from that prefix ({@link frameHead}) and never parses a frame of a request that is not open.
 *
 * Identity is never a field: it is the noise-authenticated peer of the stream.
 */
import {
  app_embedV1,
  app_generateV1,
  app_getCapabilitiesV1,
  SynapseEmbedParamsSchema,
  SynapseGenerateParamsSchema,
  SynapseKindSchema,
} from '@subnet/engine-api';
import { z } from 'zod';

/** The libp2p protocol id of a subnet's synapse protocol. */
export function synapseProtocol(netuid: number): string {
  return `/subnet/${netuid}/synapse/1.0.0`;
}

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;
/** No frame is ever larger than this, whatever the config says (a guard against a hostile length). */
export const MAX_FRAME_BYTES = 256 * 1_048_576;

export type SynapseKind = z.output<typeof SynapseKindSchema>;

/**
 * What each kind carries: the app stack's request shapes without `priority` (strict: an extra field is
 * refused), and its response shapes.
 */
export const SYNAPSE_KINDS = {
  /** Chat or completion: token events, then a done event. */
  generate: { params: SynapseGenerateParamsSchema, event: app_generateV1.event },
  /** Embeddings: one event holding the whole result. */
  embed: { params: SynapseEmbedParamsSchema, event: app_embedV1.result },
  /** What the miner serves: one event. */
  capabilities: { params: z.object({}).strict(), event: app_getCapabilitiesV1.result },
} as const satisfies Record<SynapseKind, { params: z.ZodType; event: z.ZodType }>;

const RequestId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'request ids are 1-64 characters of A-Z a-z 0-9 _ -');
const Hash = z.string().regex(/^0x[0-9a-f]{64}$/, 'a 0x-prefixed 32-byte lowercase hex hash');

/** A new request. `ts` is the sender's clock (unix ms), checked against the replay window. */
export const RequestFrameSchema = z
  .object({
    t: z.literal('req'),
    id: RequestId,
    kind: SynapseKindSchema,
    params: z.unknown(),
    deadlineMs: z.number().int().min(1).max(600_000),
    ts: z.number().int().min(0),
  })
  .strict();

export const CancelFrameSchema = z.object({ t: z.literal('cancel'), id: RequestId }).strict();

export const EventFrameSchema = z.object({ t: z.literal('ev'), id: RequestId, data: z.unknown() }).strict();

export const EndFrameSchema = z.object({ t: z.literal('end'), id: RequestId }).strict();

/**
 * A failed request. `code`: `refused` (admission or limits; `reason` says which), `remote` (the backend
 * failed; `remoteCode` is its error name), `timeout` (the miner's deadline for it passed). `id` is null
 * when the frame that failed could not be parsed far enough to have one.
 */
export const ErrorFrameSchema = z
  .object({
    t: z.literal('err'),
    id: RequestId.nullable(),
    code: z.enum(['refused', 'remote', 'timeout']),
    reason: z
      .enum([
        'unregistered',
        'no_permit',
        'replayed',
        'malformed',
        'oversized',
        'busy',
        'unsupported',
        'unavailable',
      ])
      .optional(),
    remoteCode: z.string().max(64).optional(),
    message: z.string().max(4096),
  })
  .strict();

/** A signed receipt batch: the root, the miner's signature over it, and each request's proof. */
export const ReceiptFrameSchema = z
  .object({
    t: z.literal('rcpt'),
    root: Hash,
    sig: z.string().regex(/^0x[0-9a-f]{130}$/, 'a 65-byte signature'),
    at: z.number().int(),
    items: z
      .array(z.object({ id: RequestId, proof: z.array(Hash).max(32) }).strict())
      .min(1)
      .max(65_536),
  })
  .strict();

export const ClientFrameSchema = z.discriminatedUnion('t', [RequestFrameSchema, CancelFrameSchema]);
export const ServerFrameSchema = z.discriminatedUnion('t', [
  EventFrameSchema,
  EndFrameSchema,
  ErrorFrameSchema,
  ReceiptFrameSchema,
]);

/** The request parameters of a kind, as the miner's handler receives them (validated, defaults applied). */
export type SynapseParams<K extends SynapseKind> = z.output<(typeof SYNAPSE_KINDS)[K]['params']>;
/** The request parameters of a kind, as a validator writes them. */
export type SynapseParamsInput<K extends SynapseKind> = z.input<(typeof SYNAPSE_KINDS)[K]['params']>;
/** One event of a kind's response. */
export type SynapseEventData<K extends SynapseKind> = z.output<(typeof SYNAPSE_KINDS)[K]['event']>;

export type RequestFrame = z.output<typeof RequestFrameSchema>;
export type ClientFrame = z.output<typeof ClientFrameSchema>;
export type ServerFrame = z.output<typeof ServerFrameSchema>;
export type ErrorFrame = z.output<typeof ErrorFrameSchema>;
export type ReceiptFrame = z.output<typeof ReceiptFrameSchema>;

/** The message a miner signs (EIP-191 personal message over these bytes) for a receipt batch. */
export function receiptMessage(root: `0x${string}`): `0x${string}` {
  return `0x${Buffer.from('subnet-receipt/1:').toString('hex')}${root.slice(2)}`;
}

/** The type and id of a miner frame, read from its canonical prefix without parsing it. */
export interface FrameHead {
  t: 'ev' | 'end' | 'err' | 'rcpt';
  /** The request id (`ev`, `end`, `err`); null for `rcpt` and for an `err` about the stream. */
  id: string | null;
}

const HEAD_BYTES = 96;
const HEAD = /^\{"t":"(ev|end|err|rcpt)"(?:,"id":(?:"([A-Za-z0-9_-]{1,64})"|null))?/;

/**
 * Reads a miner frame's canonical prefix (`{"t":"ev","id":"…"`); null when the frame does not start so
 * (a protocol violation) or an `ev`/`end` frame lacks its id.
 */
export function frameHead(body: Uint8Array): FrameHead | null {
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, HEAD_BYTES)).toString(
    'latin1',
  );
  const m = HEAD.exec(text);
  if (m === null) return null;
  const t = m[1] as FrameHead['t'];
  const id = m[2] ?? null;
  if ((t === 'ev' || t === 'end') && id === null) return null;
  if (t === 'rcpt') return { t, id: null };
  return { t, id };
}
