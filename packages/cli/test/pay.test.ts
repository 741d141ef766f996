/**
 * `subnet pay …` against a real anvil devnet (started in process, the CLI run as a child): deposit, balance,
 * withdraw, the owner's price, reverts by name, bad input refused before sending, and `pay key` against a
 * stand-in gateway that checks the spending authorization it is sent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createSubnetClient, DEVNET_CLIENT, type Devnet, settlePayments, startDevnet } from '@subnet/chain';
import { paymentTokenAbi, spendingAuthorizationTypedData } from '@subnet/contracts';
import { createWalletStore } from '@subnet/wallet';
import { type Address, verifyTypedData } from 'viem';

const BIN = fileURLToPath(new URL('../../bin/subnet.js', import.meta.url));

let dataDir: string;
let devnet: Devnet;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--json', ...args, '--rpc-url', devnet.anvil.rpcUrl],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SUBNET_DATA_DIR: dataDir },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

async function ok(args: string[]): Promise<Record<string, unknown>> {
  const r = await cli(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'subnet-pay-cli-'));
  devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 1, miners: 1 });
});

after(async () => {
  await devnet?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('subnet pay', () => {
  it('deposits, shows the balance and requests then cancels a withdrawal (client1, validator1 by default)', async () => {
    const validator = devnet.network.neurons?.find((n) => n.role === 'validator')?.hotkey;
    const d = await ok(['pay', 'deposit', '--amount', '12.5']);
    assert.equal(d.balance, '12500000');
    assert.equal(d.gateway, validator);
    assert.equal(d.client, devnet.network.payments?.client);
    const w = await ok(['pay', 'withdraw', '--amount', '2']);
    assert.ok(Number(w.withdrawableAt) > 0);
    const b = await ok(['pay', 'balance', '--gateway', 'validator1']);
    assert.deepEqual(
      [b.balance, b.pendingWithdrawal, b.spendable, b.walletBalance],
      ['12500000', '2000000', '10500000', '987500000'],
    );
    await ok(['pay', 'withdraw', '--cancel']);
    assert.equal((await ok(['pay', 'balance'])).pendingWithdrawal, '0');
  });

  it('refuses bad amounts and modes before sending, and names reverts', async () => {
    for (const args of [
      ['pay', 'deposit', '--amount', '-1'],
      ['pay', 'deposit', '--amount', '0.0000001'],
      ['pay', 'deposit', '--amount', '0'],
      ['pay', 'withdraw', '--amount', '1', '--complete'],
      ['pay', 'split', 'set', '--validator-bps', '5000', '--owner-bps', '5000', '--burn-bps', '1'],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
    const early = await cli(['pay', 'withdraw', '--complete']);
    assert.notEqual(early.code, 0);
    assert.match(early.stderr, /NoWithdrawalPending/);
    const notOwner = await cli([
      'pay',
      'price',
      'set',
      '--wallet',
      'client1',
      '--model',
      'm',
      '--prompt',
      '1',
      '--completion',
      '1',
    ]);
    assert.notEqual(notOwner.code, 0);
    assert.match(notOwner.stderr, /NotSubnetOwner/);
  });

  it('sets a price as the subnet owner', async () => {
    const r = await ok([
      'pay',
      'price',
      'set',
      '--model',
      'devnet-chat',
      '--prompt',
      '0.2',
      '--completion',
      '0.8',
    ]);
    assert.deepEqual([r.netuid, r.promptPerMillion, r.completionPerMillion], [1, '200000', '800000']);
  });

  it('pay key signs an authorization for the gateway it asks and prints the key the gateway answers', async () => {
    const gateway = devnet.network.neurons?.find((n) => n.role === 'validator')?.hotkey as `0x${string}`;
    const escrow = devnet.network.contracts.paymentEscrow as `0x${string}`;
    let got: { authorization: Record<string, string>; signature: `0x${string}` } | undefined;
    const server: Server = createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/v1/payments') {
        res.end(
          JSON.stringify({ chain_id: devnet.network.chainId, gateway, escrow, token: '0x', models: [] }),
        );
        return;
      }
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        got = JSON.parse(body);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ key: 'sk-sub-test', id: 'k1', client: got?.authorization.client }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await ok([
        'pay',
        'key',
        '--gateway-url',
        `http://127.0.0.1:${port}/`,
        '--cap',
        '5',
        '--expiry',
        '1h',
      ]);
      assert.equal(r.key, 'sk-sub-test');
      assert.ok(got !== undefined);
      const a = got.authorization;
      assert.deepEqual([a.client, a.gateway, a.cap], [devnet.network.payments?.client, gateway, '5000000']);
      const valid = await verifyTypedData({
        address: a.client as `0x${string}`,
        ...spendingAuthorizationTypedData({
          chainId: devnet.network.chainId,
          paymentEscrow: escrow,
          authorization: {
            client: a.client as `0x${string}`,
            gateway: a.gateway as `0x${string}`,
            cap: BigInt(a.cap as string),
            expiry: BigInt(a.expiry as string),
            nonce: a.nonce as `0x${string}`,
          },
        }),
        signature: got.signature,
      });
      assert.ok(valid);
      const bad = await cli(['pay', 'key', '--gateway-url', 'http://127.0.0.1:1', '--cap', '5']);
      assert.notEqual(bad.code, 0);
    } finally {
      server.close();
    }
  });

  it('pay split set: the owner sets it from the next epoch; anyone else is refused by name', async () => {
    const r = await ok([
      'pay',
      'split',
      'set',
      '--validator-bps',
      '1500',
      '--owner-bps',
      '500',
      '--burn-bps',
      '1000',
    ]);
    assert.deepEqual(
      [r.netuid, r.validatorBps, r.ownerBps, r.burnBps, r.minerBps],
      [1, 1500, 500, 1000, 7000],
    );
    const notOwner = await cli([
      'pay',
      'split',
      'set',
      '--wallet',
      'client1',
      '--validator-bps',
      '1',
      '--owner-bps',
      '1',
      '--burn-bps',
      '1',
    ]);
    assert.notEqual(notOwner.code, 0);
    assert.match(notOwner.stderr, /NotSubnetOwner/);
  });

  it('pay earnings and pay claim: a settled miner share is shown, claimed once, then ZeroAmount', async () => {
    const password = readFileSync(join(dataDir, 'devnet', 'wallet-password'), 'utf8').trim();
    const store = createWalletStore({ dataDir });
    const client = await store.unlock(DEVNET_CLIENT.wallet, 'coldkey', password);
    const gateway = await store.unlock('validator1', 'default', password);
    const miner = devnet.network.neurons?.find((n) => n.role === 'miner')?.hotkey as Address;
    const sdk = createSubnetClient({
      rpcUrl: devnet.anvil.rpcUrl,
      chainId: devnet.network.chainId,
      contracts: devnet.network.contracts,
      pollingIntervalMs: 50,
    });
    const c = sdk.withAccount(client).chain;
    const hash = await (c.wallet as NonNullable<typeof c.wallet>).writeContract({
      address: devnet.network.contracts.paymentToken as Address,
      abi: paymentTokenAbi,
      functionName: 'transfer',
      args: [gateway.address, 1_000_000n],
    });
    await sdk.chain.public.waitForTransactionReceipt({ hash });
    const settled = await settlePayments(sdk.withAccount(gateway).chain, {
      netuid: 1,
      vouchers: [],
      direct: 1_000_000n,
      miners: [{ miner, weight: 1n }],
    });
    const share = settled.minerTotal;
    assert.ok(share > 0n);
    const e = await ok(['pay', 'earnings', '--miner', 'miner1']);
    assert.deepEqual([e.miner, e.unclaimed, e.claimed], [miner, share.toString(), '0']);
    const claimed = await ok(['pay', 'claim', '--wallet', 'miner1']);
    assert.equal(claimed.amount, share.toString());
    assert.match(String(claimed.txHash ?? claimed.hash), /^0x[0-9a-f]{64}$/);
    const after = await ok(['pay', 'earnings', '--wallet', 'miner1']);
    assert.deepEqual([after.unclaimed, after.claimed], ['0', share.toString()]);
    const again = await cli(['pay', 'claim', '--wallet', 'miner1']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /ZeroAmount/);
  });
});
