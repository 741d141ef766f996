/**
 * Issue 15 end to end (the payment devnet): `subnet devnet` with one validator (its gateway) and two miners,
 * the payment contracts deployed and priced by the devnet. Chat requests are paid three ways:
 *
 * 1. a prepaid account: `subnet pay deposit` and `subnet pay key` (the CLI signs the spending authorization),
 *    then plain HTTP requests with that key;
 * 2. x402: a fresh wallet with sUSD and no ETH pays with `@x402/fetch` (402 → EIP-3009 signature → served);
 * 3. the official `openai` client with a second account-bound key.
 *
 * Every response carries a usage receipt signed with the ed25519 key the validator's hotkey delegated, whose cost is checked against the
 * on-chain price (`Pricing.costAt` at the receipt's block). A third client with too small a deposit gets 429
 * `insufficient_quota`, and is served after it deposits more. After the gateway settles (every 5 s on the
 * devnet), every balance is checked to the unit: each client debited exactly its receipts' costs, the x402
 * payer's unused parts credited to its account, and the settlements' totals split exactly into the validator's
 * fee (the hotkey's balance), the owner's fee, the burn and the miners' earnings.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  modelId,
  paymentEscrowAbi,
  paymentTokenAbi,
  pricingAbi,
  randomNonce,
  type SignedUsageReceipt,
  spendingAuthorizationTypedData,
  subnetRegistryAbi,
  verifyUsageReceipt,
} from '@subnet/contracts';
import { freePortRange } from '@subnet/utils';
import { toClientEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import OpenAI from 'openai';
import { type Address, createPublicClient, createWalletClient, http, parseEventLogs } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { devnetPids, firstLine, runCli, setEthBalance, spawnDevnet, stopDevnet } from './devnetProcess.js';

/** Anvil's first default account (public knowledge): deploys the contracts and mints the devnet's sUSD. */
const DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const BURN = '0x000000000000000000000000000000000000dEaD';
const SUSD = 1_000_000n;
const MODEL = 'devnet-chat';

interface Info {
  rpcUrl: string;
  anvilPid: number;
  nodes: { wallet: string; role: string; uid: number; pid: number; url: string }[];
  gateways: { wallet: string; uid: number; url: string; apiKey: string }[];
}
interface DevnetFile {
  chainId: number;
  contracts: { subnetRegistry: Address };
  neurons: { wallet: string; role: string; hotkey: Address }[];
  payments: { token: Address; escrow: Address; pricing: Address; clientWallet: string; client: Address };
}
type SignedReceipt = SignedUsageReceipt;

describe('the payment devnet: chat paid three ways, settled and split to the unit', {
  timeout: 420_000,
}, () => {
  let dir: string;
  let proc: ChildProcess | undefined;
  let info: Info;
  let file: DevnetFile;
  let gatewayUrl: string;
  let hotkey: Address;
  let password: string;
  let publicClient: ReturnType<typeof createPublicClient>;
  const deployer = privateKeyToAccount(DEPLOYER_KEY);
  /** Every receipt the clients got, by way of paying. */
  const receipts: { way: 'account' | 'x402' | 'openai' | 'quota'; r: SignedReceipt }[] = [];
  const x402Payer = privateKeyToAccount(generatePrivateKey());
  const quotaClient = privateKeyToAccount(generatePrivateKey());
  let ownerBefore = 0n;
  let burnBefore = 0n;
  let hotkeyBefore = 0n;

  const cli = (args: string[]) => runCli(args, dir, info.rpcUrl, password);
  const rpc = () => http(info.rpcUrl);
  // biome-ignore lint/suspicious/noExplicitAny: one reader for every contract call of the test
  const read = <T>(p: any) => publicClient.readContract(p) as Promise<T>;
  const balanceOf = (a: Address) =>
    read<bigint>({
      address: file.payments.token,
      abi: paymentTokenAbi,
      functionName: 'balanceOf',
      args: [a],
    });

  /** The receipt of a response: checked signature (the validator's hotkey) and cost (the on-chain price). */
  async function receiptOf(headers: Headers, way: (typeof receipts)[number]['way']): Promise<SignedReceipt> {
    const raw = headers.get('x-subnet-receipt');
    assert.ok(raw !== null, `a ${way} response carries x-subnet-receipt`);
    const signed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as SignedReceipt;
    const r = signed.receipt;
    // The hotkey's delegation of the ed25519 receipt key, and the key's signature of the receipt.
    await verifyUsageReceipt(signed, {
      chainId: file.chainId,
      paymentEscrow: file.payments.escrow,
      gateway: hotkey,
    });
    const [priced, onChain] = await read<[boolean, bigint]>({
      address: file.payments.pricing,
      abi: pricingAbi,
      functionName: 'costAt',
      args: [1, modelId(r.model), BigInt(r.priceBlock), BigInt(r.promptTokens), BigInt(r.completionTokens)],
    });
    assert.ok(priced, `${r.model} has a price at block ${r.priceBlock}`);
    assert.equal(BigInt(r.cost), onChain, 'cost = tokens × the on-chain price at the receipt block');
    assert.ok(r.completionTokens > 0 && r.promptTokens > 0, 'tokens counted');
    receipts.push({ way, r: signed });
    return signed;
  }

  const chatBody = (i: number, maxTokens = 12) =>
    JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: `Tell me about paying for inference, part ${i}.` }],
      max_tokens: maxTokens,
    });

  /** A fresh wallet: sUSD minted by the deployer, and ETH when it sends transactions. */
  async function fund(to: Address, units: bigint, eth: boolean): Promise<void> {
    const w = createWalletClient({ account: deployer, chain: foundry, transport: rpc() });
    const hash = await w.writeContract({
      address: file.payments.token,
      abi: paymentTokenAbi,
      functionName: 'mint',
      args: [to, units],
    });
    await publicClient.waitForTransactionReceipt({ hash });
    if (eth) {
      await setEthBalance(info.rpcUrl, to);
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'subnet-pay-devnet-'));
    proc = spawnDevnet(dir, {
      SUBNET_DEVNET__GATEWAY_PORT: '0',
      SUBNET_DEVNET__P2P_BASE_PORT: String(await freePortRange(10)),
      SUBNET_DEVNET__VALIDATORS: '1',
      SUBNET_DEVNET__MINERS: '2',
    });
    try {
      info = JSON.parse(await firstLine(proc)) as Info;
    } catch (err) {
      await stopDevnet(proc);
      throw err;
    }
    file = JSON.parse(readFileSync(join(dir, '.subnet', 'devnet.json'), 'utf8')) as DevnetFile;
    publicClient = createPublicClient({ chain: foundry, transport: http(info.rpcUrl) });
    password = readFileSync(join(dir, '.subnet', 'devnet', 'wallet-password'), 'utf8').trim();
    gatewayUrl = (info.gateways[0] as Info['gateways'][number]).url;
    hotkey = (file.neurons.find((n) => n.wallet === 'validator1') as DevnetFile['neurons'][number]).hotkey;
  });
  after(
    async () => {
      if (proc !== undefined) await stopDevnet(proc, devnetPids(info));
      rmSync(dir, { recursive: true, force: true });
    },
    { timeout: 120_000 },
  );

  it('GET /v1/payments and /v1/models show the on-chain prices', async () => {
    const owner = await read<Address>({
      address: file.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'subnetOwner',
      args: [1],
    });
    ownerBefore = await balanceOf(owner);
    burnBefore = await balanceOf(BURN);
    hotkeyBefore = await balanceOf(hotkey);
    const terms = (await (await fetch(`${gatewayUrl}/v1/payments`)).json()) as {
      gateway: string;
      models: { id: string; prompt_per_million: string; completion_per_million: string }[];
    };
    assert.equal(terms.gateway.toLowerCase(), hotkey.toLowerCase());
    const chat = terms.models.find((m) => m.id === MODEL);
    assert.ok(chat !== undefined && BigInt(chat.completion_per_million) > 0n, JSON.stringify(terms));
    const models = (await (
      await fetch(`${gatewayUrl}/v1/models`, {
        headers: { authorization: `Bearer ${info.gateways[0]?.apiKey}` },
      })
    ).json()) as { data: { id: string; pricing?: { completion_per_million: string } }[] };
    assert.equal(
      models.data.find((m) => m.id === MODEL)?.pricing?.completion_per_million,
      chat.completion_per_million,
    );
  });

  it('way 1, a prepaid account: subnet pay deposit and pay key, then requests with the key', async () => {
    const dep = await cli(['--json', 'pay', 'deposit', '--amount', '2']);
    assert.equal(dep.code, 0, dep.stderr);
    const made = await cli(['--json', 'pay', 'key', '--gateway-url', gatewayUrl, '--cap', '1']);
    assert.equal(made.code, 0, made.stderr);
    const { key } = JSON.parse(made.stdout) as { key: string };
    let last = 0n;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: chatBody(i),
        signal: AbortSignal.timeout(90_000),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const r = await receiptOf(res.headers, 'account');
      assert.equal(r.receipt.client.toLowerCase(), file.payments.client.toLowerCase());
      assert.equal(BigInt(r.receipt.cumulative), last + BigInt(r.receipt.cost), 'cumulative adds each cost');
      last = BigInt(r.receipt.cumulative);
    }
  });

  it('way 2, x402: a wallet with no account and no ETH pays per request with @x402/fetch', async () => {
    await fund(x402Payer.address, 5n * SUSD, false);
    const client = x402Client.fromConfig({
      schemes: [],
      spendControls: {
        allowedAssets: [
          { network: `eip155:${file.chainId}`, asset: file.payments.token, maxAmountPerPayment: '1000000' },
        ],
      },
    });
    const payerPublic = createPublicClient({ chain: foundry, transport: rpc() });
    registerExactEvmScheme(client, { signer: toClientEvmSigner(x402Payer, payerPublic as never) });
    const unpaid = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody(10),
    });
    assert.equal(unpaid.status, 402, 'no key, no payment: 402');
    assert.ok(unpaid.headers.get('payment-required') !== null, 'PAYMENT-REQUIRED header');
    // The payment header the client sends, kept to replay it below.
    let lastSignature: string | null = null;
    const recording: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      lastSignature = headers.get('payment-signature') ?? lastSignature;
      return fetch(input, init);
    };
    const paidFetch = wrapFetchWithPayment(recording, client);
    for (let i = 0; i < 2; i++) {
      const res = await paidFetch(`${gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chatBody(20 + i),
        signal: AbortSignal.timeout(90_000),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const settled = decodePaymentResponseHeader(res.headers.get('payment-response') as string);
      assert.equal(settled.success, true);
      const r = await receiptOf(res.headers, 'x402');
      assert.equal(r.receipt.client.toLowerCase(), x402Payer.address.toLowerCase());
      assert.ok(
        BigInt(r.receipt.cumulative) >= BigInt(r.receipt.cost),
        'paid the upper bound, cost at most it',
      );
    }
    // A replayed payment (the last request's own PAYMENT-SIGNATURE, same body) and a malformed one: 402 with
    // the reason, and not a unit moves.
    assert.ok(lastSignature !== null, 'the client sent PAYMENT-SIGNATURE');
    const wallet = await balanceOf(x402Payer.address);
    const replay = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'payment-signature': lastSignature },
      body: chatBody(21),
    });
    assert.equal(replay.status, 402);
    assert.match(((await replay.json()) as { error: string }).error, /nonce_already_used/);
    const malformed = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'payment-signature': 'not base64 json' },
      body: chatBody(22),
    });
    assert.equal(malformed.status, 402);
    assert.match(((await malformed.json()) as { error: string }).error, /PAYMENT-SIGNATURE/);
    assert.equal(await balanceOf(x402Payer.address), wallet, 'a refused payment moves nothing');
  });

  it('way 3, the official openai client with an account-bound key', async () => {
    const made = await cli(['--json', 'pay', 'key', '--gateway-url', gatewayUrl, '--cap', '0.5']);
    assert.equal(made.code, 0, made.stderr);
    const { key } = JSON.parse(made.stdout) as { key: string };
    const openai = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: key, maxRetries: 0, timeout: 90_000 });
    const { data, response } = await openai.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'Hello from openai.' }], max_tokens: 8 })
      .withResponse();
    assert.ok(data.choices[0]?.message.content !== undefined);
    const r = await receiptOf(response.headers, 'openai');
    assert.equal(r.receipt.completionTokens, data.usage?.completion_tokens);
  });

  it('an exhausted balance gets 429 insufficient_quota; after a deposit it is served again', async () => {
    await fund(quotaClient.address, SUSD, true);
    const w = createWalletClient({ account: quotaClient, chain: foundry, transport: rpc() });
    const send = async (p: Parameters<typeof w.writeContract>[0]) =>
      publicClient.waitForTransactionReceipt({ hash: await w.writeContract(p) });
    await send({
      address: file.payments.token,
      abi: paymentTokenAbi,
      functionName: 'approve',
      args: [file.payments.escrow, SUSD],
    } as never);
    await send({
      address: file.payments.escrow,
      abi: paymentEscrowAbi,
      functionName: 'deposit',
      args: [hotkey, 3n],
    } as never);
    const block = await publicClient.getBlock();
    const authorization = {
      client: quotaClient.address,
      gateway: hotkey,
      cap: SUSD,
      expiry: block.timestamp + 86_400n,
      nonce: randomNonce(),
    };
    const signature = await quotaClient.signTypedData(
      spendingAuthorizationTypedData({
        chainId: file.chainId,
        paymentEscrow: file.payments.escrow,
        authorization,
      }),
    );
    const res = await fetch(`${gatewayUrl}/v1/payments/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        authorization: {
          ...authorization,
          cap: authorization.cap.toString(),
          expiry: authorization.expiry.toString(),
        },
        signature,
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { key } = (await res.json()) as { key: string };
    const ask = () =>
      fetch(`${gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: chatBody(30),
        signal: AbortSignal.timeout(90_000),
      });
    const refused = await ask();
    assert.equal(refused.status, 429);
    const err = (await refused.json()) as { error: { type: string; code: string } };
    assert.equal(err.error.type, 'insufficient_quota');
    assert.equal(err.error.code, 'insufficient_quota');
    await send({
      address: file.payments.escrow,
      abi: paymentEscrowAbi,
      functionName: 'deposit',
      args: [hotkey, SUSD / 2n],
    } as never);
    const served = await ask();
    assert.equal(served.status, 200, await served.clone().text());
    await receiptOf(served.headers, 'quota');
  });

  it('after settlement every balance is right to the unit', async () => {
    const costOf = (way: string) =>
      receipts.filter((x) => x.way === way).reduce((s, x) => s + BigInt(x.r.receipt.cost), 0n);
    const x402Paid = receipts
      .filter((x) => x.way === 'x402')
      .reduce((s, x) => s + BigInt(x.r.receipt.cumulative), 0n);
    const expectedTotal = costOf('account') + costOf('openai') + costOf('x402') + costOf('quota');
    assert.ok(expectedTotal > 0n);
    // The gateway settles every 5 s; wait until the escrow's settlements carry every receipt's cost.
    const escrow = file.payments.escrow;
    let settled: {
      total: bigint;
      validatorFee: bigint;
      ownerFee: bigint;
      burned: bigint;
      minerTotal: bigint;
    }[] = [];
    let credited = 0n;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const logs = await publicClient.getLogs({ address: escrow, fromBlock: 0n });
      settled = parseEventLogs({ abi: paymentEscrowAbi, eventName: 'Settled', logs }).map((l) => l.args);
      const account = await read<{ balance: bigint }>({
        address: escrow,
        abi: paymentEscrowAbi,
        functionName: 'getAccount',
        args: [x402Payer.address, hotkey],
      });
      credited = account.balance;
      const total = settled.reduce((s, e) => s + e.total, 0n);
      if ((total === expectedTotal && credited === x402Paid - costOf('x402')) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const sum = (k: keyof (typeof settled)[number]) => settled.reduce((s, e) => s + e[k], 0n);
    assert.equal(sum('total'), expectedTotal, 'settled exactly the receipts’ costs');
    // x402: the payer paid the upper bounds; the unused part is its prepaid account now.
    assert.equal(
      await balanceOf(x402Payer.address),
      5n * SUSD - x402Paid,
      'x402 payer paid the upper bounds',
    );
    assert.equal(credited, x402Paid - costOf('x402'), 'the unused part credited to the payer’s account');
    // The prepaid client: debited exactly its two keys' receipts.
    const client = await read<{ balance: bigint }>({
      address: escrow,
      abi: paymentEscrowAbi,
      functionName: 'getAccount',
      args: [file.payments.client, hotkey],
    });
    assert.equal(
      client.balance,
      2n * SUSD - costOf('account') - costOf('openai'),
      'client debited tokens × price',
    );
    const quota = await read<{ balance: bigint }>({
      address: escrow,
      abi: paymentEscrowAbi,
      functionName: 'getAccount',
      args: [quotaClient.address, hotkey],
    });
    assert.equal(quota.balance, 3n + SUSD / 2n - costOf('quota'));
    // The split of each settlement, by the default 10 % / 10 % / 5 % rule, and where each part went.
    for (const e of settled) {
      assert.equal(e.validatorFee, (e.total * 1000n) / 10_000n);
      assert.equal(e.ownerFee, (e.total * 1000n) / 10_000n);
      assert.equal(e.burned, (e.total * 500n) / 10_000n);
      assert.equal(e.minerTotal, e.total - e.validatorFee - e.ownerFee - e.burned);
    }
    const owner = await read<Address>({
      address: file.contracts.subnetRegistry,
      abi: subnetRegistryAbi,
      functionName: 'subnetOwner',
      args: [1],
    });
    assert.equal((await balanceOf(owner)) - ownerBefore, sum('ownerFee'), 'owner credited its fee');
    assert.equal((await balanceOf(BURN)) - burnBefore, sum('burned'), 'burn burned');
    // The hotkey took x402 payments in, credited the unused parts, paid the costs into the settlement and got
    // its fee: what is left is exactly the fee.
    assert.equal((await balanceOf(hotkey)) - hotkeyBefore, sum('validatorFee'), 'validator credited its fee');
    const miners = file.neurons.filter((n) => n.role === 'miner').map((n) => n.hotkey);
    let earned = 0n;
    for (const m of miners) {
      const [unclaimed, claimed] = await read<[bigint, bigint]>({
        address: escrow,
        abi: paymentEscrowAbi,
        functionName: 'earningsOf',
        args: [m],
      });
      earned += unclaimed + claimed;
    }
    assert.equal(earned, sum('minerTotal'), 'the miners’ earnings are the miners’ share');
    // Each miner's earnings follow the receipts it served (by cost); the remainder units go to the largest.
    const byMiner = new Map<string, bigint>();
    for (const x of receipts) {
      const m = x.r.receipt.miner.toLowerCase();
      byMiner.set(m, (byMiner.get(m) ?? 0n) + BigInt(x.r.receipt.cost));
    }
    for (const m of byMiner.keys())
      assert.ok(miners.map((a) => a.toLowerCase()).includes(m), `receipt miner ${m} is a registered miner`);
  });
});
