/**
 * The chain stack's payment methods against a real anvil devnet (which deploys the payment contracts, prices
 * the devnet models and funds `client1`): a client's deposit, withdrawal request and account as
 * `chain_getPaymentAccountV1` shows it; `chain_checkAuthorizationV1` accepting the client's authorization
 * and refusing a forged, another gateway's and an expired one by reason; a chain without payment contracts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomNonce, type SpendingAuthorization, spendingAuthorizationTypedData } from '@subnet/contracts';
import {
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  EngineError,
} from '@subnet/engine-api';
import { createWalletStore } from '@subnet/wallet';
import type { PrivateKeyAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  ChainError,
  createSubnetClient,
  DEVNET_CLIENT,
  DEVNET_PRICES,
  type Devnet,
  depositPayment,
  getModelPrices,
  requestPaymentWithdrawal,
  type SubnetClient,
  startDevnet,
} from '../src/index.js';
import { chainApi, chainHandlers } from '../src/stack.js';

let dataDir: string;
let devnet: Devnet;
let sdk: SubnetClient;
let client: PrivateKeyAccount;
let gateway: PrivateKeyAccount;

function engine(signer: SubnetClient | undefined, s = sdk) {
  const opts = {
    dataDir,
    chain: { rpcUrl: devnet.anvil.rpcUrl, wallet: 'validator1', hotkey: 'default' },
  } as Parameters<typeof chainHandlers>[0];
  const server = createEngineServer({ streamDeadlineMs: 10_000, maxStreams: 4 });
  server.register(chainApi, chainHandlers(opts, s, signer));
  return createEngineClient(chainApi, createInProcessTransport(server));
}

async function expectEngineError(p: Promise<unknown>, code: string): Promise<EngineError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof EngineError, `expected an EngineError, got ${(err as Error).message}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected error ${code}`);
}

async function sign(account: PrivateKeyAccount, authorization: SpendingAuthorization) {
  return account.signTypedData(
    spendingAuthorizationTypedData({
      chainId: devnet.network.chainId,
      paymentEscrow: devnet.network.contracts.paymentEscrow as `0x${string}`,
      authorization,
    }),
  );
}

const toJson = (a: SpendingAuthorization) => ({
  ...a,
  cap: a.cap.toString(),
  expiry: a.expiry.toString(),
});

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'subnet-pay-'));
  devnet = await startDevnet({ dataDir, port: 0, blockTimeS: 60, validators: 1, miners: 2 });
  sdk = createSubnetClient({
    rpcUrl: devnet.anvil.rpcUrl,
    chainId: devnet.network.chainId,
    contracts: devnet.network.contracts,
    pollingIntervalMs: 50,
  });
  const password = readFileSync(join(dataDir, 'devnet', 'wallet-password'), 'utf8').trim();
  const store = createWalletStore({ dataDir });
  client = await store.unlock(DEVNET_CLIENT.wallet, 'coldkey', password);
  gateway = await store.unlock('validator1', 'default', password);
});

after(async () => {
  await devnet?.stop();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('devnet payment rail', () => {
  it('deploys the payment contracts, prices the devnet models and funds the client', async () => {
    const p = devnet.network.payments;
    assert.ok(p !== undefined);
    assert.equal(p.client, client.address);
    assert.equal(p.escrow, devnet.network.contracts.paymentEscrow);
    const prices = await getModelPrices(sdk.chain, 1, 10n ** 9n);
    assert.deepEqual(
      prices.map((m) => [m.model, m.promptPerMillion, m.completionPerMillion]),
      DEVNET_PRICES.map((m) => [m.model, m.promptPerMillion, m.completionPerMillion]),
    );
    const account = await engine(undefined).call('chain_getPaymentAccountV1', {
      client: client.address,
      gateway: gateway.address,
    });
    assert.equal(account.walletBalance, DEVNET_CLIENT.susd.toString());
    assert.equal(account.balance, '0');
  });
});

describe('chain_getPaymentAccountV1', () => {
  it('shows a deposit and a pending withdrawal; the default gateway is the hotkey', async () => {
    const paying = sdk.withAccount(client);
    await depositPayment(paying.chain, { gateway: gateway.address, amount: 5_000_000n });
    const w = await requestPaymentWithdrawal(paying.chain, { gateway: gateway.address, amount: 1_000_000n });
    const a = await engine(sdk.withAccount(gateway)).call('chain_getPaymentAccountV1', {
      client: client.address,
    });
    assert.equal(a.gateway, gateway.address);
    assert.equal(a.balance, '5000000');
    assert.equal(a.pendingWithdrawal, '1000000');
    assert.equal(a.spendable, '4000000');
    assert.equal(a.withdrawableAt, Number(w.withdrawableAt));
    assert.equal(a.walletBalance, (DEVNET_CLIENT.susd - 5_000_000n).toString());
  });

  it('refuses a zero deposit before sending', async () => {
    await assert.rejects(
      depositPayment(sdk.withAccount(client).chain, { gateway: gateway.address, amount: 0n }),
      (err: unknown) => err instanceof ChainError && err.code === 'CHAIN_INVALID_INPUT',
    );
  });
});

describe('chain_checkAuthorizationV1', () => {
  const fresh = async (over: Partial<SpendingAuthorization> = {}): Promise<SpendingAuthorization> => {
    const block = await sdk.chain.public.getBlock();
    return {
      client: client.address,
      gateway: gateway.address,
      cap: 2_000_000n,
      expiry: block.timestamp + 3600n,
      nonce: randomNonce(),
      ...over,
    };
  };

  it("accepts the client's authorization for this gateway and answers its digest and 0 collected", async () => {
    const a = await fresh();
    const r = await engine(sdk.withAccount(gateway)).call('chain_checkAuthorizationV1', {
      authorization: toJson(a),
      signature: await sign(client, a),
    });
    assert.match(r.digest, /^0x[0-9a-f]{64}$/);
    assert.equal(r.collected, '0');
  });

  it('refuses a signature by another key, a changed field, another gateway and an expired one', async () => {
    const e = engine(sdk.withAccount(gateway));
    const a = await fresh();
    const forged = await sign(privateKeyToAccount(generatePrivateKey()), a);
    const reason = async (authorization: SpendingAuthorization, signature: `0x${string}`) =>
      (
        (
          await expectEngineError(
            e.call('chain_checkAuthorizationV1', { authorization: toJson(authorization), signature }),
            'INVALID_AUTHORIZATION',
          )
        ).data as { reason: string }
      ).reason;
    assert.equal(await reason(a, forged), 'signature');
    assert.equal(await reason({ ...a, cap: a.cap + 1n }, await sign(client, a)), 'signature');
    const other = await fresh({ gateway: privateKeyToAccount(generatePrivateKey()).address });
    assert.equal(await reason(other, await sign(client, other)), 'gateway');
    const block = await sdk.chain.public.getBlock();
    const expired = await fresh({ expiry: block.timestamp });
    assert.equal(await reason(expired, await sign(client, expired)), 'expired');
  });

  it('needs an unlocked hotkey', async () => {
    const a = await fresh();
    await expectEngineError(
      engine(undefined).call('chain_checkAuthorizationV1', {
        authorization: toJson(a),
        signature: await sign(client, a),
      }),
      'NO_ACCOUNT',
    );
  });
});

describe('a chain without payment contracts', () => {
  it('answers PAYMENTS_NOT_DEPLOYED', async () => {
    const { paymentToken: _t, pricing: _p, paymentEscrow: _e, ...contracts } = devnet.network.contracts;
    const bare = createSubnetClient({
      rpcUrl: devnet.anvil.rpcUrl,
      chainId: devnet.network.chainId,
      contracts,
    });
    await expectEngineError(
      engine(undefined, bare).call('chain_getPaymentAccountV1', {
        client: client.address,
        gateway: gateway.address,
      }),
      'PAYMENTS_NOT_DEPLOYED',
    );
    await expectEngineError(
      engine(undefined, bare).call('chain_getPaymentsV1', { netuid: 1 }),
      'PAYMENTS_NOT_DEPLOYED',
    );
  });
});
