/**
 * The Responses API (`POST /v1/responses`) on the chat generation path: a request becomes a chat
 * {@link GenerateParams} (`instructions` as a system message first, then `input`), and the generation's
 * events become a `response` object or OpenAI's stream of typed events (`response.created` …
 * `response.completed` / `response.incomplete`, each with its `sequence_number`). Stateless: nothing is
 * stored, so whatever needs a stored response is refused (`fields.ts`).
 *
 * Function tools work as on chat completions (`tools.ts`, one definition): the request's flat tools,
 * `tool_choice`, `function_call` and `function_call_output` items become chat's tools, assistant tool calls
 * and tool results; the answer's calls become `function_call` output items (and their streamed events).
 */
import { randomBytes } from 'node:crypto';
import type { GenerateParams } from '../types.js';
import { invalidRequest, type OpenAiErrorBody } from './errors.js';
import type { ResponseRequest } from './schemas.js';
import {
  chatToolChoiceOf,
  chatToolOf,
  type DecodedToolAnswer,
  decodeToolAnswer,
  type ToolAwareMessage,
  type ToolMode,
  toolPlan,
} from './tools.js';
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
  const messages: ToolAwareMessage[] = [];
  let chars = 0;
  const push = (m: ToolAwareMessage): void => {
    chars += m.content.length;
    messages.push(m);
  };
  if (r.instructions !== null && r.instructions !== undefined)
    push({ role: 'system', content: r.instructions });
  if (typeof r.input === 'string') push({ role: 'user', content: r.input });
  else
    for (const item of r.input) {
      if (item.type === 'function_call') {
        // Calls in a row are one assistant turn's (parallel) calls, as chat's tool_calls.
        const call = {
          id: item.call_id,
          type: 'function' as const,
          function: { name: item.name, arguments: item.arguments },
        };
        chars += item.arguments.length;
        const last = messages.at(-1);
        if (last?.role === 'assistant' && last.tool_calls && last.content === '') last.tool_calls.push(call);
        else push({ role: 'assistant', content: '', tool_calls: [call] });
      } else if (item.type === 'function_call_output') {
        const content =
          typeof item.output === 'string' ? item.output : item.output.map((p) => p.text).join('\n');
        push({ role: 'tool', content, tool_call_id: item.call_id ?? '', name: item.name });
      } else {
        const content =
          typeof item.content === 'string' ? item.content : item.content.map((p) => p.text).join('\n');
        push({ role: item.role, content });
      }
    }
  const tools = toolPlan(
    messages,
    r.tools?.map(chatToolOf),
    chatToolChoiceOf(r.tool_choice),
    r.parallel_tool_calls,
    { flat: true, maxCalls: r.max_tool_calls },
  );
  chars += tools.extraChars;
  const params: GenerateParams = {
    model: r.model,
    kind: 'chat',
    messages: tools.messages,
    maxTokens,
    stop: [],
    temperature: r.temperature ?? OPENAI_DEFAULT_TEMPERATURE,
    logprobs: false,
  };
  if (r.top_p !== null && r.top_p !== undefined) params.topP = r.top_p === 0 ? 1e-9 : r.top_p;
  const format = responseFormatOf(r.text?.format);
  if (format !== undefined && tools.responseFormat !== undefined)
    throw invalidRequest(
      'text.format cannot be combined with tools (unless tool_choice is none)',
      'text.format',
    );
  const enforced = tools.responseFormat ?? format;
  if (enforced !== undefined) params.responseFormat = enforced;
  return {
    params,
    choices: 1,
    candidates: 1,
    estimate: Math.ceil(chars / 4) + maxTokens,
    stream: r.stream === true,
    includeUsage: true,
    logprobs: undefined,
    promptChars: chars,
    toolMode: tools.mode,
  };
}

/**
 * `response` objects and their stream of events: one output message with one text part, or, when the
 * model called tools, one `function_call` item per call. In tool mode the answer is JSON until it is whole,
 * so nothing streams before its end ({@link ChatEncoder} does the same); then its items go out whole.
 */
export class ResponsesEncoder implements GenerationEncoder {
  private readonly text: string[] = [];
  private readonly msgId = `msg_${randomBytes(16).toString('hex')}`;
  private seq = 0;
  private readonly tools: boolean;
  /** Tool mode: the answer read once (its call ids must be the same in every event and the response). */
  private decoded: DecodedToolAnswer | undefined;
  private callItemIds: string[] = [];

  constructor(
    private readonly meta: { id: string; created: number; model: string },
    private readonly r: ResponseRequest,
    toolMode: ToolMode = { kind: 'none' },
  ) {
    this.tools = toolMode.kind === 'tools';
  }

  add(_i: number, ev: TokenEvent): void {
    this.text.push(ev.text);
  }

  private answer(): DecodedToolAnswer {
    if (this.decoded === undefined) {
      this.decoded = decodeToolAnswer(this.text.join(''));
      this.callItemIds = this.decoded.toolCalls.map(() => `fc_${randomBytes(16).toString('hex')}`);
    }
    return this.decoded;
  }

  /** The answer's words (the whole text, or a tool-mode answer's response). */
  private words(): string {
    return this.tools ? (this.answer().content ?? '') : this.text.join('');
  }

  /** A `function_call` output item: call k of the answer. */
  private callItem(k: number, status: 'in_progress' | 'completed'): Record<string, unknown> {
    const c = this.answer().toolCalls[k];
    return {
      type: 'function_call',
      id: this.callItemIds[k],
      call_id: c?.id,
      name: c?.function.name,
      arguments: status === 'in_progress' ? '' : c?.function.arguments,
      status,
    };
  }

  /** The `response` object; `done` undefined while it is in progress. */
  private response(done: DoneEvent | undefined, usage: Usage | undefined): Record<string, unknown> {
    const r = this.r;
    const status =
      done === undefined ? 'in_progress' : done.finishReason === 'length' ? 'incomplete' : 'completed';
    let output: Record<string, unknown>[] = [];
    if (done !== undefined) {
      const calls = this.tools ? this.answer().toolCalls : [];
      output =
        calls.length > 0
          ? calls.map((_, k) => this.callItem(k, 'completed'))
          : [this.message(status === 'incomplete' ? 'incomplete' : 'completed')];
    }
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
      tool_choice: r.tool_choice ?? 'auto',
      tools: (r.tools ?? []).map((t) => ({
        type: 'function',
        name: t.name,
        description: t.description ?? null,
        parameters: t.parameters ?? null,
        strict: t.strict ?? null,
      })),
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

  private part(text = this.words()): Record<string, unknown> {
    return { type: 'output_text', text, annotations: [], logprobs: [] };
  }

  body(_order: readonly number[], dones: readonly DoneEvent[], usage: Usage): string {
    return JSON.stringify(this.response(dones[0], usage));
  }

  private event(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...fields })}\n\n`;
  }

  /** The message item's opening events (before its first delta). */
  private openMessage(): string {
    return (
      this.event('response.output_item.added', { output_index: 0, item: this.message('in_progress') }) +
      this.event('response.content_part.added', {
        item_id: this.msgId,
        output_index: 0,
        content_index: 0,
        part: this.part(''),
      })
    );
  }

  private delta(text: string): string {
    return this.event('response.output_text.delta', {
      item_id: this.msgId,
      output_index: 0,
      content_index: 0,
      delta: text,
      logprobs: [],
    });
  }

  open(): string {
    const response = this.response(undefined, undefined);
    return (
      this.event('response.created', { response }) +
      this.event('response.in_progress', { response }) +
      (this.tools ? '' : this.openMessage())
    );
  }

  chunk(_i: number, ev: TokenEvent): string {
    this.text.push(ev.text);
    // Tool mode: the answer is JSON until it is whole; its items go out at the end (finish).
    return this.tools ? '' : this.delta(ev.text);
  }

  finish(_i: number, done: DoneEvent): string {
    let out = '';
    if (this.tools) {
      const a = this.answer();
      if (a.toolCalls.length > 0) {
        for (const [k, c] of a.toolCalls.entries()) {
          const ids = { item_id: this.callItemIds[k], output_index: k };
          out +=
            this.event('response.output_item.added', {
              output_index: k,
              item: this.callItem(k, 'in_progress'),
            }) +
            this.event('response.function_call_arguments.delta', { ...ids, delta: c.function.arguments }) +
            this.event('response.function_call_arguments.done', { ...ids, arguments: c.function.arguments }) +
            this.event('response.output_item.done', { output_index: k, item: this.callItem(k, 'completed') });
        }
        return out;
      }
      out += this.openMessage();
      if (a.content !== null && a.content !== '') out += this.delta(a.content);
    }
    const text = this.words();
    const ids = { item_id: this.msgId, output_index: 0, content_index: 0 };
    return (
      out +
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
