/**
 * Settlement and revenue split (issue 15): Pricing's per-subnet split (owner-set, in effect from the next
 * epoch, default 1000 / 1000 / 500), PaymentEscrow.settle (vouchers + direct revenue split into the
 * validator's fee, the owner's fee, the burn and the miners' earnings), depositFor and claimEarnings, against
 * every bad input (a replayed voucher or a settlement sent twice, over cap, forged, expired, miners' shares
 * that do not sum to the miners' total, zero shares, a non-owner or invalid split, a claim of nothing), plus a
 * seeded randomized run checking, to the unit: per account deposits = collected + withdrawn + balance; the
 * escrow's tokens = the account balances + the unclaimed earnings; per settlement total = fees + burn +
 * miners. And the usage receipt typed data, checked with viem's verifyTypedData.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  type Address,
  encodeFunctionData,
  getContract,
  type Hex,
  hashTypedData,
  parseEventLogs,
  verifyTypedData,
  zeroAddress,
} from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import {
  paymentEscrowAbi,
  paymentEscrowBytecode,
  paymentTokenAbi,
  pricingAbi,
} from '../src/generated/index.js';
import { reentrantTokenAbi, reentrantTokenBytecode } from '../src/generated/test/ReentrantToken.js';
import {
  DEFAULT_REVENUE_SPLIT,
  type MinerShare,
  minerShares,
  randomNonce,
  requestIdHash,
  type SpendingAuthorization,
  spendingAuthorizationTypedData,
  splitRevenue,
  type UsageReceipt,
  usageReceiptDigest,
  usageReceiptTypedData,
} from '../src/payments.js';
import { defaultHyperparams, expectRevert, type Fixture, prng, useFixture } from './fixture.js';

const USD = 10n ** 6n;
const NOTICE = 600n;
const BURN = '0x000000000000000000000000000000000000dEaD' as const;
const SEED = Number(process.env.INVARIANT_SEED ?? 15);

/** Gas per operation, printed as JSON at the end (and bounded so a regression shows). */
const gas: Record<string, bigint> = {};
const GAS_BOUNDS: Record<string, bigint> = {
  setSplitFirst: 100_000n,
  setSplitReplace: 60_000n,
  depositFor: 100_000n,
  settle2VouchersDirect2Miners: 280_000n,
  claimEarnings: 70_000n,
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

async function now(f: Fixture): Promise<bigint> {
  return (await f.publicClient.getBlock({ blockTag: 'latest' })).timestamp;
}

interface Voucher {
  authorization: SpendingAuthorization;
  signature: Hex;
  cumulative: bigint;
}

async function authorize(
  f: Fixture,
  client: PrivateKeyAccount,
  gateway: Address,
  cap: bigint,
  ttl = 3600n,
): Promise<{ authorization: SpendingAuthorization; signature: Hex }> {
  const authorization: SpendingAuthorization = {
    client: client.address,
    gateway,
    cap,
    expiry: (await now(f)) + ttl,
    nonce: randomNonce(),
  };
  const signature = await client.signTypedData(
    spendingAuthorizationTypedData({
      chainId: f.chain.id,
      paymentEscrow: f.addresses.paymentEscrow as Address,
      authorization,
    }),
  );
  return { authorization, signature };
}

describe('settlement', () => {
  const fx = useFixture({ subnet: defaultHyperparams, deploy: { payments: { noticePeriod: NOTICE } } });

  before(async () => {
    const f = fx();
    const { usd } = handles(f);
    for (const user of f.accounts.slice(1)) {
      await f.mined(usd.write.mint([user.address, 1_000_000n * USD], { account: f.deployer }));
      await f.mined(usd.write.approve([f.addresses.paymentEscrow as Address, 2n ** 255n], { account: user }));
    }
  });

  describe('helpers (payments.ts)', () => {
    it('splitRevenue floors each fee and gives the rounding to the miners', () => {
      assert.deepEqual(splitRevenue(1000n, DEFAULT_REVENUE_SPLIT), {
        validatorFee: 100n,
        ownerFee: 100n,
        burned: 50n,
        minerTotal: 750n,
      });
      assert.deepEqual(splitRevenue(19n, DEFAULT_REVENUE_SPLIT), {
        validatorFee: 1n,
        ownerFee: 1n,
        burned: 0n,
        minerTotal: 17n,
      });
      assert.deepEqual(splitRevenue(7n, { validatorBps: 10_000, ownerBps: 0, burnBps: 0 }).minerTotal, 0n);
      assert.throws(() => splitRevenue(1n, { validatorBps: 5000, ownerBps: 5000, burnBps: 1 }), RangeError);
      assert.throws(() => splitRevenue(-1n, DEFAULT_REVENUE_SPLIT), RangeError);
    });

    it('minerShares: pro rata, floored, remainder to the largest weights (ties: lowest address), exact sum', () => {
      const a = '0x00000000000000000000000000000000000000a1' as Address;
      const b = '0x00000000000000000000000000000000000000B2' as Address;
      const c = '0x00000000000000000000000000000000000000c3' as Address;
      // 10 by 1:1:1 → 3 each, one unit left, to the lowest address (all tied).
      assert.deepEqual(
        minerShares(10n, [
          { miner: c, weight: 1n },
          { miner: b, weight: 1n },
          { miner: a, weight: 1n },
        ]),
        [
          { miner: a, amount: 4n },
          { miner: b, amount: 3n },
          { miner: c, amount: 3n },
        ],
      );
      // 11 by 5:3:2 → 5, 3, 2 floors of 5.5, 3.3, 2.2 = 10; the unit to the largest weight.
      assert.deepEqual(
        minerShares(11n, [
          { miner: a, weight: 2n },
          { miner: b, weight: 3n },
          { miner: c, weight: 5n },
        ]),
        [
          { miner: c, amount: 6n },
          { miner: b, amount: 3n },
          { miner: a, amount: 2n },
        ],
      );
      // Same miner in any case merged; zero weights and zero shares dropped; 0 total → none.
      assert.deepEqual(
        minerShares(2n, [
          { miner: b, weight: 1n },
          { miner: b.toLowerCase() as Address, weight: 1n },
          { miner: a, weight: 1n },
          { miner: c, weight: 0n },
        ]),
        [{ miner: b, amount: 2n }],
      );
      assert.deepEqual(minerShares(0n, [{ miner: a, weight: 1n }]), []);
      assert.throws(() => minerShares(1n, []), RangeError);
      assert.throws(() => minerShares(1n, [{ miner: a, weight: -1n }]), RangeError);
      const rand = prng(SEED);
      for (let i = 0; i < 200; i++) {
        const total = BigInt(rand(1_000_000));
        const weights = Array.from({ length: 1 + rand(12) }, () => ({
          miner: privateKeyToAccount(generatePrivateKey()).address,
          weight: BigInt(1 + rand(5000)),
        }));
        const shares = minerShares(total, weights);
        assert.equal(
          shares.reduce((s, x) => s + x.amount, 0n),
          total,
        );
        assert.ok(shares.every((s) => s.amount > 0n));
      }
    });

    it("a gateway's usage receipt verifies with viem verifyTypedData; a tampered one does not", async () => {
      const f = fx();
      const gateway = f.carol;
      const receipt: UsageReceipt = {
        requestId: requestIdHash('chatcmpl-123'),
        client: f.alice.address,
        gateway: gateway.address,
        miner: f.erin.address,
        netuid: 1,
        model: 'devnet-chat',
        promptTokens: 12,
        completionTokens: 34,
        priceBlock: 99n,
        cost: 17n,
        cumulative: 1017n,
      };
      const typed = usageReceiptTypedData({
        chainId: f.chain.id,
        paymentEscrow: f.addresses.paymentEscrow as Address,
        receipt,
      });
      assert.equal(typed.domain.name, 'SubnetUsageReceipt');
      assert.equal(typed.domain.version, '1');
      const signature = await gateway.signTypedData(typed);
      assert.equal(await verifyTypedData({ ...typed, address: gateway.address, signature }), true);
      const tampered = usageReceiptTypedData({
        chainId: f.chain.id,
        paymentEscrow: f.addresses.paymentEscrow as Address,
        receipt: { ...receipt, cost: 18n },
      });
      assert.equal(await verifyTypedData({ ...tampered, address: gateway.address, signature }), false);
      assert.equal(await verifyTypedData({ ...typed, address: f.dave.address, signature }), false);
    });
  });

  describe('Pricing split', () => {
    it('defaults to 1000 / 1000 / 500; only the owner sets it, within 10,000 bps; in effect from the next epoch', async () => {
      const f = fx();
      const { pricing } = handles(f);
      assert.deepEqual(await pricing.read.splitAt([1, await f.blockNumber()]), [1000, 1000, 500]);
      await expectRevert(pricing.write.setSplit([1, 100, 100, 100], { account: f.alice }), 'NotSubnetOwner', [
        1,
        f.alice.address,
      ]);
      await expectRevert(
        pricing.write.setSplit([1, 5000, 5000, 1], { account: f.owner }),
        'InvalidSplit',
        [5000, 5000, 1],
      );
      await expectRevert(pricing.write.setSplit([1, 65535, 0, 0], { account: f.owner }), 'InvalidSplit');
      await expectRevert(pricing.write.setSplit([9, 1, 1, 1], { account: f.owner }), 'SubnetNotFound');
      assert.equal((await pricing.read.getSplitHistory([1])).length, 0);
      const before = await f.blockNumber();
      const r = await f.mined(pricing.write.setSplit([1, 2000, 500, 0], { account: f.owner }));
      gas.setSplitFirst = r.gasUsed;
      const [ev] = parseEventLogs({ abi: pricingAbi, logs: r.logs, eventName: 'SplitSet' });
      const epoch = await f.subnets.read.currentEpoch([1]);
      const boundary = await f.subnets.read.epochStartBlock([1, epoch + 1n]);
      assert.equal(ev?.args.effectiveBlock, boundary);
      // A second change in the same epoch replaces the pending one.
      gas.setSplitReplace = (
        await f.mined(pricing.write.setSplit([1, 3000, 1000, 1000], { account: f.owner }))
      ).gasUsed;
      assert.deepEqual(await pricing.read.splitAt([1, await f.blockNumber()]), [1000, 1000, 500]);
      assert.deepEqual(await pricing.read.splitAt([1, boundary - 1n]), [1000, 1000, 500]);
      assert.deepEqual(await pricing.read.splitAt([1, boundary]), [3000, 1000, 1000]);
      assert.deepEqual(await pricing.read.splitAt([1, before]), [1000, 1000, 500]);
      assert.equal((await pricing.read.getSplitHistory([1])).length, 1);
      // 10,000 bps in all is allowed (the miners get nothing).
      await f.mined(pricing.write.setSplit([1, 10_000, 0, 0], { account: f.owner }));
    });

    it('a split change mid-epoch: a settlement in the same epoch uses the old split, after the boundary the new', async () => {
      const f = fx();
      const { pricing, escrow, usd } = handles(f);
      const { carol: gateway, erin: miner } = f;
      await f.mined(pricing.write.setSplit([1, 0, 0, 10_000], { account: f.owner }));
      const epoch = await f.subnets.read.currentEpoch([1]);
      const boundary = await f.subnets.read.epochStartBlock([1, epoch + 1n]);
      // Still this epoch: the default split (1000 bps of 10 USD = 1 USD each to gateway and owner).
      const r = await f.mined(
        escrow.write.settle([1, [], 10n * USD, [{ miner: miner.address, amount: (75n * USD) / 10n }]], {
          account: gateway,
        }),
      );
      const [s] = parseEventLogs({ abi: paymentEscrowAbi, logs: r.logs, eventName: 'Settled' });
      assert.equal(s?.args.burned, USD / 2n);
      // The shares computed for the new split are refused until the boundary…
      await expectRevert(
        escrow.write.settle([1, [], 10n * USD, []], { account: gateway }),
        'MinerTotalMismatch',
        [(75n * USD) / 10n, 0n],
      );
      await f.nextTxAt(boundary);
      const burnt = await usd.read.balanceOf([BURN]);
      const r2 = await f.mined(escrow.write.settle([1, [], 10n * USD, []], { account: gateway }));
      const [s2] = parseEventLogs({ abi: paymentEscrowAbi, logs: r2.logs, eventName: 'Settled' });
      assert.equal(s2?.args.burned, 10n * USD);
      assert.equal(s2?.args.minerTotal, 0n);
      assert.equal(await usd.read.balanceOf([BURN]), burnt + 10n * USD);
    });
  });

  describe('PaymentEscrow settle', () => {
    it('collects vouchers and direct revenue, splits to the unit, credits miners; they claim once', async () => {
      const f = fx();
      const { usd, escrow } = handles(f);
      const { alice, bob, carol: gateway, owner, dave: m1, erin: m2 } = f;
      await f.mined(escrow.write.deposit([gateway.address, 100n * USD], { account: alice }));
      // bob's account is funded by someone else (depositFor: how a gateway returns an x402 overpayment).
      const r0 = await f.mined(
        escrow.write.depositFor([bob.address, gateway.address, 50n * USD], { account: f.frank }),
      );
      gas.depositFor = r0.gasUsed;
      const [dep] = parseEventLogs({ abi: paymentEscrowAbi, logs: r0.logs, eventName: 'Deposited' });
      assert.equal(dep?.args.client, bob.address);
      assert.equal((await escrow.read.getAccount([bob.address, gateway.address])).balance, 50n * USD);
      const va = await authorize(f, alice, gateway.address, 60n * USD);
      const vb = await authorize(f, bob, gateway.address, 60n * USD);
      const vouchers: Voucher[] = [
        { ...va, cumulative: 12_345_678n },
        { ...vb, cumulative: 3n * USD },
      ];
      const direct = 1_000_001n;
      const total = 12_345_678n + 3n * USD + direct;
      const parts = splitRevenue(total, DEFAULT_REVENUE_SPLIT);
      const shares = minerShares(parts.minerTotal, [
        { miner: m1.address, weight: 2n },
        { miner: m2.address, weight: 1n },
      ]);
      const before = {
        gateway: await usd.read.balanceOf([gateway.address]),
        owner: await usd.read.balanceOf([owner.address]),
        burn: await usd.read.balanceOf([BURN]),
        escrow: await usd.read.balanceOf([escrow.address]),
      };
      const r = await f.mined(escrow.write.settle([1, vouchers, direct, shares], { account: gateway }));
      gas.settle2VouchersDirect2Miners = r.gasUsed;
      const [s] = parseEventLogs({ abi: paymentEscrowAbi, logs: r.logs, eventName: 'Settled' });
      assert.deepEqual(
        [s?.args.settlementId, s?.args.gateway, s?.args.netuid, s?.args.total],
        [1n, gateway.address, 1, total],
      );
      assert.deepEqual(
        [s?.args.validatorFee, s?.args.ownerFee, s?.args.burned, s?.args.minerTotal],
        [parts.validatorFee, parts.ownerFee, parts.burned, parts.minerTotal],
      );
      assert.equal(parts.validatorFee + parts.ownerFee + parts.burned + parts.minerTotal, total);
      const credited = parseEventLogs({ abi: paymentEscrowAbi, logs: r.logs, eventName: 'MinerCredited' });
      assert.deepEqual(
        credited.map((e) => [e.args.settlementId, e.args.miner, e.args.amount]),
        shares.map((x) => [1n, x.miner, x.amount]),
      );
      assert.equal(await usd.read.balanceOf([gateway.address]), before.gateway - direct + parts.validatorFee);
      assert.equal(await usd.read.balanceOf([owner.address]), before.owner + parts.ownerFee);
      assert.equal(await usd.read.balanceOf([BURN]), before.burn + parts.burned);
      assert.equal(
        await usd.read.balanceOf([escrow.address]),
        before.escrow - 12_345_678n - 3n * USD + parts.minerTotal,
      );
      assert.equal(await escrow.read.settlementCount(), 1n);
      assert.equal(
        (await escrow.read.getAccount([alice.address, gateway.address])).balance,
        100n * USD - 12_345_678n,
      );
      const [s1, s2] = shares as [MinerShare, MinerShare];
      assert.deepEqual(await escrow.read.earningsOf([m1.address]), [s1.amount, 0n]);
      const m1Before = await usd.read.balanceOf([m1.address]);
      const c = await f.mined(escrow.write.claimEarnings({ account: m1 }));
      gas.claimEarnings = c.gasUsed;
      const [claimed] = parseEventLogs({ abi: paymentEscrowAbi, logs: c.logs, eventName: 'EarningsClaimed' });
      assert.equal(claimed?.args.amount, s1.amount);
      assert.equal(await usd.read.balanceOf([m1.address]), m1Before + s1.amount);
      assert.deepEqual(await escrow.read.earningsOf([m1.address]), [0n, s1.amount]);
      // Nothing left to claim; someone who never earned has nothing either.
      await expectRevert(escrow.write.claimEarnings({ account: m1 }), 'ZeroAmount');
      await expectRevert(escrow.write.claimEarnings({ account: f.frank }), 'ZeroAmount');
      assert.deepEqual(await escrow.read.earningsOf([m2.address]), [s2.amount, 0n]);
      // Settling the same vouchers again (a retry or a replay): refused, nothing moves.
      await expectRevert(
        escrow.write.settle([1, vouchers, 0n, []], { account: gateway }),
        'AlreadyCollected',
        [12_345_678n, 12_345_678n],
      );
      assert.equal(await escrow.read.settlementCount(), 1n);
    });

    it('refuses every bad settlement, leaving balances, earnings and collected totals unchanged', async () => {
      const f = fx();
      const { usd, escrow } = handles(f);
      const { alice, carol: gateway, dave: miner, erin, frank } = f;
      await f.mined(escrow.write.deposit([gateway.address, 100n * USD], { account: alice }));
      const v = await authorize(f, alice, gateway.address, 10n * USD, 300n);
      const ok: Voucher = { ...v, cumulative: 4n * USD };
      const share = (amount: bigint) => [{ miner: miner.address, amount }];
      const minerTotal = splitRevenue(4n * USD, DEFAULT_REVENUE_SPLIT).minerTotal;
      const snapshot = async () => [
        await usd.read.balanceOf([escrow.address]),
        await usd.read.balanceOf([gateway.address]),
        (await escrow.read.getAccount([alice.address, gateway.address])).balance,
        await escrow.read.earningsOf([miner.address]),
        await escrow.read.collected([v.authorization]),
        await escrow.read.settlementCount(),
      ];
      const start = await snapshot();
      const settle = (vouchers: Voucher[], direct: bigint, shares: MinerShare[], account = gateway) =>
        escrow.write.settle([1, vouchers, direct, shares], { account });
      await expectRevert(settle([], 0n, []), 'EmptySettlement');
      await expectRevert(settle([ok], 0n, share(minerTotal + 1n)), 'MinerTotalMismatch', [
        minerTotal,
        minerTotal + 1n,
      ]);
      await expectRevert(settle([ok], 0n, share(minerTotal - 1n)), 'MinerTotalMismatch', [
        minerTotal,
        minerTotal - 1n,
      ]);
      await expectRevert(settle([ok], 0n, []), 'MinerTotalMismatch', [minerTotal, 0n]);
      await expectRevert(
        settle([ok], 0n, [...share(minerTotal), { miner: erin.address, amount: 0n }]),
        'InvalidMinerShare',
        [1n],
      );
      await expectRevert(
        settle([ok], 0n, [{ miner: zeroAddress, amount: minerTotal }]),
        'InvalidMinerShare',
        [0n],
      );
      // Over cap, forged, tampered, another gateway's voucher.
      await expectRevert(settle([{ ...v, cumulative: 10n * USD + 1n }], 0n, []), 'OverCap');
      const forged = await authorize(f, erin, gateway.address, 10n * USD);
      await expectRevert(
        settle([{ authorization: v.authorization, signature: forged.signature, cumulative: USD }], 0n, []),
        'InvalidSignature',
      );
      await expectRevert(
        settle(
          [{ ...v, authorization: { ...v.authorization, cap: 90n * USD }, cumulative: 4n * USD }],
          0n,
          [],
        ),
        'InvalidSignature',
      );
      await expectRevert(settle([ok], 0n, share(minerTotal), frank), 'NotGateway');
      // The same voucher twice in one settlement: the second is a replay.
      await expectRevert(settle([ok, ok], 0n, share(minerTotal * 2n)), 'AlreadyCollected');
      // Direct revenue the gateway has not approved / does not hold.
      await expectRevert(
        settle([], 2_000_000n * USD, share(splitRevenue(2_000_000n * USD, DEFAULT_REVENUE_SPLIT).minerTotal)),
        'ERC20InsufficientBalance',
      );
      assert.deepEqual(await snapshot(), start);
      // Expired: after the expiry nothing can be collected under it.
      await f.testClient.increaseTime({ seconds: 301 });
      await f.mine(1);
      await expectRevert(settle([ok], 0n, share(minerTotal)), 'AuthorizationExpired');
      assert.deepEqual(await snapshot(), start);
    });

    it('settle and claimEarnings cannot be re-entered from the token (nothing moves)', async () => {
      const f = fx();
      const client = { public: f.publicClient, wallet: f.walletClient };
      const { alice, carol: gateway, erin: miner, deployer } = f;
      const deploy = async (
        abi: typeof reentrantTokenAbi | typeof paymentEscrowAbi,
        bytecode: Hex,
        args: unknown[],
      ) => {
        const r = await f.mined(
          f.walletClient.deployContract({ abi, bytecode, args, account: deployer, chain: f.chain } as never),
        );
        return r.contractAddress as Address;
      };
      const tokenAddress = await deploy(reentrantTokenAbi, reentrantTokenBytecode, [10n ** 15n]);
      const escrowAddress = await deploy(paymentEscrowAbi, paymentEscrowBytecode, [
        tokenAddress,
        NOTICE,
        f.addresses.pricing,
      ]);
      const token = getContract({ address: tokenAddress, abi: reentrantTokenAbi, client });
      const escrow = getContract({ address: escrowAddress, abi: paymentEscrowAbi, client });
      for (const who of [alice, gateway]) {
        await f.mined(token.write.transfer([who.address, 10n ** 12n], { account: deployer }));
        await f.mined(token.write.approve([escrowAddress, 2n ** 255n], { account: who }));
      }
      await f.mined(escrow.write.deposit([gateway.address, 1_000_000n], { account: alice }));
      const authorization: SpendingAuthorization = {
        client: alice.address,
        gateway: gateway.address,
        cap: 1_000_000n,
        expiry: (await now(f)) + 3600n,
        nonce: randomNonce(),
      };
      const signature = await alice.signTypedData(
        spendingAuthorizationTypedData({ chainId: f.chain.id, paymentEscrow: escrowAddress, authorization }),
      );
      const claim = encodeFunctionData({ abi: paymentEscrowAbi, functionName: 'claimEarnings' });
      const arm = (payload: Hex) => f.mined(token.write.arm([escrowAddress, payload], { account: deployer }));
      const shares = [{ miner: miner.address, amount: 750_000n }];
      const vouchers = [{ authorization, signature, cumulative: 1_000_000n }];
      await arm(claim);
      await expectRevert(
        escrow.write.settle([1, vouchers, 0n, shares], { account: gateway }),
        'ReentrancyGuardReentrantCall',
      );
      assert.equal((await escrow.read.getAccount([alice.address, gateway.address])).balance, 1_000_000n);
      await f.mined(token.write.arm([zeroAddress, '0x'], { account: deployer }));
      await f.mined(escrow.write.settle([1, vouchers, 0n, shares], { account: gateway }));
      await arm(claim);
      await expectRevert(escrow.write.claimEarnings({ account: miner }), 'ReentrancyGuardReentrantCall');
      assert.deepEqual(await escrow.read.earningsOf([miner.address]), [750_000n, 0n]);
      await f.mined(token.write.arm([zeroAddress, '0x'], { account: deployer }));
      await f.mined(escrow.write.claimEarnings({ account: miner }));
      assert.equal(await token.read.balanceOf([miner.address]), 750_000n);
    });

    it('depositFor refuses the zero address and zero amounts', async () => {
      const f = fx();
      const { escrow } = handles(f);
      const { alice, carol } = f;
      await expectRevert(
        escrow.write.depositFor([zeroAddress, carol.address, USD], { account: alice }),
        'ZeroAddress',
      );
      await expectRevert(
        escrow.write.depositFor([alice.address, zeroAddress, USD], { account: alice }),
        'ZeroAddress',
      );
      await expectRevert(
        escrow.write.depositFor([alice.address, carol.address, 0n], { account: alice }),
        'ZeroAmount',
      );
      assert.deepEqual(await escrow.read.getAccount([alice.address, carol.address]), {
        balance: 0n,
        pendingWithdrawal: 0n,
        withdrawableAt: 0n,
      });
    });

    it(`randomized: deposits = collected + withdrawn + balance; escrow = balances + unclaimed; T = fees + burn + miners (seed ${SEED})`, async () => {
      const f = fx();
      const { usd, escrow, pricing } = handles(f);
      const rand = prng(SEED + 1);
      const clients = [f.alice, f.bob] as const;
      const gateways = [f.carol, f.dave] as const;
      const miners = [f.erin, f.frank, f.owner] as const;
      const splits = [
        { validatorBps: 1000, ownerBps: 1000, burnBps: 500 },
        { validatorBps: 333, ownerBps: 777, burnBps: 1 },
        { validatorBps: 0, ownerBps: 0, burnBps: 0 },
        { validatorBps: 2500, ownerBps: 2500, burnBps: 5000 },
      ];
      for (const g of gateways)
        await f.mined(usd.write.approve([escrow.address, 2n ** 255n], { account: g }));
      type Acct = {
        balance: bigint;
        pending: bigint;
        deposited: bigint;
        collected: bigint;
        withdrawn: bigint;
      };
      const accts = new Map<string, Acct>();
      const acct = (c: number, g: number): Acct => {
        const key = `${c}:${g}`;
        let a = accts.get(key);
        if (a === undefined) {
          a = { balance: 0n, pending: 0n, deposited: 0n, collected: 0n, withdrawn: 0n };
          accts.set(key, a);
        }
        return a;
      };
      const unclaimed = new Map<Address, bigint>();
      const auths: { c: number; g: number; v: Awaited<ReturnType<typeof authorize>>; collected: bigint }[] =
        [];
      const supply = await usd.read.totalSupply();
      const counts: Record<string, number> = {};
      for (let i = 0; i < 120; i++) {
        const c = rand(clients.length);
        const g = rand(gateways.length);
        const client = clients[c] as PrivateKeyAccount;
        const gateway = gateways[g] as PrivateKeyAccount;
        const a = acct(c, g);
        const op = rand(12);
        let name: string;
        if (op < 2) {
          name = 'deposit';
          const amount = BigInt(1 + rand(5_000_000));
          await f.mined(escrow.write.deposit([gateway.address, amount], { account: client }));
          a.balance += amount;
          a.deposited += amount;
        } else if (op < 3) {
          name = 'depositFor';
          const amount = BigInt(1 + rand(500_000));
          await f.mined(
            escrow.write.depositFor([client.address, gateway.address, amount], { account: gateway }),
          );
          a.balance += amount;
          a.deposited += amount;
        } else if (op < 4) {
          name = 'authorize';
          auths.push({
            c,
            g,
            v: await authorize(f, client, gateway.address, BigInt(rand(8_000_000)), 100_000n),
            collected: 0n,
          });
        } else if (op < 8) {
          // A settlement by gateway g: some of its vouchers (fresh increases within cap and balance), some direct.
          const mine = auths.filter((x) => x.g === g);
          const vouchers: Voucher[] = [];
          const taken: { x: (typeof auths)[0]; amount: bigint }[] = [];
          const debit = new Map<string, bigint>();
          for (const x of mine) {
            if (rand(2) === 0) continue;
            const xa = acct(x.c, x.g);
            const room = x.v.authorization.cap - x.collected;
            const left = xa.balance - (debit.get(`${x.c}`) ?? 0n);
            const max = room < left ? room : left;
            if (max <= 0n) continue;
            const amount = 1n + BigInt(rand(Number(max > 2n ** 30n ? 2n ** 30n : max)));
            vouchers.push({ ...x.v, cumulative: x.collected + amount });
            taken.push({ x, amount });
            debit.set(`${x.c}`, (debit.get(`${x.c}`) ?? 0n) + amount);
          }
          const direct = rand(3) === 0 ? BigInt(rand(2_000_000)) : 0n;
          const collected = taken.reduce((s, t) => s + t.amount, 0n);
          const total = collected + direct;
          const split = await pricing.read.splitAt([1, (await f.blockNumber()) + 1n]);
          const parts = splitRevenue(total, {
            validatorBps: split[0],
            ownerBps: split[1],
            burnBps: split[2],
          });
          const shares = minerShares(
            parts.minerTotal,
            miners
              .map((m) => ({ miner: m.address, weight: BigInt(rand(4)) }))
              .concat([{ miner: miners[0].address, weight: 1n }]),
          );
          if (total === 0n) {
            name = 'refused:EmptySettlement';
            await expectRevert(
              escrow.write.settle([1, vouchers, direct, shares], { account: gateway }),
              'EmptySettlement',
            );
          } else {
            name = 'settle';
            const r = await f.mined(escrow.write.settle([1, vouchers, direct, shares], { account: gateway }));
            const [s] = parseEventLogs({ abi: paymentEscrowAbi, logs: r.logs, eventName: 'Settled' });
            assert.equal(s?.args.total, total);
            assert.equal(
              (s?.args.validatorFee ?? 0n) +
                (s?.args.ownerFee ?? 0n) +
                (s?.args.burned ?? 0n) +
                (s?.args.minerTotal ?? 0n),
              total,
              `op ${i}: T = fees + burn + miners`,
            );
            assert.equal(s?.args.minerTotal, parts.minerTotal);
            for (const t of taken) {
              t.x.collected += t.amount;
              const xa = acct(t.x.c, t.x.g);
              xa.balance -= t.amount;
              xa.collected += t.amount;
            }
            for (const sh of shares) unclaimed.set(sh.miner, (unclaimed.get(sh.miner) ?? 0n) + sh.amount);
          }
        } else if (op < 9) {
          const m = miners[rand(miners.length)] as PrivateKeyAccount;
          if ((unclaimed.get(m.address) ?? 0n) === 0n) {
            name = 'refused:ZeroAmount';
            await expectRevert(escrow.write.claimEarnings({ account: m }), 'ZeroAmount');
          } else {
            name = 'claim';
            await f.mined(escrow.write.claimEarnings({ account: m }));
            unclaimed.set(m.address, 0n);
          }
        } else if (op < 10 && a.balance > 0n) {
          name = 'requestWithdrawal';
          const amount = 1n + BigInt(rand(Number(a.balance)));
          await f.mined(escrow.write.requestWithdrawal([gateway.address, amount], { account: client }));
          a.pending = amount;
        } else if (op < 11 && a.pending > 0n) {
          name = 'completeWithdrawal';
          await f.testClient.increaseTime({ seconds: Number(NOTICE) + 1 });
          await f.mine(1);
          await f.mined(escrow.write.completeWithdrawal([gateway.address], { account: client }));
          const amount = a.pending < a.balance ? a.pending : a.balance;
          a.balance -= amount;
          a.withdrawn += amount;
          a.pending = 0n;
        } else {
          name = 'split';
          const s = splits[rand(splits.length)] as (typeof splits)[0];
          await f.mined(
            pricing.write.setSplit([1, s.validatorBps, s.ownerBps, s.burnBps], { account: f.owner }),
          );
          await f.mine(rand(12));
        }
        counts[name] = (counts[name] ?? 0) + 1;
        let balances = 0n;
        for (const [key, m] of accts) {
          const [ci, gi] = key.split(':').map(Number) as [number, number];
          const onChain = await escrow.read.getAccount([
            (clients[ci] as PrivateKeyAccount).address,
            (gateways[gi] as PrivateKeyAccount).address,
          ]);
          assert.equal(onChain.balance, m.balance, `op ${i} ${name}: balance ${key}`);
          assert.equal(
            m.deposited,
            m.collected + m.withdrawn + m.balance,
            `op ${i}: deposits = spent + out + left`,
          );
          balances += m.balance;
        }
        let owed = 0n;
        for (const [miner, u] of unclaimed) {
          assert.equal((await escrow.read.earningsOf([miner]))[0], u, `op ${i} ${name}: unclaimed ${miner}`);
          owed += u;
        }
        assert.equal(
          await usd.read.balanceOf([escrow.address]),
          balances + owed,
          `op ${i} ${name}: escrow holdings`,
        );
      }
      assert.equal(await usd.read.totalSupply(), supply, 'no unit minted or burnt (the burn is a transfer)');
      assert.ok((counts.settle ?? 0) > 10 && (counts.claim ?? 0) > 2, JSON.stringify(counts));
      console.log(`settlement invariant seed ${SEED}: ${JSON.stringify(counts)}`);
    });

    it('gas per operation stays within bounds', () => {
      console.log(
        `settlement gas: ${JSON.stringify(gas, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`,
      );
      for (const [name, bound] of Object.entries(GAS_BOUNDS)) {
        const used = gas[name];
        assert.ok(used !== undefined, `${name} not measured`);
        assert.ok(used <= bound, `${name}: ${used} gas > ${bound}`);
      }
    });
  });
});

describe('usageReceiptDigest', () => {
  it('equals the generic EIP-712 digest for random receipts, chains and escrows', () => {
    const rnd = prng(42);
    const hex = (bytes: number) =>
      `0x${Array.from({ length: bytes }, () => rnd(256).toString(16).padStart(2, '0')).join('')}` as Hex;
    for (let i = 0; i < 200; i++) {
      const receipt: UsageReceipt = {
        requestId: hex(32),
        client: hex(20),
        gateway: hex(20),
        miner: hex(20),
        netuid: rnd(65_536),
        model: `model-${i}-${'é'.repeat(i % 5)}`,
        promptTokens: rnd(2 ** 32),
        completionTokens: rnd(2 ** 32),
        priceBlock: BigInt(rnd(2 ** 31)) * 65_537n,
        cost: BigInt(rnd(2 ** 31)) * 1_000_003n,
        cumulative: BigInt(rnd(2 ** 31)) ** 4n,
      };
      const p = { chainId: 1 + (i % 3) * 31_336, paymentEscrow: hex(20), receipt };
      assert.equal(usageReceiptDigest(p), hashTypedData(usageReceiptTypedData(p)));
    }
  });
});
