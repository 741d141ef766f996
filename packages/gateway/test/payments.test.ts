/**
 * The gateway's payment rail end to end within the gateway: prices on `/v1/models` and `/v1/payments`,
 * account-bound keys (`POST /v1/payments/keys`, one per authorization), metering with signed usage receipts
 * (header, and an SSE comment on streams) through the official `openai` client, 429 `insufficient_quota` and
 * service again after a deposit, settlement with exact totals that is never repeated (and retried after a
 * failure), a client disconnecting mid-stream, and restart persistence.
 *
 * TEST DOUBLE: the chain stack's payment methods (`chain_*PaymentsV1` …) are being implemented in parallel
 * (packages/chain); here they are served over a real in-process Engine API server by a small deterministic
 * implementation in this file (balances in a map, EIP-712 signatures checked and made with viem). The
 * end-to-end devnet test against the real contracts is added when the branches merge.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  receiptKeyTypedData,
  type SignedUsageReceipt,
  spendingAuthorizationTypedData,
  verifyUsageReceipt,
} from '@subnet/contracts';
import {
  createEngineClient,
  createEngineServer,
  createInProcessTransport,
  defineApi,
  type EngineApi,
  type EngineClient,
  EngineError,
  chainPaymentMethods as methods,
  paymentErrors,
} from '@subnet/engine-api';
import OpenAI from 'openai';
import { type Hex, hashTypedData, keccak256, recoverTypedDataAddress, toBytes } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createKeyStore, createOpenAiServer, type KeyStore, type OpenAiServer } from '../src/index.js';
import { costOf } from '../src/payments/policy.js';
import { createPayments, type Payments, RECEIPT_HEADER } from '../src/payments/service.js';
import type {
  EmbedParams,
  EmbedResult,
  GenerateEvent,
  GenerateParams,
  Limiter,
  RouteContext,
  Router,
} from '../src/types.js';
import { promptBound } from '../src/usage.js';

const MODEL = 'devnet-chat';
const TOKENS = ['Hello', ',', ' world', '!', ' How', ' are', ' you', '?'];
const PROMPT_TOKENS = 11;
const PRICE = { promptPerMillion: 100_000n, completionPerMillion: 400_000n };
const CHAIN_ID = 31337;
const ESCROW = '0x00000000000000000000000000000000000e5c40' as const;
const TOKEN = '0x0000000000000000000000000000000000070ce1' as const;
const MINER = '0x1111111111111111111111111111111111111111';
const GATEWAY = privateKeyToAccount(`0x${'11'.repeat(32)}`);
const CLIENT = privateKeyToAccount(`0x${'22'.repeat(32)}`);

/** The escrow's spending authorization typed data of `a` (the one definition, in @subnet/contracts). */
const authTyped = (a: Auth) =>
  spendingAuthorizationTypedData({
    chainId: CHAIN_ID,
    paymentEscrow: ESCROW,
    authorization: { ...a, cap: BigInt(a.cap), expiry: BigInt(a.expiry) },
  });

interface Auth {
  client: Hex;
  gateway: Hex;
  cap: string;
  expiry: string;
  nonce: Hex;
}

/** The chain stack double: accounts, collections and settlements in memory. */
function chainDouble() {
  const state = {
    block: 100,
    price: { ...PRICE },
    balances: new Map<string, bigint>(),
    collected: new Map<string, bigint>(),
    settleCalls: [] as { vouchers: { cumulative: string; authorization: Auth }[]; miners: unknown[] }[],
    failSettle: 0,
    signCalls: 0,
    /** The chain's clock (Unix s) for expiry checks; undefined: real time. */
    nowS: undefined as number | undefined,
  };
  const digestOf = (a: Auth) => hashTypedData(authTyped(a));
  const server = createEngineServer({ streamDeadlineMs: 10_000, maxStreams: 4 });
  const api = defineApi(methods);
  const unsupported = () => {
    throw EngineError.std('METHOD_NOT_FOUND', 'not in the test double');
  };
  server.register(api, {
    chain_getPaymentsV1: () => ({
      chainId: CHAIN_ID,
      block: state.block,
      token: {
        address: TOKEN,
        name: 'Subnet USD',
        symbol: 'sUSD',
        decimals: 6,
        eip712: { name: 'Subnet USD', version: '1' },
      },
      escrow: ESCROW,
      pricing: '0x0000000000000000000000000000000000000bad',
      noticePeriodS: 3600,
      gateway: GATEWAY.address,
      models: [
        {
          model: MODEL,
          modelId: keccak256(toBytes(MODEL)),
          promptPerMillion: state.price.promptPerMillion.toString(),
          completionPerMillion: state.price.completionPerMillion.toString(),
          effectiveBlock: 0,
          pending: null,
        },
      ],
      split: { validatorBps: 1000, ownerBps: 1000, burnBps: 500, minerBps: 7500 },
    }),
    chain_getPaymentAccountV1: ({ client }) => {
      const b = (state.balances.get(client.toLowerCase()) ?? 0n).toString();
      return {
        client,
        gateway: GATEWAY.address,
        balance: b,
        pendingWithdrawal: '0',
        withdrawableAt: 0,
        spendable: b,
        walletBalance: '0',
      };
    },
    chain_checkAuthorizationV1: async ({ authorization, signature }) => {
      const a = authorization as Auth;
      const signer = await recoverTypedDataAddress({
        ...authTyped(a),
        signature: signature as Hex,
      });
      if (signer.toLowerCase() !== a.client.toLowerCase())
        throw EngineError.of(paymentErrors.INVALID_AUTHORIZATION, 'bad signature', { reason: 'signature' });
      // As the chain stack does: an authorization past its expiry is refused.
      if (BigInt(a.expiry) <= BigInt(state.nowS ?? Math.floor(Date.now() / 1000)))
        throw EngineError.of(paymentErrors.INVALID_AUTHORIZATION, 'expired', { reason: 'expired' });
      const digest = digestOf(a);
      return { digest, collected: (state.collected.get(digest) ?? 0n).toString() };
    },
    chain_signUsageReceiptV1: () => {
      throw EngineError.std('INTERNAL_ERROR', 'the gateway signs receipts with its delegated key (test)');
    },
    chain_signReceiptKeyV1: async ({ key, expires }) => {
      state.signCalls++;
      const signature = await GATEWAY.signTypedData(
        receiptKeyTypedData({
          chainId: CHAIN_ID,
          paymentEscrow: ESCROW,
          receiptKey: { gateway: GATEWAY.address, key: key as Hex, expires: BigInt(expires) },
        }),
      );
      return { gateway: GATEWAY.address, key, expires, signature };
    },
    chain_settlePaymentsV1: (p) => {
      if (state.failSettle > 0) {
        state.failSettle--;
        throw EngineError.std('INTERNAL_ERROR', 'the node is not reachable (test)');
      }
      state.settleCalls.push(p as never);
      let total = 0n;
      for (const v of p.vouchers) {
        const digest = digestOf(v.authorization as Auth);
        const inc = BigInt(v.cumulative) - (state.collected.get(digest) ?? 0n);
        assert.ok(inc >= 0n, 'a voucher below what was collected');
        const client = v.authorization.client.toLowerCase();
        const bal = state.balances.get(client) ?? 0n;
        assert.ok(bal >= inc, 'collected more than the balance');
        state.balances.set(client, bal - inc);
        state.collected.set(digest, BigInt(v.cumulative));
        total += inc;
      }
      const validatorFee = (total * 1000n) / 10000n;
      const ownerFee = (total * 1000n) / 10000n;
      const burned = (total * 500n) / 10000n;
      const minerTotal = total - validatorFee - ownerFee - burned;
      return {
        txHash: `0x${'ab'.repeat(32)}`,
        gasUsed: 100_000,
        settlementId: state.settleCalls.length,
        total: total.toString(),
        validatorFee: validatorFee.toString(),
        ownerFee: ownerFee.toString(),
        burned: burned.toString(),
        minerTotal: minerTotal.toString(),
        shares: [{ miner: MINER, amount: minerTotal.toString() }],
      };
    },
    chain_depositForV1: unsupported,
    chain_getMinerEarningsV1: unsupported,
    chain_claimMinerEarningsV1: unsupported,
    chain_verifyX402V1: unsupported,
    chain_settleX402V1: unsupported,
  });
  const engine = createEngineClient(
    api,
    createInProcessTransport(server),
  ) as unknown as EngineClient<EngineApi>;
  return { state, engine };
}

/** Serves TOKENS (up to maxTokens) from MINER; `slow` waits between tokens until the signal aborts. */
class TestRouter implements Router {
  slow = false;
  async *generate(params: GenerateParams, ctx: RouteContext): AsyncIterable<GenerateEvent> {
    ctx.served?.(MINER);
    const n = Math.min(params.maxTokens ?? 128, TOKENS.length);
    for (let i = 0; i < n; i++) {
      if (this.slow && i > 0) {
        await new Promise((r) => setTimeout(r, 50));
        if (ctx.signal.aborted) throw ctx.signal.reason;
      }
      yield { type: 'token', text: TOKENS[i] as string };
    }
    yield { type: 'done', finishReason: 'stop', usage: { promptTokens: PROMPT_TOKENS, completionTokens: n } };
  }
  async complete(params: GenerateParams, ctx: RouteContext): Promise<GenerateEvent[]> {
    const out: GenerateEvent[] = [];
    for await (const e of this.generate(params, ctx)) out.push(e);
    return out;
  }
  async embed(_p: EmbedParams): Promise<EmbedResult> {
    return { embeddings: [[0]], usage: { promptTokens: 1 } };
  }
  async models() {
    return [{ id: MODEL, miners: 1 }];
  }
}

const limiter: Limiter = { admit: () => ({ ok: true }), settle: () => {} };

interface Gateway {
  keys: KeyStore;
  payments: Payments;
  server: OpenAiServer;
  close(): Promise<void>;
}

async function startGateway(
  file: string,
  engine: EngineClient<EngineApi>,
  router: Router,
  keyBindsPerMinute?: number,
  now?: () => number,
): Promise<Gateway> {
  const keys = createKeyStore({ file, defaults: { requestsPerMinute: 1000, tokensPerMinute: 1_000_000 } });
  const payments = createPayments(
    { netuid: 1, settleIntervalMs: 0, priceRefreshMs: 60_000, accountRefreshMs: 0 },
    { engine, keys, logger: silent, ...(now === undefined ? {} : { now }) },
  );
  const server = await createOpenAiServer(
    {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1 << 20,
      requestTimeoutMs: 5000,
      ...(keyBindsPerMinute === undefined ? {} : { keyBindsPerMinute }),
    },
    { router, keys, limiter, usage: keys, payments },
  );
  return {
    keys,
    payments,
    server,
    async close() {
      await payments.stop();
      await server.close();
      keys.close();
    },
  };
}

const silent = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return silent;
  },
} as never;

async function signAuth(
  cap: bigint,
  nonceByte: string,
  expiry = Math.floor(Date.now() / 1000) + 86_400,
): Promise<{ authorization: Auth; signature: Hex }> {
  const authorization: Auth = {
    client: CLIENT.address,
    gateway: GATEWAY.address,
    cap: cap.toString(),
    expiry: String(expiry),
    nonce: `0x${nonceByte.repeat(32)}`,
  };
  const signature = await CLIENT.signTypedData(authTyped(authorization));
  return { authorization, signature };
}

interface SignedReceipt {
  receipt: {
    requestId: Hex;
    client: string;
    gateway: string;
    miner: string;
    netuid: number;
    model: string;
    promptTokens: number;
    completionTokens: number;
    priceBlock: number;
    cost: string;
    cumulative: string;
  };
  signature: Hex;
}

function decodeReceipt(value: string): SignedReceipt {
  return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as SignedReceipt;
}

async function verifyReceipt(r: SignedReceipt): Promise<boolean> {
  await verifyUsageReceipt(r as unknown as SignedUsageReceipt, {
    chainId: CHAIN_ID,
    paymentEscrow: ESCROW,
    gateway: GATEWAY.address,
  });
  return true;
}

describe('gateway payments (chain stack double)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-pay-'));
  const file = join(dir, 'gateway.sqlite');
  const chain = chainDouble();
  const router = new TestRouter();
  let gw: Gateway;
  let boundKey: string;
  let digest: string;
  let adminKey: string;
  /** What this client was charged so far, by the test's own arithmetic. */
  let expected = 0n;
  const oneCost = costOf(PROMPT_TOKENS, TOKENS.length, PRICE);

  before(async () => {
    gw = await startGateway(file, chain.engine, router);
    adminKey = gw.keys.create({ name: 'admin-made' }).key;
    chain.state.balances.set(CLIENT.address.toLowerCase(), 1_000_000n);
  });
  after(async () => {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (key: string) =>
    new OpenAI({ apiKey: key, baseURL: `${gw.server.url}/v1`, maxRetries: 0, timeout: 10_000 });

  it('shows prices on /v1/models and the terms on /v1/payments', async () => {
    const list = await client(adminKey).models.list();
    const m = list.data[0] as unknown as { id: string; pricing: Record<string, unknown> };
    assert.equal(m.id, MODEL);
    assert.deepEqual(m.pricing, {
      prompt_per_million: '100000',
      completion_per_million: '400000',
      currency: 'sUSD',
      decimals: 6,
    });
    const res = await fetch(`${gw.server.url}/v1/payments`);
    assert.equal(res.status, 200);
    const info = (await res.json()) as Record<string, unknown>;
    assert.equal(info.chain_id, CHAIN_ID);
    assert.equal(info.gateway, GATEWAY.address);
    assert.equal(info.escrow, ESCROW);
    assert.deepEqual(info.split, { validatorBps: 1000, ownerBps: 1000, burnBps: 500, minerBps: 7500 });
  });

  it('binds a key to a signed authorization, once per authorization', async () => {
    const body = await signAuth(1_000_000n, '01');
    const res = await fetch(`${gw.server.url}/v1/payments/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    const made = (await res.json()) as {
      key: string;
      id: string;
      client: string;
      cap: string;
      digest: string;
    };
    assert.match(made.key, /^sk-sub-/);
    assert.equal(made.client, CLIENT.address.toLowerCase());
    assert.equal(made.cap, '1000000');
    boundKey = made.key;
    digest = made.digest;
    // The same authorization again: 409, no new key.
    const again = await fetch(`${gw.server.url}/v1/payments/keys`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    assert.equal(again.status, 409);
    const err = (await again.json()) as { error: { type: string; code: string; param: string } };
    assert.equal(err.error.code, 'authorization_already_bound');
    assert.equal(err.error.type, 'invalid_request_error');
    // Forged (signed by another key) and for another gateway: 400.
    const forged = { ...body, authorization: { ...body.authorization, cap: '2000000' } };
    const r2 = await fetch(`${gw.server.url}/v1/payments/keys`, {
      method: 'POST',
      body: JSON.stringify(forged),
    });
    assert.equal(r2.status, 400);
    const other = await signAuth(5n, '02');
    other.authorization.gateway = CLIENT.address;
    const r3 = await fetch(`${gw.server.url}/v1/payments/keys`, {
      method: 'POST',
      body: JSON.stringify(other),
    });
    assert.equal(r3.status, 400);
    assert.equal(gw.keys.list().length, 2);
  });

  it('limits key bindings per remote address: past the limit 429, before any chain read', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'gw-bind-'));
    const limited = await startGateway(join(dir2, 'g.sqlite'), chain.engine, router, 2);
    try {
      const post = async (nonce: string) =>
        fetch(`${limited.server.url}/v1/payments/keys`, {
          method: 'POST',
          body: JSON.stringify(await signAuth(1000n, nonce)),
        });
      assert.equal((await post('a1')).status, 200);
      assert.equal((await post('a2')).status, 200);
      const third = await post('a3');
      assert.equal(third.status, 429);
      assert.ok(Number(third.headers.get('retry-after')) >= 1, 'says when to retry');
      assert.equal(limited.keys.list().length, 2, 'no key made past the limit');
    } finally {
      await limited.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });

  it('serves a bound key with a signed receipt whose figures add up', async () => {
    for (let i = 0; i < 2; i++) {
      const { data, response } = await client(boundKey)
        .chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'hi' }],
          max_tokens: 16,
        })
        .withResponse();
      assert.equal(data.choices[0]?.message.content, TOKENS.join(''));
      const header = response.headers.get(RECEIPT_HEADER);
      assert.ok(header !== null, 'the receipt header is present');
      const r = decodeReceipt(header);
      assert.ok(await verifyReceipt(r), 'signed by the gateway');
      expected += oneCost;
      assert.equal(r.receipt.cost, oneCost.toString());
      assert.equal(BigInt(r.receipt.cost), costOf(r.receipt.promptTokens, r.receipt.completionTokens, PRICE));
      assert.equal(r.receipt.cumulative, expected.toString());
      assert.equal(r.receipt.client, CLIENT.address.toLowerCase());
      assert.equal(r.receipt.miner, MINER);
      assert.equal(r.receipt.model, MODEL);
      assert.equal(r.receipt.priceBlock, 100);
      assert.equal(r.receipt.requestId, keccak256(toBytes(response.headers.get('x-request-id') ?? '')));
      assert.equal(data.usage?.prompt_tokens, r.receipt.promptTokens);
      assert.equal(data.usage?.completion_tokens, r.receipt.completionTokens);
    }
    assert.equal(gw.payments.store.get(digest)?.charged, expected);
  });

  it('streams to the openai client and puts the receipt in an SSE comment it skips', async () => {
    const stream = await client(boundKey).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 16,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, TOKENS.join(''));
    expected += oneCost;
    const res = await fetch(`${gw.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boundKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 16,
        stream: true,
      }),
    });
    const raw = await res.text();
    const line = raw.split('\n').find((l) => l.startsWith(`: ${RECEIPT_HEADER} `));
    assert.ok(line !== undefined, 'the stream carries its receipt');
    assert.ok(raw.indexOf(line) < raw.indexOf('data: [DONE]'));
    const r = decodeReceipt(line.slice(`: ${RECEIPT_HEADER} `.length));
    assert.ok(await verifyReceipt(r));
    expected += oneCost;
    assert.equal(r.receipt.cumulative, expected.toString());
  });

  it('keeps admin-made keys free: no charge, no receipt', async () => {
    const before = gw.payments.store.get(digest)?.charged;
    const { response } = await client(adminKey)
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    assert.equal(response.headers.get(RECEIPT_HEADER), null);
    assert.equal(gw.payments.store.get(digest)?.charged, before);
  });

  it('charges a client that disconnects mid-stream what was relayed', async () => {
    router.slow = true;
    const ac = new AbortController();
    const res = await fetch(`${gw.server.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boundKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'abcdefgh', max_tokens: 16, stream: true }),
      signal: ac.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let got = '';
    while (!got.includes('Hello')) got += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    await new Promise((r) => setTimeout(r, 200));
    router.slow = false;
    const charged = gw.payments.store.get(digest)?.charged ?? 0n;
    const partial = charged - expected;
    // prompt bound of 'abcdefgh' = 2 tokens, and the 1..3 tokens relayed before the abort took effect
    const candidates = [1, 2, 3].map((n) => costOf(promptBound(['abcdefgh']), n, PRICE));
    assert.ok(candidates.includes(partial), `charged ${partial} for a cut-off stream`);
    assert.equal(gw.payments.store.get(digest)?.reserved, 0n, 'nothing stays reserved');
    expected = charged;
  });

  it('answers 429 insufficient_quota in OpenAI’s shape when the balance runs out, and serves after a deposit', async () => {
    // Owed so far: `expected` (nothing settled). Leave less than one request's upper bound.
    chain.state.balances.set(CLIENT.address.toLowerCase(), expected + 10n);
    const res = await fetch(`${gw.server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boundKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 100 }),
    });
    assert.equal(res.status, 429);
    const body = (await res.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
    assert.equal(body.error.type, 'insufficient_quota');
    assert.equal(body.error.code, 'insufficient_quota');
    assert.equal(body.error.param, null);
    await assert.rejects(
      client(boundKey).chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'x' }],
        max_tokens: 100,
      }),
      (err: unknown) => err instanceof OpenAI.RateLimitError && err.code === 'insufficient_quota',
    );
    assert.equal(gw.payments.store.get(digest)?.charged, expected, 'a refused request costs nothing');
    // A deposit: served again at once.
    chain.state.balances.set(CLIENT.address.toLowerCase(), 1_000_000n);
    const ok = await client(boundKey).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 100,
    });
    assert.equal(ok.choices[0]?.finish_reason, 'stop');
    expected += oneCost;
  });

  it('refuses past the authorization cap, and a new authorization serves again', async () => {
    const small = await signAuth(expected, '03'); // a second key with a tiny cap
    const made = (await (
      await fetch(`${gw.server.url}/v1/payments/keys`, { method: 'POST', body: JSON.stringify(small) })
    ).json()) as { key: string };
    const capped = await signAuth(1n, '04');
    const tiny = (await (
      await fetch(`${gw.server.url}/v1/payments/keys`, { method: 'POST', body: JSON.stringify(capped) })
    ).json()) as { key: string };
    await assert.rejects(
      client(tiny.key).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => err instanceof OpenAI.RateLimitError && err.code === 'insufficient_quota',
    );
    const ok = await client(made.key).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 8,
    });
    assert.equal(ok.choices[0]?.finish_reason, 'stop');
  });

  it('settles the exact totals once, retries after a failure, and never repeats an increase', async () => {
    const auths = gw.payments.store.all();
    const owed = auths.reduce((s, a) => s + a.charged - a.settled, 0n);
    chain.state.failSettle = 1;
    await assert.rejects(gw.payments.settle());
    assert.equal(chain.state.settleCalls.length, 0);
    assert.equal(gw.payments.store.get(digest)?.settled, 0n, 'a failed settlement settles nothing');
    const balanceBefore = chain.state.balances.get(CLIENT.address.toLowerCase()) ?? 0n;
    const result = await gw.payments.settle();
    assert.ok(result !== undefined);
    assert.equal(chain.state.settleCalls.length, 1);
    const call = chain.state.settleCalls[0];
    const mine = call?.vouchers.find((v) => v.authorization.nonce === `0x${'01'.repeat(32)}`);
    assert.equal(mine?.cumulative, expected.toString());
    assert.equal(result.total, owed.toString());
    assert.deepEqual(call?.miners, [{ miner: MINER, weight: owed.toString() }]);
    assert.equal(balanceBefore - (chain.state.balances.get(CLIENT.address.toLowerCase()) ?? 0n), owed);
    // Nothing grew: no second call.
    assert.equal(await gw.payments.settle(), undefined);
    assert.equal(chain.state.settleCalls.length, 1);
    // One more request: only its increase is settled, on the same cumulative voucher.
    await client(boundKey).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expected += oneCost;
    const next = await gw.payments.settle();
    assert.equal(next?.total, oneCost.toString());
    assert.equal(chain.state.settleCalls[1]?.vouchers.length, 1);
    assert.equal(chain.state.settleCalls[1]?.vouchers[0]?.cumulative, expected.toString());
    assert.deepEqual(chain.state.settleCalls[1]?.miners, [{ miner: MINER, weight: oneCost.toString() }]);
  });

  it('keeps charged and settled totals and the bound key across a restart', async () => {
    await client(boundKey).chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expected += oneCost;
    await gw.close();
    gw = await startGateway(file, chain.engine, router);
    const a = gw.payments.store.get(digest);
    assert.equal(a?.charged, expected);
    assert.equal(a?.settled, expected - oneCost);
    assert.equal(a?.collected, expected - oneCost);
    assert.equal(gw.payments.store.settlements().length, 2);
    // The key still works, its cumulative continues, and only the unsettled increase is settled.
    const { response } = await client(boundKey)
      .chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expected += oneCost;
    assert.equal(
      decodeReceipt(response.headers.get(RECEIPT_HEADER) ?? '').receipt.cumulative,
      expected.toString(),
    );
    const r = await gw.payments.settle();
    assert.equal(r?.total, (2n * oneCost).toString());
    assert.equal(chain.state.settleCalls.length, 3);
    assert.equal(await gw.payments.settle(), undefined);
  });

  it('an authorization that lapsed before it was settled does not block the settlement of the others', async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'gw-lapse-'));
    let nowMs = Date.now();
    const g2 = await startGateway(join(dir2, 'g.sqlite'), chain.engine, router, undefined, () => nowMs);
    const t0 = Math.floor(nowMs / 1000);
    try {
      const bind = async (nonce: string, expiry: number) =>
        (await (
          await fetch(`${g2.server.url}/v1/payments/keys`, {
            method: 'POST',
            body: JSON.stringify(await signAuth(1_000_000n, nonce, expiry)),
          })
        ).json()) as { key: string; digest: string };
      const short = await bind('e1', t0 + 3600);
      const long = await bind('e2', t0 + 86_400);
      for (const k of [short.key, long.key])
        await new OpenAI({
          apiKey: k,
          baseURL: `${g2.server.url}/v1`,
          maxRetries: 0,
          timeout: 10_000,
        }).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
      // An hour on: the short authorization lapsed unsettled (the gateway was down, say).
      nowMs += 3600 * 1000;
      chain.state.nowS = t0 + 3600;
      const calls = chain.state.settleCalls.length;
      const result = await g2.payments.settle();
      assert.ok(result !== undefined, 'the settlement went through');
      const call = chain.state.settleCalls[calls];
      assert.deepEqual(
        call?.vouchers.map((v) => v.authorization.nonce),
        [`0x${'e2'.repeat(32)}`],
        'only the live authorization is collected',
      );
      assert.equal(g2.payments.store.get(short.digest)?.settled, 0n, 'the lapsed one stays unsettled');
      assert.ok((g2.payments.store.get(long.digest)?.settled ?? 0n) > 0n);
    } finally {
      chain.state.nowS = undefined;
      await g2.close();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});

describe('gateway payments on a node without payment methods', () => {
  it('shows no prices, answers the payment routes with 503 and keeps admin keys working', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-nopay-'));
    const server = createEngineServer({ streamDeadlineMs: 10_000, maxStreams: 4 });
    const engine = createEngineClient(
      defineApi(methods),
      createInProcessTransport(server),
    ) as unknown as EngineClient<EngineApi>;
    const gw = await startGateway(join(dir, 'g.sqlite'), engine, new TestRouter());
    try {
      const key = gw.keys.create({ name: 'admin-made' }).key;
      const c = new OpenAI({ apiKey: key, baseURL: `${gw.server.url}/v1`, maxRetries: 0 });
      const list = await c.models.list();
      assert.equal((list.data[0] as unknown as { pricing?: unknown }).pricing, undefined);
      const res = await fetch(`${gw.server.url}/v1/payments`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'payments_unavailable');
      const bind = await fetch(`${gw.server.url}/v1/payments/keys`, {
        method: 'POST',
        body: JSON.stringify(await signAuth(5n, '09')),
      });
      assert.equal(bind.status, 503);
      const ok = await c.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(ok.choices[0]?.finish_reason, 'stop');
      assert.equal(await gw.payments.settle(), undefined);
    } finally {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
