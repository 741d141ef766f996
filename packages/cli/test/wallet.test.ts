import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `subnet` bin with only PATH, HOME and `env` (stdin is a pipe: never a terminal). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface KeyJson {
  name: string;
  address: string;
  path: string;
}
interface WalletJson {
  name: string;
  path: string;
  coldkey: KeyJson;
  hotkeys: KeyJson[];
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

describe('subnet wallet', () => {
  let dir: string;
  let walletDir: string;
  let passwordFile: string;
  /** `--wallet-dir <tmp> --password-file <tmp>`. */
  let common: string[];
  /** alice as the CLI last printed her. */
  let alice: WalletJson;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-wallet-cli-'));
    walletDir = join(dir, 'wallets');
    passwordFile = join(dir, 'password.txt');
    writeFileSync(passwordFile, 'correct horse battery\n', { mode: 0o600 });
    common = ['--wallet-dir', walletDir, '--password-file', passwordFile];
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a wallet from a password file and lists its addresses as JSON', async () => {
    const created = await cli(['--json', 'wallet', 'create', 'alice', ...common, '--kdf', 'light']);
    assert.equal(created.code, 0, created.stderr);
    alice = JSON.parse(created.stdout) as WalletJson;
    assert.match(alice.coldkey.address, ADDRESS);
    assert.deepEqual(
      alice.hotkeys.map((h) => h.name),
      ['default'],
    );
    assert.equal(statSync(alice.coldkey.path).mode & 0o777, 0o600);
    assert.equal(statSync(alice.path).mode & 0o777, 0o700);

    const list = await cli(['--json', 'wallet', 'list', '--wallet-dir', walletDir]);
    assert.equal(list.code, 0, list.stderr);
    const { wallets } = JSON.parse(list.stdout) as { dir: string; wallets: WalletJson[] };
    assert.equal(wallets.length, 1);
    assert.equal(wallets[0]?.coldkey.address, alice.coldkey.address);
    assert.equal(wallets[0]?.hotkeys[0]?.address, alice.hotkeys[0]?.address);
    assert.match(wallets[0]?.hotkeys[0]?.address ?? '', ADDRESS);
  });

  // Everything below needs alice and nothing from the others: run it side by side (it is spawn-bound).
  describe('with a wallet', { concurrency: true }, () => {
    it('adds a hotkey and shows the wallet as text', async () => {
      const added = await cli(['--json', 'wallet', 'add-hotkey', 'alice', 'miner', ...common]);
      assert.equal(added.code, 0, added.stderr);
      const updated = JSON.parse(added.stdout) as WalletJson;
      assert.deepEqual(
        updated.hotkeys.map((h) => h.name),
        ['default', 'miner'],
      );
      const text = await cli(['wallet', 'show', 'alice', '--wallet-dir', walletDir]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /^wallet alice /);
      assert.match(text.stdout, new RegExp(`coldkey\\s+${alice.coldkey.address}`));
      assert.match(text.stdout, new RegExp(`hotkey default\\s+${alice.hotkeys[0]?.address}`));
      assert.match(text.stdout, new RegExp(`hotkey miner\\s+${updated.hotkeys[1]?.address}`));
    });

    it('exports a keystore that imports under another name with the same address', async () => {
      const exported = await cli(['wallet', 'export', 'alice', ...common]);
      assert.equal(exported.code, 0, exported.stderr);
      const keystore = JSON.parse(exported.stdout) as {
        version: number;
        address: string;
        crypto: { kdf: string };
      };
      assert.equal(keystore.version, 3);
      assert.equal(keystore.crypto.kdf, 'scrypt');
      const file = join(dir, 'alice-coldkey.json');
      writeFileSync(file, exported.stdout);

      // Another password for the copy, from the default variable; the keystore's own from a file.
      const imported = await cli(
        [
          '--json',
          'wallet',
          'import',
          'alice-copy',
          '--wallet-dir',
          walletDir,
          '--keystore',
          file,
          '--keystore-password-file',
          passwordFile,
          '--kdf',
          'light',
        ],
        { WALLET_PASSWORD: 'another password' },
      );
      assert.equal(imported.code, 0, imported.stderr);
      const copy = JSON.parse(imported.stdout) as WalletJson;
      assert.equal(copy.coldkey.address, alice.coldkey.address);
      assert.equal(copy.coldkey.address.slice(2).toLowerCase(), keystore.address);

      // The copy opens with its own password, here from a variable named by --password-env.
      const out = join(dir, 'copy.json');
      const check = await cli(
        [
          'wallet',
          'export',
          'alice-copy',
          '--wallet-dir',
          walletDir,
          '--password-env',
          'MY_PW',
          '--out',
          out,
        ],
        { MY_PW: 'another password' },
      );
      assert.equal(check.code, 0, check.stderr);
      assert.equal(statSync(out).mode & 0o777, 0o600);
      assert.equal((JSON.parse(readFileSync(out, 'utf8')) as { address: string }).address, keystore.address);
    });

    it('exports a raw private key only on request, with a warning, and imports it back', async () => {
      const raw = await cli([
        '--json',
        'wallet',
        'export',
        'alice',
        '--key',
        'default',
        '--private-key',
        ...common,
      ]);
      assert.equal(raw.code, 0, raw.stderr);
      assert.match(raw.stderr, /warning: .*private key/);
      const { privateKey } = JSON.parse(raw.stdout) as { privateKey: string };
      assert.match(privateKey, /^0x[0-9a-f]{64}$/);
      const keyFile = join(dir, 'default.key');
      writeFileSync(keyFile, `${privateKey}\n`, { mode: 0o600 });
      const args = ['--json', 'wallet', 'import', 'from-raw', ...common, '--private-key-file', keyFile];
      const imported = await cli([...args, '--kdf', 'light']);
      assert.equal(imported.code, 0, imported.stderr);
      assert.equal((JSON.parse(imported.stdout) as WalletJson).coldkey.address, alice.hotkeys[0]?.address);
    });

    it('exits 1 with a clear message on a wrong password', async () => {
      const wrong = join(dir, 'wrong.txt');
      writeFileSync(wrong, 'not the password\n');
      const r = await cli(['wallet', 'export', 'alice', '--wallet-dir', walletDir, '--password-file', wrong]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^subnet: the coldkey of wallet alice: wrong password/);
      assert.equal(r.stdout, '');
    });

    it('exits 2 without a password source when stdin is not a terminal, and takes none as an argument', async () => {
      const [none, reserved, arg] = await Promise.all([
        cli(['wallet', 'create', 'bob', '--wallet-dir', walletDir]),
        // SUBNET_* names belong to the config; the CLI says so instead of failing on the config.
        cli(['wallet', 'export', 'alice', '--password-env', 'SUBNET_PW'], {
          SUBNET_PW: 'x',
          SUBNET_DATA_DIR: dir,
        }),
        cli(['wallet', 'create', 'bob', '--wallet-dir', walletDir, '--password', 'secret123']),
      ]);
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no password given and stdin is not a terminal/);
      assert.match(none.stderr, /--password-file/);
      assert.equal(reserved.code, 2);
      assert.match(reserved.stderr, /SUBNET_\* variables are reserved/);
      assert.equal(arg.code, 2);
      assert.match(arg.stderr, /unknown option '--password'/);
    });

    it('exits 2 on bad names and short passwords, 1 on existing or missing wallets', async () => {
      const short = join(dir, 'short.txt');
      writeFileSync(short, 'short\n');
      const [traversal, weak, exists, missing] = await Promise.all([
        cli(['wallet', 'create', '../evil', ...common]),
        cli(['wallet', 'create', 'bob', '--wallet-dir', walletDir, '--password-file', short]),
        cli(['wallet', 'create', 'alice', ...common, '--kdf', 'light']),
        cli(['wallet', 'show', 'ghost', '--wallet-dir', walletDir]),
      ]);
      assert.equal(traversal.code, 2);
      assert.match(traversal.stderr, /invalid wallet name "\.\.\/evil"/);
      assert.equal(weak.code, 2);
      assert.match(weak.stderr, /at least 8 characters/);
      assert.equal(exists.code, 1);
      assert.match(exists.stderr, /already exists/);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no wallet named ghost/);
    });

    it('defaults the wallet directory to <dataDir>/wallets', async () => {
      const dataDir = join(dir, 'data');
      const env = { SUBNET_DATA_DIR: dataDir };
      const args = [
        'wallet',
        'create',
        'carol',
        '--password-file',
        passwordFile,
        '--hotkey',
        'h1',
        '--hotkey',
        'h2',
      ];
      const r = await cli([...args, '--kdf', 'light'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /created wallet carol/);
      assert.equal(statSync(join(dataDir, 'wallets', 'carol', 'hotkeys', 'h2.json')).mode & 0o777, 0o600);
      const list = await cli(['--json', 'wallet', 'list'], env);
      const { dir: listed, wallets } = JSON.parse(list.stdout) as { dir: string; wallets: WalletJson[] };
      assert.equal(listed, join(dataDir, 'wallets'));
      assert.deepEqual(
        wallets.map((w) => [w.name, w.hotkeys.map((h) => h.name)]),
        [['carol', ['h1', 'h2']]],
      );
    });
  });
});
