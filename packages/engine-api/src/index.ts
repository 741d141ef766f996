export { ENGINE_API_VERSION, type EngineApi, engineApi } from './api.js';
export {
  AuthErrorCode,
  createTokenSigner,
  createTokenVerifier,
  loadOrCreateJwtSecret,
  type TokenVerifier,
  type VerifyResult,
} from './auth.js';
export {
  type CallOpts,
  createEngineClient,
  type EngineClient,
  type EngineClientOpts,
  type EngineStream,
  type Settled,
  type StreamOpts,
} from './client.js';
export {
  type AnyMethod,
  type Api,
  type CallContext,
  defineApi,
  type EventOf,
  type Handler,
  type Handlers,
  METHOD_NAME,
  type ParamsIn,
  type ParamsOut,
  type ResultOf,
  type StreamMethod,
  type StreamNames,
  stream,
  type UnaryMethod,
  type UnaryNames,
  unary,
} from './define.js';
export {
  defineErrors,
  EngineError,
  EngineErrorCode,
  type EngineErrorName,
  type ErrorDef,
  engineErrorFromWire,
  engineErrorSummary,
  type WireError,
} from './errors.js';
export {
  createEngineHttpHandler,
  type EngineHttpModules,
  type EngineHttpOpts,
  type EngineHttpServer,
  type RouteHandler,
  startEngineHttpServer,
} from './http.js';
export * from './methods/app.js';
export * from './methods/chain.js';
export * from './methods/chainPayments.js';
export * from './methods/consensus.js';
export * from './methods/engine.js';
export * from './methods/gateway.js';
export * from './methods/network.js';
export * from './methods/node.js';
export { createEngineMetrics, type EngineMetrics } from './metrics.js';
export { openRpcDocument, renderEngineApiMarkdown } from './openrpc.js';
export { encodeRequest, parseBody, type RpcId } from './protocol.js';
export {
  featureOf,
  impliedBound,
  JSON_SCHEMA_FORMATS,
  JSON_SCHEMA_KEYWORDS,
  jsonObjectPrefixProblem,
  jsonSchemaProblem,
  MAX_INTEGER_DIGITS,
  MAX_JSON_SCHEMA_BYTES,
  MAX_JSON_SCHEMA_DEPTH,
  type ResponseFormat,
  ResponseFormatSchema,
  relaxJsonSchema,
  type StructuredFeature,
  structuredAnswerProblem,
} from './responseFormat.js';
export {
  createEngineServer,
  type EngineServer,
  type EngineServerModules,
  type EngineServerOpts,
  type RequestContext,
} from './server.js';
export { parseSse, renderSse } from './sse.js';
export {
  defineStack,
  isStackDefinition,
  namespacesOf,
  type StackDefinition,
  type StackInstance,
  type StackModules,
} from './stack.js';
export type { SseEvent, StreamEnd, Transport, TransportReply, TransportRequestOpts } from './transport.js';
export { createHttpTransport, type HttpTransportOpts } from './transports/http.js';
export { createInProcessTransport } from './transports/inProcess.js';
