/**
 * Guards the shape of the workspace: packages depend only downwards (utils → config/engine-api → stacks →
 * node → cli), stacks never depend on each other, and every `@subnet/*` import is a declared dependency.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const packagesDir = join(root, 'packages');

/** Layer of each package; a package may depend only on packages of a lower layer. */
const LAYER: Record<string, number> = {
  utils: 0,
  config: 1,
  'engine-api': 1,
  contracts: 1,
  wallet: 1,
  // The dashboard is not a stack: the web app and the handler the gateway stack serves it with.
  dashboard: 1.5,
  // Stacks (layer 2) reach each other only through the Engine API.
  chain: 2,
  network: 2,
  app: 2,
  consensus: 2,
  gateway: 2,
  node: 3,
  cli: 4,
};

interface Pkg {
  dir: string;
  name: string;
  deps: string[];
}

function workspacePackages(): Pkg[] {
  return readdirSync(packagesDir)
    .filter((d) => statSync(join(packagesDir, d)).isDirectory())
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) as {
        name: string;
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
      const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
        .filter((d) => d.startsWith('@subnet/'))
        .map((d) => d.slice('@subnet/'.length));
      return { dir, name: pkg.name, deps };
    });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe('workspace shape', () => {
  const pkgs = workspacePackages();

  it('every package is named @subnet/<folder> and has a layer', () => {
    assert.ok(pkgs.length >= 5);
    for (const p of pkgs) {
      assert.equal(p.name, `@subnet/${p.dir}`);
      assert.ok(p.dir in LAYER, `add packages/${p.dir} to LAYER in this test`);
    }
  });

  it('packages depend only on lower layers (so stacks never depend on each other)', () => {
    for (const p of pkgs) {
      for (const d of p.deps) {
        assert.ok(
          (LAYER[d] ?? 99) < (LAYER[p.dir] ?? -1),
          `@subnet/${p.dir} (layer ${LAYER[p.dir]}) must not depend on @subnet/${d} (layer ${LAYER[d]})`,
        );
      }
    }
  });

  it('every @subnet/* import in src and test is a declared dependency', () => {
    for (const p of pkgs) {
      for (const dir of ['src', 'test']) {
        let files: string[] = [];
        try {
          files = sourceFiles(join(packagesDir, p.dir, dir));
        } catch {
          continue;
        }
        for (const f of files) {
          const text = readFileSync(f, 'utf8');
          for (const m of text.matchAll(/from '@subnet\/([a-z-]+)/g)) {
            assert.ok(p.deps.includes(m[1] as string), `${f} imports @subnet/${m[1]} without declaring it`);
          }
        }
      }
    }
  });
});
