/**
 * The Responses API (`POST /v1/responses`) on the chat generation path: a request becomes a chat
 * {@link GenerateParams} (`instructions` as a system message first, then `input`), and the generation's
 * events become a `response` object or OpenAI's stream of typed events (`response.created` …
 * `response.completed` / `response.incomplete`, each with its `sequence_number`). Stateless: nothing is
 * stored, so whatever needs a stored response is refused (`fields.ts`).
 */
import { randomBytes } from 'node:crypto';
import type { GenerateParams } from '../types.js';
import type { OpenAiErrorBody } from './errors.js';
import type { ResponseRequest } from './schemas.js';
import {
  DEFAULT_CHAT_MAX_TOKENS,
  type DoneEvent,
  type GenerationEncoder,
  type GenerationPlan,
  OPENAI_DEFAULT_TEMPERATURE,
  responseFormatOf,
  type TokenEvent,
  type Usage,
} from './translate.js';

/** A Responses API request as a chat generation. */
export function responseToGenerate(r: ResponseRequest): GenerationPlan {
  const maxTokens = r.max_output_tokens ?? DEFAULT_CHAT_MAX_TOKENS;
  const messages: NonNullable<GenerateParams['messages']> = [];
  let chars = 0;
  const push = (role: 'system' | 'user' | 'assistant', content: string): void => {
    chars += content.length;
    messages.push({ role, content });
  };
  if (r.instructions !== null && r.instructions !== undefined) push('system', r.instructions);
  if (typeof r.input === 'string') push('user', r.input);
  else
    for (const item of r.input) {
      const content =
        typeof item.content === 'string' ? item.content : item.content.map((p) => p.text).join('\n');
      push(item.role === 'developer' ? 'system' : item.role, content);
    }
  const params: GenerateParams = {
    model: r.model,
    kind: 'chat',
    messages,
    maxTokens,
    stop: [],
    temperature: r.temperature ?? OPENAI_DEFAULT_TEMPERATURE,
    logprobs: false,
  };
  if (r.top_p !== null && r.top_p !== undefined) params.topP = r.top_p === 0 ? 1e-9 : r.top_p;
  const format = responseFormatOf(r.text?.format);
  if (format !== undefined) params.responseFormat = format;
  return {
    params,
    choices: 1,
    candidates: 1,
    estimate: Math.ceil(chars / 4) + maxTokens,
    stream: r.stream === true,
    includeUsage: true,
    logprobs: undefined,
    promptChars: chars,
  };
}

/** `response` objects and their stream of events (one output message, one text part). */
export class ResponsesEncoder implements GenerationEncoder {
  private readonly text: string[] = [];
  private readonly msgId = `msg_${randomBytes(16).toString('hex')}`;
  private seq = 0;

  constructor(
    private readonly meta: { id: string; created: number; model: string },
    private readonly r: ResponseRequest,
  ) {}

  add(_i: number, ev: TokenEvent): void {
    this.text.push(ev.text);
  }

  /** The `response` object; `done` undefined while it is in progress. */
  private response(done: DoneEvent | undefined, usage: Usage | undefined): Record<string, unknown> {
    const r = this.r;
    const status =
      done === undefined ? 'in_progress' : done.finishReason === 'length' ? 'incomplete' : 'completed';
    const output =
      done === undefined ? [] : [this.message(status === 'incomplete' ? 'incomplete' : 'completed')];
    return {
      id: this.meta.id,
      object: 'response',
      created_at: this.meta.created,
      status,
      background: false,
      error: null,
      incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
      instructions: r.instructions ?? null,
      max_output_tokens: r.max_output_tokens ?? null,
      max_tool_calls: r.max_tool_calls ?? null,
      model: this.meta.model,
      output,
      parallel_tool_calls: r.parallel_tool_calls ?? true,
      previous_response_id: null,
      prompt_cache_key: r.prompt_cache_key ?? null,
      safety_identifier: r.safety_identifier ?? null,
      service_tier: 'default',
      store: false,
      temperature: r.temperature ?? OPENAI_DEFAULT_TEMPERATURE,
      text: { format: r.text?.format ?? { type: 'text' } },
      tool_choice: 'auto',
      tools: [],
      top_p: r.top_p ?? 1,
      truncation: 'disabled',
      usage: usage === undefined ? null : usageObject(usage),
      user: r.user ?? null,
      metadata: r.metadata ?? {},
    };
  }

  private message(status: 'in_progress' | 'completed' | 'incomplete'): Record<string, unknown> {
    const content = status === 'in_progress' ? [] : [this.part()];
    return { id: this.msgId, type: 'message', status, role: 'assistant', content };
  }

  private part(text = this.text.join('')): Record<string, unknown> {
    return { type: 'output_text', text, annotations: [], logprobs: [] };
  }

  body(_order: readonly number[], dones: readonly DoneEvent[], usage: Usage): string {
    return JSON.stringify(this.response(dones[0], usage));
  }

  private event(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...fields })}\n\n`;
  }

  open(): string {
    const response = this.response(undefined, undefined);
    return (
      this.event('response.created', { response }) +
      this.event('response.in_progress', { response }) +
      this.event('response.output_item.added', { output_index: 0, item: this.message('in_progress') }) +
      this.event('response.content_part.added', {
        item_id: this.msgId,
        output_index: 0,
        content_index: 0,
        part: this.part(''),
      })
    );
  }

  chunk(_i: number, ev: TokenEvent): string {
    this.text.push(ev.text);
    return this.event('response.output_text.delta', {
      item_id: this.msgId,
      output_index: 0,
      content_index: 0,
      delta: ev.text,
      logprobs: [],
    });
  }

  finish(_i: number, done: DoneEvent): string {
    const text = this.text.join('');
    const ids = { item_id: this.msgId, output_index: 0, content_index: 0 };
    return (
      this.event('response.output_text.done', { ...ids, text, logprobs: [] }) +
      this.event('response.content_part.done', { ...ids, part: this.part(text) }) +
      this.event('response.output_item.done', {
        output_index: 0,
        item: this.message(done.finishReason === 'length' ? 'incomplete' : 'completed'),
      })
    );
  }

  /** An error after the stream began: OpenAI's `error` event, in sequence. */
  error(body: OpenAiErrorBody): string {
    const e = body.error;
    return this.event('error', { code: e.code, message: e.message, param: e.param });
  }

  close(usage: Usage, dones: readonly DoneEvent[]): string {
    const response = this.response(dones[0], usage);
    const type = response.status === 'incomplete' ? 'response.incomplete' : 'response.completed';
    return this.event(type, { response });
  }
}

function usageObject(u: Usage): Record<string, unknown> {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: u.promptTokens + u.completionTokens,
  };
}
