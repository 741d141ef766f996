import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, ConfigErrorCode, loadConfig } from '../src/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'subnet-config-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes `text` to a fresh file under the temp dir and returns its path. */
function writeFile(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

/** Asserts that `fn` throws a ConfigError with `code` and returns it. */
function expectConfigError(fn: () => unknown, code: string): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('returns defaults, with dataDir absolute and the JWT secret file inside it', () => {
    const config = loadConfig({ env: {}, cwd: tmp });
    assert.equal(config.dataDir, path.join(tmp, '.subnet'));
    assert.equal(config.engine.jwtSecretFile, path.join(tmp, '.subnet', 'engine-jwt.hex'));
    assert.equal(config.node.port, 8645);
    assert.equal(config.log.level, 'info');
  });

  it('reads a YAML file, merging it over the defaults', () => {
    const file = writeFile(
      'node.yaml',
      'dataDir: /var/subnet\nnode:\n  port: 9100\n  stacks:\n    - { name: net, module: ./net.js }\n',
    );
    const config = loadConfig({ file, env: {}, cwd: tmp });
    assert.equal(config.dataDir, '/var/subnet');
    assert.equal(config.engine.jwtSecretFile, '/var/subnet/engine-jwt.hex');
    assert.equal(config.node.port, 9100);
    assert.equal(config.node.host, '127.0.0.1');
    assert.deepEqual(config.node.stacks, [{ name: 'net', module: './net.js' }]);
  });

  it('reads a JSON file, named by SUBNET_CONFIG relative to cwd', () => {
    writeFile('node.json', JSON.stringify({ log: { level: 'debug' }, engine: { jwtSecretFile: 'jwt.hex' } }));
    const config = loadConfig({ env: { SUBNET_CONFIG: 'node.json' }, cwd: tmp });
    assert.equal(config.log.level, 'debug');
    assert.equal(config.engine.jwtSecretFile, path.join(tmp, 'jwt.hex'));
  });

  it('treats an empty file as an empty config', () => {
    const file = writeFile('empty.yaml', '');
    assert.equal(loadConfig({ file, env: {}, cwd: tmp }).node.port, 8645);
  });

  it('lets the environment override the file, coercing per type', () => {
    const file = writeFile('env.yaml', 'node:\n  port: 9100\n  processMode: single\n');
    const config = loadConfig({
      file,
      cwd: tmp,
      env: {
        SUBNET_NODE__PORT: '9000',
        SUBNET_NODE__PROCESS_MODE: 'split',
        SUBNET_LOG__LEVEL: 'trace',
        SUBNET_DATA_DIR: '/x',
        SUBNET_ENGINE__MAX_BODY_BYTES: '2048',
        SUBNET_NODE__STACKS: '[{"name":"app","module":"@acme/app"}]',
        PATH: '/usr/bin',
      },
    });
    assert.equal(config.node.port, 9000);
    assert.equal(config.node.processMode, 'split');
    assert.equal(config.log.level, 'trace');
    assert.equal(config.dataDir, '/x');
    assert.equal(config.engine.maxBodyBytes, 2048);
    assert.deepEqual(config.node.stacks, [{ name: 'app', module: '@acme/app' }]);
  });

  it('lets flags override the environment, ignoring undefined flag values', () => {
    const config = loadConfig({
      env: { SUBNET_NODE__PORT: '9000', SUBNET_NODE__HOST: '0.0.0.0' },
      flags: { node: { port: 9001, host: undefined } },
      cwd: tmp,
    });
    assert.equal(config.node.port, 9001);
    assert.equal(config.node.host, '0.0.0.0');
  });

  it('replaces arrays instead of merging them', () => {
    const file = writeFile(
      'stacks.yaml',
      'node:\n  stacks: [{ name: a, module: a }, { name: b, module: b }]\n',
    );
    const config = loadConfig({ file, env: {}, flags: { node: { stacks: [{ name: 'c', module: 'c' }] } } });
    assert.deepEqual(config.node.stacks, [{ name: 'c', module: 'c' }]);
  });

  it('names the env var that set a bad port', () => {
    const err = expectConfigError(
      () => loadConfig({ env: { SUBNET_NODE__PORT: '70000' }, cwd: tmp }),
      ConfigErrorCode.INVALID,
    );
    assert.match(err.message, /^invalid config: node\.port: .*65535.* \(from SUBNET_NODE__PORT\)$/);
    assert.deepEqual(
      err.meta?.issues?.map((i) => i.source),
      ['SUBNET_NODE__PORT'],
    );
  });

  it('names an unknown key in the file and the file', () => {
    const file = writeFile('typo.yaml', 'node:\n  prot: 9000\n');
    const err = expectConfigError(() => loadConfig({ file, env: {}, cwd: tmp }), ConfigErrorCode.INVALID);
    assert.match(err.message, /node\.prot: unknown key/);
    assert.ok(err.message.includes(`(from file ${file})`), err.message);
  });

  it('names the flag source of a bad value', () => {
    const err = expectConfigError(
      () => loadConfig({ env: {}, flags: { engine: { tokenTtlS: 1 } }, cwd: tmp }),
      ConfigErrorCode.INVALID,
    );
    assert.match(err.message, /engine\.tokenTtlS: .*\(from flags\)/);
  });

  it('rejects an unknown SUBNET_ variable, suggesting the right name', () => {
    const err = expectConfigError(
      () => loadConfig({ env: { SUBNET_NODE_PORT: '1' } }),
      ConfigErrorCode.INVALID,
    );
    assert.match(err.message, /SUBNET_NODE_PORT \(did you mean SUBNET_NODE__PORT\?\)/);
  });

  it('reports a missing file as FILE_NOT_FOUND', () => {
    const err = expectConfigError(
      () => loadConfig({ file: 'nope.yaml', env: {}, cwd: tmp }),
      ConfigErrorCode.FILE_NOT_FOUND,
    );
    assert.ok(err.message.includes(path.join(tmp, 'nope.yaml')), err.message);
  });

  it('reports malformed YAML and JSON as FILE_UNPARSABLE', () => {
    const yaml = writeFile('bad.yaml', 'node:\n  port: [9000\n');
    expectConfigError(() => loadConfig({ file: yaml, env: {} }), ConfigErrorCode.FILE_UNPARSABLE);
    const json = writeFile('bad.json', '{"node": ');
    expectConfigError(() => loadConfig({ file: json, env: {} }), ConfigErrorCode.FILE_UNPARSABLE);
    const list = writeFile('list.yaml', '- 1\n- 2\n');
    expectConfigError(() => loadConfig({ file: list, env: {} }), ConfigErrorCode.FILE_UNPARSABLE);
  });
});
