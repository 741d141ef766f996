/**
 * x402 end to end on a real anvil with the real PaymentToken: the official `@x402/fetch` client
 * (wrapFetchWithPayment with `@x402/evm`'s exact client scheme and a viem account) pays a small HTTP
 * server built from the gateway's x402 helpers (402 + PAYMENT-REQUIRED, PAYMENT-SIGNATURE decoding,
 * PAYMENT-RESPONSE) and the chain stack's in-process facilitator. The token moves exactly the amount, once;
 * the same PAYMENT-SIGNATURE sent again and a malformed one are refused with their reasons.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createX402Facilitator, type X402Facilitator } from '@subnet/chain';
import {
  type Anvil,
  PAYMENT_TOKEN_EIP712,
  paymentTokenAbi,
  paymentTokenBytecode,
  startAnvil,
} from '@subnet/contracts';
import {
  decodePaymentSignature,
  encodePaymentResponse,
  paymentRequiredResponse,
  paymentRequirementsFor,
  X402_HEADERS,
  type X402PriceOpts,
} from '@subnet/gateway';
import { toClientEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from '@x402/fetch';
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  type PrivateKeyAccount,
  type PublicClient,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

const AMOUNT = 2_500n;
const FUNDED = 1_000_000n;

let anvil: Anvil;
let publicClient: PublicClient;
let token: Address;
let hotkey: PrivateKeyAccount;
let payer: PrivateKeyAccount;
let facilitator: X402Facilitator;
let server: Server;
let url: string;
const seenSignatures: string[] = [];

const balanceOf = (a: Address) =>
  publicClient.readContract({ address: token, abi: paymentTokenAbi, functionName: 'balanceOf', args: [a] });

/**
 * The payer's x402 client: the exact EVM scheme signing with its viem account. x402 clients pay only known
 * assets unless told otherwise: this one allows the devnet token, capped per payment (a client's own guard
 * against an overpriced 402).
 */
function payingClient(): x402Client {
  const client = x402Client.fromConfig({
    schemes: [],
    spendControls: {
      allowedAssets: [{ network: `eip155:${foundry.id}`, asset: token, maxAmountPerPayment: '10000' }],
    },
  });
  registerExactEvmScheme(client, { signer: toClientEvmSigner(payer, publicClient as never) });
  return client;
}

/** A paid endpoint the way the gateway serves one: 402 → PAYMENT-SIGNATURE → verify → settle → answer. */
function startPaidServer(): Promise<void> {
  server = createServer((req, res) => {
    void (async () => {
      const price: X402PriceOpts = {
        chainId: foundry.id,
        token: { address: token, eip712: { ...PAYMENT_TOKEN_EIP712 } },
        payTo: hotkey.address,
        amount: AMOUNT,
        resource: `${url}${req.url ?? '/'}`,
        description: 'one completion',
      };
      const send402 = (error?: string) => {
        const answer = paymentRequiredResponse(error === undefined ? price : { ...price, error });
        res.writeHead(answer.status, answer.headers).end(JSON.stringify(answer.body));
      };
      const header = req.headers[X402_HEADERS.PAYMENT_SIGNATURE.toLowerCase()];
      if (header === undefined) return send402();
      let payment: ReturnType<typeof decodePaymentSignature>;
      try {
        payment = decodePaymentSignature(header);
      } catch (err) {
        return send402((err as Error).message);
      }
      if (typeof header === 'string') seenSignatures.push(header);
      const requirements = paymentRequirementsFor(price);
      const verified = await facilitator.verify(payment, requirements);
      if (!verified.isValid) return send402(verified.invalidReason);
      const settled = await facilitator.settle(payment, requirements);
      if (!settled.success) return send402(settled.errorReason);
      res
        .writeHead(200, {
          'content-type': 'application/json',
          [X402_HEADERS.PAYMENT_RESPONSE]: encodePaymentResponse(settled),
        })
        .end(JSON.stringify({ answer: 42, paidBy: verified.payer }));
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

before(async () => {
  anvil = await startAnvil({ port: 0 });
  const chain = { ...foundry, rpcUrls: { default: { http: [anvil.rpcUrl] } } } as const;
  const transport = http(anvil.rpcUrl, { retryCount: 0 });
  publicClient = createPublicClient({ chain, transport, pollingInterval: 10, cacheTime: 0 }) as PublicClient;
  const testClient = createTestClient({ chain, mode: 'anvil', transport });
  const deployer = privateKeyToAccount(generatePrivateKey());
  hotkey = privateKeyToAccount(generatePrivateKey());
  payer = privateKeyToAccount(generatePrivateKey());
  for (const a of [deployer, hotkey]) await testClient.setBalance({ address: a.address, value: 10n ** 20n });
  const deployerWallet = createWalletClient({ chain, transport, account: deployer });
  const receipt = await publicClient.waitForTransactionReceipt({
    hash: await deployerWallet.deployContract({
      abi: paymentTokenAbi,
      bytecode: paymentTokenBytecode,
      args: [10n ** 12n],
    }),
  });
  token = receipt.contractAddress as Address;
  await publicClient.waitForTransactionReceipt({
    hash: await deployerWallet.writeContract({
      address: token,
      abi: paymentTokenAbi,
      functionName: 'transfer',
      args: [payer.address, FUNDED],
    }),
  });
  facilitator = createX402Facilitator({
    publicClient,
    walletClient: createWalletClient({ chain, transport, account: hotkey }),
    account: hotkey,
    chainId: foundry.id,
    token,
  });
  await startPaidServer();
});

after(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await anvil?.stop();
});

describe('x402 with @x402/fetch against the gateway helpers and the node facilitator', () => {
  it('answers an unpaid request with 402 and PAYMENT-REQUIRED', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 402);
    const body = (await res.json()) as { x402Version: number; accepts: { amount: string; payTo: string }[] };
    assert.equal(body.x402Version, 2);
    assert.equal(body.accepts[0]?.amount, AMOUNT.toString());
    assert.equal(body.accepts[0]?.payTo, hotkey.address);
    assert.ok(res.headers.get(X402_HEADERS.PAYMENT_REQUIRED));
  });

  it('pays: 402 → sign → retry; exactly the amount moves from the payer to the hotkey', async () => {
    const paidFetch = wrapFetchWithPayment(fetch, payingClient());
    const res = await paidFetch(`${url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { answer: 42, paidBy: payer.address });
    const header = res.headers.get(X402_HEADERS.PAYMENT_RESPONSE);
    assert.ok(header);
    const settlement = decodePaymentResponseHeader(header);
    assert.equal(settlement.success, true);
    assert.equal(settlement.network, `eip155:${foundry.id}`);
    assert.equal(settlement.payer, payer.address);
    const receipt = await publicClient.getTransactionReceipt({
      hash: settlement.transaction as `0x${string}`,
    });
    assert.equal(receipt.status, 'success');
    assert.equal(await balanceOf(payer.address), FUNDED - AMOUNT);
    assert.equal(await balanceOf(hotkey.address), AMOUNT);
  });

  it('refuses the same PAYMENT-SIGNATURE sent again, and moves nothing', async () => {
    assert.equal(seenSignatures.length, 1);
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      body: '{}',
      headers: { [X402_HEADERS.PAYMENT_SIGNATURE]: seenSignatures[0] as string },
    });
    assert.equal(res.status, 402);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_exact_evm_nonce_already_used');
    assert.equal(await balanceOf(payer.address), FUNDED - AMOUNT);
    assert.equal(await balanceOf(hotkey.address), AMOUNT);
  });

  it('refuses a malformed PAYMENT-SIGNATURE with the reason', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      body: '{}',
      headers: { [X402_HEADERS.PAYMENT_SIGNATURE]: 'bm90IGpzb24=' },
    });
    assert.equal(res.status, 402);
    assert.match(
      ((await res.json()) as { error: string }).error,
      /Invalid PAYMENT-SIGNATURE header: not base64/,
    );
    assert.equal(await balanceOf(payer.address), FUNDED - AMOUNT);
  });

  it('a second paid request pays again, with a fresh authorization', async () => {
    const res = await wrapFetchWithPayment(fetch, payingClient())(`${url}/v1/chat/completions`, {
      method: 'POST',
    });
    assert.equal(res.status, 200);
    // The first payment, its replay, and this one.
    assert.equal(seenSignatures.length, 3);
    assert.notEqual(seenSignatures[2], seenSignatures[0]);
    assert.equal(await balanceOf(payer.address), FUNDED - 2n * AMOUNT);
    assert.equal(await balanceOf(hotkey.address), 2n * AMOUNT);
  });
});
