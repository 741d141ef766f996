/**
 * `subnet app models list|load|unload` against a node running the real app stack (single mode) with a
 * generated model: hot swap from the command line.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateModel } from '@subnet/app';
import { nodeUrl } from './nodeProcess.js';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

describe('subnet app models', () => {
  let dir: string;
  let node: ChildProcess;
  let env: Record<string, string>;
  let modelFile: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-app-cli-'));
    modelFile = join(dir, 'bigram.gguf');
    writeFileSync(modelFile, generateModel({ kind: 'bigram', corpus: 'the quick brown fox. '.repeat(20) }));
    const config = join(dir, 'node.yaml');
    writeFileSync(
      config,
      [
        `dataDir: ${join(dir, 'data')}`,
        'log:',
        '  level: warn',
        'node:',
        '  port: 0',
        '  stacks:',
        '    - name: app',
        '      module: "@subnet/app/stack"',
        'app:',
        '  models:',
        '    - id: first',
        '      backend: llama.cpp',
        `      path: ${modelFile}`,
        '',
      ].join('\n'),
    );
    node = spawn(process.execPath, [BIN, '--json', '--config', config, 'node', 'start'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await nodeUrl(node);
    env = { SUBNET_CONFIG: config, SUBNET_NODE__PORT: url.port };
  });
  after(async () => {
    if (node.exitCode === null) {
      node.kill('SIGINT');
      await once(node, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists, loads a second model, and unloads it', async () => {
    const first = await cli(['--json', 'app', 'models', 'list'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(
      (JSON.parse(first.stdout) as { id: string }[]).map((m) => m.id),
      ['first'],
    );
    const load = await cli(['app', 'models', 'load', '--id', 'second', '--path', modelFile], env);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /loaded second/);
    const both = await cli(['app', 'models', 'list'], env);
    assert.match(both.stdout, /^first\s+llama\.cpp/m);
    assert.match(both.stdout, /^second\s+llama\.cpp/m);
    const unload = await cli(['app', 'models', 'unload', 'second'], env);
    assert.equal(unload.code, 0, unload.stderr);
    const after = await cli(['--json', 'app', 'models', 'list'], env);
    assert.deepEqual(
      (JSON.parse(after.stdout) as { id: string }[]).map((m) => m.id),
      ['first'],
    );
  });

  it('refuses bad input with a clear message', async () => {
    const noPath = await cli(['app', 'models', 'load', '--id', 'x'], env);
    assert.equal(noPath.code, 2);
    assert.match(noPath.stderr, /needs --path/);
    const bad = await cli(['app', 'models', 'load', '--id', 'x', '--path', join(dir, 'missing.gguf')], env);
    assert.equal(bad.code, 5);
    const unknown = await cli(['app', 'models', 'unload', 'nope'], env);
    assert.notEqual(unknown.code, 0);
  });
});
