/**
 * Every top-level field of OpenAI's request bodies, in exactly one class, so none is ever silently dropped:
 *
 * - `honoured`: the gateway does what OpenAI does with it (validated by `schemas.ts`);
 * - `noop`: accepted and ignored, because ignoring it changes nothing the client can observe or rely on
 *   (`why` says why; `schemas.ts` still checks its type, and restricts it to the harmless values where
 *   only some are, such as `store: false`);
 * - `refused`: a 400 naming the field and saying why, unless its value is `null` or `harmless` says it is
 *   the value that asks for nothing (`frequency_penalty: 0`, `tools: []`).
 *
 * A field in none of these (not in OpenAI's API at all) is refused too: 'Unrecognized request argument'.
 * `test/fields.test.ts` reads the official `openai` client's type definitions and fails when a field of
 * theirs is missing here, or one here is not theirs.
 */
import { invalidRequest } from './errors.js';

export type FieldClass =
  | { class: 'honoured' }
  | { class: 'noop'; why: string }
  | { class: 'refused'; why: string; harmless?: (v: unknown) => boolean };

export type OpenAiRoute = 'chat' | 'completions' | 'embeddings' | 'responses';

const honoured: FieldClass = { class: 'honoured' };
const noop = (why: string): FieldClass => ({ class: 'noop', why });
const refused = (why: string, harmless?: (v: unknown) => boolean): FieldClass =>
  harmless === undefined ? { class: 'refused', why } : { class: 'refused', why, harmless };

const isZero = (v: unknown) => v === 0;
const isEmptyArray = (v: unknown) => Array.isArray(v) && v.length === 0;
const isEmptyObject = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
const isNone = (v: unknown) => v === 'none';
const isTextModalities = (v: unknown) => Array.isArray(v) && v.length === 1 && v[0] === 'text';

const USER = noop(
  "an end-user id OpenAI uses for abuse monitoring; the gateway meters by API key and records no users' ids",
);
const SAFETY_ID = noop('an end-user id for abuse monitoring; the gateway records no end users');
const METADATA = noop('tags for stored objects; the gateway stores nothing, so there is nothing to tag');
const PROMPT_CACHE = noop(
  "a hint for OpenAI's prompt cache; miners cache as they do, and the answer is the same either way",
);
const SERVICE_TIER = noop(
  "only 'auto' or 'default' (a latency tier); every request is served on the one tier there is",
);
const STORE = noop(
  'only false: the gateway is stateless and stores no completions (true is refused, since nothing would be kept)',
);
const STREAM_OPTIONS = noop(
  '`include_usage` is honoured; `include_obfuscation` pads chunks against length side channels on OpenAI and is not needed to read the stream',
);
const PENALTY = refused('penalties are not supported by the miners; send 0 or omit it', isZero);
const LOGIT_BIAS = refused('logit_bias is not supported by the miners', isEmptyObject);
const MODERATION = refused('moderated completions are not offered by this gateway');

/** The classes of every field, per route. */
export const OPENAI_FIELDS: Record<OpenAiRoute, Record<string, FieldClass>> = {
  chat: {
    messages: honoured,
    model: honoured,
    max_completion_tokens: honoured,
    max_tokens: honoured,
    temperature: honoured,
    top_p: honoured,
    seed: honoured,
    stop: honoured,
    n: honoured,
    stream: honoured,
    stream_options: STREAM_OPTIONS,
    logprobs: honoured,
    top_logprobs: honoured,
    user: USER,
    safety_identifier: SAFETY_ID,
    metadata: METADATA,
    store: STORE,
    service_tier: SERVICE_TIER,
    prompt_cache_key: PROMPT_CACHE,
    prompt_cache_options: PROMPT_CACHE,
    prompt_cache_retention: PROMPT_CACHE,
    parallel_tool_calls: honoured,
    tools: honoured,
    tool_choice: honoured,
    functions: refused('functions (deprecated function calling) are not supported', isEmptyArray),
    function_call: refused("function_call is not supported; only 'none' is accepted", isNone),
    response_format: honoured,
    frequency_penalty: PENALTY,
    presence_penalty: PENALTY,
    logit_bias: LOGIT_BIAS,
    audio: refused('audio output is not served; the miners generate text'),
    modalities: refused("only text output is served: send ['text'] or omit it", isTextModalities),
    prediction: refused('predicted outputs are not supported'),
    reasoning_effort: refused('reasoning effort is not a setting of the models served here'),
    verbosity: refused('verbosity is not a setting of the models served here'),
    web_search_options: refused('web search is not offered: the gateway has no built-in tools'),
    moderation: MODERATION,
  },
  completions: {
    model: honoured,
    prompt: honoured,
    max_tokens: honoured,
    temperature: honoured,
    top_p: honoured,
    seed: honoured,
    stop: honoured,
    n: honoured,
    best_of: honoured,
    stream: honoured,
    stream_options: STREAM_OPTIONS,
    logprobs: honoured,
    echo: refused(
      'echo is not supported (the prompt is not returned with the completion)',
      (v) => v === false,
    ),
    suffix: refused('suffix (insertion) is not supported by the miners'),
    frequency_penalty: PENALTY,
    presence_penalty: PENALTY,
    logit_bias: LOGIT_BIAS,
    user: USER,
  },
  embeddings: {
    model: honoured,
    input: honoured,
    dimensions: honoured,
    encoding_format: honoured,
    user: USER,
  },
  responses: {
    model: honoured,
    input: honoured,
    instructions: honoured,
    max_output_tokens: honoured,
    temperature: honoured,
    top_p: honoured,
    stream: honoured,
    stream_options: STREAM_OPTIONS,
    user: USER,
    safety_identifier: SAFETY_ID,
    metadata: METADATA,
    store: STORE,
    service_tier: SERVICE_TIER,
    prompt_cache_key: PROMPT_CACHE,
    prompt_cache_options: PROMPT_CACHE,
    prompt_cache_retention: PROMPT_CACHE,
    parallel_tool_calls: honoured,
    max_tool_calls: honoured,
    truncation: noop(
      "only 'disabled' (the default): an input longer than the model's context is refused, never truncated",
    ),
    tools: honoured,
    tool_choice: honoured,
    text: honoured,
    previous_response_id: refused(
      'the gateway is stateless and keeps no responses; send the whole conversation in input',
    ),
    conversation: refused(
      'the gateway is stateless and keeps no conversations; send the whole conversation in input',
    ),
    background: refused(
      'background responses need stored responses, and the gateway is stateless; stream instead',
      (v) => v === false,
    ),
    include: refused(
      'none of the extra output items can be produced (no built-in tools, no reasoning, no logprobs yet)',
      isEmptyArray,
    ),
    prompt: refused('stored prompt templates live on OpenAI, not here; send the prompt in input'),
    reasoning: refused('reasoning settings are not a setting of the models served here', isEmptyObject),
    top_logprobs: refused('logprobs are not offered on /v1/responses yet; use /v1/chat/completions', isZero),
    context_management: refused('server-side context compaction is not offered; the gateway is stateless'),
    access_programs: refused('access programs are OpenAI-specific and not offered here'),
    image: refused('image generation is not offered; the miners generate text'),
    moderation: MODERATION,
  },
};

/**
 * Refuses a body with a field the route refuses (non-null and not harmless) or one OpenAI's API does not
 * have; returns nothing when every field is honoured or a no-op (their values are then checked by zod).
 */
export function checkFields(route: OpenAiRoute, body: unknown): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return; // zod says why
  const table = OPENAI_FIELDS[route];
  for (const [name, value] of Object.entries(body)) {
    const c = Object.hasOwn(table, name) ? table[name] : undefined;
    if (c === undefined) throw invalidRequest(`Unrecognized request argument supplied: ${name}`, name);
    if (c.class !== 'refused' || value === null || value === undefined) continue;
    if (c.harmless?.(value) === true) continue;
    throw invalidRequest(`'${name}' is not supported by this gateway: ${c.why}.`, name);
  }
}
