import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppErrorCode, createModelTypeRegistry, type ModelType, taskTypesFor } from '../src/index.js';

const TABLE: Array<[string, ModelType]> = [
  ['llama-3-8b-instruct', 'llm'],
  ['mistral-7b', 'llm'],
  ['qwen2.5', 'llm'],
  ['llama3:8b', 'llm'],
  ['meta-llama/Meta-Llama-3-8B-Instruct', 'llm'],
  ['microsoft/phi-3-mini-4k', 'llm'],
  ['model.Q4_K_M.gguf', 'llm'],
  ['tinyllama-1.1b-chat-v1.0.Q8_0.gguf', 'llm'],
  ['nomic-embed-text', 'embedding'],
  ['nomic-embed-text:latest', 'embedding'],
  ['bge-small-en', 'embedding'],
  ['BAAI/bge-small-en-v1.5', 'embedding'],
  ['all-MiniLM-L6-v2', 'embedding'],
  ['sentence-transformers/all-mpnet-base-v2', 'embedding'],
  ['text-embedding-3-small', 'embedding'],
  ['universal-sentence-encoder', 'embedding'],
  ['mistral-embed', 'embedding'],
  ['nomic-embed-text-v1.5.Q4_K_M.gguf', 'embedding'],
  ['stable-diffusion-xl', 'diffusion'],
  ['stabilityai/stable-diffusion-xl-base-1.0', 'diffusion'],
  ['sdxl-turbo', 'diffusion'],
  ['flux.1-dev', 'diffusion'],
  ['black-forest-labs/FLUX.1-schnell', 'diffusion'],
  ['resnet-50', 'image-classification'],
  ['microsoft/resnet-50', 'image-classification'],
  ['vit-base-patch16', 'image-classification'],
  ['google/vit-base-patch16-224', 'image-classification'],
  ['whisper-large-v3', 'audio'],
  ['openai/whisper-large-v3', 'audio'],
  ['wav2vec2', 'audio'],
  ['facebook/wav2vec2-base-960h', 'audio'],
  ['bark', 'tts'],
  ['suno/bark', 'tts'],
  ['xtts-v2', 'tts'],
  ['tts-1', 'tts'],
  ['tts-1-hd', 'tts'],
  ['piper', 'tts'],
  ['cogvideox', 'video'],
  ['THUDM/CogVideoX-5b', 'video'],
  ['stable-video-diffusion', 'video'],
  ['totally-new-thing', 'unknown'],
  ['', 'unknown'],
  ['embark-on', 'unknown'],
];

describe('model type registry', () => {
  const registry = createModelTypeRegistry();

  for (const [name, type] of TABLE) {
    it(`detects ${JSON.stringify(name)} as ${type}`, () => {
      const got = registry.detect(name);
      assert.equal(got.type, type);
      if (type === 'unknown') assert.equal(got.rule, null);
      else assert.equal(got.rule?.source, 'builtin');
    });
  }

  it('tries configured rules before built-ins', () => {
    const custom = createModelTypeRegistry({
      extra: [
        { pattern: '^llama-3-8b-instruct$', type: 'embedding' },
        { pattern: 'my-house-model', type: 'llm' },
      ],
    });
    const a = custom.detect('llama-3-8b-instruct');
    assert.equal(a.type, 'embedding');
    assert.equal(a.rule?.source, 'config');
    assert.equal(a.rule?.pattern, '^llama-3-8b-instruct$');
    assert.equal(custom.detect('MY-HOUSE-MODEL-v2').type, 'llm');
    assert.equal(custom.detect('mistral-7b').rule?.source, 'builtin');
    assert.equal(custom.rules[0]?.source, 'config');
  });

  it('rejects an invalid regex with a clear error', () => {
    assert.throws(
      () =>
        createModelTypeRegistry({
          extra: [
            { pattern: 'ok', type: 'llm' },
            { pattern: '(unclosed', type: 'llm' },
          ],
        }),
      (err: unknown) => {
        const e = err as { code: string; message: string };
        assert.equal(e.code, AppErrorCode.INVALID_REQUEST);
        assert.match(e.message, /rule 1 in config/);
        assert.match(e.message, /\(unclosed/);
        return true;
      },
    );
  });

  it('rejects an unknown type', () => {
    assert.throws(
      () => createModelTypeRegistry({ extra: [{ pattern: 'x', type: 'hologram' as ModelType }] }),
      /unknown type "hologram"/,
    );
  });

  it('maps model types to task types', () => {
    assert.deepEqual(taskTypesFor('llm'), ['chat', 'completion']);
    assert.deepEqual(taskTypesFor('embedding'), ['embedding']);
    assert.deepEqual(taskTypesFor('diffusion'), []);
    assert.deepEqual(taskTypesFor('unknown'), []);
  });
});
