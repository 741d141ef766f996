/**
 * Request bodies of the OpenAI-compatible routes as zod schemas (the one definition; the request types are
 * inferred from them). Strict: a wrong type or range is a 400 naming the field, and every field is one of
 * `fields.ts`'s table (honoured, a no-op, or refused unless harmless; `checkFields` refuses before these
 * run, so a refused field here is only ever its harmless value). Optional fields accept `null` as OpenAI's
 * API does. Limits mirror `app_generateV1` / `app_embedV1`, so a request that passes here is one a miner
 * accepts. Never used on the response path.
 */
import { jsonSchemaProblem } from '@subnet/engine-api';
import { z } from 'zod';
import { OPENAI_FIELDS, type OpenAiRoute } from './fields.js';
import {
  MAX_TOOLS,
  ResponseToolChoiceSchema,
  ResponseToolsSchema,
  ToolCallSchema,
  ToolChoiceSchema,
  ToolSchema,
} from './tools.js';

/** Most choices (`n`, `best_of`) one request may ask for: each is a generation of its own. */
export const MAX_CHOICES = 8;

/** The refused fields of a route, accepted here as anything: `checkFields` let only harmless values by. */
function refusedShape(route: OpenAiRoute): Record<string, z.ZodOptional<z.ZodUnknown>> {
  const out: Record<string, z.ZodOptional<z.ZodUnknown>> = {};
  for (const [name, c] of Object.entries(OPENAI_FIELDS[route]))
    if (c.class === 'refused') out[name] = z.unknown().optional();
  return out;
}

/** The no-op fields (see `fields.ts` for why each is harmless), typed so a wrong type is still a 400. */
const NoopFields = {
  user: z.string().max(512).nullish(),
  safety_identifier: z.string().max(512).nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  store: z
    .literal(false, { error: 'store: only false (the gateway is stateless and stores nothing)' })
    .nullish(),
  service_tier: z
    .enum(['auto', 'default'], { error: "service_tier: only 'auto' or 'default' (there is one tier)" })
    .nullish(),
  prompt_cache_key: z.string().max(1024).nullish(),
  prompt_cache_options: z.record(z.string(), z.unknown()).nullish(),
  prompt_cache_retention: z.string().max(64).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
};

const StreamOptionsSchema = z
  .object({ include_usage: z.boolean().nullish(), include_obfuscation: z.boolean().nullish() })
  .strict();

const ModelId = z.string().min(1).max(256);
const MAX_TEXT = 1_000_000;

/** `stop`: one string or up to 4 (OpenAI's limit). */
const StopSchema = z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(4)], {
  error: 'stop must be a string or an array of at most 4 non-empty strings',
});

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string().max(MAX_TEXT) }).strict();

/** Message content: a string or an array of text parts (images, audio and files are not served). */
const ContentSchema = z.union([z.string().max(MAX_TEXT), z.array(TextPartSchema).max(1024)], {
  error: 'content must be a string or an array of text parts ({ "type": "text", "text": "…" })',
});

/**
 * A chat message, strict as OpenAI's own (an unknown key, such as the deprecated `function_call` or an
 * assistant's `audio`, is a 400 naming it). `name` is accepted and does not reach the model: the miners' chat
 * templates render roles only, as most open models' do.
 */
export const ChatMessageSchema = z.discriminatedUnion(
  'role',
  [
    z
      .object({
        role: z.enum(['system', 'developer', 'user']),
        content: ContentSchema,
        name: z.string().max(256).nullish(),
      })
      .strict(),
    z
      .object({
        role: z.literal('assistant'),
        // null: an assistant turn that only called tools; read as empty text.
        content: ContentSchema.nullish(),
        name: z.string().max(256).nullish(),
        refusal: z.string().max(MAX_TEXT).nullish(),
        tool_calls: z.array(ToolCallSchema).max(MAX_TOOLS).nullish(),
      })
      .strict(),
    z
      .object({
        role: z.literal('tool'),
        content: ContentSchema,
        tool_call_id: z.string().min(1).max(256),
      })
      .strict(),
  ],
  { error: 'role must be system, developer, user, assistant or tool' },
);

/** A JSON Schema in the subset every miner enforces (`@subnet/engine-api` `jsonSchemaProblem`), else a 400 naming the place. */
const StructuredSchema = z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
  const problem = jsonSchemaProblem(schema);
  if (problem !== null) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
});
const SchemaName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
  error: 'name: 1 to 64 letters, digits, underscores or dashes',
});

/** Chat's `response_format` (structured outputs), enforced by the miners' grammar-constrained decoding. */
const ResponseFormatSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text') }).strict(),
    z.object({ type: z.literal('json_object') }).strict(),
    z
      .object({
        type: z.literal('json_schema'),
        json_schema: z
          .object({
            name: SchemaName,
            description: z.string().max(10_000).nullish(),
            schema: StructuredSchema.nullish(),
            strict: z.boolean().nullish(),
          })
          .strict(),
      })
      .strict(),
  ],
  { error: "response_format: type must be 'text', 'json_object' or 'json_schema'" },
);
export type ChatResponseFormat = z.output<typeof ResponseFormatSchema>;

/** The Responses API's `text` (its `format` is the structured output; `verbosity` is not a setting here). */
const ResponseTextSchema = z
  .object({
    format: z
      .discriminatedUnion(
        'type',
        [
          z.object({ type: z.literal('text') }).strict(),
          z.object({ type: z.literal('json_object') }).strict(),
          z
            .object({
              type: z.literal('json_schema'),
              name: SchemaName,
              description: z.string().max(10_000).nullish(),
              schema: StructuredSchema,
              strict: z.boolean().nullish(),
            })
            .strict(),
        ],
        { error: "text.format: type must be 'text', 'json_object' or 'json_schema'" },
      )
      .nullish(),
  })
  .strict();
export type ResponseTextFormat = NonNullable<z.output<typeof ResponseTextSchema>['format']>;

/** Fields shared by chat completions and completions. */
const SamplingFields = {
  model: ModelId,
  max_tokens: z.int().min(1).max(32_768).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.int().nullish(),
  stop: StopSchema.nullish(),
  n: z
    .int()
    .min(1)
    .max(MAX_CHOICES, {
      error: `n: at most ${MAX_CHOICES} choices per request (each is a generation of its own)`,
    })
    .nullish(),
  stream: z.boolean().nullish(),
  stream_options: StreamOptionsSchema.nullish(),
  user: NoopFields.user,
};

/** `POST /v1/chat/completions`. */
export const ChatCompletionRequestSchema = z
  .object({
    ...refusedShape('chat'),
    ...NoopFields,
    ...SamplingFields,
    messages: z.array(ChatMessageSchema).min(1).max(1024),
    max_completion_tokens: z.int().min(1).max(32_768).nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.int().min(0).max(20).nullish(),
    response_format: ResponseFormatSchema.nullish(),
    tools: z
      .array(ToolSchema)
      .max(MAX_TOOLS, { error: `tools: at most ${MAX_TOOLS}` })
      .nullish(),
    tool_choice: ToolChoiceSchema.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
  })
  .strict();
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;

/** `POST /v1/completions` (legacy). */
export const CompletionRequestSchema = z
  .object({
    ...refusedShape('completions'),
    ...SamplingFields,
    prompt: z.union([z.string().max(MAX_TEXT), z.tuple([z.string().max(MAX_TEXT)])], {
      error: 'prompt must be a string or an array of one string (token arrays and batches are not supported)',
    }),
    /** The number of most likely tokens to return with each token (OpenAI allows up to 5). */
    logprobs: z.int().min(0).max(5).nullish(),
    /** Candidates generated; the `n` with the highest total logprob are returned (≥ n, not with stream). */
    best_of: z
      .int()
      .min(1)
      .max(MAX_CHOICES, { error: `best_of: at most ${MAX_CHOICES} candidates per request` })
      .nullish(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const n = r.n ?? 1;
    if (r.best_of !== null && r.best_of !== undefined && r.best_of < n)
      ctx.addIssue({ code: 'custom', path: ['best_of'], message: `best_of must be at least n (${n})` });
    if ((r.best_of ?? 1) > 1 && r.stream === true)
      ctx.addIssue({
        code: 'custom',
        path: ['best_of'],
        message: 'best_of cannot be used with stream (the best candidates are known only at the end)',
      });
  });
export type CompletionRequest = z.output<typeof CompletionRequestSchema>;

/** `POST /v1/embeddings`. */
export const EmbeddingRequestSchema = z
  .object({
    model: ModelId,
    user: NoopFields.user,
    input: z.union([z.string().max(100_000), z.array(z.string().max(100_000)).min(1).max(2048)], {
      error: 'input must be a string or an array of strings (token arrays are not supported)',
    }),
    encoding_format: z.enum(['float', 'base64']).nullish(),
    dimensions: z.int().min(1).nullish(),
  })
  .strict();
export type EmbeddingRequest = z.output<typeof EmbeddingRequestSchema>;

/** An input text part of a Responses API message (`input_text`, or `output_text` in an assistant turn). */
const ResponseTextPartSchema = z.object({
  type: z.enum(['input_text', 'output_text'], {
    error: 'content parts must be input_text or output_text (images, files and audio are not served)',
  }),
  text: z.string().max(MAX_TEXT),
});

/** A message item of a Responses API `input`. */
const ResponseMessageItemSchema = z.object({
  type: z.literal('message').optional(),
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    error: 'role must be system, developer, user or assistant',
  }),
  content: z.union([z.string().max(MAX_TEXT), z.array(ResponseTextPartSchema).max(1024)], {
    error: 'content must be a string or an array of input_text / output_text parts',
  }),
  id: z.string().max(256).optional(),
  status: z.string().max(64).optional(),
});

/** An earlier function call the client sends back (`ResponseFunctionToolCall`). */
const ResponseFunctionCallItemSchema = z.object({
  type: z.literal('function_call'),
  call_id: z.string().min(1).max(256),
  name: z.string().min(1).max(64),
  arguments: z.string().max(MAX_TEXT),
  id: z.string().max(256).nullish(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).nullish(),
});

/** A function call's result (`ResponseInputItem.FunctionCallOutput`): text, or input_text parts. */
const ResponseFunctionCallOutputItemSchema = z.object({
  type: z.literal('function_call_output'),
  call_id: z.string().max(256).nullish(),
  output: z.union([
    z.string().max(MAX_TEXT),
    z
      .array(
        z.object({
          type: z.literal('input_text', { error: 'output parts must be input_text (no images or files)' }),
          text: z.string().max(MAX_TEXT),
        }),
      )
      .max(1024),
  ]),
  name: z.string().max(64).nullish(),
  id: z.string().max(256).nullish(),
  status: z.enum(['in_progress', 'completed', 'incomplete']).nullish(),
});

/** An item of a Responses API `input`: a message, a function call, or a function call's output. */
const ResponseInputItemSchema = z.union([
  ResponseMessageItemSchema,
  ResponseFunctionCallItemSchema,
  ResponseFunctionCallOutputItemSchema,
]);
export type ResponseInputItem = z.output<typeof ResponseInputItemSchema>;

/** `POST /v1/responses`, stateless: see `fields.ts` for what is refused and why. */
export const ResponseRequestSchema = z
  .object({
    ...refusedShape('responses'),
    ...NoopFields,
    model: ModelId,
    input: z.union([z.string().max(MAX_TEXT), z.array(ResponseInputItemSchema).min(1).max(1024)], {
      error:
        'input must be a string or an array of items: message items, function_call and function_call_output items',
    }),
    instructions: z.string().max(MAX_TEXT).nullish(),
    max_output_tokens: z.int().min(1).max(32_768).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    stream: z.boolean().nullish(),
    stream_options: StreamOptionsSchema.nullish(),
    text: ResponseTextSchema.nullish(),
    tools: ResponseToolsSchema.nullish(),
    tool_choice: ResponseToolChoiceSchema.nullish(),
    max_tool_calls: z.int().min(0).nullish(),
    truncation: z
      .literal('disabled', { error: "truncation: only 'disabled' (an input too long is refused, never cut)" })
      .nullish(),
  })
  .strict();
export type ResponseRequest = z.output<typeof ResponseRequestSchema>;
