import assert from 'node:assert/strict';
import { createDecipheriv, scrypt } from 'node:crypto';
import { describe, it } from 'node:test';
import { getAddress, keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  decryptKeystore,
  encryptKeystore,
  isWalletError,
  keystoreAddress,
  normalizePrivateKey,
  SCRYPT_LIGHT,
  type ScryptKeystoreV3,
  scryptParamsOf,
  WalletErrorCode,
} from '../src/index.js';
import {
  GETH_31_BYTE_KEY,
  GETH_31_BYTE_PRIVATE_KEY,
  GETH_VERY_LIGHT,
  TEST_PASSWORD,
  TEST_PRIVATE_KEY,
  WIKI_PBKDF2,
  WIKI_SCRYPT,
} from './vectors.js';

/** Asserts that `promise` rejects with a WalletError of `code`; returns its message. */
async function rejectsWith(promise: Promise<unknown>, code: WalletErrorCode): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isWalletError(err), `expected a WalletError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err.message;
  }
  assert.fail(`expected ${code}`);
}

/**
 * A straight-line keystore V3 reader written from the Web3 Secret Storage definition, sharing no code
 * with the package: node:crypto scrypt and AES-128-CTR, viem's keccak256.
 */
async function independentDecrypt(ks: ScryptKeystoreV3, password: string): Promise<string> {
  const { n, r, p, dklen, salt } = ks.crypto.kdfparams;
  const dk = await new Promise<Buffer>((resolve, reject) =>
    scrypt(password, Buffer.from(salt, 'hex'), dklen, { N: n, r, p, maxmem: 512 * 1024 * 1024 }, (e, k) =>
      e === null ? resolve(k) : reject(e),
    ),
  );
  const ciphertext = Buffer.from(ks.crypto.ciphertext, 'hex');
  const mac = keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext]));
  assert.equal(mac, `0x${ks.crypto.mac}`, 'MAC');
  const d = createDecipheriv(
    'aes-128-ctr',
    dk.subarray(0, 16),
    Buffer.from(ks.crypto.cipherparams.iv, 'hex'),
  );
  return `0x${Buffer.concat([d.update(ciphertext), d.final()]).toString('hex')}`;
}

const KEY = normalizePrivateKey('0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318');

describe('standard test vectors', () => {
  it('opens the Web3 Secret Storage PBKDF2-SHA-256 vector', async () => {
    assert.equal(await decryptKeystore(WIKI_PBKDF2, TEST_PASSWORD), TEST_PRIVATE_KEY);
  });

  it('opens the Web3 Secret Storage scrypt vector (n=2^18, r=1, p=8)', async () => {
    assert.equal(await decryptKeystore(WIKI_SCRYPT, TEST_PASSWORD), TEST_PRIVATE_KEY);
  });

  it('refuses the PBKDF2 vector with a wrong password', async () => {
    await rejectsWith(decryptKeystore(WIKI_PBKDF2, 'testpasswordx'), WalletErrorCode.WRONG_PASSWORD);
  });

  it('opens keystores written by geth, including a 31-byte key', async () => {
    const key = await decryptKeystore(GETH_VERY_LIGHT, '');
    assert.equal(privateKeyToAccount(key).address.toLowerCase(), `0x${GETH_VERY_LIGHT.address}`);
    await rejectsWith(decryptKeystore(GETH_VERY_LIGHT, 'bad'), WalletErrorCode.WRONG_PASSWORD);
    assert.equal(await decryptKeystore(GETH_31_BYTE_KEY, 'foo'), `0x00${GETH_31_BYTE_PRIVATE_KEY}`);
  });
});

describe('encryptKeystore', () => {
  it('writes the shape geth writes', async () => {
    const ks = await encryptKeystore(KEY, 'correct horse', { kdf: 'light' });
    assert.deepEqual(Object.keys(ks).sort(), ['address', 'crypto', 'id', 'version']);
    assert.deepEqual(Object.keys(ks.crypto).sort(), [
      'cipher',
      'cipherparams',
      'ciphertext',
      'kdf',
      'kdfparams',
      'mac',
    ]);
    assert.deepEqual(Object.keys(ks.crypto.kdfparams).sort(), ['dklen', 'n', 'p', 'r', 'salt']);
    assert.deepEqual(Object.keys(GETH_VERY_LIGHT).sort(), Object.keys(ks).sort());
    assert.deepEqual(Object.keys(GETH_VERY_LIGHT.crypto).sort(), Object.keys(ks.crypto).sort());
    assert.equal(ks.version, 3);
    assert.match(ks.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(ks.address, privateKeyToAccount(KEY).address.slice(2).toLowerCase());
    assert.equal(ks.crypto.cipher, 'aes-128-ctr');
    assert.match(ks.crypto.cipherparams.iv, /^[0-9a-f]{32}$/);
    assert.match(ks.crypto.ciphertext, /^[0-9a-f]{64}$/);
    assert.match(ks.crypto.mac, /^[0-9a-f]{64}$/);
    assert.equal(ks.crypto.kdf, 'scrypt');
    assert.deepEqual(
      { ...ks.crypto.kdfparams, salt: undefined },
      { dklen: 32, ...SCRYPT_LIGHT, salt: undefined },
    );
    assert.match(ks.crypto.kdfparams.salt, /^[0-9a-f]{64}$/);
    // JSON text round trip, as a file would be.
    assert.equal(await decryptKeystore(JSON.stringify(ks), 'correct horse'), KEY);
  });

  it('uses geth standard scrypt parameters (n=2^18, r=8, p=1) by default, and explicit ones', async () => {
    // A standard run is a second of CPU; the default is checked where it is chosen.
    assert.deepEqual(scryptParamsOf(undefined), { n: 262144, r: 8, p: 1 });
    assert.deepEqual(scryptParamsOf('standard'), { n: 262144, r: 8, p: 1 });
    assert.deepEqual(scryptParamsOf('light'), { n: 4096, r: 8, p: 6 });
    const custom = await encryptKeystore(KEY, 'pw', { kdf: { n: 2, r: 8, p: 1 } });
    assert.deepEqual(
      [custom.crypto.kdfparams.n, custom.crypto.kdfparams.r, custom.crypto.kdfparams.p],
      [2, 8, 1],
    );
  });

  it('produces keystores an independent implementation opens', async () => {
    for (const password of ['correct horse battery', '', 'pässwörd ✓']) {
      const ks = await encryptKeystore(KEY, password, { kdf: 'light' });
      assert.equal(await independentDecrypt(ks, password), KEY);
    }
  });

  it('is deterministic given salt, iv and id, and random otherwise', async () => {
    const fixed = {
      kdf: 'light' as const,
      salt: new Uint8Array(32).fill(1),
      iv: new Uint8Array(16).fill(2),
      id: '00000000-0000-4000-8000-000000000000',
    };
    assert.deepEqual(await encryptKeystore(KEY, 'pw', fixed), await encryptKeystore(KEY, 'pw', fixed));
    const a = await encryptKeystore(KEY, 'pw', { kdf: 'light' });
    const b = await encryptKeystore(KEY, 'pw', { kdf: 'light' });
    assert.notEqual(a.crypto.kdfparams.salt, b.crypto.kdfparams.salt);
    assert.notEqual(a.crypto.cipherparams.iv, b.crypto.cipherparams.iv);
    assert.notEqual(a.id, b.id);
  });

  it('rejects invalid private keys', async () => {
    for (const bad of ['0x1234', `0x${'0'.repeat(64)}`, `0x${'f'.repeat(64)}`, `0x${'g'.repeat(64)}`]) {
      await rejectsWith(encryptKeystore(bad as `0x${string}`, 'pw'), WalletErrorCode.INVALID_PRIVATE_KEY);
    }
    assert.equal(normalizePrivateKey(` ${KEY.slice(2).toUpperCase()}\n`), KEY);
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(encryptKeystore(KEY, 'pw', { kdf: 'light', signal: ac.signal }), /stop/);
    await assert.rejects(decryptKeystore(WIKI_SCRYPT, TEST_PASSWORD, { signal: AbortSignal.timeout(50) }), {
      name: 'TimeoutError',
    });
  });
});

describe('decryptKeystore failures', () => {
  it('reports a wrong password or an altered file as WRONG_PASSWORD', async () => {
    const ks = await encryptKeystore(KEY, 'right password', { kdf: 'light' });
    const message = await rejectsWith(decryptKeystore(ks, 'wrong password'), WalletErrorCode.WRONG_PASSWORD);
    assert.match(message, /wrong password/);
    assert.doesNotMatch(message, /right password|wrong password.*wrong password/);
    const flip = (hex: string) => `${hex[0] === '0' ? '1' : '0'}${hex.slice(1)}`;
    const tampered = [
      { ...ks, crypto: { ...ks.crypto, ciphertext: flip(ks.crypto.ciphertext) } },
      { ...ks, crypto: { ...ks.crypto, mac: flip(ks.crypto.mac) } },
      {
        ...ks,
        crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, salt: flip(ks.crypto.kdfparams.salt) } },
      },
    ];
    for (const t of tampered)
      await rejectsWith(decryptKeystore(t, 'right password'), WalletErrorCode.WRONG_PASSWORD);
  });

  it('reports a wrong declared address as MALFORMED_KEYSTORE', async () => {
    const ks = await encryptKeystore(KEY, 'pw', { kdf: 'light' });
    const other = { ...ks, address: '45dea0fb0bba44f4fcf290bba71fd57d7117cbb8' };
    const message = await rejectsWith(decryptKeystore(other, 'pw'), WalletErrorCode.MALFORMED_KEYSTORE);
    assert.match(message, /another address/);
  });

  it('reports malformed shapes as MALFORMED_KEYSTORE, naming the field', async () => {
    const ks = await encryptKeystore(KEY, 'pw', { kdf: 'light' });
    const { crypto } = ks;
    const cases: [string, unknown, RegExp][] = [
      ['not JSON', '{"version":3,', /not valid JSON/],
      ['null', null, /root/],
      ['an array', [ks], /root/],
      ['version 1', { ...ks, version: 1 }, /version/],
      ['no crypto', { ...ks, crypto: undefined }, /crypto/],
      ['no mac', { ...ks, crypto: { ...crypto, mac: undefined } }, /crypto\.mac/],
      ['short mac', { ...ks, crypto: { ...crypto, mac: 'abcd' } }, /crypto\.mac/],
      ['0x iv', { ...ks, crypto: { ...crypto, cipherparams: { iv: `0x${crypto.cipherparams.iv}` } } }, /iv/],
      ['odd ciphertext', { ...ks, crypto: { ...crypto, ciphertext: 'abc' } }, /ciphertext/],
      ['long ciphertext', { ...ks, crypto: { ...crypto, ciphertext: 'ab'.repeat(33) } }, /ciphertext/],
      [
        'n as string',
        { ...ks, crypto: { ...crypto, kdfparams: { ...crypto.kdfparams, n: '4096' } } },
        /kdfparams\.n/,
      ],
      ['dklen 16', { ...ks, crypto: { ...crypto, kdfparams: { ...crypto.kdfparams, dklen: 16 } } }, /dklen/],
      ['bad address', { ...ks, address: 'xyz' }, /address/],
    ];
    for (const [what, value, pattern] of cases) {
      const message = await rejectsWith(decryptKeystore(value, 'pw'), WalletErrorCode.MALFORMED_KEYSTORE);
      assert.match(message, pattern, what);
    }
  });

  it('reports unknown ciphers and KDFs with their own codes', async () => {
    const ks = await encryptKeystore(KEY, 'pw', { kdf: 'light' });
    const { crypto } = ks;
    await rejectsWith(
      decryptKeystore({ ...ks, crypto: { ...crypto, cipher: 'aes-128-cbc' } }, 'pw'),
      WalletErrorCode.UNSUPPORTED_CIPHER,
    );
    await rejectsWith(
      decryptKeystore({ ...ks, crypto: { ...crypto, kdf: 'argon2id' } }, 'pw'),
      WalletErrorCode.UNSUPPORTED_KDF,
    );
    const sha512 = {
      ...WIKI_PBKDF2,
      crypto: { ...WIKI_PBKDF2.crypto, kdfparams: { ...WIKI_PBKDF2.crypto.kdfparams, prf: 'hmac-sha512' } },
    };
    await rejectsWith(decryptKeystore(sha512, TEST_PASSWORD), WalletErrorCode.UNSUPPORTED_KDF);
    // Parameters that would take too much memory, or are not scrypt's, are refused before any work.
    for (const params of [
      { n: 2 ** 22, r: 8, p: 1 },
      { n: 4095, r: 8, p: 1 },
      { n: 1, r: 8, p: 1 },
      { n: 4096, r: 0, p: 1 },
    ]) {
      const hostile = { ...ks, crypto: { ...crypto, kdfparams: { ...crypto.kdfparams, ...params } } };
      await rejectsWith(decryptKeystore(hostile, 'pw'), WalletErrorCode.UNSUPPORTED_KDF);
    }
  });

  it('accepts the capitalised `Crypto` key that some wallets wrote', async () => {
    const ks = await encryptKeystore(KEY, 'pw', { kdf: 'light' });
    const { crypto, ...rest } = ks;
    assert.equal(await decryptKeystore({ ...rest, Crypto: crypto }, 'pw'), KEY);
  });
});

describe('keystoreAddress', () => {
  it('reads the declared address, checksummed, without a password', async () => {
    assert.equal(keystoreAddress(GETH_VERY_LIGHT), getAddress(`0x${GETH_VERY_LIGHT.address}`));
    assert.notEqual(keystoreAddress(GETH_VERY_LIGHT), `0x${GETH_VERY_LIGHT.address}`); // checksummed
    assert.equal(keystoreAddress(WIKI_SCRYPT), undefined);
    assert.equal(keystoreAddress('nope'), undefined);
    const ks = await encryptKeystore(KEY, 'pw', { kdf: 'light' });
    assert.equal(keystoreAddress(ks), privateKeyToAccount(KEY).address);
  });
});
