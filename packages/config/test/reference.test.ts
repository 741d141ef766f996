import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configReference, loadConfig, renderConfigMarkdown } from '../src/index.js';

/** Dotted paths of every leaf of a plain object (arrays are leaves). */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix === '' ? k : `${prefix}.${k}`));
}

describe('configReference', () => {
  const reference = configReference();

  it('lists every key of the resolved config, each with an env var and a description', () => {
    const keys = leafPaths(loadConfig({ env: {} })).sort();
    const listed = new Set(reference.map((e) => e.path));
    for (const k of keys) assert.ok(listed.has(k), `${k} is missing from the reference`);
    // Keys absent from a default config are the optional ones without a default.
    for (const e of reference.filter((r) => !keys.includes(r.path)))
      assert.equal(e.default, '(unset)', e.path);
    for (const entry of reference) {
      assert.match(entry.env, /^SUBNET_[A-Z0-9_]+$/, entry.path);
      assert.ok(entry.description.length > 0, `${entry.path} has no description`);
    }
    assert.equal(new Set(reference.map((e) => e.env)).size, reference.length, 'env vars are unique');
  });

  it('derives env names from the key path', () => {
    const env = Object.fromEntries(reference.map((e) => [e.path, e.env]));
    assert.equal(env['node.processMode'], 'SUBNET_NODE__PROCESS_MODE');
    assert.equal(env.dataDir, 'SUBNET_DATA_DIR');
    assert.equal(env['engine.maxBodyBytes'], 'SUBNET_ENGINE__MAX_BODY_BYTES');
  });

  it('describes a key with its type, default and env var', () => {
    const port = reference.find((e) => e.path === 'node.port');
    assert.deepEqual(port && { ...port, description: '' }, {
      path: 'node.port',
      type: 'int 0..65535',
      default: '8645',
      env: 'SUBNET_NODE__PORT',
      description: '',
    });
  });

  it('has every env var accepted by the loader, coerced to the key type', () => {
    const withDefault = reference.filter((e) => e.default !== '(unset)');
    const env = Object.fromEntries(
      withDefault.map((e) => {
        const value: unknown = JSON.parse(e.default);
        return [e.env, typeof value === 'string' ? value : e.default];
      }),
    );
    assert.deepEqual(loadConfig({ env }), loadConfig({ env: {} }));
  });
});

describe('renderConfigMarkdown', () => {
  it('is a deterministic document with one row per key', () => {
    const markdown = renderConfigMarkdown();
    assert.equal(markdown, renderConfigMarkdown());
    assert.ok(markdown.startsWith('# Configuration\n'));
    assert.ok(markdown.includes('| Key | Type | Default | Environment | Description |'));
    for (const entry of configReference()) {
      assert.ok(markdown.includes(`| \`${entry.path}\` |`), `${entry.path} missing`);
      assert.ok(markdown.includes(`\`${entry.env}\``), `${entry.env} missing`);
    }
  });
});
