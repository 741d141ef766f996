/**
 * JWT secret file and token signer/verifier, without HTTP: file creation and permissions, token reuse
 * and renewal, expiry of remembered tokens (with a mocked clock), and the lifetime cap.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import {
  AuthErrorCode,
  createTokenSigner,
  createTokenVerifier,
  loadOrCreateJwtSecret,
} from '../src/index.js';
import { mintToken } from './harness.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'engine-auth-'));
});

after(() => rm(dir, { recursive: true, force: true }));

describe('loadOrCreateJwtSecret', () => {
  it('creates a 32-byte secret as 64 hex characters, readable only by the owner', async () => {
    const file = join(dir, 'nested', 'deeper', 'engine-jwt.hex');
    const secret = await loadOrCreateJwtSecret(file);
    assert.equal(secret.length, 32);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^[0-9a-f]{64}\n$/);
    assert.equal(Buffer.from(secret).toString('hex'), text.trim());
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'nested', 'deeper'))).mode & 0o777, 0o700);
  });

  it('reads the same secret back on the next start', async () => {
    const file = join(dir, 'again.hex');
    const first = await loadOrCreateJwtSecret(file);
    assert.deepEqual(await loadOrCreateJwtSecret(file), first);
  });

  it('agrees on one secret when several processes create it at once', async () => {
    const file = join(dir, 'race.hex');
    const all = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateJwtSecret(file)));
    for (const s of all) assert.deepEqual(s, all[0]);
    assert.equal(Buffer.from(all[0] as Uint8Array).toString('hex'), (await readFile(file, 'utf8')).trim());
  });

  it('accepts a 0x prefix and surrounding whitespace, and tightens loose permissions', async () => {
    const file = join(dir, 'prefixed.hex');
    const hex = randomBytes(32).toString('hex');
    await writeFile(file, `  0x${hex}\n\n`);
    await chmod(file, 0o644);
    assert.equal(Buffer.from(await loadOrCreateJwtSecret(file)).toString('hex'), hex);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  for (const [name, content] of [
    ['too short', 'abcd'],
    ['not hex', 'z'.repeat(64)],
    ['empty', ''],
    ['too long', 'a'.repeat(66)],
  ] as const) {
    it(`refuses a secret file that is ${name} with BAD_SECRET_FILE`, async () => {
      const file = join(dir, `bad-${name.replace(/ /g, '-')}.hex`);
      await writeFile(file, content);
      await assert.rejects(loadOrCreateJwtSecret(file), (err: Error & { code?: string }) => {
        assert.equal(err.code, AuthErrorCode.BAD_SECRET_FILE);
        assert.match(err.message, /64 hex characters/);
        assert.match(err.message, /delete it/);
        return true;
      });
    });
  }
});

describe('token signer and verifier', () => {
  const secret = new Uint8Array(randomBytes(32));

  afterEach(() => mock.timers.reset());

  it('a signed token verifies with its subject', async () => {
    const sign = createTokenSigner(secret, { subject: 'app', lifetimeS: 60 });
    const verify = createTokenVerifier(secret, { maxLifetimeS: 60 });
    assert.deepEqual(await verify(`Bearer ${await sign()}`), { ok: true, subject: 'app' });
  });

  it('a token without a subject verifies as "unknown"', async () => {
    const verify = createTokenVerifier(secret, { maxLifetimeS: 60 });
    const now = Math.floor(Date.now() / 1000);
    assert.deepEqual(await verify(`Bearer ${await mintToken(secret, { iat: now, exp: now + 30 })}`), {
      ok: true,
      subject: 'unknown',
    });
  });

  it('reuses a token until half its lifetime, then mints a new one', async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const sign = createTokenSigner(secret, { subject: 'app', lifetimeS: 60 });
    const first = await sign();
    mock.timers.tick(29_000);
    assert.equal(await sign(), first);
    mock.timers.tick(2_000);
    const second = await sign();
    assert.notEqual(second, first);
    const payload = JSON.parse(Buffer.from(second.split('.')[1] as string, 'base64url').toString()) as {
      iat: number;
      exp: number;
      sub: string;
    };
    assert.equal(payload.iat, 1_700_000_031);
    assert.equal(payload.exp - payload.iat, 60);
    assert.equal(payload.sub, 'app');
  });

  it('refuses a remembered token once it has expired', async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 });
    const verify = createTokenVerifier(secret, { maxLifetimeS: 60 });
    const token = await mintToken(secret, { iat: 1_700_000_000, exp: 1_700_000_030, sub: 'app' });
    assert.equal((await verify(`Bearer ${token}`)).ok, true);
    mock.timers.tick(20_000);
    assert.equal((await verify(`Bearer ${token}`)).ok, true, 'still valid (from the cache)');
    mock.timers.tick(16_000); // past exp + the 5 s clock tolerance
    const r = await verify(`Bearer ${token}`);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /exp/);
  });

  it('refuses lifetimes over the maximum, and accepts exactly the maximum', async () => {
    const verify = createTokenVerifier(secret, { maxLifetimeS: 120 });
    const now = Math.floor(Date.now() / 1000);
    const long = await verify(`Bearer ${await mintToken(secret, { iat: now, exp: now + 121, sub: 'x' })}`);
    assert.equal(long.ok, false);
    assert.match(long.ok ? '' : long.reason, /121s exceeds the allowed 120s/);
    const exact = await verify(`Bearer ${await mintToken(secret, { iat: now, exp: now + 120, sub: 'x' })}`);
    assert.equal(exact.ok, true);
  });

  it('says what is wrong with a missing or malformed header', async () => {
    const verify = createTokenVerifier(secret, { maxLifetimeS: 60 });
    const missing = await verify(undefined);
    assert.equal(missing.ok, false);
    assert.match(missing.ok ? '' : missing.reason, /missing Authorization header/);
    const basic = await verify('Basic abc');
    assert.match(basic.ok ? '' : basic.reason, /Bearer <JWT>/);
    const spaced = await verify(
      `Bearer  ${await createTokenSigner(secret, { subject: 'a', lifetimeS: 60 })()}`,
    );
    assert.equal(spaced.ok, false);
  });
});
