export {
  unary,
  stream,
  defineApi,
  METHOD_NAME,
  type AnyMethod,
  type Api,
  type UnaryMethod,
  type StreamMethod,
  type UnaryNames,
  type StreamNames,
  type ParamsIn,
  type ParamsOut,
  type ResultOf,
  type EventOf,
  type CallContext,
  type Handler,
  type Handlers,
} from './define.js';
export {
  EngineError,
  EngineErrorCode,
  engineErrorSummary,
  engineErrorFromWire,
  defineErrors,
  type EngineErrorName,
  type ErrorDef,
  type WireError,
} from './errors.js';
export { engineApi, ENGINE_API_VERSION, type EngineApi } from './api.js';
export * from './methods/engine.js';
export * from './methods/node.js';
export { createEngineServer, type EngineServer, type EngineServerOpts, type EngineServerModules, type RequestContext } from './server.js';
export { createEngineHttpHandler, startEngineHttpServer, type EngineHttpServer, type EngineHttpOpts, type EngineHttpModules, type RouteHandler } from './http.js';
export { createEngineClient, type EngineClient, type EngineClientOpts, type EngineStream, type CallOpts, type StreamOpts, type Settled } from './client.js';
export { createInProcessTransport } from './transports/inProcess.js';
export { createHttpTransport, type HttpTransportOpts } from './transports/http.js';
export type { Transport, TransportReply, TransportRequestOpts, SseEvent, StreamEnd } from './transport.js';
export { loadOrCreateJwtSecret, createTokenSigner, createTokenVerifier, type TokenVerifier, type VerifyResult, AuthErrorCode } from './auth.js';
export { openRpcDocument, renderEngineApiMarkdown } from './openrpc.js';
export { createEngineMetrics, type EngineMetrics } from './metrics.js';
export { renderSse, parseSse } from './sse.js';
export { encodeRequest, parseBody, type RpcId } from './protocol.js';
export {
  defineStack,
  namespacesOf,
  isStackDefinition,
  type StackDefinition,
  type StackInstance,
  type StackModules,
} from './stack.js';
