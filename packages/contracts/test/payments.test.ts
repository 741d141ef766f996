/**
 * Payment contracts (issue 15): the devnet stablecoin's EIP-3009 and EIP-2612 authorizations, on-chain
 * prices in effect from the next epoch, and the prepaid accounts of PaymentEscrow, against every bad input
 * of this layer (forged, replayed, expired and over-cap authorizations, a gateway collecting more than
 * authorised or twice, a client withdrawing mid-request, a price change mid-epoch), plus a seeded randomized
 * run checking deposits = collected + withdrawn + balance to the unit. Signatures come from src/payments.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type Address,
  getContract,
  getContractAddress,
  type Hex,
  keccak256,
  parseEventLogs,
  parseSignature,
  toHex,
  zeroAddress,
} from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { paymentEscrowAbi, paymentTokenAbi, pricingAbi } from '../src/generated/index.js';
import {
  cancelAuthorizationTypedData,
  modelId,
  PAYMENT_ESCROW_EIP712,
  PAYMENT_TOKEN_EIP712,
  permitTypedData,
  randomNonce,
  receiveWithAuthorizationTypedData,
  type SpendingAuthorization,
  spendingAuthorizationTypedData,
  type TokenDomain,
  type TransferAuthorization,
  transferWithAuthorizationTypedData,
} from '../src/payments.js';
import { defaultHyperparams, expectRevert, type Fixture, prng, useFixture } from './fixture.js';

const USD = 10n ** 6n;
const NOTICE = 600n;
const SEED = Number(process.env.INVARIANT_SEED ?? 15);
/** Seconds around a deadline within which the randomized test does not guess which block decides. */
const MARGIN = 5n;

/** Gas per operation, printed as JSON at the end (and bounded so a regression shows). */
const gas: Record<string, bigint> = {};
const GAS_BOUNDS: Record<string, bigint> = {
  deposit: 100_000n,
  collectFirst: 90_000n,
  collectNext: 70_000n,
  requestWithdrawal: 70_000n,
  completeWithdrawal: 60_000n,
  transferWithAuthorization: 90_000n,
  setPriceFirst: 170_000n,
  setPriceNext: 80_000n,
};

function handles(f: Fixture) {
  const client = { public: f.publicClient, wallet: f.walletClient };
  const { paymentToken, pricing, paymentEscrow } = f.addresses;
  if (paymentToken === undefined || pricing === undefined || paymentEscrow === undefined)
    throw new Error('payment contracts not deployed');
  return {
    usd: getContract({ address: paymentToken, abi: paymentTokenAbi, client }),
    pricing: getContract({ address: pricing, abi: pricingAbi, client }),
    escrow: getContract({ address: paymentEscrow, abi: paymentEscrowAbi, client }),
  };
}

function tokenDomain(f: Fixture): TokenDomain {
  const token = f.addresses.paymentToken;
  if (token === undefined) throw new Error('no payment token');
  return { ...PAYMENT_TOKEN_EIP712, chainId: f.chain.id, verifyingContract: token };
}

async function now(f: Fixture): Promise<bigint> {
  return (await f.publicClient.getBlock({ blockTag: 'latest' })).timestamp;
}

/**
 * The timestamp the next block will have, fixed now: the latest block's plus one. With automine a block took
 * the wall clock's time, so on a loaded machine it could land past a margin the test had decided with.
 */
async function pinNext(f: Fixture): Promise<bigint> {
  const t = (await now(f)) + 1n;
  await f.testClient.setNextBlockTimestamp({ timestamp: t });
  return t;
}

/** A client's signed spending authorization for the fixture's escrow (or another domain). */
async function authorize(
  f: Fixture,
  signer: PrivateKeyAccount,
  auth: SpendingAuthorization,
  domain: { chainId?: number; paymentEscrow?: Address } = {},
): Promise<Hex> {
  return signer.signTypedData(
    spendingAuthorizationTypedData({
      chainId: domain.chainId ?? f.chain.id,
      paymentEscrow: domain.paymentEscrow ?? (f.addresses.paymentEscrow as Address),
      authorization: auth,
    }),
  );
}

async function transferAuth(
  f: Fixture,
  signer: PrivateKeyAccount,
  over: Partial<TransferAuthorization> & { to: Address; value: bigint },
): Promise<{ message: TransferAuthorization; signature: Hex }> {
  const t = await now(f);
  const message: TransferAuthorization = {
    from: signer.address,
    validAfter: 0n,
    validBefore: t + 3600n,
    nonce: randomNonce(),
    ...over,
  };
  return {
    message,
    signature: await signer.signTypedData(transferWithAuthorizationTypedData(tokenDomain(f), message)),
  };
}

function vrs(signature: Hex): [number, Hex, Hex] {
  const { v, r, s, yParity } = parseSignature(signature);
  return [v !== undefined ? Number(v) : 27 + yParity, r, s];
}

function args(m: TransferAuthorization) {
  return [m.from, m.to, m.value, m.validAfter, m.validBefore, m.nonce] as const;
}

describe('payments', () => {
  const fx = useFixture({ subnet: defaultHyperparams, deploy: { payments: { noticePeriod: NOTICE } } });

  before(async () => {
    const f = fx();
    const { usd } = handles(f);
    for (const user of f.accounts.slice(1)) {
      await f.mined(usd.write.mint([user.address, 1_000_000n * USD], { account: f.deployer }));
      await f.mined(usd.write.approve([f.addresses.paymentEscrow as Address, 2n ** 255n], { account: user }));
    }
  });

  it('are deployed after the suite, whose addresses stay those of the first nonces', () => {
    const f = fx();
    const at = (nonce: number) => getContractAddress({ from: f.deployer.address, nonce: BigInt(nonce) });
    const { token, staking, subnetRegistry, neuronRegistry, weights, epochConsensus, slashing } = f.addresses;
    assert.deepEqual(
      [token, staking, subnetRegistry, neuronRegistry, weights, epochConsensus, slashing],
      [0, 1, 2, 3, 4, 5, 6].map(at),
    );
    // Then five wiring calls (no timelock in the fixture), then the three payment contracts.
    assert.deepEqual(
      [f.addresses.paymentToken, f.addresses.pricing, f.addresses.paymentEscrow],
      [12, 13, 14].map(at),
    );
  });

  describe('PaymentToken', () => {
    it('is a 6-decimal token with the EIP-3009 typehashes and the EIP-712 domain the typed data uses', async () => {
      const f = fx();
      const { usd } = handles(f);
      assert.equal(await usd.read.decimals(), 6);
      assert.equal(await usd.read.symbol(), 'sUSD');
      assert.equal(
        await usd.read.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
        keccak256(
          toHex(
            'TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)',
          ),
        ),
      );
      assert.equal(
        await usd.read.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
        keccak256(
          toHex(
            'ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)',
          ),
        ),
      );
      assert.equal(
        await usd.read.CANCEL_AUTHORIZATION_TYPEHASH(),
        keccak256(toHex('CancelAuthorization(address authorizer,bytes32 nonce)')),
      );
      const [, name, version, chainId, verifyingContract] = await usd.read.eip712Domain();
      assert.deepEqual({ name, version, chainId: Number(chainId), verifyingContract }, { ...tokenDomain(f) });
      await expectRevert(
        usd.write.mint([f.alice.address, 1n], { account: f.alice }),
        'OwnableUnauthorizedAccount',
      );
    });

    it('transferWithAuthorization moves the value once, with v/r/s or bytes signatures; replays are refused', async () => {
      const f = fx();
      const { usd } = handles(f);
      const { alice, bob, erin } = f;
      const a = await transferAuth(f, alice, { to: bob.address, value: 5n * USD });
      const receipt = await f.mined(
        usd.write.transferWithAuthorization([...args(a.message), ...vrs(a.signature)], { account: erin }),
      );
      gas.transferWithAuthorization = receipt.gasUsed;
      const [used] = parseEventLogs({
        abi: paymentTokenAbi,
        logs: receipt.logs,
        eventName: 'AuthorizationUsed',
      });
      assert.deepEqual(used?.args, { authorizer: alice.address, nonce: a.message.nonce });
      assert.equal(await usd.read.authorizationState([alice.address, a.message.nonce]), true);
      assert.equal(await usd.read.balanceOf([bob.address]), 1_000_005n * USD);
      // Replayed, in either signature form.
      await expectRevert(
        usd.write.transferWithAuthorization([...args(a.message), ...vrs(a.signature)], { account: erin }),
        'AuthorizationAlreadyUsed',
        [alice.address, a.message.nonce],
      );
      await expectRevert(
        usd.write.transferWithAuthorization([...args(a.message), a.signature], { account: erin }),
        'AuthorizationAlreadyUsed',
      );
      const b = await transferAuth(f, alice, { to: bob.address, value: 7n * USD });
      await f.mined(usd.write.transferWithAuthorization([...args(b.message), b.signature], { account: bob }));
      assert.equal(await usd.read.balanceOf([bob.address]), 1_000_012n * USD);
      assert.equal(await usd.read.balanceOf([alice.address]), 999_988n * USD);
    });

    it('refuses forged, tampered, not-yet-valid and expired authorizations, moving nothing', async () => {
      const f = fx();
      const { usd } = handles(f);
      const { alice, bob, erin } = f;
      const t = await now(f);
      // Forged: erin signs a transfer from alice.
      const forged = await transferAuth(f, erin, { from: alice.address, to: erin.address, value: USD });
      await expectRevert(
        usd.write.transferWithAuthorization([...args(forged.message), forged.signature], { account: erin }),
        'InvalidAuthorizationSignature',
      );
      // Tampered: alice's signature over 1 USD, submitted for 100.
      const a = await transferAuth(f, alice, { to: bob.address, value: USD });
      await expectRevert(
        usd.write.transferWithAuthorization([...args({ ...a.message, value: 100n * USD }), a.signature], {
          account: erin,
        }),
        'InvalidAuthorizationSignature',
      );
      const early = await transferAuth(f, alice, { to: bob.address, value: USD, validAfter: t + 1000n });
      await expectRevert(
        usd.write.transferWithAuthorization([...args(early.message), early.signature], { account: erin }),
        'AuthorizationNotYetValid',
        [t + 1000n],
      );
      // The next block's timestamp is at least the latest one's.
      const late = await transferAuth(f, alice, { to: bob.address, value: USD, validBefore: t });
      await expectRevert(
        usd.write.transferWithAuthorization([...args(late.message), late.signature], { account: erin }),
        'AuthorizationExpired',
        [t],
      );
      // Another chain's domain.
      const other = { ...a.message, nonce: randomNonce() };
      const otherSig = await alice.signTypedData(
        transferWithAuthorizationTypedData({ ...tokenDomain(f), chainId: 1 }, other),
      );
      await expectRevert(
        usd.write.transferWithAuthorization([...args(other), otherSig], { account: erin }),
        'InvalidAuthorizationSignature',
      );
      assert.equal(await usd.read.balanceOf([alice.address]), 1_000_000n * USD);
      assert.equal(await usd.read.authorizationState([alice.address, a.message.nonce]), false);
    });

    it('receiveWithAuthorization only by the payee; cancelAuthorization burns the nonce', async () => {
      const f = fx();
      const { usd } = handles(f);
      const { alice, bob, erin } = f;
      const t = await now(f);
      const message: TransferAuthorization = {
        from: alice.address,
        to: bob.address,
        value: 3n * USD,
        validAfter: 0n,
        validBefore: t + 3600n,
        nonce: randomNonce(),
      };
      const signature = await alice.signTypedData(receiveWithAuthorizationTypedData(tokenDomain(f), message));
      await expectRevert(
        usd.write.receiveWithAuthorization([...args(message), signature], { account: erin }),
        'CallerNotPayee',
        [erin.address, bob.address],
      );
      // A receive authorization is not a transfer authorization.
      await expectRevert(
        usd.write.transferWithAuthorization([...args(message), signature], { account: bob }),
        'InvalidAuthorizationSignature',
      );
      await f.mined(
        usd.write.receiveWithAuthorization([...args(message), ...vrs(signature)], { account: bob }),
      );
      assert.equal(await usd.read.balanceOf([bob.address]), 1_000_003n * USD);

      const a = await transferAuth(f, alice, { to: bob.address, value: USD });
      const forgedCancel = await erin.signTypedData(
        cancelAuthorizationTypedData(tokenDomain(f), { authorizer: alice.address, nonce: a.message.nonce }),
      );
      await expectRevert(
        usd.write.cancelAuthorization([alice.address, a.message.nonce, forgedCancel], { account: erin }),
        'InvalidAuthorizationSignature',
      );
      const cancel = await alice.signTypedData(
        cancelAuthorizationTypedData(tokenDomain(f), { authorizer: alice.address, nonce: a.message.nonce }),
      );
      const receipt = await f.mined(
        usd.write.cancelAuthorization([alice.address, a.message.nonce, ...vrs(cancel)], { account: erin }),
      );
      assert.equal(
        parseEventLogs({ abi: paymentTokenAbi, logs: receipt.logs, eventName: 'AuthorizationCanceled' })
          .length,
        1,
      );
      await expectRevert(
        usd.write.transferWithAuthorization([...args(a.message), a.signature], { account: bob }),
        'AuthorizationAlreadyUsed',
      );
      await expectRevert(
        usd.write.cancelAuthorization([alice.address, a.message.nonce, cancel], { account: erin }),
        'AuthorizationAlreadyUsed',
      );
    });
  });

  describe('Pricing', () => {
    it('only the subnet owner sets prices, for a named model', async () => {
      const f = fx();
      const { pricing } = handles(f);
      await expectRevert(
        pricing.write.setPrice([1, 'llama', 1n, 1n], { account: f.alice }),
        'NotSubnetOwner',
        [1, f.alice.address],
      );
      await expectRevert(
        pricing.write.setPrice([2, 'llama', 1n, 1n], { account: f.owner }),
        'SubnetNotFound',
      );
      await expectRevert(pricing.write.setPrice([1, '', 1n, 1n], { account: f.owner }), 'InvalidModelName', [
        0n,
      ]);
      await expectRevert(
        pricing.write.setPrice([1, 'x'.repeat(129), 1n, 1n], { account: f.owner }),
        'InvalidModelName',
        [129n],
      );
    });

    it('a price change mid-epoch applies only from the next epoch; the price at a request start stays', async () => {
      const f = fx();
      const { pricing } = handles(f);
      const id = modelId('llama-3-8b');
      const first = await f.mined(
        pricing.write.setPrice([1, 'llama-3-8b', 200_000n, 600_000n], { account: f.owner }),
      );
      gas.setPriceFirst = first.gasUsed;
      const [set] = parseEventLogs({ abi: pricingAbi, logs: first.logs, eventName: 'PriceSet' });
      const epoch = await f.subnets.read.currentEpoch([1]);
      const boundary = await f.subnets.read.epochStartBlock([1, epoch + 1n]);
      assert.equal(set?.args.effectiveBlock, boundary);
      assert.equal(set?.args.effectiveEpoch, epoch + 1n);
      assert.equal(set?.args.model, 'llama-3-8b');
      // Not in effect yet.
      assert.equal((await pricing.read.currentPrice([1, id]))[0], false);
      await f.nextTxAt(boundary + 1n);
      assert.deepEqual(await pricing.read.currentPrice([1, id]), [true, 200_000n, 600_000n, boundary]);

      // A request starts now; the owner raises the price mid-epoch (twice: the second replaces the first).
      const requestStart = await f.blockNumber();
      await f.mined(pricing.write.setPrice([1, 'llama-3-8b', 900_000n, 900_000n], { account: f.owner }));
      const next = await f.mined(
        pricing.write.setPrice([1, 'llama-3-8b', 300_000n, 700_000n], { account: f.owner }),
      );
      gas.setPriceNext = next.gasUsed;
      const nextBoundary = await f.subnets.read.epochStartBlock([1, epoch + 2n]);
      assert.deepEqual(await pricing.read.currentPrice([1, id]), [true, 200_000n, 600_000n, boundary]);
      assert.deepEqual(await pricing.read.priceAt([1, id, requestStart]), [
        true,
        200_000n,
        600_000n,
        boundary,
      ]);
      // 1000 prompt + 500 completion tokens at the request's price: (200 + 300) / 1 = 500 units... rounded up.
      assert.deepEqual(await pricing.read.costAt([1, id, requestStart, 1000n, 500n]), [true, 500n]);
      assert.deepEqual(await pricing.read.costAt([1, id, requestStart, 1n, 1n]), [true, 1n]);
      await f.nextTxAt(nextBoundary + 1n);
      assert.deepEqual(await pricing.read.currentPrice([1, id]), [true, 300_000n, 700_000n, nextBoundary]);
      // History is kept: the request that started before the boundary is still priced the old way.
      assert.deepEqual(await pricing.read.priceAt([1, id, requestStart]), [
        true,
        200_000n,
        600_000n,
        boundary,
      ]);
      assert.deepEqual(await pricing.read.priceAt([1, id, boundary - 1n]), [false, 0n, 0n, 0n]);
      assert.equal((await pricing.read.getPriceHistory([1, id])).length, 2);
      assert.deepEqual(await pricing.read.getModels([1]), [[id], ['llama-3-8b']]);
    });
  });

  describe('PaymentEscrow', () => {
    async function setUpAccount(f: Fixture, amount = 100n * USD, cap = 50n * USD) {
      const { escrow } = handles(f);
      const { alice, carol } = f;
      const receipt = await f.mined(escrow.write.deposit([carol.address, amount], { account: alice }));
      const auth: SpendingAuthorization = {
        client: alice.address,
        gateway: carol.address,
        cap,
        expiry: (await now(f)) + 3600n,
        nonce: randomNonce(),
      };
      return { escrow, auth, signature: await authorize(f, alice, auth), depositGas: receipt.gasUsed };
    }

    it('a gateway collects cumulative totals up to the cap, each total once', async () => {
      const f = fx();
      const { usd } = handles(f);
      const { carol, alice } = f;
      const { escrow, auth, signature, depositGas } = await setUpAccount(f);
      gas.deposit = depositGas;
      assert.equal(PAYMENT_ESCROW_EIP712.name, 'SubnetPaymentEscrow');
      const r1 = await f.mined(escrow.write.collect([auth, signature, 10n * USD], { account: carol }));
      gas.collectFirst = r1.gasUsed;
      const [ev] = parseEventLogs({ abi: paymentEscrowAbi, logs: r1.logs, eventName: 'Collected' });
      assert.equal(ev?.args.amount, 10n * USD);
      assert.equal(ev?.args.cumulative, 10n * USD);
      const r2 = await f.mined(escrow.write.collect([auth, signature, 25n * USD], { account: carol }));
      gas.collectNext = r2.gasUsed;
      assert.equal(await usd.read.balanceOf([carol.address]), 1_000_025n * USD);
      assert.equal(await escrow.read.collected([auth]), 25n * USD);
      assert.equal((await escrow.read.getAccount([alice.address, carol.address])).balance, 75n * USD);
      // The same total again (a retried or replayed settlement), or a lower one: refused.
      await expectRevert(
        escrow.write.collect([auth, signature, 25n * USD], { account: carol }),
        'AlreadyCollected',
        [25n * USD, 25n * USD],
      );
      await expectRevert(
        escrow.write.collect([auth, signature, 20n * USD], { account: carol }),
        'AlreadyCollected',
      );
      // Over the cap, even by one unit.
      await expectRevert(
        escrow.write.collect([auth, signature, 50n * USD + 1n], { account: carol }),
        'OverCap',
        [50n * USD, 50n * USD + 1n],
      );
      await f.mined(escrow.write.collect([auth, signature, 50n * USD], { account: carol }));
      assert.equal(await usd.read.balanceOf([carol.address]), 1_000_050n * USD);
      assert.equal((await escrow.read.getAccount([alice.address, carol.address])).balance, 50n * USD);
      assert.equal(await usd.read.balanceOf([escrow.address]), 50n * USD);
    });

    it('refuses forged, tampered, foreign-domain, expired authorizations and other gateways', async () => {
      const f = fx();
      const { alice, carol, dave, erin } = f;
      const { escrow, auth, signature } = await setUpAccount(f);
      const forged = await authorize(f, erin, auth);
      await expectRevert(escrow.write.collect([auth, forged, USD], { account: carol }), 'InvalidSignature');
      await expectRevert(
        escrow.write.collect([{ ...auth, cap: 100n * USD }, signature, 60n * USD], { account: carol }),
        'InvalidSignature',
      );
      const foreign = await authorize(f, alice, auth, { paymentEscrow: f.addresses.pricing as Address });
      await expectRevert(escrow.write.collect([auth, foreign, USD], { account: carol }), 'InvalidSignature');
      const otherChain = await authorize(f, alice, auth, { chainId: 1 });
      await expectRevert(
        escrow.write.collect([auth, otherChain, USD], { account: carol }),
        'InvalidSignature',
      );
      await expectRevert(escrow.write.collect([auth, '0x1234', USD], { account: carol }), 'InvalidSignature');
      // Only the named gateway, and only from the client's account with that gateway.
      await expectRevert(escrow.write.collect([auth, signature, USD], { account: dave }), 'NotGateway', [
        dave.address,
        carol.address,
      ]);
      const daveAuth = { ...auth, gateway: dave.address };
      await expectRevert(
        escrow.write.collect([daveAuth, await authorize(f, alice, daveAuth), USD], { account: dave }),
        'InsufficientBalance',
        [0n, USD],
      );
      // Expired: the gateway must collect before the expiry.
      await f.testClient.increaseTime({ seconds: 3601 });
      await f.mine(1);
      await expectRevert(
        escrow.write.collect([auth, signature, USD], { account: carol }),
        'AuthorizationExpired',
      );
      assert.equal((await escrow.read.getAccount([alice.address, carol.address])).balance, 100n * USD);
    });

    it('a gateway cannot collect more than the account holds, whatever the cap', async () => {
      const f = fx();
      const { carol } = f;
      const { escrow, auth, signature } = await setUpAccount(f, 10n * USD, 50n * USD);
      await expectRevert(
        escrow.write.collect([auth, signature, 10n * USD + 1n], { account: carol }),
        'InsufficientBalance',
        [10n * USD, 10n * USD + 1n],
      );
      await f.mined(escrow.write.collect([auth, signature, 10n * USD], { account: carol }));
    });

    it('a client withdrawing mid-request: the notice period keeps the gateway paid for what it served', async () => {
      const f = fx();
      const { usd } = handles(f);
      const { alice, carol } = f;
      const { escrow, auth, signature } = await setUpAccount(f, 100n * USD, 100n * USD);
      await expectRevert(
        escrow.write.completeWithdrawal([carol.address], { account: alice }),
        'NoWithdrawalPending',
      );
      await expectRevert(
        escrow.write.requestWithdrawal([carol.address, 100n * USD + 1n], { account: alice }),
        'InsufficientBalance',
      );
      await expectRevert(
        escrow.write.requestWithdrawal([carol.address, 0n], { account: alice }),
        'ZeroAmount',
      );
      // The client asks for everything while a request is being served.
      const req = await f.mined(
        escrow.write.requestWithdrawal([carol.address, 100n * USD], { account: alice }),
      );
      gas.requestWithdrawal = req.gasUsed;
      const [ev] = parseEventLogs({
        abi: paymentEscrowAbi,
        logs: req.logs,
        eventName: 'WithdrawalRequested',
      });
      assert.equal(await escrow.read.spendable([alice.address, carol.address]), 0n);
      await expectRevert(
        escrow.write.completeWithdrawal([carol.address], { account: alice }),
        'WithdrawalNotReady',
        [ev?.args.withdrawableAt],
      );
      // The gateway settles the served request within the notice period.
      await f.mined(escrow.write.collect([auth, signature, 30n * USD], { account: carol }));
      await f.testClient.increaseTime({ seconds: Number(NOTICE) });
      await f.mine(1);
      const done = await f.mined(escrow.write.completeWithdrawal([carol.address], { account: alice }));
      gas.completeWithdrawal = done.gasUsed;
      const [w] = parseEventLogs({ abi: paymentEscrowAbi, logs: done.logs, eventName: 'Withdrawn' });
      assert.equal(w?.args.amount, 70n * USD);
      assert.equal(await usd.read.balanceOf([alice.address]), 1_000_000n * USD - 30n * USD);
      assert.equal(await usd.read.balanceOf([carol.address]), 1_000_030n * USD);
      assert.deepEqual(await escrow.read.getAccount([alice.address, carol.address]), {
        balance: 0n,
        pendingWithdrawal: 0n,
        withdrawableAt: 0n,
      });
      // Nothing left to collect from.
      await expectRevert(
        escrow.write.collect([auth, signature, 31n * USD], { account: carol }),
        'InsufficientBalance',
      );
      // A cancelled request cannot complete.
      await f.mined(escrow.write.deposit([carol.address, 5n * USD], { account: alice }));
      await f.mined(escrow.write.requestWithdrawal([carol.address, 5n * USD], { account: alice }));
      await f.mined(escrow.write.cancelWithdrawal([carol.address], { account: alice }));
      await expectRevert(
        escrow.write.cancelWithdrawal([carol.address], { account: alice }),
        'NoWithdrawalPending',
      );
      await expectRevert(
        escrow.write.completeWithdrawal([carol.address], { account: alice }),
        'NoWithdrawalPending',
      );
    });

    it('bad deposits are refused; depositWithPermit needs no approval', async () => {
      const f = fx();
      const { usd, escrow } = handles(f);
      const { frank, carol } = f;
      await expectRevert(escrow.write.deposit([zeroAddress, USD], { account: frank }), 'ZeroAddress');
      await expectRevert(escrow.write.deposit([carol.address, 0n], { account: frank }), 'ZeroAmount');
      await f.mined(usd.write.approve([escrow.address, 0n], { account: frank }));
      await expectRevert(
        escrow.write.deposit([carol.address, USD], { account: frank }),
        'ERC20InsufficientAllowance',
      );
      const deadline = (await now(f)) + 3600n;
      const signature = await frank.signTypedData(
        permitTypedData(tokenDomain(f), {
          owner: frank.address,
          spender: escrow.address,
          value: 9n * USD,
          nonce: await usd.read.nonces([frank.address]),
          deadline,
        }),
      );
      await f.mined(
        escrow.write.depositWithPermit([carol.address, 9n * USD, deadline, ...vrs(signature)], {
          account: frank,
        }),
      );
      assert.equal((await escrow.read.getAccount([frank.address, carol.address])).balance, 9n * USD);
    });

    it('collectBatch collects many clients in one transfer, or nothing when one voucher is bad', async () => {
      const f = fx();
      const { usd, escrow } = handles(f);
      const { alice, bob, carol } = f;
      const vouchers = [];
      for (const client of [alice, bob]) {
        await f.mined(escrow.write.deposit([carol.address, 20n * USD], { account: client }));
        const auth: SpendingAuthorization = {
          client: client.address,
          gateway: carol.address,
          cap: 20n * USD,
          expiry: (await now(f)) + 3600n,
          nonce: randomNonce(),
        };
        vouchers.push({
          authorization: auth,
          signature: await authorize(f, client, auth),
          cumulative: 4n * USD,
        });
      }
      await expectRevert(escrow.write.collectBatch([[]], { account: carol }), 'EmptyBatch');
      const bad = [...vouchers, { ...(vouchers[0] as (typeof vouchers)[0]), cumulative: 21n * USD }];
      await expectRevert(escrow.write.collectBatch([bad], { account: carol }), 'OverCap');
      // The same voucher twice in a batch: the second is a replay.
      await expectRevert(
        escrow.write.collectBatch([[vouchers[0], vouchers[0]] as typeof vouchers], { account: carol }),
        'AlreadyCollected',
      );
      const receipt = await f.mined(escrow.write.collectBatch([vouchers], { account: carol }));
      assert.equal(
        parseEventLogs({ abi: paymentTokenAbi, logs: receipt.logs, eventName: 'Transfer' }).length,
        1,
        'one transfer',
      );
      assert.equal(await usd.read.balanceOf([carol.address]), 1_000_008n * USD);
    });

    it(`randomized: deposits = collected + withdrawn + balance to the unit, tokens conserved (seed ${SEED})`, async () => {
      const f = fx();
      const { usd, escrow } = handles(f);
      const rand = prng(SEED);
      const clients = [f.alice, f.bob, f.carol] as const;
      const gateways = [f.dave, f.erin] as const;
      type Key = `${number}:${number}`;
      const model = new Map<
        Key,
        { balance: bigint; pending: bigint; deposited: bigint; collected: bigint; withdrawn: bigint }
      >();
      const acct = (c: number, g: number) => {
        const key: Key = `${c}:${g}`;
        let a = model.get(key);
        if (a === undefined) {
          a = { balance: 0n, pending: 0n, deposited: 0n, collected: 0n, withdrawn: 0n };
          model.set(key, a);
        }
        return a;
      };
      const auths: {
        c: number;
        g: number;
        auth: SpendingAuthorization;
        signature: Hex;
        collected: bigint;
      }[] = [];
      const supply = await usd.read.totalSupply();
      const holders = [...clients, ...gateways].map((a) => a.address);
      const holdings = async () => {
        let sum = await usd.read.balanceOf([escrow.address]);
        for (const h of holders) sum += await usd.read.balanceOf([h]);
        return sum;
      };
      const heldBefore = await holdings();
      const counts: Record<string, number> = {};
      const OPS = 220;
      for (let i = 0; i < OPS; i++) {
        const c = rand(clients.length);
        const g = rand(gateways.length);
        const client = clients[c] as PrivateKeyAccount;
        const gateway = gateways[g] as PrivateKeyAccount;
        const a = acct(c, g);
        const op = rand(10);
        let name: string;
        if (op < 3) {
          name = 'deposit';
          const amount = BigInt(1 + rand(1000)) * 1000n + BigInt(rand(1000));
          await f.mined(escrow.write.deposit([gateway.address, amount], { account: client }));
          a.balance += amount;
          a.deposited += amount;
        } else if (op < 4) {
          name = 'authorize';
          const auth: SpendingAuthorization = {
            client: client.address,
            gateway: gateway.address,
            cap: BigInt(rand(2_000_000)),
            expiry: (await now(f)) + BigInt(60 + rand(3000)),
            nonce: randomNonce(),
          };
          auths.push({ c, g, auth, signature: await authorize(f, client, auth), collected: 0n });
        } else if (op < 7 && auths.length > 0) {
          const v = auths[rand(auths.length)] as (typeof auths)[0];
          const va = acct(v.c, v.g);
          const gw = gateways[v.g] as PrivateKeyAccount;
          // Sometimes a replay, an over-cap total, or the wrong gateway; mostly a fresh increase.
          const kind = rand(6);
          const cumulative =
            kind === 0 ? v.collected : kind === 1 ? v.auth.cap + 1n : v.collected + BigInt(rand(300_000));
          const caller = kind === 2 ? (gateways[1 - v.g] as PrivateKeyAccount) : gw;
          const t = await pinNext(f);
          const expected =
            caller !== gw
              ? 'NotGateway'
              : t >= v.auth.expiry
                ? 'AuthorizationExpired'
                : cumulative > v.auth.cap
                  ? 'OverCap'
                  : cumulative <= v.collected
                    ? 'AlreadyCollected'
                    : cumulative - v.collected > va.balance
                      ? 'InsufficientBalance'
                      : undefined;
          if (caller === gw && t + MARGIN >= v.auth.expiry && t < v.auth.expiry + MARGIN) {
            // Too close to the expiry to know which block decides: skip.
            name = 'skip';
          } else if (expected === undefined) {
            name = 'collect';
            await f.mined(escrow.write.collect([v.auth, v.signature, cumulative], { account: caller }));
            const amount = cumulative - v.collected;
            v.collected = cumulative;
            va.balance -= amount;
            va.collected += amount;
          } else {
            name = `refused:${expected}`;
            await expectRevert(
              escrow.write.collect([v.auth, v.signature, cumulative], { account: caller }),
              expected,
            );
          }
        } else if (op < 8 && a.balance > 0n) {
          name = 'requestWithdrawal';
          const amount = 1n + BigInt(rand(Number(a.balance > 2n ** 40n ? 2n ** 40n : a.balance)));
          await f.mined(escrow.write.requestWithdrawal([gateway.address, amount], { account: client }));
          a.pending = amount;
        } else if (op < 9) {
          name = 'completeWithdrawal';
          const acc = await escrow.read.getAccount([client.address, gateway.address]);
          const t = await pinNext(f);
          if (a.pending === 0n) {
            await expectRevert(
              escrow.write.completeWithdrawal([gateway.address], { account: client }),
              'NoWithdrawalPending',
            );
            name = 'refused:NoWithdrawalPending';
          } else if (t + MARGIN >= acc.withdrawableAt && t < acc.withdrawableAt + MARGIN) {
            name = 'skip';
          } else if (t < acc.withdrawableAt) {
            await expectRevert(
              escrow.write.completeWithdrawal([gateway.address], { account: client }),
              'WithdrawalNotReady',
            );
            name = 'refused:WithdrawalNotReady';
          } else {
            await f.mined(escrow.write.completeWithdrawal([gateway.address], { account: client }));
            const amount = a.pending < a.balance ? a.pending : a.balance;
            a.balance -= amount;
            a.withdrawn += amount;
            a.pending = 0n;
          }
        } else {
          name = 'time';
          await f.testClient.increaseTime({ seconds: rand(900) });
          await f.mine(1);
        }
        counts[name] = (counts[name] ?? 0) + 1;

        // After every operation: the touched account equals the model; the escrow holds exactly the balances.
        const onChain = await escrow.read.getAccount([client.address, gateway.address]);
        assert.equal(onChain.balance, a.balance, `op ${i} ${name}: balance`);
        assert.equal(
          a.deposited,
          a.collected + a.withdrawn + a.balance,
          `op ${i}: deposits = spent + out + left`,
        );
        let total = 0n;
        for (const m of model.values()) total += m.balance;
        assert.equal(await usd.read.balanceOf([escrow.address]), total, `op ${i} ${name}: escrow holdings`);
      }
      let deposited = 0n;
      let spent = 0n;
      let withdrawn = 0n;
      let left = 0n;
      for (const [key, m] of model) {
        const [c, g] = key.split(':').map(Number) as [number, number];
        const onChain = await escrow.read.getAccount([
          (clients[c] as PrivateKeyAccount).address,
          (gateways[g] as PrivateKeyAccount).address,
        ]);
        assert.equal(onChain.balance, m.balance);
        deposited += m.deposited;
        spent += m.collected;
        withdrawn += m.withdrawn;
        left += m.balance;
      }
      assert.equal(deposited, spent + withdrawn + left, 'deposits = collected + withdrawn + balance');
      assert.equal(await usd.read.totalSupply(), supply, 'no unit minted or burnt');
      assert.equal(await holdings(), heldBefore, 'every unit is with a client, a gateway or the escrow');
      assert.ok((counts.collect ?? 0) > 10 && (counts.deposit ?? 0) > 10, JSON.stringify(counts));
      console.log(`payments invariant seed ${SEED}: ${JSON.stringify(counts)}`);
    });

    it('gas per operation stays within bounds', () => {
      console.log(`payments gas: ${JSON.stringify(gas, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`);
      for (const [name, bound] of Object.entries(GAS_BOUNDS)) {
        const used = gas[name];
        if (used === undefined) continue;
        assert.ok(used <= bound, `${name}: ${used} gas > ${bound}`);
      }
    });
  });
});
