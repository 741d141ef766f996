import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { privateKeyToAccount } from 'viem/accounts';
import {
  createWalletStore,
  decryptKeystore,
  defaultWalletDir,
  encryptKeystore,
  isWalletError,
  unlockNodeHotkey,
  WalletErrorCode,
  type WalletStore,
} from '../src/index.js';
import { TEST_PASSWORD, TEST_PRIVATE_KEY, WIKI_PBKDF2 } from './vectors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'subnet-wallet-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PASSWORD = 'correct horse battery';
let storeCount = 0;
/** A store in a fresh directory (which does not exist yet). */
function freshStore(): WalletStore {
  return createWalletStore({ dir: path.join(tmp, `store-${++storeCount}`, 'wallets') });
}

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

const mode = (p: string) => fs.statSync(p).mode & 0o777;

// Each test has its own directory, so they run side by side (scrypt runs on the thread pool).
describe('wallet store', { concurrency: true }, () => {
  it('defaults to <dataDir>/wallets', () => {
    assert.equal(createWalletStore({ dataDir: '/var/subnet' }).dir, path.resolve('/var/subnet/wallets'));
    assert.equal(defaultWalletDir('/d'), path.join('/d', 'wallets'));
  });

  it('creates a wallet with a coldkey and hotkeys, private to its owner', async () => {
    const store = freshStore();
    const info = await store.create('alice', {
      password: PASSWORD,
      kdf: 'light',
      hotkeys: ['default', 'miner'],
    });
    assert.equal(info.name, 'alice');
    assert.equal(info.path, path.join(store.dir, 'alice'));
    assert.equal(info.coldkey.path, path.join(store.dir, 'alice', 'coldkey.json'));
    assert.deepEqual(
      info.hotkeys.map((h) => [h.name, h.path]),
      [
        ['default', path.join(store.dir, 'alice', 'hotkeys', 'default.json')],
        ['miner', path.join(store.dir, 'alice', 'hotkeys', 'miner.json')],
      ],
    );
    const addresses = [info.coldkey.address, ...info.hotkeys.map((h) => h.address)];
    assert.equal(new Set(addresses).size, 3);
    for (const a of addresses) assert.match(String(a), /^0x[0-9a-fA-F]{40}$/);

    for (const dir of [store.dir, info.path, path.join(info.path, 'hotkeys')])
      assert.equal(mode(dir), 0o700, dir);
    for (const file of [info.coldkey.path, ...info.hotkeys.map((h) => h.path)]) {
      assert.equal(mode(file), 0o600, file);
      const ks = JSON.parse(fs.readFileSync(file, 'utf8')) as { crypto: { kdf: string }; version: number };
      assert.equal(ks.version, 3);
      assert.equal(ks.crypto.kdf, 'scrypt');
    }
    // Only the key files: no temporary files left behind.
    assert.deepEqual(fs.readdirSync(info.path).sort(), ['coldkey.json', 'hotkeys']);
    assert.deepEqual(fs.readdirSync(path.join(info.path, 'hotkeys')).sort(), ['default.json', 'miner.json']);
    // The files are standard keystores.
    const coldPrivate = await decryptKeystore(fs.readFileSync(info.coldkey.path, 'utf8'), PASSWORD);
    assert.equal(privateKeyToAccount(coldPrivate).address, info.coldkey.address);
  });

  it('lists and shows wallets without a password, with the addresses unlock gives', async () => {
    const store = freshStore();
    assert.deepEqual(await store.list(), []); // the directory does not exist yet
    const bob = await store.create('bob', { password: PASSWORD, kdf: 'light' });
    await store.create('alice', { password: PASSWORD, kdf: 'light', hotkeys: [] });
    fs.mkdirSync(path.join(store.dir, 'not a wallet'));
    fs.mkdirSync(path.join(store.dir, 'empty'));
    fs.writeFileSync(path.join(store.dir, 'stray.json'), '{}');
    const list = await store.list();
    assert.deepEqual(
      list.map((w) => [w.name, w.hotkeys.map((h) => h.name)]),
      [
        ['alice', []],
        ['bob', ['default']],
      ],
    );
    assert.deepEqual(await store.show('bob'), bob);
    const cold = await store.unlock('bob', 'coldkey', PASSWORD);
    const hot = await store.unlock('bob', 'default', PASSWORD);
    assert.equal(cold.address, bob.coldkey.address);
    assert.equal(hot.address, bob.hotkeys[0]?.address);
    const signature = await hot.signMessage({ message: 'hello' });
    assert.match(signature, /^0x[0-9a-f]{130}$/);
  });

  it('refuses a wrong password with WRONG_PASSWORD, naming the key', async () => {
    const store = freshStore();
    await store.create('carol', { password: PASSWORD, kdf: 'light' });
    const message = await rejectsWith(
      store.unlock('carol', 'coldkey', 'not the password'),
      WalletErrorCode.WRONG_PASSWORD,
    );
    assert.match(message, /coldkey of wallet carol/);
    await rejectsWith(store.export('carol', 'default', 'nope nope'), WalletErrorCode.WRONG_PASSWORD);
    await rejectsWith(
      store.exportPrivateKey('carol', 'default', 'nope nope'),
      WalletErrorCode.WRONG_PASSWORD,
    );
  });

  it('exports a keystore that imports under another name with the same address', async () => {
    const store = freshStore();
    const dave = await store.create('dave', { password: PASSWORD, kdf: 'light' });
    const exported = await store.export('dave', 'coldkey', PASSWORD);
    assert.deepEqual(exported, JSON.parse(fs.readFileSync(dave.coldkey.path, 'utf8')));
    const copy = await store.import('dave-copy', {
      keystore: exported,
      keystorePassword: PASSWORD,
      password: 'a new password',
      kdf: 'light',
    });
    assert.equal(copy.coldkey.address, dave.coldkey.address);
    assert.deepEqual(copy.hotkeys, []);
    assert.equal(
      (await store.unlock('dave-copy', 'coldkey', 'a new password')).address,
      dave.coldkey.address,
    );
    const key = await store.exportPrivateKey('dave', 'coldkey', PASSWORD);
    assert.equal(privateKeyToAccount(key).address, dave.coldkey.address);
  });

  it('imports raw keys and other tools’ keystores, as coldkeys or hotkeys', async () => {
    const store = freshStore();
    const expected = privateKeyToAccount(TEST_PRIVATE_KEY).address;
    const fromKey = await store.import('raw', {
      privateKey: TEST_PRIVATE_KEY.slice(2),
      password: PASSWORD,
      kdf: 'light',
    });
    assert.equal(fromKey.coldkey.address, expected);
    const fromPbkdf2 = await store.import('vector', {
      keystore: JSON.stringify(WIKI_PBKDF2),
      keystorePassword: TEST_PASSWORD,
      password: PASSWORD,
      kdf: 'light',
    });
    assert.equal(fromPbkdf2.coldkey.address, expected);
    // Stored re-encrypted with our scrypt, not as the PBKDF2 original.
    const stored = JSON.parse(fs.readFileSync(fromPbkdf2.coldkey.path, 'utf8')) as {
      crypto: { kdf: string };
    };
    assert.equal(stored.crypto.kdf, 'scrypt');

    const hot = privateKeyToAccount('0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318');
    const withHot = await store.import('raw', {
      privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318',
      password: PASSWORD,
      as: 'validator',
    });
    assert.deepEqual(
      withHot.hotkeys.map((h) => [h.name, h.address]),
      [['validator', hot.address]],
    );
    // A hotkey inherits the coldkey's scrypt cost unless told otherwise.
    const hotFile = JSON.parse(fs.readFileSync(withHot.hotkeys[0]?.path ?? '', 'utf8')) as {
      crypto: { kdfparams: { n: number } };
    };
    assert.equal(hotFile.crypto.kdfparams.n, 4096);

    await rejectsWith(
      store.import('vector2', { keystore: WIKI_PBKDF2, keystorePassword: 'wrong', password: PASSWORD }),
      WalletErrorCode.WRONG_PASSWORD,
    );
    await rejectsWith(
      store.import('bad', { privateKey: '0x1234', password: PASSWORD }),
      WalletErrorCode.INVALID_PRIVATE_KEY,
    );
    await rejectsWith(
      store.import('raw', { privateKey: TEST_PRIVATE_KEY, password: 'wrong password', as: 'other' }),
      WalletErrorCode.WRONG_PASSWORD,
    );
    await rejectsWith(
      store.import('nobody', { privateKey: TEST_PRIVATE_KEY, password: PASSWORD, as: 'hot' }),
      WalletErrorCode.NOT_FOUND,
    );
    assert.equal(fs.existsSync(path.join(store.dir, 'vector2')), false);
    assert.equal(fs.existsSync(path.join(store.dir, 'bad')), false);
  });

  it('adds hotkeys with the wallet password only', async () => {
    const store = freshStore();
    await store.create('erin', { password: PASSWORD, kdf: 'light' });
    const info = await store.addHotkey('erin', 'second', PASSWORD);
    assert.deepEqual(
      info.hotkeys.map((h) => h.name),
      ['default', 'second'],
    );
    assert.equal(mode(info.hotkeys[1]?.path ?? ''), 0o600);
    await rejectsWith(store.addHotkey('erin', 'third', 'wrong password'), WalletErrorCode.WRONG_PASSWORD);
    assert.equal(fs.existsSync(path.join(store.dir, 'erin', 'hotkeys', 'third.json')), false);
    await rejectsWith(store.addHotkey('erin', 'second', PASSWORD), WalletErrorCode.EXISTS);
    await rejectsWith(store.addHotkey('nobody', 'x', PASSWORD), WalletErrorCode.NOT_FOUND);
  });

  it('never overwrites: EXISTS for a taken name, NOT_FOUND for a missing one', async () => {
    const store = freshStore();
    const first = await store.create('frank', { password: PASSWORD, kdf: 'light' });
    await rejectsWith(store.create('frank', { password: PASSWORD, kdf: 'light' }), WalletErrorCode.EXISTS);
    await rejectsWith(
      store.import('frank', { privateKey: TEST_PRIVATE_KEY, password: PASSWORD }),
      WalletErrorCode.EXISTS,
    );
    assert.deepEqual(await store.show('frank'), first);
    await rejectsWith(store.show('ghost'), WalletErrorCode.NOT_FOUND);
    const message = await rejectsWith(store.unlock('frank', 'nohot', PASSWORD), WalletErrorCode.NOT_FOUND);
    assert.match(message, /no hotkey nohot/);
    await rejectsWith(store.export('ghost', 'coldkey', PASSWORD), WalletErrorCode.NOT_FOUND);
  });

  it('validates names, so no name can leave the store directory', async () => {
    const store = freshStore();
    const bad = ['', '.', '..', '../evil', 'a/b', 'a\\b', '/abs', 'sp ace', 'dot.ted', 'x'.repeat(65), 'é'];
    for (const name of bad) {
      await rejectsWith(
        store.create(name, { password: PASSWORD, kdf: 'light' }),
        WalletErrorCode.INVALID_NAME,
      );
      await rejectsWith(store.show(name), WalletErrorCode.INVALID_NAME);
      await rejectsWith(store.unlock(name, 'coldkey', PASSWORD), WalletErrorCode.INVALID_NAME);
      await rejectsWith(
        store.create('ok', { password: PASSWORD, kdf: 'light', hotkeys: [name] }),
        WalletErrorCode.INVALID_NAME,
      );
      await rejectsWith(store.unlock('ok', name, PASSWORD), WalletErrorCode.INVALID_NAME);
    }
    await rejectsWith(
      store.create('ok', { password: PASSWORD, kdf: 'light', hotkeys: ['coldkey'] }),
      WalletErrorCode.INVALID_NAME,
    );
    await rejectsWith(
      store.create('ok', { password: PASSWORD, kdf: 'light', hotkeys: ['a', 'a'] }),
      WalletErrorCode.INVALID_NAME,
    );
    assert.equal(fs.existsSync(store.dir), false, 'nothing was written');
    const longest = 'A-z_0'.repeat(12).slice(0, 64);
    assert.equal(
      (await store.create(longest, { password: PASSWORD, kdf: 'light', hotkeys: [] })).name,
      longest,
    );
  });

  it('refuses passwords shorter than 8 characters on create and import', async () => {
    const store = freshStore();
    await rejectsWith(
      store.create('gina', { password: '1234567', kdf: 'light' }),
      WalletErrorCode.WEAK_PASSWORD,
    );
    await rejectsWith(
      store.import('gina', { privateKey: TEST_PRIVATE_KEY, password: 'short' }),
      WalletErrorCode.WEAK_PASSWORD,
    );
    assert.equal((await store.create('gina', { password: '12345678', kdf: 'light' })).name, 'gina');
  });

  it('leaves nothing behind when creation is aborted', async () => {
    const store = freshStore();
    const ac = new AbortController();
    const pending = store.create('henry', { password: PASSWORD, kdf: 'light', signal: ac.signal });
    ac.abort(new Error('cancelled'));
    await assert.rejects(pending, /cancelled/);
    await rejectsWith(store.show('henry'), WalletErrorCode.NOT_FOUND);
    assert.equal(fs.existsSync(path.join(store.dir, 'henry')), false);
  });

  it('reports an unreadable key file as MALFORMED_KEYSTORE but still lists it', async () => {
    const store = freshStore();
    const info = await store.create('ivan', { password: PASSWORD, kdf: 'light' });
    fs.writeFileSync(info.hotkeys[0]?.path ?? '', 'garbage');
    const shown = await store.show('ivan');
    assert.equal(shown.hotkeys[0]?.address, null);
    await rejectsWith(store.unlock('ivan', 'default', PASSWORD), WalletErrorCode.MALFORMED_KEYSTORE);
    // A keystore from elsewhere without an address field shows a null address too.
    const noAddress = {
      ...(await encryptKeystore(TEST_PRIVATE_KEY, PASSWORD, { kdf: 'light' })),
      address: undefined,
    };
    fs.writeFileSync(info.hotkeys[0]?.path ?? '', JSON.stringify(noAddress));
    assert.equal((await store.show('ivan')).hotkeys[0]?.address, null);
    assert.equal(
      (await store.unlock('ivan', 'default', PASSWORD)).address,
      privateKeyToAccount(TEST_PRIVATE_KEY).address,
    );
  });
});

describe('unlockNodeHotkey', () => {
  it('unlocks the configured hotkey from a password file, and is undefined with no password source', async () => {
    const dataDir = path.join(tmp, 'node-key');
    const store = createWalletStore({ dataDir });
    const info = await store.create('node', { password: PASSWORD, hotkeys: ['default'], kdf: 'light' });
    const passwordFile = path.join(tmp, 'node-key-password');
    fs.writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    const key = await unlockNodeHotkey({ dataDir, wallet: 'node', hotkey: 'default', passwordFile });
    assert.ok(key !== undefined);
    const hotkey = info.hotkeys.find((h) => h.name === 'default');
    assert.equal(privateKeyToAccount(key).address, hotkey?.address);
    const saved = process.env.WALLET_PASSWORD;
    delete process.env.WALLET_PASSWORD;
    try {
      assert.equal(await unlockNodeHotkey({ dataDir, wallet: 'node', hotkey: 'default' }), undefined);
    } finally {
      if (saved !== undefined) process.env.WALLET_PASSWORD = saved;
    }
    fs.writeFileSync(passwordFile, 'wrong password\n');
    await rejectsWith(
      unlockNodeHotkey({ dataDir, wallet: 'node', hotkey: 'default', passwordFile }),
      WalletErrorCode.WRONG_PASSWORD,
    );
  });
});
