/**
 * Function calling on chat completions (`tools`, `tool_choice`, `parallel_tool_calls`, assistant `tool_calls`
 * and `tool` messages in the history), built on structured outputs so that it works the same on every backend
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

/** How the answer is read: plain text, or the JSON object of {@link toolPlan}. */
export type ToolMode = { kind: 'none' } | { kind: 'tools'; mayRespond: boolean };

/** A chat message as the tool layer reads it (the front door's schema, narrowed). */
export type ToolAwareMessage =
  | { role: 'system' | 'developer' | 'user'; content: string }
  | { role: 'assistant'; content: string; tool_calls?: z.output<typeof ToolCallSchema>[] | null | undefined }
  | { role: 'tool'; content: string; tool_call_id: string };

type WireMessage = NonNullable<GenerateParams['messages']>[number];

/** A tool's `parameters` as enforced: relaxed unless strict; a strict one outside the subset is a 400. */
function parametersOf(tool: Tool, index: number): Record<string, unknown> {
  const raw = tool.function.parameters ?? { type: 'object', properties: {} };
  if (tool.function.strict === true) {
    const problem = jsonSchemaProblem(raw);
    if (problem !== null)
      throw invalidRequest(
        `tools[${index}].function.parameters: ${problem.message}`,
        ['tools', index, 'function', 'parameters', ...problem.path].join('.'),
      );
    return raw;
  }
  const relaxed = relaxJsonSchema(raw) as Record<string, unknown>;
  const problem = jsonSchemaProblem(relaxed);
  if (problem !== null)
    throw invalidRequest(
      `tools[${index}].function.parameters: ${problem.message}`,
      ['tools', index, 'function', 'parameters', ...problem.path].join('.'),
    );
  return relaxed;
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

/**
 * The generation's messages and format for a chat request with tools (or tool messages in its history).
 * `messages` are the request's, already reduced to text content.
 */
export function toolPlan(
  messages: readonly ToolAwareMessage[],
  tools: readonly Tool[] | null | undefined,
  choice: ToolChoice | null | undefined,
  parallel: boolean | null | undefined,
): ToolPlan {
  const names = new Map<string, string>();
  const wire: WireMessage[] = [];
  for (const m of messages) {
    if (m.role === 'tool') {
      const tool_response = {
        tool_call_id: m.tool_call_id,
        name: names.get(m.tool_call_id) ?? null,
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
        `tools.${i}.function.name`,
      );
    seen.add(t.function.name);
  }
  const resolved = choice ?? (declared.length > 0 ? 'auto' : 'none');
  if (resolved === 'none' || declared.length === 0) {
    if (resolved !== 'none' && declared.length === 0)
      throw invalidRequest('tool_choice needs tools', 'tool_choice');
    return { messages: wire, responseFormat: undefined, mode: { kind: 'none' }, extraChars: 0 };
  }
  let callable = declared;
  if (typeof resolved === 'object') {
    callable = declared.filter((t) => t.function.name === resolved.function.name);
    if (callable.length === 0)
      throw invalidRequest(
        `tool_choice names ${resolved.function.name}, which is not in tools`,
        'tool_choice',
      );
  }
  const many = parallel !== false && typeof resolved !== 'object';
  const params = callable.map((t) => parametersOf(t, declared.indexOf(t)));
  const calls = callable.map((t, i) => callSchema(t, params[i] as Record<string, unknown>));
  const toolCalls = {
    type: 'object',
    properties: {
      tool_calls: {
        type: 'array',
        items: calls.length === 1 ? calls[0] : { oneOf: calls },
        minItems: 1,
        maxItems: many ? MAX_PARALLEL_CALLS : 1,
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
