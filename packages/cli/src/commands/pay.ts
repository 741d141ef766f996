/**
 * `subnet pay …` (issue 15, docs/payments.md): a client's prepaid account with a gateway (deposit, balance,
 * withdraw), an API key bound to it that the client makes itself by signing a spending authorization
 * (`pay key`), the subnet owner's prices and revenue split, a miner's payment earnings. Amounts are in sUSD
 * (the payment token's whole units, 6 decimals) in and out; `--json` prints raw units as decimal strings.
 * Reverts are reported by their custom error's name.
 */
import { randomNonce, spendingAuthorizationTypedData } from '@subnet/contracts';
import type { Command } from 'commander';
import { formatUnits, parseUnits } from 'viem';
import { type GlobalOpts, output, withProgress } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';
import {
  type ChainFlags,
  type ChainSetup,
  chainFailure,
  chainSetup,
  intOption,
  type SignerFlags,
  withChainOptions,
  withSignerOptions,
} from './chainContext.js';

type Flags = ChainFlags & SignerFlags & Record<string, string | boolean | undefined>;
type Address = `0x${string}`;

/** The payment token's decimals (the devnet's sUSD, like USDC). */
const DECIMALS = 6;

/** Parses a human sUSD amount ("1.5") into units; a usage error when it is not one. */
export function parseSusd(text: string | undefined, what: string, allowZero = false): bigint {
  if (text === undefined || !/^\d+(\.\d{1,6})?$/.test(text.trim())) {
    throw new CliError(
      ExitCode.USAGE,
      `${what} must be a decimal number of sUSD with at most 6 decimals, got ${text}`,
    );
  }
  const units = parseUnits(text.trim(), DECIMALS);
  if (units === 0n && !allowZero) throw new CliError(ExitCode.USAGE, `${what} must be positive`);
  return units;
}

export function formatSusd(units: bigint): string {
  return `${formatUnits(units, DECIMALS)} sUSD`;
}

/** `30d`, `12h`, `90m`, `45s` or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (m === null)
    throw new CliError(ExitCode.USAGE, `--expiry must be a duration like 30d, 12h or 3600, got ${text}`);
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  const s = Number(m[1]) * mult;
  if (s <= 0) throw new CliError(ExitCode.USAGE, '--expiry must be positive');
  return s;
}

async function run<T>(
  cmd: Command,
  label: string,
  work: (g: GlobalOpts, f: Flags) => Promise<T>,
): Promise<T> {
  const global = cmd.optsWithGlobals<GlobalOpts>();
  const flags = cmd.opts<Flags>();
  return withProgress(global, label, () => work(global, flags)).catch(chainFailure);
}

/** The signing wallet: `--wallet`, else the devnet's funded client wallet, else `default`. */
function clientWallet(s: ChainSetup, f: Flags): Flags {
  return { ...f, wallet: f.wallet || s.network.payments?.clientWallet || 'default' };
}

/** The gateway: an address or a validator's wallet name (its default hotkey); default the devnet's first validator. */
async function gatewayOf(s: ChainSetup, f: Flags): Promise<Address> {
  if (typeof f.gateway === 'string') return s.hotkeyAddress(f.gateway, f);
  const v = s.network.neurons?.find((n) => n.role === 'validator');
  if (v === undefined)
    throw new CliError(ExitCode.USAGE, '--gateway is required (no devnet validator in the network file)');
  return v.hotkey as Address;
}

/** A wallet's coldkey address, read without the password. */
async function coldkeyAddress(s: ChainSetup, f: Flags): Promise<Address> {
  const w = await import('@subnet/wallet');
  const store = w.createWalletStore({ dir: f.walletDir ?? w.defaultWalletDir(s.config.dataDir) });
  const info = await store.show(f.wallet ?? 'default').catch(chainFailure);
  if (info.coldkey.address === null)
    throw new CliError(ExitCode.USAGE, `wallet ${f.wallet} has no coldkey address`);
  return info.coldkey.address;
}

function netuidOf(s: ChainSetup, f: Flags): number {
  if (f.netuid !== undefined) return intOption(f.netuid as string, '--netuid', 1);
  if (s.network.netuid === undefined) throw new CliError(ExitCode.USAGE, '--netuid is required');
  return s.network.netuid;
}

const txJson = (tx: { hash: string; receipt: { gasUsed: bigint } }) => ({
  txHash: tx.hash,
  gasUsed: Number(tx.receipt.gasUsed),
});

export function registerPay(program: Command): void {
  const pay = program
    .command('pay')
    .description('Pay for inference: prepaid accounts, API keys, prices, earnings');
  const cmd = (parent: Command, name: string, description: string, wallet = '') =>
    withSignerOptions(withChainOptions(parent.command(name).description(description)), wallet);

  cmd(pay, 'deposit', "Deposit sUSD into the wallet's account with a gateway (approve + deposit)")
    .requiredOption('--amount <sUSD>', 'amount in sUSD, e.g. 25 or 0.5')
    .option(
      '--gateway <address|wallet>',
      "the gateway's address or validator wallet (default: the devnet's validator1)",
    )
    .action(async (_o, c: Command) => {
      const r = await run(c, 'depositing…', async (g, f0) => {
        const s = await chainSetup(g, f0);
        const f = clientWallet(s, f0);
        const amount = parseSusd(f.amount as string, '--amount');
        const gateway = await gatewayOf(s, f);
        const signer = await s.signer(f, 'coldkey');
        const tx = await s.chain.depositPayment(signer.chain, { gateway, amount });
        const account = await s.chain.getPaymentAccount(s.sdk.chain, {
          client: signer.address as Address,
          gateway,
        });
        return { tx, account };
      });
      output(
        c.optsWithGlobals<GlobalOpts>(),
        {
          ...txJson(r.tx),
          client: r.account.client,
          gateway: r.account.gateway,
          balance: r.account.balance.toString(),
        },
        () =>
          `deposited; balance with ${r.account.gateway} is ${formatSusd(r.account.balance)} (tx ${r.tx.hash})`,
      );
    });

  cmd(pay, 'balance', "A client's account with a gateway and its wallet's sUSD")
    .option(
      '--gateway <address|wallet>',
      "the gateway's address or validator wallet (default: the devnet's validator1)",
    )
    .option('--client <address>', 'the client address (default: the wallet’s coldkey)')
    .action(async (_o, c: Command) => {
      const a = await run(c, 'reading…', async (g, f0) => {
        const s = await chainSetup(g, f0);
        const f = clientWallet(s, f0);
        const gateway = await gatewayOf(s, f);
        const client =
          typeof f.client === 'string'
            ? (s.chain.checkAddress(f.client, '--client') as Address)
            : await coldkeyAddress(s, f);
        return s.chain.getPaymentAccount(s.sdk.chain, { client, gateway });
      });
      output(
        c.optsWithGlobals<GlobalOpts>(),
        {
          client: a.client,
          gateway: a.gateway,
          balance: a.balance.toString(),
          pendingWithdrawal: a.pendingWithdrawal.toString(),
          withdrawableAt: Number(a.withdrawableAt),
          spendable: a.spendable.toString(),
          walletBalance: a.walletBalance.toString(),
        },
        () =>
          [
            `client   ${a.client}`,
            `gateway  ${a.gateway}`,
            `balance  ${formatSusd(a.balance)} (spendable ${formatSusd(a.spendable)})`,
            a.pendingWithdrawal > 0n
              ? `pending  ${formatSusd(a.pendingWithdrawal)} withdrawable at ${new Date(Number(a.withdrawableAt) * 1000).toISOString()}`
              : 'pending  none',
            `wallet   ${formatSusd(a.walletBalance)}`,
          ].join('\n'),
      );
    });

  cmd(
    pay,
    'withdraw',
    'Request a withdrawal (--amount), complete it after the notice (--complete) or --cancel it',
  )
    .option('--amount <sUSD>', 'amount to request')
    .option('--complete', 'pay out the matured withdrawal')
    .option('--cancel', 'cancel the pending withdrawal')
    .option(
      '--gateway <address|wallet>',
      "the gateway's address or validator wallet (default: the devnet's validator1)",
    )
    .action(async (_o, c: Command) => {
      const r = await run(c, 'withdrawing…', async (g, f0) => {
        const s = await chainSetup(g, f0);
        const f = clientWallet(s, f0);
        const modes = [f.amount !== undefined, f.complete === true, f.cancel === true].filter(Boolean).length;
        if (modes !== 1)
          throw new CliError(ExitCode.USAGE, 'give exactly one of --amount, --complete, --cancel');
        const amount = f.amount === undefined ? 0n : parseSusd(f.amount as string, '--amount');
        const gateway = await gatewayOf(s, f);
        const signer = await s.signer(f, 'coldkey');
        if (f.complete === true) {
          const tx = await s.chain.completePaymentWithdrawal(signer.chain, { gateway });
          return {
            json: { ...txJson(tx), amount: tx.amount.toString() },
            text: `withdrew ${formatSusd(tx.amount)} (tx ${tx.hash})`,
          };
        }
        if (f.cancel === true) {
          const tx = await s.chain.cancelPaymentWithdrawal(signer.chain, { gateway });
          return { json: txJson(tx), text: `withdrawal cancelled (tx ${tx.hash})` };
        }
        const tx = await s.chain.requestPaymentWithdrawal(signer.chain, { gateway, amount });
        return {
          json: { ...txJson(tx), amount: amount.toString(), withdrawableAt: Number(tx.withdrawableAt) },
          text: `withdrawal of ${formatSusd(amount)} requested; complete it with \`subnet pay withdraw --complete\` after ${new Date(Number(tx.withdrawableAt) * 1000).toISOString()} (tx ${tx.hash})`,
        };
      });
      output(c.optsWithGlobals<GlobalOpts>(), r.json, () => r.text);
    });

  cmd(
    pay,
    'key',
    "Create an API key bound to the wallet's account: sign a spending authorization for a gateway",
  )
    .requiredOption('--gateway-url <url>', 'the gateway root, e.g. http://127.0.0.1:8080')
    .requiredOption('--cap <sUSD>', 'the most the gateway may ever collect with this key')
    .option('--expiry <duration>', 'how long the authorization holds: 30d, 12h, 3600 (seconds)', '30d')
    .action(async (_o, c: Command) => {
      const r = await run(c, 'creating a key…', async (g, f0) => {
        const s = await chainSetup(g, f0);
        const f = clientWallet(s, f0);
        const cap = parseSusd(f.cap as string, '--cap');
        const ttl = parseDuration(f.expiry as string);
        const root = (f.gatewayUrl as string).replace(/\/+$/, '');
        const termsRes = await fetch(`${root}/v1/payments`).catch((err: Error) => {
          throw new CliError(ExitCode.UNREACHABLE, `cannot reach the gateway at ${root}: ${err.message}`);
        });
        if (!termsRes.ok)
          throw new CliError(ExitCode.FAILURE, `GET ${root}/v1/payments answered ${termsRes.status}`);
        const terms = (await termsRes.json()) as { chain_id: number; gateway: Address; escrow: Address };
        const signer = (await s.signer(f, 'coldkey')).chain.wallet?.account;
        if (signer?.signTypedData === undefined)
          throw new CliError(ExitCode.FAILURE, 'the wallet cannot sign typed data');
        const block = await s.sdk.chain.public.getBlock();
        const authorization = {
          client: signer.address,
          gateway: terms.gateway,
          cap,
          expiry: block.timestamp + BigInt(ttl),
          nonce: randomNonce(),
        };
        const signature = await signer.signTypedData(
          spendingAuthorizationTypedData({
            chainId: terms.chain_id,
            paymentEscrow: terms.escrow,
            authorization,
          }),
        );
        const res = await fetch(`${root}/v1/payments/keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            authorization: { ...authorization, cap: cap.toString(), expiry: authorization.expiry.toString() },
            signature,
          }),
        });
        const body = (await res.json().catch(() => ({}))) as {
          key?: string;
          id?: string;
          error?: { message?: string; code?: string };
        };
        if (!res.ok || typeof body.key !== 'string') {
          throw new CliError(
            ExitCode.FAILURE,
            `the gateway refused the key (${res.status}${body.error?.code ? ` ${body.error.code}` : ''}): ${body.error?.message ?? 'no message'}`,
          );
        }
        return {
          key: body.key,
          id: body.id,
          client: signer.address,
          gateway: terms.gateway,
          cap,
          expiry: authorization.expiry,
        };
      });
      output(c.optsWithGlobals<GlobalOpts>(), { ...r, cap: r.cap.toString(), expiry: Number(r.expiry) }, () =>
        [
          `API key ${r.key}`,
          `  bound to ${r.client}'s account with gateway ${r.gateway}, cap ${formatSusd(r.cap)}, until ${new Date(Number(r.expiry) * 1000).toISOString()}`,
          '  shown once: store it now (OPENAI_API_KEY)',
        ].join('\n'),
      );
    });

  const price = pay.command('price').description("The subnet's per-model prices (owner)");
  cmd(
    price,
    'set',
    'Set a model price per million tokens, from the next epoch boundary (the subnet owner)',
    'owner',
  )
    .requiredOption('--model <name>', 'model (or task type) name')
    .requiredOption('--prompt <sUSD>', 'sUSD per million prompt tokens')
    .requiredOption('--completion <sUSD>', 'sUSD per million completion tokens')
    .option('--netuid <n>', "subnet id (default: the network file's)")
    .action(async (_o, c: Command) => {
      const r = await run(c, 'setting the price…', async (g, f) => {
        const s = await chainSetup(g, f);
        const promptPerMillion = parseSusd(f.prompt as string, '--prompt', true);
        const completionPerMillion = parseSusd(f.completion as string, '--completion', true);
        const netuid = netuidOf(s, f);
        const model = f.model as string;
        const tx = await s.chain.setModelPrice((await s.signer(f, 'coldkey')).chain, {
          netuid,
          model,
          promptPerMillion,
          completionPerMillion,
        });
        return { tx, netuid, model, promptPerMillion, completionPerMillion };
      });
      output(
        c.optsWithGlobals<GlobalOpts>(),
        {
          ...txJson(r.tx),
          netuid: r.netuid,
          model: r.model,
          promptPerMillion: r.promptPerMillion.toString(),
          completionPerMillion: r.completionPerMillion.toString(),
        },
        () =>
          `${r.model}: ${formatSusd(r.promptPerMillion)} / ${formatSusd(r.completionPerMillion)} per million prompt / completion tokens from the next epoch (tx ${r.tx.hash})`,
      );
    });

  const split = pay.command('split').description("The subnet's revenue split (owner)");
  cmd(
    split,
    'set',
    'Set the revenue split in basis points, from the next epoch boundary (the subnet owner)',
    'owner',
  )
    .requiredOption('--validator-bps <n>', "the settling validator's fee")
    .requiredOption('--owner-bps <n>', "the subnet owner's fee")
    .requiredOption('--burn-bps <n>', 'burnt')
    .option('--netuid <n>', "subnet id (default: the network file's)")
    .action(async (_o, c: Command) => {
      const r = await run(c, 'setting the split…', async (g, f) => {
        const s = await chainSetup(g, f);
        const bps = {
          validatorBps: intOption(f.validatorBps as string, '--validator-bps', 0, 10_000),
          ownerBps: intOption(f.ownerBps as string, '--owner-bps', 0, 10_000),
          burnBps: intOption(f.burnBps as string, '--burn-bps', 0, 10_000),
        };
        if (bps.validatorBps + bps.ownerBps + bps.burnBps > 10_000) {
          throw new CliError(
            ExitCode.USAGE,
            'the three shares must sum to at most 10000 bps (miners get the rest)',
          );
        }
        const netuid = netuidOf(s, f);
        const tx = await s.chain.setRevenueSplit((await s.signer(f, 'coldkey')).chain, { netuid, ...bps });
        return { tx, netuid, bps };
      });
      const minerBps = 10_000 - r.bps.validatorBps - r.bps.ownerBps - r.bps.burnBps;
      output(
        c.optsWithGlobals<GlobalOpts>(),
        { ...txJson(r.tx), netuid: r.netuid, ...r.bps, minerBps },
        () =>
          `split from the next epoch: validator ${r.bps.validatorBps}, owner ${r.bps.ownerBps}, burn ${r.bps.burnBps}, miners ${minerBps} bps (tx ${r.tx.hash})`,
      );
    });

  cmd(pay, 'earnings', "A miner's payment earnings (default: the wallet's hotkey)")
    .option('--miner <address|wallet>', 'the miner hotkey address or wallet')
    .action(async (_o, c: Command) => {
      const e = await run(c, 'reading…', async (g, f) => {
        const s = await chainSetup(g, f);
        const miner = await s.hotkeyAddress(
          (f.miner as string | undefined) ?? `${f.wallet || 'default'}/${f.hotkey ?? 'default'}`,
          f,
        );
        return s.chain.getMinerEarnings(s.sdk.chain, miner);
      });
      output(
        c.optsWithGlobals<GlobalOpts>(),
        { miner: e.miner, unclaimed: e.unclaimed.toString(), claimed: e.claimed.toString() },
        () => `miner ${e.miner}: unclaimed ${formatSusd(e.unclaimed)}, claimed ${formatSusd(e.claimed)}`,
      );
    });

  cmd(pay, 'claim', "Withdraw the wallet hotkey's unclaimed payment earnings to it").action(
    async (_o, c: Command) => {
      const tx = await run(c, 'claiming…', async (g, f) => {
        const s = await chainSetup(g, f);
        return s.chain.claimMinerEarnings(
          (await s.signer({ ...f, wallet: f.wallet || 'default' }, 'hotkey')).chain,
        );
      });
      output(
        c.optsWithGlobals<GlobalOpts>(),
        { ...txJson(tx), amount: tx.amount.toString() },
        () => `claimed ${formatSusd(tx.amount)} (tx ${tx.hash})`,
      );
    },
  );
}
