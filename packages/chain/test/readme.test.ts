/**
 * The README's examples compile and run: each ```ts block is written next to the built tests (so
 * `@subnet/*` resolve as for a user of the workspace), type-checked with the strict project settings, then
 * run with Node against a real devnet whose `.subnet` sits in the working directory.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Devnet, startDevnet } from '../src/index.js';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
const tsc = fileURLToPath(new URL('../../../../node_modules/typescript/bin/tsc', import.meta.url));

describe('README examples', () => {
  let cwd: string;
  let devnet: Devnet;
  before(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'subnet-readme-'));
    devnet = await startDevnet({
      dataDir: join(cwd, '.subnet'),
      port: 0,
      blockTimeS: 60,
      validators: 1,
      miners: 3,
    });
  });
  after(async () => {
    await devnet.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('there are examples to check', () => {
    assert.equal(examples.length, 2);
  });

  examples.forEach((code, i) => {
    it(`example ${i + 1} type-checks and runs`, async () => {
      const file = join(here, `readme-example-${i + 1}.ts`);
      writeFileSync(file, code);
      try {
        await run(process.execPath, [
          tsc,
          '--noEmit',
          '--strict',
          '--noUncheckedIndexedAccess',
          '--exactOptionalPropertyTypes',
          '--module',
          'nodenext',
          '--target',
          'es2023',
          '--types',
          'node',
          '--skipLibCheck',
          '--ignoreConfig',
          file,
        ]).catch((err: { stdout?: string }) =>
          assert.fail(`example ${i + 1} does not compile:\n${err.stdout}`),
        );
        const { stdout } = await run(process.execPath, [file], { cwd, timeout: 30_000 });
        assert.ok(stdout.length > 0);
        if (i === 0) assert.match(stdout, /1 validators, 3 miners/);
        else assert.match(stdout, /committed for epoch \d+/);
      } finally {
        rmSync(file, { force: true });
      }
    });
  });
});
