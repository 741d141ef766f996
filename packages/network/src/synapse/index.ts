/**
 * The synapse protocol: validator → miner requests over one long-lived libp2p stream per pair, streamed
 * responses, and Merkle-batched receipts signed by the miner's hotkey.
 */
export {
  createSynapseClient,
  type SynapseClient,
  type SynapseClientModules,
  type SynapseClientOpts,
  type SynapseDone,
  type SynapseRequest,
  type SynapseResult,
} from './client.js';
export {
  encodeFrame,
  FrameDecoder,
  type FrameDecoderOpts,
  FrameWriter,
  type FrameWriterOpts,
  OversizedFrameError,
  type StreamChunk,
} from './framing.js';
export {
  EMPTY_RESPONSE_HASH,
  merkleProofs,
  merkleRoot,
  receiptLeaf,
  sha256Hex,
  verifyProof,
} from './merkle.js';
export {
  CancelFrameSchema,
  type ClientFrame,
  ClientFrameSchema,
  EndFrameSchema,
  type ErrorFrame,
  ErrorFrameSchema,
  EventFrameSchema,
  FRAME_HEADER_BYTES,
  MAX_FRAME_BYTES,
  type ReceiptFrame,
  ReceiptFrameSchema,
  type RequestFrame,
  RequestFrameSchema,
  receiptMessage,
  type ServerFrame,
  ServerFrameSchema,
  SYNAPSE_KINDS,
  type SynapseEventData,
  type SynapseKind,
  type SynapseParams,
  type SynapseParamsInput,
  synapseProtocol,
} from './protocol.js';
export {
  createReceiptStore,
  type PendingReceipt,
  type Receipt,
  ReceiptBatcher,
  type ReceiptBatcherModules,
  type ReceiptBatcherOpts,
  type ReceiptSigner,
  type ReceiptStore,
  type ReceiptStoreModules,
  type ReceiptStoreOpts,
  recoverReceiptSigner,
  verifyReceipt,
} from './receipts.js';
export {
  createSynapseServer,
  type SynapseContext,
  type SynapseHandler,
  type SynapseServer,
  type SynapseServerModules,
  type SynapseServerOpts,
} from './server.js';
