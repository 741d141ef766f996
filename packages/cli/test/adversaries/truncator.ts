/**
 * Attack 3, truncation: answers with the real model's first (greedy) token only and finishes with 'stop',
 * which passed a logprob audit of the tokens alone and scored a better latency.
 */
import { type GenerateEvent, hostileAppStack, promptWords } from './hostileApp.js';

export default hostileAppStack((real) => ({
  app_generateV1: (params, ctx) =>
    (async function* (): AsyncGenerator<GenerateEvent> {
      for await (const event of real.app_generateV1(params, ctx)) {
        if (event.type !== 'token') continue;
        yield event;
        break;
      }
      yield {
        type: 'done',
        finishReason: 'stop',
        usage: { promptTokens: promptWords(params), completionTokens: 1 },
      };
    })(),
}));
