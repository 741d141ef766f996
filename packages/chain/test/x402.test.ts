/**
 * The node's x402 facilitator (createX402Facilitator) against a real anvil and the real PaymentToken: a
 * payment made by `@x402/evm`'s own exact client scheme verifies and settles, moving exactly the amount from
 * the payer to the hotkey; a replayed, expired, misdirected, underpaid, forged, unfunded or malformed payment
 * is refused with its named reason and moves nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type Anvil,
  PAYMENT_TOKEN_EIP712,
  paymentTokenAbi,
  paymentTokenBytecode,
  randomNonce,
  startAnvil,
  transferWithAuthorizationTypedData,
} from '@subnet/contracts';
import { toClientEvmSigner } from '@x402/evm';
import { ExactEvmScheme } from '@x402/evm/exact/client';
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
import { createX402Facilitator, type X402Facilitator, X402Reason } from '../src/x402.js';

const CHAIN_ID = foundry.id;
const AMOUNT = 1_500n; // 0.0015 sUSD

let anvil: Anvil;
let publicClient: PublicClient;
let token: Address;
let hotkey: PrivateKeyAccount;
let payer: PrivateKeyAccount;
let facilitator: X402Facilitator;

const balanceOf = (a: Address) =>
  publicClient.readContract({ address: token, abi: paymentTokenAbi, functionName: 'balanceOf', args: [a] });

function requirements(over: Record<string, unknown> = {}) {
  return {
    scheme: 'exact',
    network: `eip155:${CHAIN_ID}`,
    asset: token,
    amount: AMOUNT.toString(),
    payTo: hotkey.address,
    maxTimeoutSeconds: 300,
    extra: { ...PAYMENT_TOKEN_EIP712 },
    ...over,
  };
}

/** A payment made the way an x402 client makes it (`@x402/evm`'s ExactEvmScheme client). */
async function libraryPayment(from: PrivateKeyAccount, reqs = requirements()) {
  const scheme = new ExactEvmScheme(toClientEvmSigner(from, publicClient as never));
  const result = await scheme.createPaymentPayload(2, reqs as never);
  return { x402Version: 2, accepted: reqs, payload: result.payload };
}

/** A payment signed by hand, so a test can choose every field (and who signs). */
async function handPayment(opts: {
  signer: PrivateKeyAccount;
  from?: Address;
  to?: Address;
  value?: bigint;
  validAfter?: bigint;
  validBefore?: bigint;
}) {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const authorization = {
    from: opts.from ?? opts.signer.address,
    to: opts.to ?? hotkey.address,
    value: opts.value ?? AMOUNT,
    validAfter: opts.validAfter ?? now - 600n,
    validBefore: opts.validBefore ?? now + 300n,
    nonce: randomNonce(),
  };
  const signature = await opts.signer.signTypedData(
    transferWithAuthorizationTypedData(
      { ...PAYMENT_TOKEN_EIP712, chainId: CHAIN_ID, verifyingContract: token },
      authorization,
    ),
  );
  return {
    x402Version: 2,
    accepted: requirements(),
    payload: {
      signature,
      authorization: {
        from: authorization.from,
        to: authorization.to,
        value: authorization.value.toString(),
        validAfter: authorization.validAfter.toString(),
        validBefore: authorization.validBefore.toString(),
        nonce: authorization.nonce,
      },
    },
  };
}

/** Verify and settle both refuse with `reason`, and no token moves. */
async function refused(payment: unknown, reason: string, reqs: unknown = requirements()): Promise<void> {
  const before = [await balanceOf(payer.address), await balanceOf(hotkey.address)];
  const v = await facilitator.verify(payment, reqs);
  assert.equal(v.isValid, false);
  assert.equal(v.invalidReason, reason);
  const s = await facilitator.settle(payment, reqs);
  assert.equal(s.success, false);
  assert.equal(s.errorReason, reason);
  assert.equal(s.transaction, '');
  assert.deepEqual([await balanceOf(payer.address), await balanceOf(hotkey.address)], before);
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
  const hash = await deployerWallet.deployContract({
    abi: paymentTokenAbi,
    bytecode: paymentTokenBytecode,
    args: [1_000_000n * 10n ** 6n],
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  token = receipt.contractAddress as Address;
  const fund = await deployerWallet.writeContract({
    address: token,
    abi: paymentTokenAbi,
    functionName: 'transfer',
    args: [payer.address, 10_000n],
  });
  await publicClient.waitForTransactionReceipt({ hash: fund });
  facilitator = createX402Facilitator({
    publicClient,
    walletClient: createWalletClient({ chain, transport, account: hotkey }),
    account: hotkey,
    chainId: CHAIN_ID,
    token,
  });
});

after(async () => {
  await anvil?.stop();
});

describe('createX402Facilitator', () => {
  it('names its network and payee', () => {
    assert.equal(facilitator.network, `eip155:${CHAIN_ID}`);
    assert.equal(facilitator.payTo, hotkey.address);
  });

  it('verifies and settles an x402 client payment: exactly the amount moves, once', async () => {
    const payment = await libraryPayment(payer);
    const v = await facilitator.verify(payment, requirements());
    assert.deepEqual(v, { isValid: true, payer: payer.address });
    // Verification moves nothing.
    assert.equal(await balanceOf(payer.address), 10_000n);
    const s = await facilitator.settle(payment, requirements());
    assert.equal(s.success, true, s.errorReason);
    assert.equal(s.network, `eip155:${CHAIN_ID}`);
    assert.equal(s.payer, payer.address);
    assert.match(s.transaction, /^0x[0-9a-f]{64}$/);
    const receipt = await publicClient.getTransactionReceipt({ hash: s.transaction as `0x${string}` });
    assert.equal(receipt.status, 'success');
    assert.equal(receipt.from.toLowerCase(), hotkey.address.toLowerCase());
    assert.equal(await balanceOf(payer.address), 10_000n - AMOUNT);
    assert.equal(await balanceOf(hotkey.address), AMOUNT);

    // The same authorization again: the token has used its nonce.
    await refused(payment, 'invalid_exact_evm_nonce_already_used');
    assert.equal(await balanceOf(payer.address), 10_000n - AMOUNT);
    assert.equal(await balanceOf(hotkey.address), AMOUNT);
  });

  it('refuses an expired authorization', async () => {
    const now = BigInt(Math.floor(Date.now() / 1000));
    await refused(
      await handPayment({ signer: payer, validAfter: now - 600n, validBefore: now - 1n }),
      'invalid_exact_evm_payload_authorization_valid_before',
    );
  });

  it('refuses an authorization not valid yet', async () => {
    const now = BigInt(Math.floor(Date.now() / 1000));
    await refused(
      await handPayment({ signer: payer, validAfter: now + 600n }),
      'invalid_exact_evm_payload_authorization_valid_after',
    );
  });

  it('refuses a payment to another address than the payee', async () => {
    const other = privateKeyToAccount(generatePrivateKey()).address;
    await refused(await handPayment({ signer: payer, to: other }), 'invalid_exact_evm_recipient_mismatch');
  });

  it('refuses requirements that pay another address than the hotkey', async () => {
    const other = privateKeyToAccount(generatePrivateKey()).address;
    const reqs = requirements({ payTo: other });
    await refused(await libraryPayment(payer, reqs), X402Reason.WRONG_PAY_TO, reqs);
  });

  it('refuses an amount below (or above) the requirement', async () => {
    await refused(
      await handPayment({ signer: payer, value: AMOUNT - 1n }),
      'invalid_exact_evm_payload_authorization_value_mismatch',
    );
    await refused(
      await handPayment({ signer: payer, value: AMOUNT + 1n }),
      'invalid_exact_evm_payload_authorization_value_mismatch',
    );
    // A payment made for cheaper requirements does not answer these.
    const cheaper = await libraryPayment(payer, requirements({ amount: (AMOUNT - 1n).toString() }));
    await refused(cheaper, X402Reason.ACCEPTED_MISMATCH);
  });

  it('refuses a forged signature and a tampered authorization', async () => {
    const attacker = privateKeyToAccount(generatePrivateKey());
    await refused(
      await handPayment({ signer: attacker, from: payer.address }),
      'invalid_exact_evm_signature',
    );
    const tampered = await handPayment({ signer: payer });
    tampered.payload.authorization.validBefore = (
      BigInt(tampered.payload.authorization.validBefore) + 1n
    ).toString();
    await refused(tampered, 'invalid_exact_evm_signature');
    const garbage = await handPayment({ signer: payer });
    garbage.payload.signature = `0x${'11'.repeat(65)}`;
    await refused(garbage, 'invalid_exact_evm_signature');
  });

  it('refuses a payer without the funds', async () => {
    const poor = privateKeyToAccount(generatePrivateKey());
    await refused(await libraryPayment(poor), 'invalid_exact_evm_insufficient_balance');
  });

  it('refuses another token, another network and malformed input', async () => {
    const otherToken = requirements({ asset: privateKeyToAccount(generatePrivateKey()).address });
    await refused(await libraryPayment(payer, otherToken), X402Reason.WRONG_ASSET, otherToken);
    const otherChain = requirements({ network: 'eip155:8453' });
    await refused(await libraryPayment(payer, otherChain), X402Reason.WRONG_NETWORK, otherChain);
    await refused({}, X402Reason.INVALID_PAYLOAD);
    await refused(await libraryPayment(payer), X402Reason.INVALID_REQUIREMENTS, { scheme: 'exact' });
    const v1 = { ...(await libraryPayment(payer)), x402Version: 1 };
    await refused(v1, X402Reason.INVALID_PAYLOAD);
    const noAuth = await libraryPayment(payer);
    (noAuth.payload as Record<string, unknown>).authorization = { from: 'me' };
    await refused(noAuth, X402Reason.UNSUPPORTED_PAYLOAD_TYPE);
  });

  it('the payer lost exactly one payment over all of the above', async () => {
    assert.equal(await balanceOf(payer.address), 10_000n - AMOUNT);
    assert.equal(await balanceOf(hotkey.address), AMOUNT);
  });
});
