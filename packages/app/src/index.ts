/** @subnet/app: the inference application stack. Models: a GGUF writer/reader and generated tiny models. */

export {
  createLlamaCppModule,
  type LlamaCppModelOpts,
  type LlamaCppModules,
  type LlamaCppOpts,
} from './backends/llamaCpp.js';
export {
  createLlamaServerModule,
  type LlamaServerModules,
  type LlamaServerOpts,
  loopbackEndpoint,
  type RpcServer,
  type RpcServerOpts,
  startRpcServer,
} from './backends/llamaServer.js';
export { createOllamaModule, type OllamaModules, type OllamaOpts } from './backends/ollama.js';
export { createOpenAiModule, type OpenAiModules, type OpenAiOpts } from './backends/openai.js';
export {
  createUseModule,
  USE_DIMENSIONS,
  USE_MODEL_ID,
  type UseModules,
  type UseOpts,
} from './backends/use.js';
export { ModelError, ModelErrorCode, type ModelErrorMeta } from './errors.js';
export {
  type GgufHeader,
  type GgufTensorInfo,
  type ReadGgufOptions,
  readGgufHeader,
  readGgufHeaderBytes,
  validateLlamaGguf,
} from './gguf/reader.js';
export * from './gguf/types.js';
export { type WriteGgufParameters, writeGguf } from './gguf/writer.js';
export {
  defaultCacheDir,
  ensureLlamaTools,
  LLAMA_TOOL_TARGETS,
  type LlamaTools,
  type LlamaToolsModules,
  type LlamaToolsOpts,
} from './llamaTools.js';
export { type GenerateModelParameters, generateModel, tokenizeBytes, VOCAB } from './model/generate.js';
export * from './module.js';
export {
  BUILTIN_MODEL_TYPE_RULES,
  createModelTypeRegistry,
  isModelType,
  ModelType,
  type ModelTypeDetection,
  type ModelTypeRegistry,
  type ModelTypeRegistryOpts,
  type ModelTypeRule,
  type ModelTypeRuleInput,
  taskTypesFor,
} from './namespaces.js';
export {
  createScheduler,
  type JobOpts,
  type JobPriority,
  type ModelSchedulerStats,
  type Scheduler,
  type SchedulerClock,
  type SchedulerModules,
  type SchedulerOpts,
} from './scheduler.js';
export {
  type AppModelConfig,
  type AppModules,
  type AppService,
  type AppStackOpts,
  appApi,
  createAppHandlers,
  nvidiaGpu,
  toEngineError,
} from './stack.js';
