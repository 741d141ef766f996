/**
 * `app_*`: the app (inference) stack's namespace — what the node can serve (models, task types,
 * hardware), generation as a stream of token events ending in one `done` event, embeddings, teacher-forced
 * scoring, and loading or unloading models at runtime. The request fields follow OpenAI's parameters.
 */
import { z } from 'zod';
import { stream, unary } from '../define.js';
import { defineErrors } from '../errors.js';
import { ResponseFormatSchema } from '../responseFormat.js';

export const appErrors = defineErrors({
  UNKNOWN_MODEL: { code: 1201, summary: 'No model with that id is loaded; call app_listModelsV1.' },
  OVERLOADED: {
    code: 1202,
    summary: "The model's queue is full; retry after `error.data.retryAfterMs` milliseconds.",
  },
  CONTEXT_OVERFLOW: { code: 1203, summary: "The prompt does not fit the model's context; shorten it." },
  UNSUPPORTED_TASK: {
    code: 1204,
    summary: 'The model does not serve that task (e.g. embeddings on a chat model).',
  },
  MODEL_REFUSED: {
    code: 1205,
    summary: 'The model file or server was refused at load; the message says why.',
  },
  BACKEND_UNAVAILABLE: {
    code: 1206,
    summary: 'The inference backend cannot be reached; check that it runs.',
  },
  BACKEND_FAILED: {
    code: 1207,
    summary: 'The inference backend failed on this request; the node logged it.',
  },
});

const ModelId = z.string().min(1).max(256);
export const TaskTypeSchema = z.enum(['chat', 'completion', 'embedding']);
export const PrioritySchema = z
  .enum(['challenge', 'organic'])
  .default('organic')
  .describe('challenge: a validator challenge, served before organic traffic');
export const AppBackendSchema = z.enum(['llama.cpp', 'ollama', 'openai', 'use']);

export const AppModelInfoSchema = z.object({
  id: z.string(),
  backend: AppBackendSchema,
  taskTypes: z.array(TaskTypeSchema),
  contextLength: z.number().int(),
  modelType: z.string().describe('From the model-type registry: llm, embedding, …, or unknown'),
  features: z
    .array(z.enum(['json_object', 'json_schema']))
    .max(8)
    .default([])
    .describe('What the model enforces beyond plain generation: structured outputs (responseFormat) by type'),
});

const TokenLogprobSchema = z.object({ token: z.string(), logprob: z.number() });

/** Longest `text` of one token event (characters): a token, or the few a stop-sequence hold released at once. */
export const MAX_TOKEN_TEXT = 4096;
/** Most model token ids one token event may carry (`ids`): one token, or a few a held piece of text released at once. */
export const MAX_TOKEN_IDS = 64;
/** Most token ids `app_scoreV1` scores in one call (`continuationIds`). */
export const MAX_SCORE_IDS = 1_048_576;
/** Most characters `app_tokenizeV1` counts in one call (all texts together). */
export const MAX_TOKENIZE_CHARS = 64 * 1_048_576;

export const AppGenerateEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('token'),
    text: z.string().max(MAX_TOKEN_TEXT).describe('One token (or a few) of text; a miner may not send more'),
    ids: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(2 ** 31 - 1),
      )
      .max(MAX_TOKEN_IDS)
      .optional()
      .describe(
        "The model's token ids this event covers, in order (backends that hold the tokenizer: llama.cpp). " +
          'An event whose text is held back (a partial UTF-8 character, a possible stop sequence) still ' +
          'carries its ids with empty text; a later event carries the text. The ids of all events, ' +
          "detokenised, are the answer's text; the validator audits them (app_scoreV1 continuationIds)",
      ),
    logprob: z
      .number()
      .optional()
      .describe(
        "The log-probability of the event's token (with several `ids`, the sum of theirs): raw at temperature 0, " +
          'after the sampler chain (SAMPLING_TOP_K, top-p, temperature) above it',
      ),
    topLogprobs: z.array(TokenLogprobSchema).optional(),
  }),
  z.object({
    type: z.literal('done'),
    finishReason: z.enum(['stop', 'length']),
    usage: z.object({ promptTokens: z.number().int(), completionTokens: z.number().int() }),
  }),
]);

export const SchedulerStatsSchema = z.object({
  queued: z.number().int(),
  running: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  rejected: z.number().int(),
  timedOut: z.number().int(),
  cancelled: z.number().int(),
  queueWaitP50Ms: z.number(),
  queueWaitP99Ms: z.number(),
});

const common = [
  appErrors.UNKNOWN_MODEL,
  appErrors.OVERLOADED,
  appErrors.BACKEND_UNAVAILABLE,
  appErrors.BACKEND_FAILED,
];

/** Most GPUs one node reports (a heartbeat with more is refused). */
export const MAX_REPORTED_GPUS = 16;

/** One GPU as `nvidia-smi` reports it: name, total and free memory. */
export const GpuInfoSchema = z.object({
  name: z.string().max(256),
  memoryBytes: z.number().int().min(0).describe('Total memory of the GPU'),
  freeMemoryBytes: z.number().int().min(0).describe('Memory free on the GPU when it was asked'),
});
export type GpuInfo = z.output<typeof GpuInfoSchema>;

/**
 * Hardware a node reports (in `app_getCapabilitiesV1` and in its heartbeats). `freeMemoryBytes` and `gpus`
 * are optional: answers and heartbeats of nodes older than them still parse (a placement plan skips a peer
 * that does not say its free memory).
 */
export const HardwareSchema = z.object({
  cpus: z.number().int().min(0),
  memoryBytes: z.number().int().min(0),
  freeMemoryBytes: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Memory available to new work now (MemAvailable on Linux); absent from older nodes'),
  gpu: z.string().nullable().describe('GPU name from nvidia-smi; null without one'),
  gpus: z
    .array(GpuInfoSchema)
    .max(MAX_REPORTED_GPUS)
    .optional()
    .describe('Every GPU nvidia-smi lists, with its free memory; empty without one, absent from older nodes'),
});
export type Hardware = z.output<typeof HardwareSchema>;

export const app_getCapabilitiesV1 = unary('app_getCapabilitiesV1', {
  summary: 'Loaded models with task types, context length and model type, and the hardware of this node.',
  params: z.object({}).strict(),
  result: z.object({
    models: z.array(AppModelInfoSchema),
    hardware: HardwareSchema,
  }),
});

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(1_000_000),
});

/**
 * The sampling a generation with temperature > 0 means, on every miner: top-k {@link SAMPLING_TOP_K} of the
 * raw distribution, then top-p over the softmax of those, then temperature over the survivors (llama.cpp's
 * order), drawn with the request's seed. A backend reports the chosen token's logprob either raw or after
 * this chain; the validator's audit recomputes both from its reference model.
 */
export const SAMPLING_TOP_K = 40;

/** One generation (chat or completion) in the backend-neutral form: the one definition, used by the app stack too. */
const GenerateFields = z.object({
  model: ModelId,
  kind: z.enum(['chat', 'completion']),
  messages: z.array(ChatMessageSchema).min(1).max(1024).optional(),
  prompt: z.string().max(1_000_000).optional(),
  maxTokens: z.number().int().min(1).max(32_768).default(128),
  temperature: z.number().min(0).max(2).default(0),
  topP: z.number().gt(0).max(1).default(1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  stop: z.array(z.string().min(1).max(256)).max(8).default([]),
  logprobs: z.boolean().default(false),
  topLogprobs: z.number().int().min(0).max(20).default(0),
  responseFormat: ResponseFormatSchema.optional(),
});
const hasInput = (r: { kind: string; messages?: unknown; prompt?: unknown }) =>
  r.kind === 'chat' ? r.messages !== undefined : r.prompt !== undefined;
const hasInputMessage = { message: 'chat needs messages; completion needs prompt' };

export const GenerateRequestSchema = GenerateFields.refine(hasInput, hasInputMessage);

export const app_generateV1 = stream('app_generateV1', {
  summary: 'Chat or completion as a stream of token events ending in one done event (finishReason, usage).',
  params: GenerateFields.extend({ priority: PrioritySchema }).strict().refine(hasInput, hasInputMessage),
  event: AppGenerateEventSchema,
  errors: [...common, appErrors.CONTEXT_OVERFLOW, appErrors.UNSUPPORTED_TASK],
});

/**
 * The `generate` synapse's parameters: the generation fields only, strict, with no `priority`. A miner
 * must not tell a validator's challenge from a client's request by the frame, so nothing marks it; the
 * miner serves every synapse as organic.
 */
export const SynapseGenerateParamsSchema = GenerateFields.strict().refine(hasInput, hasInputMessage);

/** The `embed` synapse's parameters: `app_embedV1`'s without `priority` (see {@link SynapseGenerateParamsSchema}). */
export const SynapseEmbedParamsSchema = z
  .object({ model: ModelId, input: z.array(z.string().max(100_000)).min(1).max(2048) })
  .strict();

export const app_embedV1 = unary('app_embedV1', {
  summary: 'One embedding vector per input string.',
  params: z
    .object({
      model: ModelId,
      input: z.array(z.string().max(100_000)).min(1).max(2048),
      priority: PrioritySchema,
    })
    .strict(),
  result: z.object({
    embeddings: z.array(z.array(z.number())),
    usage: z.object({ promptTokens: z.number().int() }),
  }),
  errors: [...common, appErrors.CONTEXT_OVERFLOW, appErrors.UNSUPPORTED_TASK],
});

/** Whether exactly one of `prompt` and `messages` is given (app_scoreV1). */
const oneInput = (r: { prompt?: unknown; messages?: unknown }) =>
  (r.prompt === undefined) !== (r.messages === undefined);
/** Whether exactly one of `continuation` and `continuationIds` is given (app_scoreV1). */
const oneContinuation = (r: { continuation?: unknown; continuationIds?: unknown }) =>
  (r.continuation === undefined) !== (r.continuationIds === undefined);

export const app_scoreV1 = unary('app_scoreV1', {
  summary:
    "Teacher forcing: the model's log-probability of each token of `continuation` (or exactly the tokens `continuationIds`) after `prompt` or a chat's `messages`.",
  params: z
    .object({
      model: ModelId,
      prompt: GenerateFields.shape.prompt.describe(
        'Raw text the continuation follows, tokenized as a completion prompt (give this or `messages`)',
      ),
      messages: GenerateFields.shape.messages.describe(
        "A chat the continuation answers: rendered with the model's chat template with the assistant turn open, " +
          "exactly as app_generateV1 with kind 'chat' renders it (give this or `prompt`)",
      ),
      continuation: z
        .string()
        .min(1)
        .max(1_000_000)
        .optional()
        .describe("Text to score, tokenized with the model's tokenizer (give this or `continuationIds`)"),
      continuationIds: z
        .array(
          z
            .number()
            .int()
            .min(0)
            .max(2 ** 31 - 1),
        )
        .min(1)
        .max(MAX_SCORE_IDS)
        .optional()
        .describe(
          "Token ids to score exactly as given, not re-tokenised (a generation's `ids`); each result token " +
            'carries its text piece, and the pieces joined are their detokenised text (give this or `continuation`)',
        ),
      topLogprobs: z
        .number()
        .int()
        .min(0)
        .max(64)
        .optional()
        .describe(
          'Top logprobs per token (up to 64: an audit of a sampled answer asks for the sampler top-k)',
        ),
      eos: z
        .boolean()
        .default(false)
        .describe('Also score the end of generation right after the continuation (`result.eos`)'),
      priority: PrioritySchema,
    })
    .strict()
    .refine(oneInput, {
      message: 'give exactly one of prompt (raw text) and messages (a chat), not both and not neither',
    })
    .refine(oneContinuation, {
      message:
        'give exactly one of continuation (text) and continuationIds (token ids), not both and not neither',
    }),
  result: z.object({
    tokens: z.array(TokenLogprobSchema.extend({ topLogprobs: z.array(TokenLogprobSchema).optional() })),
    sumLogprob: z.number(),
    promptTokens: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Tokens of the prompt as a generation of it counts them (with BOS and the chat template)'),
    contextLength: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        "The model's context: a generation of this prompt has room for contextLength - promptTokens tokens",
      ),
    eos: z
      .object({
        logprob: z
          .number()
          .describe(
            "Log-probability of ending there: the model's end-of-generation tokens together (with `messages`, the chat template's end-of-turn tokens too)",
          ),
        topLogprob: z.number().describe('Log-probability of the most likely token there'),
      })
      .nullable()
      .optional()
      .describe('With `eos: true`: how likely the model was to stop right after the continuation'),
  }),
  errors: [...common, appErrors.CONTEXT_OVERFLOW, appErrors.UNSUPPORTED_TASK],
});

export const app_tokenizeV1 = unary('app_tokenizeV1', {
  summary:
    "Counts the tokens of each text with the model's own tokenizer (the gateway bills what it relayed with it).",
  params: z
    .object({
      model: ModelId,
      texts: z
        .array(z.string())
        .min(1)
        .max(2048)
        .refine((t) => t.reduce((n, s) => n + s.length, 0) <= MAX_TOKENIZE_CHARS, {
          message: `the texts hold more than ${MAX_TOKENIZE_CHARS} characters together`,
        }),
    })
    .strict(),
  result: z.object({
    counts: z.array(z.number().int().min(0)).describe('Tokens of each text, in order (no BOS or template)'),
  }),
  errors: [...common, appErrors.UNSUPPORTED_TASK],
});

export const app_listModelsV1 = unary('app_listModelsV1', {
  summary: 'The models loaded now, by id.',
  params: z.object({}).strict(),
  result: z.object({ models: z.array(AppModelInfoSchema) }),
});

export const app_loadModelV1 = unary('app_loadModelV1', {
  summary:
    'Loads a model (llama.cpp file, Ollama/OpenAI server model or the packaged USE embedder) under an id, replacing one with that id.',
  params: z
    .object({
      id: ModelId,
      backend: AppBackendSchema,
      path: z.string().min(1).optional().describe('GGUF file (llama.cpp)'),
      baseUrl: z.url().optional().describe('Server root (ollama, openai)'),
      model: z.string().min(1).optional().describe('Model name on that server (ollama, openai)'),
      contextLength: z.number().int().min(16).max(1_048_576).optional(),
    })
    .strict()
    .refine(
      (p) =>
        p.backend === 'llama.cpp'
          ? p.path !== undefined && p.baseUrl === undefined
          : p.backend === 'use'
            ? p.path === undefined && p.baseUrl === undefined && p.model === undefined
            : p.baseUrl !== undefined && p.model !== undefined && p.path === undefined,
      {
        message:
          'llama.cpp needs path; ollama and openai need baseUrl and model; use takes none of path, baseUrl, model',
      },
    ),
  result: z.object({ model: AppModelInfoSchema, replaced: z.boolean() }),
  errors: [appErrors.MODEL_REFUSED, appErrors.BACKEND_UNAVAILABLE, appErrors.BACKEND_FAILED],
});

export const app_unloadModelV1 = unary('app_unloadModelV1', {
  summary:
    'Unloads a model: its queued jobs are cancelled and its running ones finish first; others are untouched.',
  params: z.object({ id: ModelId }).strict(),
  result: z.object({ unloaded: z.boolean() }),
  errors: [appErrors.UNKNOWN_MODEL],
});

export const app_getStatsV1 = unary('app_getStatsV1', {
  summary: 'Scheduler counters per model and the cpu and memory use of the serving process.',
  params: z.object({}).strict(),
  result: z.object({
    models: z.record(z.string(), SchedulerStatsSchema),
    process: z.object({
      cpuUserUs: z.number().int(),
      cpuSystemUs: z.number().int(),
      rssBytes: z.number().int(),
      heapUsedBytes: z.number().int(),
    }),
  }),
});

export const appMethods = [
  app_getCapabilitiesV1,
  app_generateV1,
  app_embedV1,
  app_scoreV1,
  app_tokenizeV1,
  app_listModelsV1,
  app_loadModelV1,
  app_unloadModelV1,
  app_getStatsV1,
] as const;
