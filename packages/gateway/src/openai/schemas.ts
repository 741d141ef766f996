/**
 * Request bodies of the OpenAI-compatible routes as zod schemas (the one definition; the request types are
 * inferred from them). Strict about the fields the gateway reads: a wrong type or range is a 400 naming the
 * field. Lenient about the rest: unknown fields the official clients send are dropped, never refused, and
 * optional fields accept `null` as OpenAI's API does. Limits mirror `app_generateV1` / `app_embedV1`, so a
 * request that passes here is one a miner accepts. Never used on the response path.
 */
import { z } from 'zod';

const ModelId = z.string().min(1).max(256);
const MAX_TEXT = 1_000_000;

/** `stop`: one string or up to 4 (OpenAI's limit). */
const StopSchema = z.union([z.string().min(1).max(256), z.array(z.string().min(1).max(256)).max(4)], {
  error: 'stop must be a string or an array of at most 4 non-empty strings',
});

const TextPartSchema = z.object({ type: z.literal('text'), text: z.string().max(MAX_TEXT) });

/** Message content: a string or an array of text parts (images, audio and files are not served). */
const ContentSchema = z.union([z.string().max(MAX_TEXT), z.array(TextPartSchema).max(1024)], {
  error: 'content must be a string or an array of text parts ({ "type": "text", "text": "…" })',
});

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant'], {
    error: 'role must be system, developer, user or assistant (tool messages are not supported)',
  }),
  // null: an assistant turn that only called tools; read as empty text.
  content: ContentSchema.nullable(),
});

/** Fields shared by chat completions and completions. */
const SamplingFields = {
  model: ModelId,
  max_tokens: z.int().min(1).max(32_768).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.int().nullish(),
  stop: StopSchema.nullish(),
  n: z.literal(1, { error: 'n: only 1 choice per request is supported' }).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
};

/** `POST /v1/chat/completions`. */
export const ChatCompletionRequestSchema = z.object({
  ...SamplingFields,
  messages: z.array(ChatMessageSchema).min(1).max(1024),
  max_completion_tokens: z.int().min(1).max(32_768).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  tools: z.array(z.unknown()).max(0, { error: 'tools are not supported by this gateway' }).nullish(),
});
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequestSchema>;

/** `POST /v1/completions` (legacy). */
export const CompletionRequestSchema = z.object({
  ...SamplingFields,
  prompt: z.union([z.string().max(MAX_TEXT), z.tuple([z.string().max(MAX_TEXT)])], {
    error: 'prompt must be a string or an array of one string (token arrays and batches are not supported)',
  }),
  /** The number of most likely tokens to return with each token (OpenAI allows up to 5). */
  logprobs: z.int().min(0).max(5).nullish(),
  echo: z.literal(false, { error: 'echo: only false is supported' }).nullish(),
  best_of: z.literal(1, { error: 'best_of: only 1 is supported' }).nullish(),
});
export type CompletionRequest = z.output<typeof CompletionRequestSchema>;

/** `POST /v1/embeddings`. */
export const EmbeddingRequestSchema = z.object({
  model: ModelId,
  input: z.union([z.string().max(100_000), z.array(z.string().max(100_000)).min(1).max(2048)], {
    error: 'input must be a string or an array of strings (token arrays are not supported)',
  }),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.int().min(1).nullish(),
});
export type EmbeddingRequest = z.output<typeof EmbeddingRequestSchema>;
