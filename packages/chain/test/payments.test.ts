/**
 * The chain stack's payment methods against a real anvil devnet (which deploys the payment contracts, prices
 * the devnet models and funds `client1`): a client's deposit, withdrawal request and account as
 * `chain_getPaymentAccountV1` shows it; `chain_checkAuthorizationV1` accepting the client's authorization
 * and refusing a forged, another gateway's and an expired one by reason; the revenue split as
 * `chain_getPaymentsV1` shows it (default, an owner's change pending until the epoch boundary, then in effect);
 * `chain_settlePaymentsV1` end to end (two clients' vouchers + direct revenue, two miners weighted 3:1, every
 * balance to the unit, a replay refused by name, the recompute when the split changes between read and send);
 * `chain_depositForV1`, `chain_claimMinerEarningsV1`, `chain_signUsageReceiptV1`; a chain without payment
 * contracts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_REVENUE_SPLIT,
  minerShares,
  paymentEscrowAbi,
  paymentTokenAbi,
  randomNonce,
  receiptKeyTypedData,
  requestIdHash,
  type SpendingAuthorization,
  spendingAuthorizationTypedData,
  usageReceiptTypedData,
} from '@subnet/contracts';
import {
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  EngineError,
} from '@subnet/engine-api';
import { createWalletStore } from '@subnet/wallet';
import { type Address, erc20Abi, type PrivateKeyAccount, verifyTypedData } from 'viem';
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
  setRevenueSplit,
  settlementShares,
  settlePayments,
  startDevnet,
} from '../src/index.js';
import { chainApi, chainHandlers } from '../src/stack.js';

let dataDir: string;
let devnet: Devnet;
let sdk: SubnetClient;
let client: PrivateKeyAccount;
let gateway: PrivateKeyAccount;
let owner: PrivateKeyAccount;
let miners: PrivateKeyAccount[];
const BURN: Address = '0x000000000000000000000000000000000000dEaD';

async function rpc(method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(devnet.anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Mines until the latest block is `block`. */
async function mineTo(block: bigint): Promise<void> {
  const latest = await sdk.chain.public.getBlockNumber({ cacheTime: 0 });
  assert.ok(latest <= block, `already at ${latest}, past ${block}`);
  if (latest < block) await rpc('anvil_mine', [`0x${(block - latest).toString(16)}`]);
}

async function tokenBalance(a: Address): Promise<bigint> {
  return sdk.chain.public.readContract({
    address: devnet.network.contracts.paymentToken as Address,
    abi: erc20Abi,
    functionName: 'balanceOf',
    args: [a],
  });
}

async function sendToken(from: PrivateKeyAccount, to: Address, amount: bigint): Promise<void> {
  const c = sdk.withAccount(from).chain;
  const hash = await (c.wallet as NonNullable<typeof c.wallet>).writeContract({
    address: devnet.network.contracts.paymentToken as Address,
    abi: paymentTokenAbi,
    functionName: 'transfer',
    args: [to, amount],
  });
  await sdk.chain.public.waitForTransactionReceipt({ hash });
}

async function revertName(p: Promise<unknown>): Promise<string> {
  const err = await expectEngineError(p, 'REVERTED');
  return (err.data as { errorName: string }).errorName;
}

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
  owner = await store.unlock('owner', 'coldkey', password);
  miners = [
    await store.unlock('miner1', 'default', password),
    await store.unlock('miner2', 'default', password),
  ];
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
    // The block the request is mined in is 7 s later than the simulation's: what the call answers must be the
    // mined block's (the simulated value was off by one second in CI when a block was sealed in between).
    const latest = await sdk.chain.public.getBlock();
    await sdk.chain.public.request({
      method: 'evm_setNextBlockTimestamp',
      params: [`0x${(latest.timestamp + 7n).toString(16)}`],
    } as never);
    const w = await requestPaymentWithdrawal(paying.chain, { gateway: gateway.address, amount: 1_000_000n });
    const mined = await sdk.chain.public.getBlock({ blockNumber: w.receipt.blockNumber });
    assert.equal(mined.timestamp, latest.timestamp + 7n);
    const notice = await sdk.chain.public.readContract({
      address: devnet.network.contracts.paymentEscrow as Address,
      abi: paymentEscrowAbi,
      functionName: 'noticePeriod',
    });
    assert.equal(w.withdrawableAt, mined.timestamp + notice);
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

describe('chain_getPaymentsV1: the revenue split', () => {
  it('is the default, then an owner change is pending until the epoch boundary and in effect after', async () => {
    const e = engine(sdk.withAccount(gateway));
    const t0 = await e.call('chain_getPaymentsV1', { netuid: 1 });
    assert.deepEqual(t0.split, { ...DEFAULT_REVENUE_SPLIT, minerBps: 7500 });
    assert.deepEqual(t0.split, { validatorBps: 1000, ownerBps: 1000, burnBps: 500, minerBps: 7500 });
    assert.equal(t0.splitPending, null);
    assert.equal(t0.gateway, gateway.address);
    // Not the owner: refused by name, nothing pending.
    await assert.rejects(
      setRevenueSplit(sdk.withAccount(client).chain, {
        netuid: 1,
        validatorBps: 1,
        ownerBps: 1,
        burnBps: 1,
      }),
      (err: unknown) => err instanceof ChainError && err.errorName === 'NotSubnetOwner',
    );
    assert.equal((await e.call('chain_getPaymentsV1', { netuid: 1 })).splitPending, null);
    await setRevenueSplit(sdk.withAccount(owner).chain, {
      netuid: 1,
      validatorBps: 1500,
      ownerBps: 500,
      burnBps: 1000,
    });
    const t1 = await e.call('chain_getPaymentsV1', { netuid: 1 });
    assert.deepEqual(t1.split, t0.split, 'not in effect in the epoch under way');
    assert.ok(t1.splitPending !== null);
    const { effectiveBlock, ...pending } = t1.splitPending;
    assert.deepEqual(pending, { validatorBps: 1500, ownerBps: 500, burnBps: 1000, minerBps: 7000 });
    assert.ok(effectiveBlock > t1.block);
    await mineTo(BigInt(effectiveBlock - 1));
    const t2 = await e.call('chain_getPaymentsV1', { netuid: 1 });
    assert.equal(t2.block, effectiveBlock - 1);
    assert.deepEqual(t2.split, t0.split, 'still the old split one block before the boundary');
    await mineTo(BigInt(effectiveBlock));
    const t3 = await e.call('chain_getPaymentsV1', { netuid: 1 });
    assert.deepEqual(t3.split, pending);
    assert.equal(t3.splitPending, null);
  });
});

describe('chain_settlePaymentsV1', () => {
  let client2: PrivateKeyAccount;
  const auths: { a: SpendingAuthorization; sig: `0x${string}`; cumulative: bigint }[] = [];

  before(async () => {
    client2 = privateKeyToAccount(generatePrivateKey());
    await rpc('anvil_setBalance', [client2.address, `0x${(10n ** 20n).toString(16)}`]);
    await sendToken(client, client2.address, 10_000_000n);
    await depositPayment(sdk.withAccount(client2).chain, { gateway: gateway.address, amount: 3_000_000n });
    // The gateway's own x402 revenue (direct): it holds tokens.
    await sendToken(client, gateway.address, 5_000_000n);
    const expiry = (await sdk.chain.public.getBlock()).timestamp + 3600n;
    for (const [who, cumulative] of [
      [client, 1_234_567n],
      [client2, 765_433n],
    ] as const) {
      const a: SpendingAuthorization = {
        client: who.address,
        gateway: gateway.address,
        cap: 2_000_000n,
        expiry,
        nonce: randomNonce(),
      };
      auths.push({ a, sig: await sign(who, a), cumulative });
    }
  });

  const params = (direct: bigint) => ({
    netuid: 1,
    vouchers: auths.map((v) => ({
      authorization: toJson(v.a),
      signature: v.sig,
      cumulative: v.cumulative.toString(),
    })),
    direct: direct.toString(),
    miners: [
      { miner: miners[0]?.address as string, weight: '3' },
      { miner: miners[1]?.address as string, weight: '1' },
    ],
  });

  const snapshot = async () => ({
    gateway: await tokenBalance(gateway.address),
    owner: await tokenBalance(owner.address),
    burn: await tokenBalance(BURN),
    escrow: await tokenBalance(devnet.network.contracts.paymentEscrow as Address),
    client: (
      await engine(undefined).call('chain_getPaymentAccountV1', {
        client: client.address,
        gateway: gateway.address,
      })
    ).balance,
    client2: (
      await engine(undefined).call('chain_getPaymentAccountV1', {
        client: client2.address,
        gateway: gateway.address,
      })
    ).balance,
    miners: await Promise.all(
      (miners as PrivateKeyAccount[]).map((m) =>
        engine(undefined).call('chain_getMinerEarningsV1', { miner: m.address }),
      ),
    ),
  });

  it('settles two vouchers and direct revenue at the split in effect: every party to the unit', async () => {
    const e = engine(sdk.withAccount(gateway));
    assert.deepEqual((await e.call('chain_getPaymentsV1', { netuid: 1 })).split, {
      validatorBps: 1500,
      ownerBps: 500,
      burnBps: 1000,
      minerBps: 7000,
    });
    const before0 = await snapshot();
    const r = await e.call('chain_settlePaymentsV1', params(1_000_001n));
    // T = 1,234,567 + 765,433 + 1,000,001 = 3,000,001; fees floored, the rounding to the miners.
    assert.equal(r.total, '3000001');
    assert.equal(r.validatorFee, '450000');
    assert.equal(r.ownerFee, '150000');
    assert.equal(r.burned, '300000');
    assert.equal(r.minerTotal, '2100001');
    // 3:1 of 2,100,001: 1,575,000.75 and 525,000.25 floored, the remaining unit to the larger weight.
    assert.deepEqual(r.shares, [
      { miner: miners[0]?.address, amount: '1575001' },
      { miner: miners[1]?.address, amount: '525000' },
    ]);
    assert.ok(r.settlementId >= 1);
    const after0 = await snapshot();
    assert.equal(after0.gateway - before0.gateway, 450_000n - 1_000_001n);
    assert.equal(after0.owner - before0.owner, 150_000n);
    assert.equal(after0.burn - before0.burn, 300_000n);
    assert.equal(BigInt(before0.client) - BigInt(after0.client), 1_234_567n);
    assert.equal(BigInt(before0.client2) - BigInt(after0.client2), 765_433n);
    assert.equal(
      BigInt(after0.miners[0]?.unclaimed ?? 0) - BigInt(before0.miners[0]?.unclaimed ?? 0),
      1_575_001n,
    );
    assert.equal(
      BigInt(after0.miners[1]?.unclaimed ?? 0) - BigInt(before0.miners[1]?.unclaimed ?? 0),
      525_000n,
    );
    // The escrow keeps exactly the miners' part: clients' 2,000,000 out of accounts, 1,000,001 in, fees out.
    assert.equal(after0.escrow - before0.escrow, 2_100_001n - 2_000_000n);
  });

  it('refuses a replayed settlement by name (AlreadyCollected), nothing moves', async () => {
    const e = engine(sdk.withAccount(gateway));
    const before0 = await snapshot();
    assert.equal(await revertName(e.call('chain_settlePaymentsV1', params(1_000_001n))), 'AlreadyCollected');
    assert.equal(await revertName(e.call('chain_settlePaymentsV1', params(0n))), 'AlreadyCollected');
    assert.deepEqual(await snapshot(), before0);
  });

  it('recomputes the shares when the split changes between its read and the transaction', async () => {
    await setRevenueSplit(sdk.withAccount(owner).chain, {
      netuid: 1,
      validatorBps: 2000,
      ownerBps: 1000,
      burnBps: 500,
    });
    const pending = (await engine(undefined).call('chain_getPaymentsV1', { netuid: 1 })).splitPending;
    assert.ok(pending !== null);
    // The latest block is the one before the boundary: the settlement lands at the boundary (new split).
    await mineTo(BigInt(pending.effectiveBlock - 1));
    const signer = sdk.withAccount(gateway).chain;
    // A stale read of the block number (the transaction lands a block later than the read expected):
    // the first attempt computes the shares for the old split, which the contract refuses.
    let reads = 0;
    const stalePublic = new Proxy(signer.public, {
      get(target, prop, receiver) {
        if (prop === 'getBlockNumber')
          return async (args?: unknown) => {
            const n = await target.getBlockNumber(args as never);
            return reads++ === 0 ? n - 1n : n;
          };
        return Reflect.get(target, prop, receiver);
      },
    });
    const stale = { ...signer, public: stalePublic } as typeof signer;
    const r = await settlePayments(stale, {
      netuid: 1,
      vouchers: [],
      direct: 1_000_000n,
      miners: [
        { miner: miners[0]?.address as Address, weight: 3n },
        { miner: miners[1]?.address as Address, weight: 1n },
      ],
    });
    assert.equal(reads, 2, 'read the block number again after MinerTotalMismatch');
    assert.deepEqual(
      [r.total, r.validatorFee, r.ownerFee, r.burned, r.minerTotal],
      [1_000_000n, 200_000n, 100_000n, 50_000n, 650_000n],
    );
    assert.deepEqual(r.shares, [
      { miner: miners[0]?.address, amount: 487_500n },
      { miner: miners[1]?.address, amount: 162_500n },
    ]);
    const receipt = await sdk.chain.public.getTransactionReceipt({ hash: r.hash });
    assert.equal(receipt.blockNumber, BigInt(pending.effectiveBlock));
  });

  it('settlementShares: the contract arithmetic, exact sum, zero shares dropped', () => {
    const a = '0x00000000000000000000000000000000000000aa' as Address;
    const b = '0x00000000000000000000000000000000000000bb' as Address;
    const split = { validatorBps: 1000, ownerBps: 1000, burnBps: 500 };
    // 101 × 25 % = 25.25 → fees 10 + 10 + 5 = 25, miners 76.
    assert.deepEqual(settlementShares(101n, split, [{ miner: a, weight: 1n }]), [{ miner: a, amount: 76n }]);
    assert.deepEqual(
      settlementShares(3n, { validatorBps: 0, ownerBps: 0, burnBps: 0 }, [
        { miner: a, weight: 1n },
        { miner: b, weight: 0n },
      ]),
      [{ miner: a, amount: 3n }],
    );
    const shares = settlementShares(3_000_001n, { validatorBps: 1500, ownerBps: 500, burnBps: 1000 }, [
      { miner: a, weight: 3n },
      { miner: b, weight: 1n },
    ]);
    assert.equal(
      shares.reduce((s, x) => s + x.amount, 0n),
      2_100_001n,
    );
    assert.deepEqual(
      shares,
      minerShares(2_100_001n, [
        { miner: a, weight: 3n },
        { miner: b, weight: 1n },
      ]),
    );
    // Nothing for the miners: no share.
    assert.deepEqual(
      settlementShares(10n, { validatorBps: 10_000, ownerBps: 0, burnBps: 0 }, [{ miner: a, weight: 1n }]),
      [],
    );
  });
});

describe('chain_depositForV1', () => {
  it("credits the client's account by exactly the amount from the hotkey's tokens", async () => {
    const e = engine(sdk.withAccount(gateway));
    const fresh = privateKeyToAccount(generatePrivateKey()).address;
    const wallet0 = await tokenBalance(gateway.address);
    const r = await e.call('chain_depositForV1', { client: fresh, amount: '123457' });
    assert.match(r.txHash, /^0x[0-9a-f]{64}$/);
    const a = await e.call('chain_getPaymentAccountV1', { client: fresh });
    assert.equal(a.balance, '123457');
    assert.equal(a.spendable, '123457');
    assert.equal(wallet0 - (await tokenBalance(gateway.address)), 123_457n);
    await expectEngineError(e.call('chain_depositForV1', { client: fresh, amount: '0' }), 'INVALID_PARAMS');
  });
});

describe('chain_claimMinerEarningsV1', () => {
  it('pays the unclaimed earnings to the miner hotkey; a second claim is refused (ZeroAmount)', async () => {
    const miner = miners[1] as PrivateKeyAccount;
    await rpc('anvil_setBalance', [miner.address, `0x${(10n ** 20n).toString(16)}`]);
    const e = engine(sdk.withAccount(miner));
    const before0 = await e.call('chain_getMinerEarningsV1', {});
    assert.equal(before0.miner, miner.address);
    assert.ok(BigInt(before0.unclaimed) > 0n);
    const wallet0 = await tokenBalance(miner.address);
    const r = await e.call('chain_claimMinerEarningsV1', {});
    assert.equal(r.amount, before0.unclaimed);
    assert.equal((await tokenBalance(miner.address)) - wallet0, BigInt(before0.unclaimed));
    const after0 = await e.call('chain_getMinerEarningsV1', {});
    assert.equal(after0.unclaimed, '0');
    assert.equal(BigInt(after0.claimed), BigInt(before0.claimed) + BigInt(before0.unclaimed));
    assert.equal(await revertName(e.call('chain_claimMinerEarningsV1', {})), 'ZeroAmount');
    assert.equal(await tokenBalance(miner.address), wallet0 + BigInt(before0.unclaimed));
  });
});

describe('chain_signUsageReceiptV1', () => {
  it('signs a receipt that verifies against the hotkey with usageReceiptTypedData', async () => {
    const r = await engine(sdk.withAccount(gateway)).call('chain_signUsageReceiptV1', {
      receipt: {
        requestId: requestIdHash('chatcmpl-abc'),
        client: client.address,
        miner: miners[0]?.address as string,
        netuid: 1,
        model: 'devnet-chat',
        promptTokens: 12,
        completionTokens: 34,
        priceBlock: 7,
        cost: '15',
        cumulative: '1000015',
      },
    });
    assert.equal(r.receipt.gateway, gateway.address);
    const receipt = {
      ...r.receipt,
      requestId: r.receipt.requestId as `0x${string}`,
      client: r.receipt.client as Address,
      gateway: r.receipt.gateway as Address,
      miner: r.receipt.miner as Address,
      priceBlock: BigInt(r.receipt.priceBlock),
      cost: BigInt(r.receipt.cost),
      cumulative: BigInt(r.receipt.cumulative),
    };
    const typed = usageReceiptTypedData({
      chainId: devnet.network.chainId,
      paymentEscrow: devnet.network.contracts.paymentEscrow as Address,
      receipt,
    });
    assert.ok(
      await verifyTypedData({ ...typed, address: gateway.address, signature: r.signature as `0x${string}` }),
    );
    // Another field, or another signer: does not verify.
    assert.equal(
      await verifyTypedData({
        ...usageReceiptTypedData({
          chainId: devnet.network.chainId,
          paymentEscrow: devnet.network.contracts.paymentEscrow as Address,
          receipt: { ...receipt, cost: 16n },
        }),
        address: gateway.address,
        signature: r.signature as `0x${string}`,
      }),
      false,
    );
    assert.equal(
      await verifyTypedData({ ...typed, address: client.address, signature: r.signature as `0x${string}` }),
      false,
    );
    await expectEngineError(
      engine(undefined).call('chain_signUsageReceiptV1', {
        receipt: {
          requestId: requestIdHash('x'),
          client: client.address,
          miner: client.address,
          netuid: 1,
          model: 'm',
          promptTokens: 0,
          completionTokens: 0,
          priceBlock: 0,
          cost: '0',
          cumulative: '0',
        },
      }),
      'NO_ACCOUNT',
    );
  });
});

describe('chain_signReceiptKeyV1', () => {
  it('delegates receipts to a key for at most a day; the delegation verifies against the hotkey', async () => {
    const e = engine(sdk.withAccount(gateway));
    const now = Number((await sdk.chain.public.getBlock({ blockTag: 'latest' })).timestamp);
    const key = `0x${'42'.repeat(32)}` as `0x${string}`;
    const r = await e.call('chain_signReceiptKeyV1', { key, expires: now + 3600 });
    assert.equal(r.gateway, gateway.address);
    const typed = receiptKeyTypedData({
      chainId: devnet.network.chainId,
      paymentEscrow: devnet.network.contracts.paymentEscrow as Address,
      receiptKey: { gateway: gateway.address, key, expires: BigInt(now + 3600) },
    });
    assert.ok(
      await verifyTypedData({ ...typed, address: gateway.address, signature: r.signature as `0x${string}` }),
    );
    // Another key or expiry under the same signature: does not verify.
    assert.equal(
      await verifyTypedData({
        ...typed,
        message: { ...typed.message, expires: BigInt(now + 86_400) },
        address: gateway.address,
        signature: r.signature as `0x${string}`,
      }),
      false,
    );
    // A delegation longer than a day, or already expired, is refused; so is one without a hotkey.
    await expectEngineError(
      e.call('chain_signReceiptKeyV1', { key, expires: now + 90_000 }),
      'INVALID_PARAMS',
    );
    await expectEngineError(e.call('chain_signReceiptKeyV1', { key, expires: now - 1 }), 'INVALID_PARAMS');
    await expectEngineError(
      engine(undefined).call('chain_signReceiptKeyV1', { key, expires: now + 60 }),
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
