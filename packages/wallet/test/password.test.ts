import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import {
  DEFAULT_PASSWORD_ENV,
  isWalletError,
  type PromptInput,
  type ResolvePasswordOpts,
  resolvePassword,
  WalletErrorCode,
} from '../src/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'subnet-password-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeFile(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
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

/** A fake terminal: types `lines` one after another as prompts appear; collects what is shown. */
function fakeTty(lines: string[]): { input: PromptInput; output: PassThrough; shown: () => string } {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk: Buffer) => {
    shown += chunk.toString();
    // Answer each prompt (it ends with ': ') with the next line, as a user would.
    if (shown.endsWith(': ')) {
      const line = lines.shift();
      if (line !== undefined) setImmediate(() => input.write(`${line}\r`));
    }
  });
  return { input, output, shown: () => shown };
}

/** Options that can only see what a test gives: no process environment, a non-TTY input. */
function isolated(opts: ResolvePasswordOpts): ResolvePasswordOpts {
  return {
    env: {},
    input: Object.assign(new PassThrough(), { isTTY: false }),
    output: new PassThrough(),
    ...opts,
  };
}

describe('resolvePassword', () => {
  it('reads the first line of a password file', async () => {
    assert.equal(
      await resolvePassword(isolated({ file: writeFile('a', 'hunter2 spaces ok\nsecond line\n') })),
      'hunter2 spaces ok',
    );
    assert.equal(
      await resolvePassword(isolated({ file: writeFile('b', 'crlf-password\r\n') })),
      'crlf-password',
    );
    assert.equal(await resolvePassword(isolated({ file: writeFile('c', 'no newline') })), 'no newline');
    await rejectsWith(
      resolvePassword(isolated({ file: writeFile('d', '\nsecret') })),
      WalletErrorCode.NO_PASSWORD,
    );
    const missing = await rejectsWith(
      resolvePassword(isolated({ file: path.join(tmp, 'nope') })),
      WalletErrorCode.NO_PASSWORD,
    );
    assert.match(missing, /not found/);
  });

  it('prefers the file over the environment', async () => {
    const file = writeFile('e', 'from-file');
    assert.equal(
      await resolvePassword(
        isolated({ file, envName: 'MY_PW', env: { MY_PW: 'from-env', [DEFAULT_PASSWORD_ENV]: 'x' } }),
      ),
      'from-file',
    );
  });

  it('reads a named variable, which must then be set, or the default one', async () => {
    assert.equal(DEFAULT_PASSWORD_ENV, 'WALLET_PASSWORD');
    assert.equal(
      await resolvePassword(isolated({ envName: 'MY_PW', env: { MY_PW: 'from-env' } })),
      'from-env',
    );
    assert.equal(await resolvePassword(isolated({ env: { WALLET_PASSWORD: 'default-env' } })), 'default-env');
    const unset = await rejectsWith(
      resolvePassword(isolated({ envName: 'MY_PW', env: { WALLET_PASSWORD: 'ignored' } })),
      WalletErrorCode.NO_PASSWORD,
    );
    assert.match(unset, /MY_PW.*not set/);
    await rejectsWith(
      resolvePassword(isolated({ envName: 'MY_PW', env: { MY_PW: '' } })),
      WalletErrorCode.NO_PASSWORD,
    );
    // SUBNET_* variables belong to the config loader, which rejects unknown ones.
    const reserved = await rejectsWith(
      resolvePassword(isolated({ envName: 'SUBNET_PASSWORD', env: { SUBNET_PASSWORD: 'x' } })),
      WalletErrorCode.NO_PASSWORD,
    );
    assert.match(reserved, /reserved/);
    await rejectsWith(resolvePassword(isolated({ envName: 'BAD-NAME' })), WalletErrorCode.NO_PASSWORD);
  });

  it('fails clearly without a source when stdin is not a terminal', async () => {
    const message = await rejectsWith(resolvePassword(isolated({})), WalletErrorCode.NO_PASSWORD);
    assert.match(message, /not a terminal/);
    assert.match(message, /--password-file/);
    assert.match(message, /WALLET_PASSWORD/);
  });

  it('prompts on a terminal without echoing what is typed', async () => {
    const tty = fakeTty(['s3cret-typed']);
    const password = await resolvePassword({
      env: {},
      input: tty.input,
      output: tty.output,
      prompt: 'Wallet password: ',
    });
    assert.equal(password, 's3cret-typed');
    assert.match(tty.shown(), /Wallet password: /);
    assert.doesNotMatch(tty.shown(), /s3cret/);
  });

  it('asks twice for a new password and compares', async () => {
    const same = fakeTty(['new password', 'new password']);
    assert.equal(
      await resolvePassword({ env: {}, input: same.input, output: same.output, confirm: true, minLength: 8 }),
      'new password',
    );
    assert.match(same.shown(), /Repeat password: /);
    assert.doesNotMatch(same.shown(), /new password/);
    const differ = fakeTty(['new password', 'other password']);
    await rejectsWith(
      resolvePassword({ env: {}, input: differ.input, output: differ.output, confirm: true }),
      WalletErrorCode.PASSWORD_MISMATCH,
    );
    const short = fakeTty(['short', 'short']);
    await rejectsWith(
      resolvePassword({ env: {}, input: short.input, output: short.output, confirm: true, minLength: 8 }),
      WalletErrorCode.WEAK_PASSWORD,
    );
    assert.doesNotMatch(short.shown(), /Repeat/, 'a too-short password fails before the second prompt');
  });

  it('ends the prompt on end of input or abort', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const ended = resolvePassword({ env: {}, input, output: new PassThrough() });
    input.end();
    await rejectsWith(ended, WalletErrorCode.NO_PASSWORD);
    const ac = new AbortController();
    const input2 = Object.assign(new PassThrough(), { isTTY: true });
    const aborted = resolvePassword({ env: {}, input: input2, output: new PassThrough(), signal: ac.signal });
    ac.abort(new Error('gave up'));
    await assert.rejects(aborted, /gave up/);
  });
});
