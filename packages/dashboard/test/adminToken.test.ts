/**
 * The admin token file: created once with a fresh token (mode 0600), read back unchanged, and never seen
 * half-written by a gateway that starts at the same moment (a devnet's validators start together: one read
 * an empty file and refused to start), and a short token is refused with what to do.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadOrCreateAdminToken } from '../src/adminToken.js';

describe('admin token file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'subnet-admin-token-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates it once (0600) and reads the same token back', async () => {
    const file = join(dir, 'one', 'gateway-admin-token');
    const token = await loadOrCreateAdminToken(file);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(await loadOrCreateAdminToken(file), token);
  });

  it('gives every concurrent caller the same whole token, and leaves no temporary file', async () => {
    for (let round = 0; round < 20; round++) {
      const file = join(dir, `race-${round}`, 'gateway-admin-token');
      const tokens = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateAdminToken(file)));
      assert.equal(new Set(tokens).size, 1, `round ${round}: ${tokens.join(', ')}`);
      assert.deepEqual(readdirSync(join(dir, `race-${round}`)), ['gateway-admin-token']);
    }
  });

  it('gives gateways started together (separate processes) the same whole token', async () => {
    const module = new URL('../src/adminToken.js', import.meta.url).href;
    const script = `const { loadOrCreateAdminToken } = await import(${JSON.stringify(module)});
      process.stdout.write(await loadOrCreateAdminToken(process.argv[1]));`;
    for (let round = 0; round < 4; round++) {
      const file = join(dir, `processes-${round}`, 'gateway-admin-token');
      const runs = await Promise.all(
        Array.from(
          { length: 6 },
          () =>
            new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
              execFile(
                process.execPath,
                ['--input-type=module', '-e', script, file],
                { timeout: 30_000 },
                (error, out, err) => resolve({ code: error === null ? 0 : 1, out, err }),
              );
            }),
        ),
      );
      for (const r of runs) assert.equal(r.code, 0, r.err);
      assert.equal(new Set(runs.map((r) => r.out)).size, 1, runs.map((r) => r.out || r.err).join(', '));
    }
  });

  it('refuses a token shorter than 16 characters and says what to do', async () => {
    const file = join(dir, 'short');
    writeFileSync(file, 'abc\n');
    await assert.rejects(loadOrCreateAdminToken(file), /shorter than 16 characters; delete the file/);
  });
});
