import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isWalletError, WalletErrorCode } from '../src/index.js';
import { deriveScrypt, scryptLocal } from '../src/kdf.js';
import { RFC7914 } from './vectors.js';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('scrypt', () => {
  it('the local implementation matches the RFC 7914 vectors', async () => {
    for (const v of RFC7914) {
      const dk = await scryptLocal(utf8(v.password), utf8(v.salt), { n: v.n, r: v.r, p: v.p, dkLen: 64 });
      assert.equal(Buffer.from(dk).toString('hex'), v.dk);
    }
  });

  it('the local implementation matches OpenSSL where both run', async () => {
    for (const [n, r, p] of [
      [16384, 1, 1],
      [4096, 8, 6],
      [1024, 3, 2],
      [2, 8, 1],
    ] as const) {
      const local = await scryptLocal(utf8('pw'), utf8('salt'), { n, r, p, dkLen: 32 });
      const openssl = scryptSync('pw', 'salt', 32, { N: n, r, p, maxmem: 64 * 1024 * 1024 });
      assert.ok(openssl.equals(local), `n=${n} r=${r} p=${p}`);
    }
  });

  it('deriveScrypt falls back to the local implementation for parameters OpenSSL refuses', async () => {
    // n=2^16 with r=1 breaks RFC 7914's n < 2^(16·r), which OpenSSL enforces.
    assert.throws(() => scryptSync('pw', 'salt', 32, { N: 2 ** 16, r: 1, p: 1, maxmem: 2 ** 28 }));
    const dk = await deriveScrypt(utf8('pw'), utf8('salt'), { n: 2 ** 16, r: 1, p: 1, dkLen: 32 });
    const local = await scryptLocal(utf8('pw'), utf8('salt'), { n: 2 ** 16, r: 1, p: 1, dkLen: 32 });
    assert.deepEqual(dk, local);
  });

  it('the local implementation stops when the signal aborts', async () => {
    const ac = new AbortController();
    const run = scryptLocal(utf8('pw'), utf8('salt'), { n: 2 ** 18, r: 1, p: 8, dkLen: 32 }, ac.signal);
    setTimeout(() => ac.abort(new Error('stopped')), 20);
    await assert.rejects(run, /stopped/);
  });

  it('refuses parameters outside its bounds', async () => {
    for (const params of [
      { n: 3, r: 8, p: 1 },
      { n: 2 ** 20, r: 8, p: 1 },
      { n: 2 ** 18, r: 8, p: 64 },
      { n: 1.5, r: 8, p: 1 },
    ]) {
      await assert.rejects(deriveScrypt(utf8('pw'), utf8('s'), { ...params, dkLen: 32 }), (err: unknown) =>
        isWalletError(err, WalletErrorCode.UNSUPPORTED_KDF),
      );
    }
  });
});
