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
export {
  ModelError,
  ModelErrorCode,
  type ModelErrorMeta,
  PlanError,
  PlanErrorCode,
  type PlanErrorMeta,
} from './errors.js';
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
export { nvidiaGpu, nvidiaGpus, parseNvidiaSmiGpus } from './hardware.js';
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
  COMPUTE_BASE_BYTES,
  COMPUTE_UBATCH,
  type EstimateModelMemoryOpts,
  estimateModelMemory,
  formatBytes,
  type HardwareRow,
  KV_TYPE_BYTES,
  type KvType,
  MAX_PLAN_LAYERS,
  MAX_PLAN_MEMBERS,
  type ModelMemoryEstimate,
  type ModelMemoryInput,
  membersFromHardware,
  PLAN_DEFAULT_MAX_CONTEXT,
  PLAN_SAFETY_MARGIN,
  type PlacementGpu,
  type PlacementMember,
  type PlacementPlan,
  type PlacementShare,
  type PlacementStrategy,
  type PlanPlacementOpts,
  planPlacement,
} from './plan.js';
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
  GPU_REFRESH_MS,
  toEngineError,
} from './stack.js';
