/**
 * Model-type detection from names: an ordered list of pattern rules mapping a model's name (plain,
 * Ollama tag `llama3:8b`, Hugging Face `org/name`, or a GGUF file name) to a model type, and the task types
 * each model type serves. Configured rules are tried before the built-ins; the first match wins.
 * Pure logic: it must never load a model or touch the network or the file system.
 */
import { AppError, AppErrorCode, TaskType } from './module.js';

/** The kinds of model the namespace registry knows. */
export const ModelType = {
  llm: 'llm',
  embedding: 'embedding',
  diffusion: 'diffusion',
  imageClassification: 'image-classification',
  audio: 'audio',
  video: 'video',
  tts: 'tts',
  unknown: 'unknown',
} as const;
export type ModelType = (typeof ModelType)[keyof typeof ModelType];

const MODEL_TYPES: ReadonlySet<string> = new Set(Object.values(ModelType));

/** True when `value` names a known model type. */
export function isModelType(value: string): value is ModelType {
  return MODEL_TYPES.has(value);
}

/** A rule as written in config: a regex source (matched case-insensitively against the name) and a type. */
export interface ModelTypeRuleInput {
  pattern: string;
  type: ModelType;
}

/** A compiled rule; `source` says whether it came from config or from the built-in table. */
export interface ModelTypeRule {
  pattern: string;
  type: ModelType;
  source: 'config' | 'builtin';
  regex: RegExp;
}

/** What {@link ModelTypeRegistry.detect} found: the type and the rule that decided it (null for unknown). */
export interface ModelTypeDetection {
  type: ModelType;
  rule: ModelTypeRule | null;
}

/** Options for {@link createModelTypeRegistry}. */
export interface ModelTypeRegistryOpts {
  /** Rules tried before the built-ins, in order. */
  extra?: readonly ModelTypeRuleInput[];
}

export interface ModelTypeRegistry {
  /** The type of `name`, or `unknown`; the first matching rule wins (config rules first). */
  detect(name: string): ModelTypeDetection;
  /** All rules in the order they are tried. */
  readonly rules: readonly ModelTypeRule[];
}

// Start-of-token boundary: the name's start or a separator (org slash, Ollama colon, dash, dot, underscore).
const B = '(?:^|[/:._\\s-])';
// End-of-token boundary.
const E = '(?=$|[/:._\\s-])';

/**
 * Built-in rules, most specific first: embeddings before LLM families (`mistral-embed`), video before
 * diffusion (`stable-video-diffusion`), TTS before image models (`vits` is not `vit`), and the GGUF / quant
 * fallback last (a GGUF file is an LLM unless a rule above says otherwise).
 */
export const BUILTIN_MODEL_TYPE_RULES: readonly ModelTypeRuleInput[] = [
  { pattern: 'embed', type: 'embedding' },
  { pattern: `${B}(?:bge|gte|e5|multilingual-e5)${E}`, type: 'embedding' },
  { pattern: 'minilm|mpnet|sentence-t5|universal-sentence-encoder|sentence-transformers', type: 'embedding' },
  { pattern: `${B}(?:clip|siglip)${E}`, type: 'embedding' },
  { pattern: `tts(?:\\d|${E})|${B}(?:bark|piper|kokoro|vits|speecht5)|text-to-speech`, type: 'tts' },
  { pattern: `whisper|wav2vec|${B}hubert|${B}parakeet|${B}asr${E}|speech-to-text`, type: 'audio' },
  { pattern: `video|${B}(?:svd|animatediff|mochi)${E}`, type: 'video' },
  {
    pattern: `diffusion|${B}sd(?:xl|3|-?[12]\\.\\d|-turbo)|${B}flux|dall-e|kandinsky|pixart|playground-v`,
    type: 'diffusion',
  },
  {
    pattern: `${B}(?:resnet|efficientnet|mobilenet|convnext|regnet|densenet|deit|beit|vgg\\d*|vit)${E}|resnet\\d`,
    type: 'image-classification',
  },
  {
    pattern:
      'llama|mistral|mixtral|qwen|gemma|deepseek|falcon|vicuna|smollm|olmo|starcoder|command-r|' +
      `${B}(?:phi|yi|gpt|granite|chat|instruct)`,
    type: 'llm',
  },
  { pattern: `\\.gguf$|${B}q[2-8]_(?:k|0|1)`, type: 'llm' },
];

function compile(input: ModelTypeRuleInput, source: 'config' | 'builtin', index: number): ModelTypeRule {
  const where =
    source === 'config' ? `model type rule ${index} in config` : `built-in model type rule ${index}`;
  if (!isModelType(input.type)) {
    throw new AppError(
      AppErrorCode.INVALID_REQUEST,
      `${where} has unknown type "${String(input.type)}"; use one of ${[...MODEL_TYPES].join(', ')}`,
    );
  }
  let regex: RegExp;
  try {
    regex = new RegExp(input.pattern, 'i');
  } catch (err) {
    throw new AppError(
      AppErrorCode.INVALID_REQUEST,
      `${where} has an invalid regular expression ${JSON.stringify(input.pattern)} (${(err as Error).message}); fix or remove it`,
      { cause: err },
    );
  }
  return { pattern: input.pattern, type: input.type, source, regex };
}

/** Builds the registry; throws `AppError` INVALID_REQUEST when a configured rule is not a valid regex or type. */
export function createModelTypeRegistry(opts: ModelTypeRegistryOpts = {}): ModelTypeRegistry {
  const rules = [
    ...(opts.extra ?? []).map((r, i) => compile(r, 'config', i)),
    ...BUILTIN_MODEL_TYPE_RULES.map((r, i) => compile(r, 'builtin', i)),
  ];
  return {
    rules,
    detect(name) {
      const normalized = name.trim().toLowerCase();
      if (normalized === '') return { type: 'unknown', rule: null };
      for (const rule of rules) if (rule.regex.test(normalized)) return { type: rule.type, rule };
      return { type: 'unknown', rule: null };
    },
  };
}

const TASKS: Record<ModelType, readonly TaskType[]> = {
  llm: [TaskType.chat, TaskType.completion],
  embedding: [TaskType.embedding],
  diffusion: [],
  'image-classification': [],
  audio: [],
  video: [],
  tts: [],
  unknown: [],
};

/** Task types a model of `type` serves today (empty for types without a task yet). */
export function taskTypesFor(type: ModelType): TaskType[] {
  return [...TASKS[type]];
}
