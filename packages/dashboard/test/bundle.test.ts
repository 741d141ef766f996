/**
 * The web app's production bundle (`dist/web`, built by `npm run build:web`): index.html references only
 * files that exist, everything is under `/assets/` with a content hash, and the whole app (index.html plus
 * every JS and CSS file, gzipped) stays within the 300 KB budget. Prints the size.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const WEB = fileURLToPath(new URL('../web/', import.meta.url));
const BUDGET_BYTES = 300 * 1024;

describe('web bundle', () => {
  it('was built (npm run build:web)', () => {
    assert.ok(existsSync(`${WEB}index.html`), `${WEB}index.html is missing: run npm run build`);
  });

  it('index.html references hashed assets that exist', () => {
    const html = readFileSync(`${WEB}index.html`, 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    const local = refs.filter((ref) => ref.startsWith('/'));
    assert.ok(
      local.some((ref) => ref.endsWith('.js')),
      'index.html loads no script',
    );
    assert.ok(
      local.some((ref) => ref.endsWith('.css')),
      'index.html loads no stylesheet',
    );
    for (const ref of local) {
      assert.match(
        ref,
        /^\/assets\/[\w.-]+-[\w-]{8}\.(js|css)$/,
        `${ref} is not a hashed asset under /assets/`,
      );
      assert.ok(existsSync(`${WEB}${ref.slice(1)}`), `${ref} is referenced by index.html but missing`);
    }
  });

  it('is at most 300 KB gzipped', () => {
    const files = [
      'index.html',
      ...readdirSync(`${WEB}assets`)
        .filter((name) => /\.(js|css)$/.test(name))
        .map((name) => `assets/${name}`),
    ];
    let raw = 0;
    let gzipped = 0;
    for (const file of files) {
      const bytes = readFileSync(`${WEB}${file}`);
      raw += bytes.length;
      gzipped += gzipSync(bytes, { level: 9 }).length;
    }
    console.log(
      `dashboard bundle: ${files.length} files, ${(raw / 1024).toFixed(1)} KB raw, ${(gzipped / 1024).toFixed(1)} KB gzipped (budget ${BUDGET_BYTES / 1024} KB)`,
    );
    assert.ok(gzipped <= BUDGET_BYTES, `bundle is ${gzipped} bytes gzipped, over the ${BUDGET_BYTES} budget`);
  });
});
