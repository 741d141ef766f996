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

  it('generates a random model with as many layers as asked, and refuses impossible sizes', async () => {
    const out = join(dir, 'deep.gguf');
    const g = await cli([
      'model',
      'generate',
      '--kind',
      'random',
      '--blocks',
      '6',
      '--embd',
      '128',
      '--out',
      out,
    ]);
    assert.equal(g.code, 0, g.stderr);
    const info = JSON.parse((await cli(['--json', 'model', 'inspect', out])).stdout) as {
      metadata: Record<string, unknown> | Array<{ key: string; value: unknown }>;
      tensors: Array<{ name: string; dims: number[] }>;
    };
    assert.equal(info.tensors.filter((t) => t.name.endsWith('attn_q.weight')).length, 6);
    assert.deepEqual(info.tensors.find((t) => t.name === 'blk.0.attn_q.weight')?.dims, [128, 128]);
    for (const bad of [
      ['--blocks', '0'],
      ['--blocks', '65'],
      ['--embd', '30'],
      ['--embd', 'x'],
    ]) {
      const r = await cli(['model', 'generate', '--kind', 'random', ...bad, '--out', join(dir, 'bad.gguf')]);
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(bad[0] as string));
    }
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

describe('subnet model plan', () => {
  let dir: string;
  let file: string;
  const MIB = 1024 * 1024;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-plan-cli-'));
    file = join(dir, 'r.gguf');
    const g = await cli(['model', 'generate', '--kind', 'random', '--out', file]);
    assert.equal(g.code, 0, g.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  interface PlanOut {
    estimate: {
      layers: number;
      totalBytes: number;
      computeBufferBytes: number;
      outputBytes: number;
      bytesPerLayer: number;
    };
    plan: {
      strategy: string;
      lead: string;
      members: string[];
      tensorSplit: number[] | null;
      shares: { member: string; firstLayer: number; layers: number }[];
      reasons: string[];
    };
  }

  it('proposes one node for a model that fits, and a layer split for one larger than any member', async () => {
    const fits = await cli([
      '--json',
      'model',
      'plan',
      file,
      '--member',
      'miner1=1024',
      '--member',
      'miner2=4096',
    ]);
    assert.equal(fits.code, 0, fits.stderr);
    const one = JSON.parse(fits.stdout) as PlanOut;
    assert.equal(one.plan.strategy, 'single-node');
    assert.deepEqual(one.plan.members, ['miner1']);
    assert.equal(one.plan.tensorSplit, null);
    assert.match(one.plan.reasons.join('\n'), /fits on miner1 \(the lead\)/);

    // Members that each hold a compute buffer and one layer (with the 10% margin) but not the whole model.
    const e = one.estimate;
    const leadMiB = ((e.computeBufferBytes + e.outputBytes + 1.5 * e.bytesPerLayer) * 1.1) / MIB;
    const otherMiB = ((e.computeBufferBytes + 1.5 * e.bytesPerLayer) * 1.1) / MIB;
    assert.ok(leadMiB * MIB < e.totalBytes * 1.1, 'the lead must be too small for the whole model');
    const args = [
      'model',
      'plan',
      file,
      '--member',
      `a=${leadMiB.toFixed(3)}`,
      '--member',
      `b=${otherMiB.toFixed(3)}`,
    ];
    const split = await cli(['--json', ...args, '--member', 'tiny=1']);
    assert.equal(split.code, 0, split.stderr);
    const two = JSON.parse(split.stdout) as PlanOut;
    assert.equal(two.plan.strategy, 'layer-split');
    assert.equal(two.plan.lead, 'a');
    assert.deepEqual(two.plan.members, ['a', 'b']);
    assert.deepEqual(two.plan.tensorSplit, [1, 1]);
    assert.deepEqual(
      two.plan.shares.map((s) => [s.member, s.firstLayer, s.layers]),
      [
        ['a', 0, 1],
        ['b', 1, 1],
      ],
    );
    const human = await cli(args);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /strategy {2}layer-split, lead a, --tensor-split 1,1/);
    assert.match(human.stdout, /not on a alone: its RAM has .* free, .* short/);
  });

  it('fails with the shortfall when nothing fits (exit 1) and refuses bad members (exit 2)', async () => {
    const none = await cli(['model', 'plan', file, '--member', 'a=4', '--member', 'b=4']);
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      /does not fit: all 2 members together have 8\.0 MiB free .* missing.*PLAN_DOES_NOT_FIT/,
    );
    for (const bad of ['a', 'a=', '=5', 'a=-1', 'a=5:gpu=', 'a=5:gpu=x', 'a=1e3', 'a=5:cpu=4']) {
      const r = await cli(['model', 'plan', file, '--member', bad]);
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /--member takes ID=FREE_MIB\[:gpu=MIB,MIB\.\.\.\]/);
    }
    const huge = await cli(['model', 'plan', file, '--member', 'a=999999999999']);
    assert.equal(huge.code, 2);
    assert.match(huge.stderr, /freeMemoryBytes of member a .*PLAN_BAD_MEMBER/);
    const twice = await cli(['model', 'plan', file, '--member', 'a=5', '--member', 'a=6']);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /named twice/);
    assert.equal((await cli(['model', 'plan', file])).code, 2);
    assert.equal((await cli(['model', 'plan', file, '--member', 'a=5', '--context', '0'])).code, 2);
    const missing = await cli(['model', 'plan', join(dir, 'nope.gguf'), '--member', 'a=5']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.gguf: ENOENT/);
  });
});
