/**
 * Attack 5, memory exhaustion: advertises 256 models in its heartbeats beside the real ones, and answers
 * every generation with tokens of 1 MiB of text each (up to 16 of them), to run a validator out of memory.
 * It advertises the fake models only from its 31st heartbeat on (2.5 min at the default 5 s), once the validators know it (a bounded
 * gossip drops such heartbeats, and the devnet waits until every miner is found before it is ready).
 */
import { type GenerateEvent, hostileAppStack, promptWords } from './hostileApp.js';

const FAKE_MODELS = 256;
const TOKEN_TEXT = 'x'.repeat(1 << 20);
const HONEST_HEARTBEATS = 30;
let heartbeats = 0;

export default hostileAppStack((real) => ({
  app_getCapabilitiesV1: async (params, ctx) => {
    const caps = await real.app_getCapabilitiesV1(params, ctx);
    if (++heartbeats <= HONEST_HEARTBEATS) return caps;
    const fake = Array.from({ length: FAKE_MODELS }, (_, i) => ({
      id: `hog-model-${i}-${'m'.repeat(200)}`,
      backend: 'llama.cpp' as const,
      taskTypes: ['chat' as const, 'completion' as const],
      contextLength: 1 << 20,
      modelType: 'llm',
    }));
    return { ...caps, models: [...caps.models, ...fake] };
  },
  app_generateV1: (params) =>
    (async function* (): AsyncGenerator<GenerateEvent> {
      const n = Math.min(params.maxTokens, 16);
      for (let i = 0; i < n; i++) yield { type: 'token', text: TOKEN_TEXT, logprob: -0.01 };
      yield {
        type: 'done',
        finishReason: 'length',
        usage: { promptTokens: promptWords(params), completionTokens: n },
      };
    })(),
}));
