/**
 * The devnet at size, without starting one: the validators' challenge rate follows the miner count so every
 * miner is reached each epoch, the ready timeout grows with the node count, `devnet.embeddings` turns the
 * embedding model off (the lightweight backend of `npm run devnet:large`) and is refused when malformed, and
 * the node processes get the memory settings of docs/architecture.md ("Memory per node").
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@subnet/config';
import { readyTimeoutMs } from '../src/commands/devnet.js';
import {
  DEVNET_CHAT_MODEL,
  DEVNET_EMBED_MODEL,
  devnetChallengeIntervalMs,
  devnetModels,
  NODE_MEMORY_ENV,
  NODE_V8_FLAGS,
} from '../src/devnetNodes.js';

describe('the devnet at size', () => {
  it('keeps the 3 s challenge interval on a small devnet', () => {
    assert.equal(devnetChallengeIntervalMs(3, 20_000), 3000);
    assert.equal(devnetChallengeIntervalMs(0, 20_000), 3000);
  });

  it('challenges each of 32 miners about twice per epoch from every validator, never under 500 ms', () => {
    const interval = devnetChallengeIntervalMs(32, 20_000);
    // Three miners per challenge, least recently challenged first: 11 challenges reach all 32.
    assert.equal(interval, Math.floor(20_000 / 22));
    assert.ok((20_000 / interval) * 3 >= 2 * 32, `${interval} ms reaches each miner twice per epoch`);
    assert.equal(devnetChallengeIntervalMs(64, 2_000), 500);
  });

  it('gives a large devnet longer to become ready', () => {
    assert.equal(readyTimeoutMs(6), 120_000);
    assert.equal(readyTimeoutMs(35), 240_000);
    assert.ok(readyTimeoutMs(67) > readyTimeoutMs(35));
  });

  it('serves the embedding model unless devnet.embeddings is false', () => {
    assert.equal(loadConfig({ env: {} }).devnet.embeddings, true);
    assert.deepEqual(devnetModels(), [DEVNET_CHAT_MODEL, DEVNET_EMBED_MODEL]);
    const off = loadConfig({ env: { SUBNET_DEVNET__EMBEDDINGS: 'false' } });
    assert.equal(off.devnet.embeddings, false);
    assert.deepEqual(devnetModels(off.devnet.embeddings), [DEVNET_CHAT_MODEL]);
  });

  it('refuses a malformed devnet.embeddings and a devnet past 64 miners', () => {
    assert.throws(() => loadConfig({ env: { SUBNET_DEVNET__EMBEDDINGS: 'sometimes' } }), /embeddings/);
    assert.throws(() => loadConfig({ env: { SUBNET_DEVNET__MINERS: '65' } }), /miners/);
  });

  it('starts node processes with a 1 MiB semi-space and two malloc arenas', () => {
    assert.deepEqual([...NODE_V8_FLAGS], ['--max-semi-space-size=1']);
    assert.equal(NODE_MEMORY_ENV.MALLOC_ARENA_MAX, '2');
  });
});
