/**
 * Function calling on chat completions (`tools`, `tool_choice`, `parallel_tool_calls`, assistant `tool_calls`
 * and `tool` messages in the history) and on the Responses API (its flat tools and `tool_choice`,
 * `max_tool_calls`, `function_call` / `function_call_output` items, translated to chat's shapes by
 * `responses.ts`), built on structured outputs so that it works the same on every backend
 * and is audited like any structured answer (llama.cpp's "generic" tool-call format works this way):
 *
 * - the tools are described to the model in a system message placed first;
 * - the answer is constrained to one JSON object: `{"tool_calls": [{"name": …, "arguments": {…}}, …]}`, or,
 *   where the model may answer in words (`tool_choice: 'auto'`), `{"response": "…"}`; each call's `arguments`
 *   follow that tool's `parameters` schema (relaxed to the enforced subset unless the tool is `strict`);
 * - the history's assistant tool calls are written back in that same JSON, and `tool` results as user turns
 *   carrying `{"tool_response": …}`, so any chat template can render them;
 * - the gateway turns the answer into OpenAI's message: `tool_calls` with ids and `finish_reason:
 *   'tool_calls'`, or the response as `content`.
 *
 * `tool_choice: 'none'` (or no tools) generates plain text. Pure: no I/O.
 */
import { randomBytes } from 'node:crypto';
import { jsonSchemaProblem, relaxJsonSchema } from '@subnet/engine-api';
import { z } from 'zod';
import type { GenerateParams } from '../types.js';
import { invalidRequest } from './errors.js';

/** Most tools one request may declare (OpenAI's limit). */
export const MAX_TOOLS = 128;
/** Most calls one answer may make when `parallel_tool_calls` is on. */
export const MAX_PARALLEL_CALLS = 8;

const FunctionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
  error: 'a function name is 1 to 64 letters, digits, underscores or dashes',
});

export const ToolSchema = z
  .object({
    type: z.literal('function', { error: "only function tools are supported (type: 'function')" }),
    function: z
      .object({
        name: FunctionName,
        description: z.string().max(8192).nullish(),
        parameters: z.record(z.string(), z.unknown()).nullish(),
        strict: z.boolean().nullish(),
      })
      .strict(),
  })
  .strict();
export type Tool = z.output<typeof ToolSchema>;

export const ToolChoiceSchema = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.object({ type: z.literal('function'), function: z.object({ name: FunctionName }).strict() }).strict(),
  ],
  { error: "tool_choice is 'none', 'auto', 'required' or { type: 'function', function: { name } }" },
);
export type ToolChoice = z.output<typeof ToolChoiceSchema>;

export const ToolCallSchema = z
  .object({
    id: z.string().min(1).max(256),
    type: z.literal('function'),
    function: z.object({ name: FunctionName, arguments: z.string().max(1_000_000) }).strict(),
  })
  .strict();

/**
 * The Responses API's function tool (flat: `{ type: 'function', name, description?, parameters, strict }`).
 * Any other type is a built-in tool (web search, file search, code interpreter…), which this gateway does
 * not offer: refused naming `tools`.
 */
const ResponseFunctionToolSchema = z
  .object({
    type: z.literal('function'),
    name: FunctionName,
    description: z.string().max(8192).nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  })
  .strict();
export type ResponseFunctionTool = z.output<typeof ResponseFunctionToolSchema>;

export const ResponseToolsSchema = z
  .array(z.looseObject({ type: z.string({ error: 'a tool has a type' }) }))
  .max(MAX_TOOLS, { error: `tools: at most ${MAX_TOOLS}` })
  .check((ctx) => {
    for (const [i, t] of ctx.value.entries())
      if (t.type === 'function' && 'function' in t && !('name' in t))
        ctx.issues.push({
          code: 'custom',
          input: t,
          path: [i],
          message: `tools[${i}]: the Responses API's function tools are flat: { type: 'function', name, description, parameters, strict } (chat's { function: { … } } shape is not read here)`,
        });
      else if (t.type !== 'function')
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `tools[${i}] is a '${t.type}' tool: built-in tools are not offered by this gateway; declare function tools (type: 'function')`,
        });
  })
  .pipe(z.array(ResponseFunctionToolSchema));

/** The Responses API's `tool_choice`: a mode, or `{ type: 'function', name }`. */
export const ResponseToolChoiceSchema = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.object({ type: z.literal('function'), name: FunctionName }).strict(),
  ],
  {
    error:
      "tool_choice is 'none', 'auto', 'required' or { type: 'function', name } (built-in tools are not offered)",
  },
);
export type ResponseToolChoice = z.output<typeof ResponseToolChoiceSchema>;

/** A Responses API function tool in chat's shape, which {@link toolPlan} reads. */
export function chatToolOf(t: ResponseFunctionTool): Tool {
  return {
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters, strict: t.strict },
  };
}

/** A Responses API `tool_choice` in chat's shape. */
export function chatToolChoiceOf(c: ResponseToolChoice | null | undefined): ToolChoice | null | undefined {
  return typeof c === 'object' && c !== null ? { type: 'function', function: { name: c.name } } : c;
}

/** How the answer is read: plain text, or the JSON object of {@link toolPlan}. */
export type ToolMode = { kind: 'none' } | { kind: 'tools'; mayRespond: boolean };

/** A chat message as the tool layer reads it (the front door's schema, narrowed). */
export type ToolAwareMessage =
  | { role: 'system' | 'developer' | 'user'; content: string }
  | { role: 'assistant'; content: string; tool_calls?: z.output<typeof ToolCallSchema>[] | null | undefined }
  | { role: 'tool'; content: string; tool_call_id: string; name?: string | null | undefined };

type WireMessage = NonNullable<GenerateParams['messages']>[number];

/** Where a tool's field sits in the request: `tools.i.function.x` on chat, `tools.i.x` on the Responses API. */
function toolPath(index: number, field: string, flat: boolean): (string | number)[] {
  return flat ? ['tools', index, field] : ['tools', index, 'function', field];
}

/** A tool's `parameters` as enforced: relaxed unless strict; a strict one outside the subset is a 400. */
function parametersOf(tool: Tool, index: number, flat: boolean): Record<string, unknown> {
  const raw = tool.function.parameters ?? { type: 'object', properties: {} };
  const schema = tool.function.strict === true ? raw : (relaxJsonSchema(raw) as Record<string, unknown>);
  const problem = jsonSchemaProblem(schema);
  if (problem !== null) {
    const path = toolPath(index, 'parameters', flat);
    throw invalidRequest(
      `tools[${index}].${path.slice(2).join('.')}: ${problem.message}`,
      [...path, ...problem.path].join('.'),
    );
  }
  return schema;
}

/** The schema of one call of `tool`, whose arguments follow `parameters`. */
function callSchema(tool: Tool, parameters: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    properties: { name: { const: tool.function.name }, arguments: parameters },
    required: ['name', 'arguments'],
    additionalProperties: false,
  };
}

/** Schema keys the model's prompt can do without (annotations for tools, not for the model). */
const QUIET = new Set(['$schema', '$id', '$comment', 'title', 'examples', 'default']);

function quiet(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(quiet);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>)
      .filter(([k]) => !QUIET.has(k))
      .map(([k, x]) => [k, quiet(x)]),
  );
}

/**
 * The system message that tells the model its tools and the answer's shape: short, since every request
 * with tools carries it (the grammar holds the model to the shape; the words only say what it means).
 */
function toolPrompt(
  tools: readonly Tool[],
  params: readonly Record<string, unknown>[],
  mayRespond: boolean,
): string {
  const list = tools.map((t, i) => ({
    name: t.function.name,
    ...(t.function.description ? { description: t.function.description } : {}),
    parameters: quiet(params[i]),
  }));
  const call = '{"tool_calls":[{"name":…,"arguments":{…}}]}';
  return `Tools: ${JSON.stringify(list)}\nReply with JSON: ${call}${mayRespond ? ' to call tools, or {"response":"…"} to answer' : ''}. Tool results come as {"tool_response":…}.`;
}

export interface ToolPlan {
  messages: WireMessage[];
  responseFormat: GenerateParams['responseFormat'];
  mode: ToolMode;
  /** Characters added to the prompt (the tool description). */
  extraChars: number;
}

/** How a route's request differs: the Responses API's flat tool shape, and its `max_tool_calls`. */
export interface ToolPlanOptions {
  /** Tools were sent flat (`tools.i.name`, the Responses API's shape): errors name those paths. */
  flat?: boolean;
  /** Most calls one answer may make (`max_tool_calls`); 0 allows none. */
  maxCalls?: number | null | undefined;
}

/**
 * The generation's messages and format for a request with tools (or tool messages in its history): a chat
 * request, or a Responses API request translated to chat's shapes (`responses.ts`). `messages` are the
 * request's, already reduced to text content.
 */
export function toolPlan(
  messages: readonly ToolAwareMessage[],
  tools: readonly Tool[] | null | undefined,
  choice: ToolChoice | null | undefined,
  parallel: boolean | null | undefined,
  opts: ToolPlanOptions = {},
): ToolPlan {
  const flat = opts.flat === true;
  const names = new Map<string, string>();
  const wire: WireMessage[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      const tool_response = {
        tool_call_id: m.tool_call_id,
        name: names.get(m.tool_call_id) ?? m.name ?? null,
        content: m.content,
      };
      wire.push({ role: 'user', content: JSON.stringify({ tool_response }) });
    } else if (
      m.role === 'assistant' &&
      m.tool_calls !== null &&
      m.tool_calls !== undefined &&
      m.tool_calls.length > 0
    ) {
      const calls = m.tool_calls.map((c) => {
        names.set(c.id, c.function.name);
        let args: unknown = c.function.arguments;
        try {
          args = JSON.parse(c.function.arguments);
        } catch {
          // Kept as the string the client sent.
        }
        return { name: c.function.name, arguments: args };
      });
      wire.push({ role: 'assistant', content: JSON.stringify({ tool_calls: calls }) });
    } else wire.push({ role: m.role === 'developer' ? 'system' : m.role, content: m.content });
  }
  const declared = tools ?? [];
  if (declared.length > MAX_TOOLS) throw invalidRequest(`tools: at most ${MAX_TOOLS}`, 'tools');
  const seen = new Set<string>();
  for (const [i, t] of declared.entries()) {
    if (seen.has(t.function.name))
      throw invalidRequest(
        `tools[${i}]: the name ${t.function.name} is declared twice`,
        toolPath(i, 'name', flat).join('.'),
      );
    seen.add(t.function.name);
  }
  let resolved = choice ?? (declared.length > 0 ? 'auto' : 'none');
  if (opts.maxCalls === 0 && resolved !== 'none') {
    if (resolved !== 'auto')
      throw invalidRequest(
        'max_tool_calls is 0, so no tool may be called; tool_choice cannot require one',
        'max_tool_calls',
      );
    resolved = 'none';
  }
  if (resolved === 'none' || declared.length === 0) {
    if (resolved !== 'none' && declared.length === 0)
      throw invalidRequest('tool_choice needs tools', 'tool_choice');
    return { messages: wire, responseFormat: undefined, mode: { kind: 'none' }, extraChars: 0 };
  }
  let callable = declared;
  const named = typeof resolved === 'object' ? resolved.function.name : undefined;
  if (named !== undefined) {
    callable = declared.filter((t) => t.function.name === named);
    if (callable.length === 0)
      throw invalidRequest(`tool_choice names ${named}, which is not in tools`, 'tool_choice');
  }
  const many = parallel !== false && typeof resolved !== 'object';
  const maxItems = Math.min(many ? MAX_PARALLEL_CALLS : 1, opts.maxCalls ?? MAX_PARALLEL_CALLS);
  const params = callable.map((t) => parametersOf(t, declared.indexOf(t), flat));
  const calls = callable.map((t, i) => callSchema(t, params[i] as Record<string, unknown>));
  const toolCalls = {
    type: 'object',
    properties: {
      tool_calls: {
        type: 'array',
        items: calls.length === 1 ? calls[0] : { oneOf: calls },
        minItems: 1,
        maxItems,
      },
    },
    required: ['tool_calls'],
    additionalProperties: false,
  };
  const mayRespond = resolved === 'auto';
  const schema = mayRespond
    ? {
        oneOf: [
          toolCalls,
          {
            type: 'object',
            properties: { response: { type: 'string' } },
            required: ['response'],
            additionalProperties: false,
          },
        ],
      }
    : toolCalls;
  const problem = jsonSchemaProblem(schema);
  if (problem !== null) throw invalidRequest(`tools: ${problem.message}`, 'tools');
  const prompt = toolPrompt(callable, params, mayRespond);
  return {
    messages: [{ role: 'system', content: prompt }, ...wire],
    responseFormat: { type: 'json_schema', name: 'tool_calls', schema, strict: true },
    mode: { kind: 'tools', mayRespond },
    extraChars: prompt.length,
  };
}

export interface DecodedToolAnswer {
  content: string | null;
  toolCalls: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
}

/**
 * OpenAI's message for a tool-mode answer: its calls (each with a fresh id, arguments as a JSON string) or
 * its response as content. An answer that is not whole JSON (cut by max_tokens) is its text as content.
 */
export function decodeToolAnswer(text: string): DecodedToolAnswer {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { content: text, toolCalls: [] };
  }
  const o = v as { tool_calls?: unknown; response?: unknown };
  if (Array.isArray(o.tool_calls))
    return {
      content: null,
      toolCalls: o.tool_calls.map((c: { name?: unknown; arguments?: unknown }) => ({
        id: `call_${randomBytes(12).toString('hex')}`,
        type: 'function' as const,
        function: { name: String(c.name), arguments: JSON.stringify(c.arguments ?? {}) },
      })),
    };
  if (typeof o.response === 'string') return { content: o.response, toolCalls: [] };
  return { content: text, toolCalls: [] };
}
