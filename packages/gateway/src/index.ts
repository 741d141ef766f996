export {
  type ApiKeyInfo,
  type CreateKeyParams,
  createKeyStore,
  isKeyNotFound,
  KEY_STORE_VERSION,
  type KeyStore,
  KeyStoreError,
  KeyStoreErrorCode,
  type KeyStoreModules,
  type KeyStoreOpts,
} from './keys.js';
export { createLimiter, type KeyLimiter, type LimiterModules, type LimiterOpts } from './limits.js';
export {
  type OpenAiErrorBody,
  type OpenAiHttpError,
  openAiErrorTable,
  toOpenAiError,
} from './openai/errors.js';
export { checkFields, type FieldClass, OPENAI_FIELDS, type OpenAiRoute } from './openai/fields.js';
export {
  type ChatCompletionRequest,
  ChatCompletionRequestSchema,
  type CompletionRequest,
  CompletionRequestSchema,
  type EmbeddingRequest,
  EmbeddingRequestSchema,
  MAX_CHOICES,
  type ResponseRequest,
  ResponseRequestSchema,
} from './openai/schemas.js';
export {
  createOpenAiServer,
  type OpenAiServer,
  type OpenAiServerModules,
  type OpenAiServerOpts,
} from './openai/server.js';
export { type PaymentsReport, paymentsReport } from './payments/report.js';
export {
  createRouter,
  type GatewayRouter,
  type Outcome,
  type RouterModules,
  type RouterOpts,
} from './router.js';
export {
  DEFAULT_X402_TIMEOUT_S,
  decodePaymentSignature,
  encodePaymentResponse,
  MAX_PAYMENT_SIGNATURE_CHARS,
  type PaymentRequiredAnswer,
  paymentRequiredResponse,
  paymentRequirementsFor,
  X402_HEADERS,
  X402_VERSION,
  type X402PriceOpts,
  type X402Settlement,
  x402Unused,
} from './x402.js';
