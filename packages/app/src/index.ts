/** @subnet/app: the inference application stack. Models: a GGUF writer/reader and generated tiny models. */
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
export { type GenerateModelParameters, generateModel, tokenizeBytes, VOCAB } from './model/generate.js';
export * from './module.js';
