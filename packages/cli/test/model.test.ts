import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      },
    );
  });
}

describe('subnet model', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-model-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a bigram model and inspects it', async () => {
    const corpus = join(dir, 'corpus.txt');
    writeFileSync(corpus, 'the quick brown fox jumps over the lazy dog\n'.repeat(20));
    const out = join(dir, 'b.gguf');
    const g = await cli(['model', 'generate', '--kind', 'bigram', '--corpus', corpus, '--out', out]);
    assert.equal(g.code, 0, g.stderr);
    const i = await cli(['--json', 'model', 'inspect', out]);
    assert.equal(i.code, 0, i.stderr);
    const info = JSON.parse(i.stdout) as {
      architecture: string;
      loadable: boolean;
      tokenizer: { tokens: number };
      tensors: unknown[];
    };
    assert.equal(info.architecture, 'llama');
    assert.equal(info.loadable, true);
    assert.equal(info.tokenizer.tokens, 260);
    assert.equal(info.tensors.length, 12);
    const human = await cli(['model', 'inspect', out]);
    assert.match(human.stdout, /token_embd\.weight/);
  });

  it('refuses truncated and non-GGUF files with exit 1 and a clear message', async () => {
    const out = join(dir, 'r.gguf');
    assert.equal((await cli(['model', 'generate', '--kind', 'random', '--out', out])).code, 0);
    const cut = join(dir, 'cut.gguf');
    writeFileSync(cut, readFileSync(out).subarray(0, 3000));
    const t = await cli(['model', 'inspect', cut]);
    assert.equal(t.code, 1);
    assert.match(t.stderr, /incomplete.*MODEL_TRUNCATED/);
    assert.doesNotMatch(t.stderr, /at .*\.js/);
    const junk = join(dir, 'junk.gguf');
    writeFileSync(junk, 'not a model at all');
    const j = await cli(['model', 'inspect', junk]);
    assert.equal(j.code, 1);
    assert.match(j.stderr, /not a GGUF file/);
    assert.equal((await cli(['model', 'generate', '--kind', 'huge', '--out', out])).code, 2);
  });
});
