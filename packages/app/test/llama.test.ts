import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getLlama, type Llama, LlamaCompletion } from 'node-llama-cpp';
import { generateModel, readGgufHeader, validateLlamaGguf } from '../src/index.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

function corpus(): string {
  const docs = join(REPO, 'docs');
  const files = [
    join(REPO, 'README.md'),
    ...readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(docs, f)),
  ];
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}

async function complete(llama: Llama, file: string, prompt: string): Promise<string> {
  const header = await readGgufHeader(file);
  validateLlamaGguf(header); // before any load: a bad file would abort the process
  const model = await llama.loadModel({ modelPath: file });
  try {
    const context = await model.createContext({ contextSize: 256, threads: 2 });
    try {
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      return await completion.generateCompletion(prompt, { maxTokens: 48, temperature: 0 });
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

describe('generated models load in llama.cpp', { timeout: 60_000 }, () => {
  let dir: string;
  let llama: Llama;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-model-'));
    llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
  });
  after(async () => {
    await llama?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('random: loads and completes deterministically', async () => {
    const file = join(dir, 'random.gguf');
    writeFileSync(file, generateModel({ kind: 'random', seed: 42 }));
    const a = await complete(llama, file, 'Hello');
    const b = await complete(llama, file, 'Hello');
    assert.equal(a, b);
  });

  it('bigram: completes deterministically with printable English-like bytes', async () => {
    const file = join(dir, 'bigram.gguf');
    writeFileSync(file, generateModel({ kind: 'bigram', corpus: corpus() }));
    const a = await complete(llama, file, 'The node');
    const b = await complete(llama, file, 'The node');
    assert.equal(a, b);
    assert.ok(a.length >= 20, `short completion ${JSON.stringify(a)}`);
    assert.match(a, /^[\x20-\x7e\n]+$/, `not printable: ${JSON.stringify(a)}`);
    assert.match(a, /[a-z]/, `no letters: ${JSON.stringify(a)}`);
  });

  it('bigram: greedy decoding follows the corpus bigrams exactly', async () => {
    const file = join(dir, 'abc.gguf');
    writeFileSync(file, generateModel({ kind: 'bigram', corpus: 'quick-brown '.repeat(50) }));
    const a = await complete(llama, file, 'q');
    assert.ok(
      'uick-brown quick-brown quick-brown quick-brown quick'.startsWith(a.slice(0, 40)),
      JSON.stringify(a),
    );
  });
});
