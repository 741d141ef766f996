/**
 * `subnet gateway keys create|list|revoke` against a node running the real gateway stack (single mode):
 * a key created from the command line authenticates at the OpenAI-compatible API, is listed without its
 * secret, and is refused once revoked.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
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

interface KeyInfo {
  id: string;
  name: string;
  prefix: string;
  revokedAt: number | null;
  limits: { requestsPerMinute: number; tokensPerMinute: number };
}

describe('subnet gateway keys', () => {
  let dir: string;
  let node: ChildProcess;
  let env: Record<string, string>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-gateway-cli-'));
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
        '    - name: gateway',
        '      module: "@subnet/gateway/stack"',
        'gateway:',
        '  port: 0',
        '  requestsPerMinute: 30',
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

  it('creates a key shown once, lists it without its secret, and revokes it', async () => {
    const created = await cli(['gateway', 'keys', 'create', '--name', 'alice'], env);
    assert.equal(created.code, 0, created.stderr);
    const secret = /sk-sub-[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0] ?? assert.fail(created.stdout);
    assert.match(created.stdout, /not shown again/);
    assert.match(created.stdout, /30 requests, \d+ tokens per minute/, 'the configured default');

    const json = await cli(
      [
        '--json',
        'gateway',
        'keys',
        'create',
        '--name',
        'bob',
        '--requests-per-minute',
        '5',
        '--tokens-per-minute',
        '900',
      ],
      env,
    );
    assert.equal(json.code, 0, json.stderr);
    const bob = JSON.parse(json.stdout) as { key: string; info: KeyInfo };
    assert.match(bob.key, /^sk-sub-/);
    assert.deepEqual(bob.info.limits, { requestsPerMinute: 5, tokensPerMinute: 900 });
    assert.match(json.stderr, /not shown again/);

    const table = await cli(['gateway', 'keys', 'list'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+NAME\s+PREFIX/);
    assert.match(table.stdout, /\balice\b/);
    assert.equal(table.stdout.includes(secret), false, 'the secret is never listed');
    assert.equal(table.stdout.includes(bob.key), false);

    const list = await cli(['--json', 'gateway', 'keys', 'list'], env);
    const keys = JSON.parse(list.stdout) as KeyInfo[];
    assert.deepEqual(
      keys.map((k) => k.name),
      ['alice', 'bob'],
    );
    const alice = keys[0] ?? assert.fail('no alice');
    assert.equal(alice.prefix, secret.slice(0, alice.prefix.length));

    const revoked = await cli(['gateway', 'keys', 'revoke', alice.id], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`revoked ${alice.id}`));
    const again = await cli(['gateway', 'keys', 'revoke', alice.id], env);
    assert.match(again.stdout, /already revoked/);

    const live = JSON.parse((await cli(['--json', 'gateway', 'keys', 'list'], env)).stdout) as KeyInfo[];
    assert.deepEqual(
      live.map((k) => k.name),
      ['bob'],
    );
    const all = JSON.parse(
      (await cli(['--json', 'gateway', 'keys', 'list', '--all'], env)).stdout,
    ) as KeyInfo[];
    assert.equal(all.find((k) => k.id === alice.id)?.revokedAt !== null, true);
  });

  it('refuses bad input and unknown keys with a clear message', async () => {
    const bad = await cli(['gateway', 'keys', 'create', '--name', 'x', '--tokens-per-minute', '0'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--tokens-per-minute must be a positive integer/);
    const unknown = await cli(['gateway', 'keys', 'revoke', 'key_000000000000'], env);
    assert.equal(unknown.code, 5, unknown.stderr);
    assert.match(unknown.stderr, /no API key key_000000000000/);
  });

  it('says when no node is running', async () => {
    const r = await cli(['gateway', 'keys', 'list'], { ...env, SUBNET_NODE__PORT: '1' });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /is a node with the gateway stack running\?/);
  });
});
