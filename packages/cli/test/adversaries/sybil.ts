/**
 * Attack 6, sybil majority: two uids run this same stack and answer every request with the same garbage
 * (a fixed text, confident logprobs; a constant embedding), so that in a redundancy set of three they
 * outvote the honest miner unless a reference model decides.
 */
import { type GenerateEvent, hostileAppStack, promptWords } from './hostileApp.js';

const GARBAGE = ['colluding', ' sybils', ' agree', ' on', ' this'];

export default hostileAppStack((real) => ({
  app_generateV1: (params) =>
    (async function* (): AsyncGenerator<GenerateEvent> {
      for (let i = 0; i < params.maxTokens; i++) {
        yield { type: 'token', text: GARBAGE[i % GARBAGE.length] as string, logprob: -0.001 };
      }
      yield {
        type: 'done',
        finishReason: 'length',
        usage: { promptTokens: promptWords(params), completionTokens: params.maxTokens },
      };
    })(),
  app_embedV1: async (params, ctx) => {
    const { embeddings, usage } = await real.app_embedV1(params, ctx);
    return { embeddings: embeddings.map((e) => e.map((_, i) => (i === 0 ? 1 : 0))), usage };
  },
}));
