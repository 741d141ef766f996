import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VERSION } from '@subnet/utils';
import { nodeUrl } from './nodeProcess.js';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('subnet CLI', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints its version and help', async () => {
    const v = await cli(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), VERSION);
    for (const args of [
      ['--help'],
      ['node', '--help'],
      ['node', 'start', '--help'],
      ['config', 'show', '--help'],
    ]) {
      const h = await cli(args);
      assert.equal(h.code, 0, args.join(' '));
      assert.match(h.stdout, /Usage: subnet/);
    }
  });

  it('exits 2 on usage errors and 3 on a bad config', async () => {
    const unknown = await cli(['bogus']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'bogus'/);
    const badMode = await cli(['node', 'start', '--process-mode', 'triple']);
    assert.equal(badMode.code, 2);
    const badEnv = await cli(['config', 'show'], { SUBNET_NODE__PORT: '99999' });
    assert.equal(badEnv.code, 3);
    assert.match(badEnv.stderr, /node\.port.*SUBNET_NODE__PORT/);
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'node:\n  prot: 1\n');
    const badFile = await cli(['--config', file, 'config', 'show']);
    assert.equal(badFile.code, 3);
    assert.match(badFile.stderr, /prot/);
  });

  it('config show merges file < env and prints JSON with --json', async () => {
    const file = join(dir, 'node.yaml');
    writeFileSync(file, 'node:\n  port: 9001\n  processMode: split\nlog:\n  level: debug\n');
    const r = await cli(['--config', file, '--json', 'config', 'show'], { SUBNET_NODE__PORT: '9002' });
    assert.equal(r.code, 0, r.stderr);
    const cfg = JSON.parse(r.stdout) as {
      node: { port: number; processMode: string };
      log: { level: string };
    };
    assert.equal(cfg.node.port, 9002);
    assert.equal(cfg.node.processMode, 'split');
    assert.equal(cfg.log.level, 'debug');
  });

  it('node status exits 4 with a hint when no node runs', async () => {
    const r = await cli(['node', 'status'], { SUBNET_DATA_DIR: dir, SUBNET_NODE__PORT: '1' });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /is the node running/);
  });

  describe('against a running node', () => {
    let proc: ChildProcess;
    let env: Record<string, string>;
    before(async () => {
      const dataDir = join(dir, 'node');
      proc = spawn(
        process.execPath,
        [BIN, '--json', 'node', 'start', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const url = await nodeUrl(proc);
      env = { SUBNET_DATA_DIR: dataDir, SUBNET_NODE__PORT: url.port };
    });
    after(() => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });

    it('node status reports health as text and JSON', async () => {
      const text = await cli(['node', 'status'], env);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /single mode\): ok/);
      const json = await cli(['--json', 'node', 'status'], env);
      assert.equal(json.code, 0);
      assert.equal((JSON.parse(json.stdout) as { health: { status: string } }).health.status, 'ok');
    });

    it('rpc calls unary and stream methods, and exits 5 on an Engine API error', async () => {
      const echo = await cli(['rpc', 'engine_echoV1', '{"payload":"hello"}'], env);
      assert.equal(echo.code, 0, echo.stderr);
      assert.deepEqual(JSON.parse(echo.stdout), { payload: 'hello' });
      const stream = await cli(['rpc', 'engine_echoStreamV1', '{"count":3,"payload":"p"}'], env);
      assert.equal(stream.code, 0, stream.stderr);
      assert.deepEqual(
        stream.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown),
        [0, 1, 2].map((seq) => ({ seq, payload: 'p' })),
      );
      const bad = await cli(['rpc', 'engine_echoV1', '{"payload":1}'], env);
      assert.equal(bad.code, 5);
      assert.match(bad.stderr, /-32602/);
      const notJson = await cli(['rpc', 'engine_echoV1', '{oops'], env);
      assert.equal(notJson.code, 2);
    });

    it('stops cleanly on SIGINT', async () => {
      proc.kill('SIGINT');
      const [code] = (await once(proc, 'exit')) as [number | null];
      assert.equal(code, 0);
    });
  });
});
