/**
 * Gas of PaymentEscrow.settle per settled request at batch sizes 1, 100 and 10,000 requests (issue 15's
 * target: ≤ 1,000 gas per request at 10,000). A gateway meters each request against the client's spending
 * authorization and settles one cumulative voucher per client, so a batch of N requests is min(N, 50)
 * clients' vouchers (the requests spread evenly over them) plus the miners' shares of min(N, 8) miners, all
 * in one transaction; the gas does not depend on N beyond that. `first` is a first settlement (fresh
 * storage: each authorization's collected total, each miner's earnings slot), `next` the following one with
 * the same authorizations and miners (the steady state of a gateway settling every interval). Run by
 * `npm run gas` (scripts/gas-report.ts) with GAS_REPORT_FILE, which reports the figures as `settlement`.
 */
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type Address, getContract, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { paymentEscrowAbi, paymentTokenAbi, pricingAbi } from '../src/generated/index.js';
import {
  DEFAULT_REVENUE_SPLIT,
  minerShares,
  randomNonce,
  type SpendingAuthorization,
  spendingAuthorizationTypedData,
  splitRevenue,
} from '../src/payments.js';
import { defaultHyperparams, useFixture } from './fixture.js';

const USD = 10n ** 6n;
/** Units one request costs in this measurement (any positive figure: the gas does not depend on it). */
const COST = 1_234n;
const TARGET_PER_REQUEST_AT_10000 = 1_000;

describe('settlement gas', () => {
  const fx = useFixture({ subnet: defaultHyperparams, deploy: { payments: { noticePeriod: 600n } } });

  it('settle: gas per request at 1, 100 and 10,000 requests (≤ 1,000 at 10,000)', async () => {
    const f = fx();
    const client = { public: f.publicClient, wallet: f.walletClient };
    const usd = getContract({ address: f.addresses.paymentToken as Address, abi: paymentTokenAbi, client });
    const escrow = getContract({
      address: f.addresses.paymentEscrow as Address,
      abi: paymentEscrowAbi,
      client,
    });
    const pricing = getContract({ address: f.addresses.pricing as Address, abi: pricingAbi, client });
    const gateway = f.carol;
    assert.deepEqual(await pricing.read.splitAt([1, await f.blockNumber()]), [1000, 1000, 500]);
    await f.mined(usd.write.mint([f.deployer.address, 10n ** 12n * USD], { account: f.deployer }));
    await f.mined(usd.write.approve([escrow.address, 2n ** 255n], { account: f.deployer }));
    const expiry = (await f.publicClient.getBlock()).timestamp + 86_400n;
    const figures: Record<string, number> = {};
    for (const requests of [1, 100, 10_000]) {
      const clients = Array.from({ length: Math.min(requests, 50) }, () =>
        privateKeyToAccount(generatePrivateKey()),
      );
      const miners = Array.from(
        { length: Math.min(requests, 8) },
        () => privateKeyToAccount(generatePrivateKey()).address,
      );
      const signed: { authorization: SpendingAuthorization; signature: Hex; requests: bigint }[] = [];
      for (const [i, c] of clients.entries()) {
        // Clients' accounts funded by depositFor (they need no gas here).
        await f.mined(
          escrow.write.depositFor([c.address, gateway.address, 1_000n * USD], { account: f.deployer }),
        );
        const authorization: SpendingAuthorization = {
          client: c.address,
          gateway: gateway.address,
          cap: 1_000n * USD,
          expiry,
          nonce: randomNonce(),
        };
        const signature = await c.signTypedData(
          spendingAuthorizationTypedData({
            chainId: f.chain.id,
            paymentEscrow: escrow.address,
            authorization,
          }),
        );
        const n = Math.floor(requests / clients.length) + (i < requests % clients.length ? 1 : 0);
        signed.push({ authorization, signature, requests: BigInt(n) });
      }
      for (const round of ['first', 'next'] as const) {
        const k = round === 'first' ? 1n : 2n;
        const vouchers = signed.map((s) => ({
          authorization: s.authorization,
          signature: s.signature,
          cumulative: s.requests * COST * k,
        }));
        const total = BigInt(requests) * COST;
        const { minerTotal } = splitRevenue(total, DEFAULT_REVENUE_SPLIT);
        const shares = minerShares(
          minerTotal,
          miners.map((miner, i) => ({
            miner,
            weight: BigInt(Math.floor(requests / miners.length) + (i % 3)),
          })),
        );
        assert.equal(shares.length, miners.length);
        const r = await f.mined(escrow.write.settle([1, vouchers, 0n, shares], { account: gateway }));
        assert.equal(r.status, 'success');
        figures[`settle${requests}${round === 'first' ? 'First' : 'Next'}`] = Number(r.gasUsed);
        figures[`perRequest${requests}${round === 'first' ? 'First' : 'Next'}`] = Math.ceil(
          Number(r.gasUsed) / requests,
        );
      }
    }
    console.log(`settlement gas: ${JSON.stringify(figures)}`);
    const file = process.env.GAS_REPORT_FILE;
    if (file !== undefined && file !== '')
      appendFileSync(file, `${JSON.stringify({ section: 'settlement', gas: figures })}\n`);
    assert.ok(
      (figures.perRequest10000First ?? Number.POSITIVE_INFINITY) <= TARGET_PER_REQUEST_AT_10000,
      `settle at 10,000 requests: ${figures.perRequest10000First} gas per request > ${TARGET_PER_REQUEST_AT_10000}`,
    );
  });
});
