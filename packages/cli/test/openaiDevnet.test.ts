/**
 * Issue 20 end to end, as a new user tries it: `subnet devnet` (what `npm start` runs) with clients no one
 * here wrote — the official `openai` npm client, LangChain's `ChatOpenAI` and the Vercel AI SDK's
 * OpenAI-compatible provider — against its gateway. Structured outputs (json_schema strict) parse and validate;
 * a tool call round trip (call, tool result, final answer) works streamed and not; `n: 3` returns three
 * choices; the Responses API answers in text and in a schema. The devnet's miners serve a small generated
 * model, so what is checked is the shape and the constraint, never the wit of the answer.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { tool as langchainTool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { freePortRange } from '@subnet/utils';
import { tool as aiTool, generateObject, generateText, jsonSchema } from 'ai';
import OpenAI from 'openai';
import { z } from 'zod';
import { devnetPids, firstLine, spawnDevnet, stopDevnet } from './devnetProcess.js';

const MODEL = 'devnet-chat';

interface Info {
  anvilPid: number;
  nodes: { wallet: string; role: string; uid: number; pid: number; url: string }[];
  gateways: { wallet: string; uid: number; url: string; apiKey: string }[];
}

/** The answer's schema: what every structured answer below must validate against. */
const Animal = z.object({
  name: z.string().max(12),
  legs: z.number().int(),
  kind: z.enum(['fox', 'dog']),
});
const ANIMAL_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    legs: { type: 'integer' },
    kind: { enum: ['fox', 'dog'] },
  },
  required: ['name', 'legs', 'kind'],
  additionalProperties: false,
};
const WEATHER_PARAMS = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 12 } },
  required: ['city'],
  additionalProperties: false,
};

describe('the OpenAI surface on the devnet, with ecosystem clients', { timeout: 420_000 }, () => {
  let dir: string;
  let proc: ChildProcess | undefined;
  let info: Info;
  let baseURL: string;
  let apiKey: string;
  let client: OpenAI;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-openai-devnet-'));
    proc = spawnDevnet(dir, {
      SUBNET_DEVNET__GATEWAY_PORT: '0',
      SUBNET_DEVNET__P2P_BASE_PORT: String(await freePortRange(10)),
      SUBNET_DEVNET__VALIDATORS: '1',
      SUBNET_DEVNET__MINERS: '2',
    });
    try {
      info = JSON.parse(await firstLine(proc)) as Info;
    } catch (err) {
      await stopDevnet(proc);
      throw err;
    }
    const g = info.gateways[0] as Info['gateways'][number];
    baseURL = `${g.url}/v1`;
    apiKey = g.apiKey;
    client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 });
  });
  after(
    async () => {
      if (proc !== undefined) await stopDevnet(proc, devnetPids(info));
      rmSync(dir, { recursive: true, force: true });
    },
    { timeout: 120_000 },
  );

  it('openai: json_schema strict answers parse and validate, streamed and not', async () => {
    for (const [i, temperature] of [0, 0.8, 1].entries()) {
      const r = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: `Describe an animal, take ${i}.` }],
        max_tokens: 200,
        temperature,
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'animal', schema: ANIMAL_SCHEMA, strict: true },
        },
      });
      assert.equal(r.choices[0]?.finish_reason, 'stop');
      Animal.parse(JSON.parse(r.choices[0]?.message.content ?? ''));
    }
    let text = '';
    for await (const chunk of await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'One more animal.' }],
      max_tokens: 200,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'animal', schema: ANIMAL_SCHEMA, strict: true },
      },
      stream: true,
    }))
      text += chunk.choices[0]?.delta.content ?? '';
    Animal.parse(JSON.parse(text));
    // A schema outside what the miners enforce is refused, naming the keyword's path.
    const err = await client.chat.completions
      .create({
        model: MODEL,
        messages: [{ role: 'user', content: 'x' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'bad', schema: { type: 'string', pattern: '^a' }, strict: true },
        },
      })
      .then(
        () => assert.fail('accepted'),
        (e: unknown) => e,
      );
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.param, 'response_format.json_schema.schema.pattern');
  });

  it('openai: a tool call round trip (call, tool result, final answer), streamed and not', async () => {
    const tools = [
      {
        type: 'function' as const,
        function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER_PARAMS },
      },
    ];
    const question = { role: 'user' as const, content: 'What is the weather in Paris?' };
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [question],
      tools,
      tool_choice: 'required',
      parallel_tool_calls: false,
      max_tokens: 200,
    });
    assert.equal(r.choices[0]?.finish_reason, 'tool_calls');
    const call = r.choices[0]?.message.tool_calls?.[0];
    assert.ok(call !== undefined && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof (JSON.parse(call.function.arguments) as { city: unknown }).city, 'string');

    const streamed = await client.chat.completions
      .stream({
        model: MODEL,
        messages: [question],
        tools,
        tool_choice: 'required',
        parallel_tool_calls: false,
        max_tokens: 200,
      })
      .finalChatCompletion();
    const streamedCall = streamed.choices[0]?.message.tool_calls?.[0];
    assert.equal(streamed.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(streamedCall !== undefined && streamedCall.type === 'function');
    assert.equal(streamedCall.function.name, 'get_weather');
    JSON.parse(streamedCall.function.arguments);

    const history = [
      question,
      { role: 'assistant' as const, content: null, tool_calls: [call] },
      { role: 'tool' as const, tool_call_id: call.id, content: '18 degrees and sunny' },
    ];
    const final = await client.chat.completions.create({
      model: MODEL,
      messages: history,
      tools,
      tool_choice: 'none',
      max_tokens: 24,
    });
    assert.equal(typeof final.choices[0]?.message.content, 'string');
    assert.ok((final.choices[0]?.message.content ?? '').length > 0, 'a final answer in words');
    let streamedFinal = '';
    for await (const chunk of await client.chat.completions.create({
      model: MODEL,
      messages: history,
      tools,
      tool_choice: 'none',
      max_tokens: 24,
      stream: true,
    }))
      streamedFinal += chunk.choices[0]?.delta.content ?? '';
    assert.ok(streamedFinal.length > 0);
  });

  it('openai: n: 3 returns three choices, usage summed', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Say something.' }],
      n: 3,
      max_tokens: 8,
      temperature: 1,
      seed: 5,
    });
    assert.deepEqual(
      r.choices.map((c) => c.index),
      [0, 1, 2],
    );
    for (const c of r.choices) assert.equal(typeof c.message.content, 'string');
    assert.ok((r.usage?.completion_tokens ?? 0) >= 3);
  });

  it('openai: the Responses API answers in text, and in a schema', async () => {
    const r = await client.responses.create({
      model: MODEL,
      input: 'What is a subnet?',
      max_output_tokens: 16,
    });
    assert.ok(r.output_text.length > 0);
    const s = await client.responses.create({
      model: MODEL,
      input: 'Describe an animal.',
      max_output_tokens: 200,
      text: { format: { type: 'json_schema', name: 'animal', schema: ANIMAL_SCHEMA, strict: true } },
    });
    Animal.parse(JSON.parse(s.output_text));
  });

  it('openai: the Responses API calls a function tool, streamed and not, and answers its result', async () => {
    const tools = [
      {
        type: 'function' as const,
        name: 'get_weather',
        description: 'The weather in a city',
        parameters: WEATHER_PARAMS,
        strict: true,
      },
    ];
    const ask = { model: MODEL, tools, parallel_tool_calls: false, max_output_tokens: 200 } as const;
    const called = await client.responses.create({
      ...ask,
      input: 'Weather in Paris?',
      tool_choice: 'required',
    });
    const fc = called.output.find((o) => o.type === 'function_call');
    assert.ok(fc !== undefined && fc.type === 'function_call', JSON.stringify(called.output));
    assert.equal(fc.name, 'get_weather');
    assert.equal(typeof (JSON.parse(fc.arguments) as { city: unknown }).city, 'string');
    const streamed = await client.responses
      .stream({ ...ask, input: 'Weather in Paris?', tool_choice: 'required' })
      .finalResponse();
    const streamedCall = streamed.output.find((o) => o.type === 'function_call');
    assert.ok(streamedCall !== undefined && streamedCall.type === 'function_call');
    assert.equal(streamedCall.name, 'get_weather');
    const final = await client.responses.create({
      ...ask,
      max_output_tokens: 24,
      tool_choice: 'none',
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        fc,
        { type: 'function_call_output', call_id: fc.call_id, output: '18 degrees and sunny' },
      ],
    });
    assert.ok(final.output_text.length > 0, 'a final answer in words');
  });

  it("LangChain's ChatOpenAI: withStructuredOutput and bindTools", async () => {
    const llm = new ChatOpenAI({
      model: MODEL,
      apiKey,
      configuration: { baseURL },
      temperature: 0,
      maxTokens: 200,
      maxRetries: 0,
    });
    const structured = llm.withStructuredOutput(Animal, {
      name: 'animal',
      method: 'jsonSchema',
      strict: true,
    });
    Animal.parse(await structured.invoke('Describe an animal.'));
    const viaTools = llm.withStructuredOutput(Animal, { name: 'animal', method: 'functionCalling' });
    Animal.parse(await viaTools.invoke('Describe an animal.'));
    const weather = langchainTool(async ({ city }: { city: string }) => `18 degrees in ${city}`, {
      name: 'get_weather',
      description: 'The weather in a city',
      schema: z.object({ city: z.string().max(12) }),
    });
    const msg = await llm.bindTools([weather], { tool_choice: 'get_weather' }).invoke('Weather in Paris?');
    assert.equal(msg.tool_calls?.[0]?.name, 'get_weather');
    assert.equal(typeof msg.tool_calls?.[0]?.args.city, 'string');
  });

  it("the Vercel AI SDK's OpenAI-compatible provider: generateObject and tools", async () => {
    const provider = createOpenAICompatible({
      name: 'subnet',
      baseURL,
      apiKey,
      supportsStructuredOutputs: true,
    });
    const model = provider.chatModel(MODEL);
    const { object } = await generateObject({
      model,
      schema: Animal,
      prompt: 'Describe an animal.',
      maxOutputTokens: 200,
      temperature: 0,
      maxRetries: 0,
    });
    Animal.parse(object);
    const { toolCalls } = await generateText({
      model,
      prompt: 'Weather in Paris?',
      tools: {
        get_weather: aiTool({
          description: 'The weather in a city',
          inputSchema: jsonSchema<{ city: string }>(WEATHER_PARAMS as never),
        }),
      },
      toolChoice: 'required',
      maxOutputTokens: 200,
      maxRetries: 0,
    });
    assert.equal(toolCalls[0]?.toolName, 'get_weather');
    assert.equal(typeof (toolCalls[0]?.input as { city?: unknown } | undefined)?.city, 'string');
  });
});
