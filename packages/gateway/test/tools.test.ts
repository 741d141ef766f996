/**
 * Function calling as structured output (`openai/tools.ts`): the plan a chat request with tools becomes (the
 * system message, the JSON schema of the answer by tool_choice and parallel_tool_calls, the history written
 * back), and OpenAI's message read from an answer. Pure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ResponseFormatSchema, structuredAnswerProblem } from '@subnet/engine-api';
import { GatewayError } from '../src/errors.js';
import { decodeToolAnswer, type Tool, toolPlan } from '../src/openai/tools.js';

const weather: Tool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', pattern: '^[A-Z]' }, days: { type: 'integer', minimum: 1 } },
      required: ['city', 'days'],
      additionalProperties: false,
    },
  },
};
const time: Tool = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { zone: { enum: ['utc', 'cet'] } } },
  },
};
const user = [{ role: 'user' as const, content: 'Weather in Paris?' }];

function problem(plan: ReturnType<typeof toolPlan>, answer: unknown): string | null {
  return structuredAnswerProblem(ResponseFormatSchema.parse(plan.responseFormat), JSON.stringify(answer));
}

describe('tools as structured output', () => {
  it('required: the answer must call a declared tool with arguments of its schema', () => {
    const plan = toolPlan(user, [weather, time], 'required', undefined);
    assert.equal(plan.mode.kind, 'tools');
    assert.equal(plan.messages[0]?.role, 'system');
    assert.match(plan.messages[0]?.content ?? '', /get_weather/);
    assert.deepEqual(plan.messages.slice(1), user);
    assert.equal(
      problem(plan, { tool_calls: [{ name: 'get_weather', arguments: { city: 'Paris', days: 2 } }] }),
      null,
    );
    assert.equal(
      problem(plan, {
        tool_calls: [
          { name: 'get_weather', arguments: { city: 'Paris', days: 2 } },
          { name: 'get_time', arguments: { zone: 'utc' } },
        ],
      }),
      null,
      'parallel calls by default',
    );
    assert.notEqual(
      problem(plan, { tool_calls: [{ name: 'launch', arguments: {} }] }),
      null,
      'an undeclared tool',
    );
    assert.notEqual(problem(plan, { tool_calls: [{ name: 'get_weather', arguments: { town: 'x' } }] }), null);
    assert.notEqual(problem(plan, { response: 'sunny' }), null, 'required: no words');
    assert.notEqual(problem(plan, { tool_calls: [] }), null, 'at least one call');
  });

  it('auto: a call or a response; a named choice: that tool once; parallel_tool_calls false: one call', () => {
    const auto = toolPlan(user, [weather], undefined, undefined);
    assert.deepEqual(auto.mode, { kind: 'tools', mayRespond: true });
    assert.equal(problem(auto, { response: 'It is sunny.' }), null);
    assert.equal(
      problem(auto, { tool_calls: [{ name: 'get_weather', arguments: { city: 'P', days: 1 } }] }),
      null,
    );
    const named = toolPlan(
      user,
      [weather, time],
      { type: 'function', function: { name: 'get_time' } },
      undefined,
    );
    assert.equal(problem(named, { tool_calls: [{ name: 'get_time', arguments: { zone: 'cet' } }] }), null);
    assert.notEqual(
      problem(named, { tool_calls: [{ name: 'get_weather', arguments: { city: 'P', days: 1 } }] }),
      null,
    );
    const one = toolPlan(user, [time], 'required', false);
    const call = { name: 'get_time', arguments: { zone: 'utc' } };
    assert.equal(problem(one, { tool_calls: [call] }), null);
    assert.notEqual(problem(one, { tool_calls: [call, call] }), null);
  });

  it('none (or no tools): plain text, the history still readable', () => {
    const history = [
      ...user,
      {
        role: 'assistant' as const,
        content: '',
        tool_calls: [
          {
            id: 'call_1',
            type: 'function' as const,
            function: { name: 'get_weather', arguments: '{"city":"Paris","days":1}' },
          },
        ],
      },
      { role: 'tool' as const, content: '18 °C, sunny', tool_call_id: 'call_1' },
    ];
    const plan = toolPlan(history, [weather], 'none', undefined);
    assert.deepEqual(plan.mode, { kind: 'none' });
    assert.equal(plan.responseFormat, undefined);
    assert.deepEqual(plan.messages, [
      user[0],
      {
        role: 'assistant',
        content: '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris","days":1}}]}',
      },
      {
        role: 'user',
        content: '{"tool_response":{"tool_call_id":"call_1","name":"get_weather","content":"18 °C, sunny"}}',
      },
    ]);
  });

  it('a non-strict schema is relaxed to the enforced subset; a strict one outside it is refused by path', () => {
    const plan = toolPlan(user, [weather], 'required', undefined);
    const enforced = JSON.stringify(plan.responseFormat);
    assert.doesNotMatch(enforced, /minimum|pattern/, 'left out of what is enforced');
    const strict: Tool = { ...weather, function: { ...weather.function, strict: true } };
    assert.throws(
      () => toolPlan(user, [strict], 'required', undefined),
      (e: unknown) =>
        e instanceof GatewayError &&
        /pattern|minimum/.test(e.message) &&
        String(e.meta?.param).startsWith('tools.0.function.parameters.properties.'),
    );
  });

  it('refuses a tool named twice, a choice naming no tool, and a choice without tools', () => {
    const refused = (f: () => unknown, param: string) =>
      assert.throws(f, (e: unknown) => e instanceof GatewayError && e.meta?.param === param);
    refused(() => toolPlan(user, [weather, weather], 'auto', undefined), 'tools.1.function.name');
    refused(
      () => toolPlan(user, [weather], { type: 'function', function: { name: 'nope' } }, undefined),
      'tool_choice',
    );
    refused(() => toolPlan(user, [], 'required', undefined), 'tool_choice');
  });

  it('Responses API options: flat paths in errors, max_tool_calls caps the calls (0: none), named results', () => {
    const one = { tool_calls: [{ name: 'get_time', arguments: { zone: 'utc' } }] };
    const capped = toolPlan(user, [weather, time], 'auto', undefined, { flat: true, maxCalls: 2 });
    assert.equal(problem(capped, { tool_calls: [one.tool_calls[0], one.tool_calls[0]] }), null);
    assert.notEqual(problem(capped, { tool_calls: [1, 2, 3].map(() => one.tool_calls[0]) }), null);
    const none = toolPlan(user, [weather], 'auto', undefined, { maxCalls: 0 });
    assert.equal(none.responseFormat, undefined);
    assert.deepEqual(none.messages, user);
    const refused = (f: () => unknown, param: string) =>
      assert.throws(f, (e: unknown) => e instanceof GatewayError && e.meta?.param === param);
    refused(() => toolPlan(user, [weather], 'required', undefined, { maxCalls: 0 }), 'max_tool_calls');
    refused(() => toolPlan(user, [weather, weather], 'auto', undefined, { flat: true }), 'tools.1.name');
    const strict: Tool = { ...weather, function: { ...weather.function, strict: true } };
    assert.throws(
      () => toolPlan(user, [strict], 'required', undefined, { flat: true }),
      (e: unknown) =>
        e instanceof GatewayError && String(e.meta?.param).startsWith('tools.0.parameters.properties.'),
    );
    // A result may carry its function's name (Responses' function_call_output) when its call is not in the input.
    const plan = toolPlan(
      [{ role: 'tool', content: 'x', tool_call_id: 'c9', name: 'get_time' }],
      [],
      undefined,
      undefined,
    );
    assert.deepEqual(plan.messages, [
      { role: 'user', content: '{"tool_response":{"tool_call_id":"c9","name":"get_time","content":"x"}}' },
    ]);
  });

  it('refuses an oversized tool set: over 128 tools, or call schemas over the schema bound together', () => {
    const many = (n: number, props: number): Tool[] =>
      Array.from({ length: n }, (_, i) => ({
        type: 'function' as const,
        function: {
          name: `tool_${i}`,
          parameters: {
            type: 'object',
            properties: Object.fromEntries(
              Array.from({ length: props }, (_, j) => [`field_${j}`, { type: 'string', maxLength: 8 }]),
            ),
          },
        },
      }));
    const refused = (tools: Tool[], message: RegExp) =>
      assert.throws(
        () => toolPlan(user, tools, 'required', undefined),
        (e: unknown) => e instanceof GatewayError && e.meta?.param === 'tools' && message.test(e.message),
      );
    refused(many(129, 1), /at most 128/);
    // Each tool is small; together the answer's schema is over 32 KiB, which no miner is asked to compile.
    refused(many(64, 20), /bytes; at most 32768/);
    assert.equal(toolPlan(user, many(8, 2), 'required', undefined).mode.kind, 'tools');
  });

  it("reads OpenAI's message from an answer", () => {
    const calls = decodeToolAnswer(
      '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris","days":2}}]}',
    );
    assert.equal(calls.content, null);
    assert.equal(calls.toolCalls.length, 1);
    assert.match(calls.toolCalls[0]?.id ?? '', /^call_[0-9a-f]{24}$/);
    assert.deepEqual(calls.toolCalls[0]?.function, {
      name: 'get_weather',
      arguments: '{"city":"Paris","days":2}',
    });
    assert.deepEqual(decodeToolAnswer('{"response":"Sunny."}'), { content: 'Sunny.', toolCalls: [] });
    assert.deepEqual(decodeToolAnswer('{"tool_ca'), { content: '{"tool_ca', toolCalls: [] }, 'cut: the text');
  });
});
