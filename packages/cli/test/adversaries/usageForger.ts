/**
 * Attack 4, usage forgery: serves the real model but reports usage of 2^53-1 tokens (to lock a client's key
 * out and break the usage flush) on every other answer, and 0 (free service) on the rest.
 */
import { type GenerateEvent, hostileAppStack } from './hostileApp.js';

let answers = 0;

export default hostileAppStack((real) => ({
  app_generateV1: (params, ctx) =>
    (async function* (): AsyncGenerator<GenerateEvent> {
      const forged = answers++ % 2 === 0 ? Number.MAX_SAFE_INTEGER : 0;
      for await (const event of real.app_generateV1(params, ctx)) {
        yield event.type === 'done'
          ? { ...event, usage: { promptTokens: forged, completionTokens: forged } }
          : event;
      }
    })(),
}));
