/**
 * Chain commands: `metagraph`, `subnet …`, `neuron …`, `stake …`, `weights …` and `faucet`. Every
 * command validates its input before sending anything, prints a readable table or `--json`, and maps
 * reverts (by custom error name), an unreachable RPC and wallet problems to clear messages and exit codes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hyperparams, NeuronInfo, WeightsCommit } from '@subnet/chain';
import type { Command } from 'commander';
import { type GlobalOpts, output, withProgress } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';
import {
  type ChainFlags,
  chainFailure,
  chainSetup,
  formatSub,
  intList,
  intOption,
  type SignerFlags,
  shortAddress,
  table,
  withChainOptions,
  withSignerOptions,
} from './chainContext.js';

type Flags = ChainFlags & SignerFlags & Record<string, string | boolean | undefined>;

/** Runs a chain action with progress, mapping errors. */
async function run<T>(
  cmd: Command,
  label: string,
  work: (global: GlobalOpts, flags: Flags) => Promise<T>,
): Promise<T> {
  const global = cmd.optsWithGlobals<GlobalOpts>();
  const flags = cmd.opts<Flags>();
  return withProgress(global, label, () => work(global, flags)).catch(chainFailure);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function neuronRows(neurons: NeuronInfo[]): string[][] {
  return neurons.map((n) => [
    String(n.uid),
    n.isValidator ? 'validator' : 'miner',
    formatSub(n.stake),
    n.validatorPermit ? 'yes' : 'no',
    formatSub(n.emission),
    n.incentive.toFixed(4),
    n.dividends.toFixed(4),
    n.trust.toFixed(4),
    n.consensus.toFixed(4),
    String(n.lastUpdate),
    shortAddress(n.hotkey),
    shortAddress(n.coldkey),
    n.peerId === '' ? '-' : n.peerId.length > 16 ? `${n.peerId.slice(0, 16)}…` : n.peerId,
  ]);
}
const NEURON_HEADERS = [
  'UID',
  'ROLE',
  'STAKE',
  'PERMIT',
  'EMISSION',
  'INCENTIVE',
  'DIVIDENDS',
  'TRUST',
  'CONSENSUS',
  'UPDATED',
  'HOTKEY',
  'COLDKEY',
  'PEER',
];

const PARAM_KINDS: Record<keyof Hyperparams, 'int' | 'bigint' | 'sub' | 'bool'> = {
  tempo: 'bigint',
  maxAllowedUids: 'int',
  maxValidators: 'int',
  immunityPeriod: 'bigint',
  minStake: 'sub',
  registrationBurn: 'sub',
  maxRegistrationBurn: 'sub',
  kappa: 'int',
  bondsMovingAverage: 'int',
  ownerSplit: 'int',
  minerSplit: 'int',
  validatorSplit: 'int',
  commitRevealPeriod: 'int',
  weightsRateLimit: 'bigint',
  minAllowedWeights: 'int',
  maxWeightLimit: 'int',
  weightsVersionKey: 'bigint',
  registrationAllowed: 'bool',
  burnAdjustmentInterval: 'bigint',
};

function parseParam(
  name: string,
  value: string,
  parseSub: (t: string, w: string) => bigint,
): [keyof Hyperparams, unknown] {
  if (!(name in PARAM_KINDS)) {
    throw new CliError(
      ExitCode.USAGE,
      `unknown hyperparameter ${name}; one of: ${Object.keys(PARAM_KINDS).join(', ')}`,
    );
  }
  const key = name as keyof Hyperparams;
  const kind = PARAM_KINDS[key];
  if (kind === 'bool') {
    if (value !== 'true' && value !== 'false')
      throw new CliError(ExitCode.USAGE, `${name} must be true or false`);
    return [key, value === 'true'];
  }
  if (kind === 'sub') return [key, parseSub(value, name)];
  if (!/^\d+$/.test(value))
    throw new CliError(ExitCode.USAGE, `${name} must be a non-negative integer, got ${value}`);
  return [key, kind === 'bigint' ? BigInt(value) : Number(value)];
}

export function registerChain(program: Command): void {
  withChainOptions(
    program
      .command('metagraph')
      .description(
        "Show every neuron of a subnet: uid, role, stake, permit, the latest finalised epoch's emission, incentive, dividends, trust and consensus, last update, keys, peer",
      )
      .requiredOption('--netuid <n>', 'subnet id'),
  ).action(async (_o, cmd: Command) => {
    const global = cmd.optsWithGlobals<GlobalOpts>();
    const m = await run(cmd, 'reading the metagraph…', async (g, f) => {
      const { sdk, chain } = await chainSetup(g, f);
      const netuid = intOption(f.netuid as string, '--netuid', 1);
      const [subnet, metagraph] = await Promise.all([sdk.getSubnetInfo(netuid), sdk.getMetagraph(netuid)]);
      return { subnet, metagraph, chain };
    });
    const { chain } = m;
    const validators = m.metagraph.neurons.filter((n) => n.isValidator).length;
    output(global, chain.metagraphToJson(m.metagraph), () =>
      [
        `Subnet ${m.subnet.netuid} "${m.subnet.name}" at block ${m.metagraph.block}: ${m.metagraph.neurons.length} neurons (${plural(validators, 'validator')}, ${plural(m.metagraph.neurons.length - validators, 'miner')}), stake and emission in SUB`,
        table(NEURON_HEADERS, neuronRows(m.metagraph.neurons)),
      ].join('\n'),
    );
  });

  const subnet = program.command('subnet').description('Create, inspect and tune subnets');
  withChainOptions(subnet.command('list').description('List every subnet')).action(
    async (_o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const { chain, subnets } = await run(cmd, 'reading subnets…', async (g, f) => {
        const s = await chainSetup(g, f);
        return { chain: s.chain, subnets: await s.sdk.getSubnets() };
      });
      output(global, subnets.map(chain.subnetToJson), () =>
        table(
          ['NETUID', 'NAME', 'OWNER', 'ACTIVE', 'TEMPO', 'LOCKED'],
          subnets.map((s) => [
            String(s.netuid),
            s.name,
            shortAddress(s.owner),
            s.active ? 'yes' : 'no',
            String(s.params.tempo),
            formatSub(s.lockedAmount),
          ]),
        ),
      );
    },
  );
  withChainOptions(
    subnet
      .command('show')
      .description('Show a subnet and its hyperparameters')
      .requiredOption('--netuid <n>', 'subnet id'),
  ).action(async (_o, cmd: Command) => {
    const global = cmd.optsWithGlobals<GlobalOpts>();
    const { chain, info, pending } = await run(cmd, 'reading the subnet…', async (g, f) => {
      const s = await chainSetup(g, f);
      const netuid = intOption(f.netuid as string, '--netuid', 1);
      const [info, pending] = await Promise.all([
        s.sdk.getSubnetInfo(netuid),
        s.sdk.getPendingSubnetParams(netuid),
      ]);
      return { chain: s.chain, info, pending };
    });
    const subnetJson = chain.subnetToJson(info);
    // An owner's change waiting for its epoch boundary, shown beside the values in effect.
    const pendingJson = pending.pending
      ? { effectiveBlock: Number(pending.effectiveBlock), params: chain.paramsToJson(pending.params) }
      : null;
    const json = { ...subnetJson, pendingParams: pendingJson };
    output(global, json, () =>
      [
        `subnet ${json.netuid} "${json.name}" owned by ${json.owner}, ${json.active ? 'active' : 'not active'}`,
        json.description,
        ...Object.entries(json.params).map(([k, v]) => {
          const next = pendingJson?.params[k as keyof typeof pendingJson.params];
          return `  ${k.padEnd(22)} ${v}${next !== undefined && next !== v ? ` (from block ${pendingJson?.effectiveBlock}: ${next})` : ''}`;
        }),
      ].join('\n'),
    );
  });
  withSignerOptions(
    withChainOptions(
      subnet
        .command('create')
        .description('Register a subnet (pays the current lock cost); the signing coldkey owns it')
        .requiredOption('--name <name>', 'subnet name (1..64 bytes)')
        .option('--description <text>', 'what the subnet serves', '')
        .option('--params <file>', 'JSON file of hyperparameters (defaults: the devnet values)')
        .option('--activate', 'activate it at once'),
    ),
  ).action(async (_o, cmd: Command) => {
    const global = cmd.optsWithGlobals<GlobalOpts>();
    const r = await run(cmd, 'registering the subnet…', async (g, f) => {
      const s = await chainSetup(g, f);
      let params: Hyperparams = s.chain.DEVNET_SUBNET_PARAMS;
      if (typeof f.params === 'string') {
        const raw = JSON.parse(await readFile(f.params, 'utf8')) as Record<string, string | number | boolean>;
        const merged: Record<string, unknown> = { ...params };
        for (const [k, v] of Object.entries(raw)) {
          const [key, value] = parseParam(k, String(v), s.chain.parseSub);
          merged[key] = value;
        }
        params = merged as Hyperparams;
      }
      const sdk = await s.signer(f, 'coldkey');
      const out = await sdk.registerSubnet({
        name: f.name as string,
        description: f.description as string,
        params,
      });
      if (f.activate === true) await sdk.activateSubnet(out.netuid);
      return out;
    });
    output(
      global,
      { netuid: r.netuid, txHash: r.hash, lockCost: r.lockCost.toString() },
      () => `registered subnet ${r.netuid} (locked ${formatSub(r.lockCost)} SUB, tx ${r.hash})`,
    );
  });
  withSignerOptions(
    withChainOptions(
      subnet
        .command('activate')
        .description('Open a subnet for registrations (owner)')
        .requiredOption('--netuid <n>', 'subnet id'),
    ),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'activating…', async (g, f) => {
      const s = await chainSetup(g, f);
      return (await s.signer(f, 'coldkey')).activateSubnet(intOption(f.netuid as string, '--netuid', 1));
    });
    output(cmd.optsWithGlobals<GlobalOpts>(), { txHash: r.hash }, () => `activated (tx ${r.hash})`);
  });
  withSignerOptions(
    withChainOptions(
      subnet
        .command('set-param')
        .description(
          'Change one hyperparameter of a subnet (owner; checked against the contract bounds); it takes effect at the next epoch boundary',
        )
        .requiredOption('--netuid <n>', 'subnet id')
        .requiredOption('--param <name>', `one of: ${Object.keys(PARAM_KINDS).join(', ')}`)
        .requiredOption('--value <value>', 'new value (SUB amounts in SUB, e.g. 1.5)'),
    ),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'updating the subnet…', async (g, f) => {
      const s = await chainSetup(g, f);
      const netuid = intOption(f.netuid as string, '--netuid', 1);
      const [key, value] = parseParam(f.param as string, f.value as string, s.chain.parseSub);
      // On top of a change already waiting for its epoch boundary, else of the values in effect.
      const { params: latest } = await s.sdk.getPendingSubnetParams(netuid);
      return (await s.signer(f, 'coldkey')).setSubnetParams(netuid, { ...latest, [key]: value });
    });
    output(
      cmd.optsWithGlobals<GlobalOpts>(),
      {
        txHash: r.hash,
        effectiveEpoch: Number(r.effectiveEpoch),
        effectiveBlock: Number(r.effectiveBlock),
      },
      () => `updated from epoch ${r.effectiveEpoch}, block ${r.effectiveBlock} on (tx ${r.hash})`,
    );
  });

  const neuron = program.command('neuron').description('Register and inspect neurons');
  withSignerOptions(
    withChainOptions(
      neuron
        .command('register')
        .description(
          "Register the wallet's hotkey in a subnet (signed by the coldkey, with the hotkey's consent to the binding at its first registration; burns the current demand-priced registration fee)",
        )
        .requiredOption('--netuid <n>', 'subnet id')
        .option('--role <role>', 'miner or validator', 'miner')
        .option('--peer-id <id>', 'libp2p peer id', '')
        .option('--multiaddr <addr...>', 'libp2p multiaddrs')
        .option('--metadata <text>', 'free-form metadata', ''),
    ),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'registering the neuron…', async (g, f) => {
      const s = await chainSetup(g, f);
      if (f.role !== 'miner' && f.role !== 'validator')
        throw new CliError(ExitCode.USAGE, '--role must be miner or validator');
      // The wallet's hotkey signs its consent to the binding to the coldkey (needed at its first registration).
      const { sdk, hotkey } = await s.coldkeyAndHotkey(f);
      return sdk.registerNeuron({
        netuid: intOption(f.netuid as string, '--netuid', 1),
        hotkey: hotkey.address,
        hotkeyAccount: hotkey,
        role: f.role,
        peerId: f.peerId as string,
        multiaddrs: (f.multiaddr as unknown as string[] | undefined) ?? [],
        metadata: f.metadata as string,
      });
    });
    output(
      cmd.optsWithGlobals<GlobalOpts>(),
      { uid: r.uid, txHash: r.hash, burn: r.burn.toString() },
      () => `registered as uid ${r.uid}, burned ${formatSub(r.burn)} SUB (tx ${r.hash})`,
    );
  });
  withSignerOptions(
    withChainOptions(
      neuron
        .command('deregister')
        .description('Free a neuron uid (its coldkey)')
        .requiredOption('--netuid <n>', 'subnet id')
        .requiredOption('--uid <uid>', 'neuron uid'),
    ),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'deregistering…', async (g, f) => {
      const s = await chainSetup(g, f);
      return (await s.signer(f, 'coldkey')).deregisterNeuron(
        intOption(f.netuid as string, '--netuid', 1),
        intOption(f.uid as string, '--uid'),
      );
    });
    output(cmd.optsWithGlobals<GlobalOpts>(), { txHash: r.hash }, () => `deregistered (tx ${r.hash})`);
  });
  withChainOptions(
    neuron
      .command('list')
      .description('List the neurons of a subnet')
      .requiredOption('--netuid <n>', 'subnet id'),
  ).action(async (_o, cmd: Command) => {
    const { chain, neurons } = await run(cmd, 'reading neurons…', async (g, f) => {
      const s = await chainSetup(g, f);
      return {
        chain: s.chain,
        neurons: await s.sdk.getSubnetNeurons(intOption(f.netuid as string, '--netuid', 1)),
      };
    });
    output(cmd.optsWithGlobals<GlobalOpts>(), neurons.map(chain.neuronToJson), () =>
      table(NEURON_HEADERS, neuronRows(neurons)),
    );
  });
  withChainOptions(
    neuron
      .command('show')
      .description('Show one neuron by --uid or --hotkey')
      .requiredOption('--netuid <n>', 'subnet id')
      .option('--uid <uid>', 'neuron uid')
      .option('--hotkey <address>', 'hotkey address'),
  ).action(async (_o, cmd: Command) => {
    const { chain, n } = await run(cmd, 'reading the neuron…', async (g, f) => {
      const s = await chainSetup(g, f);
      if ((f.uid === undefined) === (f.hotkey === undefined))
        throw new CliError(ExitCode.USAGE, 'give exactly one of --uid or --hotkey');
      const netuid = intOption(f.netuid as string, '--netuid', 1);
      const who =
        f.uid === undefined
          ? s.chain.checkAddress(f.hotkey as string, '--hotkey')
          : intOption(f.uid as string, '--uid');
      return { chain: s.chain, n: await s.sdk.getNeuronInfo(netuid, who) };
    });
    const json = chain.neuronToJson(n);
    output(cmd.optsWithGlobals<GlobalOpts>(), json, () =>
      Object.entries(json)
        .map(([k, v]) => `${k.padEnd(16)} ${Array.isArray(v) ? v.join(', ') : v}`)
        .join('\n'),
    );
  });

  const stake = program.command('stake').description('Stake, unstake, allocate and delegate SUB');
  const amountCmd = (name: string, description: string) =>
    withSignerOptions(
      withChainOptions(
        stake
          .command(name)
          .description(description)
          .requiredOption('--amount <sub>', 'amount in SUB, e.g. 100 or 0.5'),
      ),
    );
  amountCmd('add', 'Stake SUB from the coldkey (approve + stake)').action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'staking…', async (g, f) => {
      const s = await chainSetup(g, f);
      const amount = s.chain.parseSub(f.amount as string);
      return (await s.signer(f, 'coldkey')).addStake(amount);
    });
    output(cmd.optsWithGlobals<GlobalOpts>(), { txHash: r.hash }, () => `staked (tx ${r.hash})`);
  });
  amountCmd('remove', 'Start unbonding free stake (claim it after the unbonding period)').action(
    async (_o, cmd: Command) => {
      const r = await run(cmd, 'unstaking…', async (g, f) => {
        const s = await chainSetup(g, f);
        return (await s.signer(f, 'coldkey')).removeStake(s.chain.parseSub(f.amount as string));
      });
      output(
        cmd.optsWithGlobals<GlobalOpts>(),
        { txHash: r.hash, releaseBlock: Number(r.releaseBlock) },
        () => `unbonding until block ${r.releaseBlock} (tx ${r.hash})`,
      );
    },
  );
  withSignerOptions(
    withChainOptions(stake.command('claim').description('Withdraw matured unbonding stake')),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'claiming…', async (g, f) => {
      const s = await chainSetup(g, f);
      return (await s.signer(f, 'coldkey')).claimStake();
    });
    output(
      cmd.optsWithGlobals<GlobalOpts>(),
      { txHash: r.hash, amount: r.amount.toString() },
      () => `claimed ${formatSub(r.amount)} SUB (tx ${r.hash})`,
    );
  });
  for (const [name, description] of [
    ['allocate', "Allocate free stake to a hotkey in a subnet (default: the wallet's own hotkey)"],
    ['delegate', "Delegate free stake to another neuron's hotkey in a subnet"],
  ] as const) {
    amountCmd(name, description)
      .requiredOption('--netuid <n>', 'subnet id')
      .option('--to <hotkey>', 'hotkey address, or wallet[/hotkey] (required for delegate)')
      .action(async (_o, cmd: Command) => {
        const r = await run(cmd, `${name === 'allocate' ? 'allocating' : 'delegating'}…`, async (g, f) => {
          const s = await chainSetup(g, f);
          if (name === 'delegate' && f.to === undefined)
            throw new CliError(ExitCode.USAGE, 'delegate needs --to <hotkey>');
          const hotkey = await s.hotkeyAddress((f.to as string | undefined) ?? `${f.wallet}/${f.hotkey}`, f);
          const amount = s.chain.parseSub(f.amount as string);
          return (await s.signer(f, 'coldkey')).allocateToSubnet(
            intOption(f.netuid as string, '--netuid', 1),
            hotkey,
            amount,
          );
        });
        output(cmd.optsWithGlobals<GlobalOpts>(), { txHash: r.hash }, () => `done (tx ${r.hash})`);
      });
  }
  amountCmd('deallocate', 'Deallocate stake from a hotkey in a subnet (it unbonds, slashable, until a block)')
    .requiredOption('--netuid <n>', 'subnet id')
    .option('--from <hotkey>', "hotkey address, or wallet[/hotkey] (default: the wallet's own hotkey)")
    .action(async (_o, cmd: Command) => {
      const r = await run(cmd, 'deallocating…', async (g, f) => {
        const s = await chainSetup(g, f);
        const hotkey = await s.hotkeyAddress((f.from as string | undefined) ?? `${f.wallet}/${f.hotkey}`, f);
        const amount = s.chain.parseSub(f.amount as string);
        const tx = await (await s.signer(f, 'coldkey')).deallocateFromSubnet(
          intOption(f.netuid as string, '--netuid', 1),
          hotkey,
          amount,
        );
        return { ...tx, amount, hotkey };
      });
      output(
        cmd.optsWithGlobals<GlobalOpts>(),
        {
          txHash: r.hash,
          hotkey: r.hotkey,
          amount: r.amount.toString(),
          releaseBlock: Number(r.releaseBlock),
        },
        () =>
          `${formatSub(r.amount)} SUB unbonds until block ${r.releaseBlock} (slashable until then); ` +
          `then \`subnet stake withdraw\` moves it to free stake (tx ${r.hash})`,
      );
    });
  withSignerOptions(
    withChainOptions(
      stake
        .command('withdraw')
        .description('Move matured deallocated stake of a hotkey in a subnet back to free stake')
        .requiredOption('--netuid <n>', 'subnet id')
        .option('--from <hotkey>', "hotkey address, or wallet[/hotkey] (default: the wallet's own hotkey)"),
    ),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'withdrawing…', async (g, f) => {
      const s = await chainSetup(g, f);
      const hotkey = await s.hotkeyAddress((f.from as string | undefined) ?? `${f.wallet}/${f.hotkey}`, f);
      return (await s.signer(f, 'coldkey')).withdrawAllocation(
        intOption(f.netuid as string, '--netuid', 1),
        hotkey,
      );
    });
    output(
      cmd.optsWithGlobals<GlobalOpts>(),
      { txHash: r.hash, amount: r.amount.toString() },
      () => `withdrew ${formatSub(r.amount)} SUB to free stake (tx ${r.hash})`,
    );
  });
  withChainOptions(
    stake
      .command('show')
      .description("Show a coldkey's free, allocated and unbonding stake and SUB balance")
      .option('--wallet <name>', 'wallet whose coldkey to show', 'default')
      .option('--wallet-dir <dir>', 'wallet directory (default: <dataDir>/wallets)')
      .option('--coldkey <address>', 'or any coldkey address'),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'reading stake…', async (g, f) => {
      const s = await chainSetup(g, f);
      let coldkey = f.coldkey as string | undefined;
      if (coldkey === undefined) {
        const w = await import('@subnet/wallet');
        const store = w.createWalletStore({
          dir: (f.walletDir as string | undefined) ?? w.defaultWalletDir(s.config.dataDir),
        });
        coldkey = (await store.show(f.wallet as string)).coldkey.address ?? undefined;
        if (coldkey === undefined)
          throw new CliError(ExitCode.FAILURE, 'the wallet does not record its coldkey address');
      }
      const address = s.chain.checkAddress(coldkey, '--coldkey');
      const [info, balance] = await Promise.all([
        s.sdk.getStakeInfo(address),
        s.sdk.getTokenBalance(address),
      ]);
      return { coldkey: address, ...info, balance };
    });
    const json = Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
    );
    output(cmd.optsWithGlobals<GlobalOpts>(), json, () =>
      [
        `coldkey ${r.coldkey}`,
        `  balance    ${formatSub(r.balance)} SUB`,
        `  free       ${formatSub(r.free)} SUB`,
        `  allocated  ${formatSub(r.allocated)} SUB`,
        `  unbonding  ${formatSub(r.unbonding)} SUB${r.unbonding > 0n ? ` (from block ${r.releaseBlock})` : ''}`,
      ].join('\n'),
    );
  });

  const weights = program
    .command('weights')
    .description("Commit and reveal a validator's weights (signed by its hotkey)");
  const commitFile = (dataDir: string, netuid: number, hotkey: string) =>
    join(dataDir, 'weights', `${netuid}-${hotkey.toLowerCase()}.json`);
  withSignerOptions(
    withChainOptions(
      weights
        .command('commit')
        .description('Commit a weight vector; the salt is kept under <dataDir>/weights for the reveal')
        .requiredOption('--netuid <n>', 'subnet id')
        .requiredOption('--uids <list>', 'comma-separated uids, e.g. 1,2,3')
        .requiredOption('--weights <list>', 'comma-separated uint16 weights, e.g. 100,200,300'),
    ),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'committing weights…', async (g, f) => {
      const s = await chainSetup(g, f);
      const netuid = intOption(f.netuid as string, '--netuid', 1);
      const sdk = await s.signer(f, 'hotkey');
      const c = await sdk.commitWeights({
        netuid,
        uids: intList(f.uids as string, '--uids'),
        weights: intList(f.weights as string, '--weights'),
      });
      const file = commitFile(s.config.dataDir, netuid, sdk.address as string);
      await mkdir(join(s.config.dataDir, 'weights'), { recursive: true, mode: 0o700 });
      await writeFile(file, JSON.stringify({ ...c, epoch: c.epoch.toString() }), { mode: 0o600 });
      return c;
    });
    output(
      cmd.optsWithGlobals<GlobalOpts>(),
      { txHash: r.hash, epoch: Number(r.epoch), commitHash: r.commitHash },
      () =>
        `committed for epoch ${r.epoch} (tx ${r.hash}); reveal in the next reveal window with \`subnet weights reveal\``,
    );
  });
  withSignerOptions(
    withChainOptions(
      weights
        .command('reveal')
        .description('Reveal the pending commit kept under <dataDir>/weights')
        .requiredOption('--netuid <n>', 'subnet id'),
    ),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'revealing weights…', async (g, f) => {
      const s = await chainSetup(g, f);
      const netuid = intOption(f.netuid as string, '--netuid', 1);
      const sdk = await s.signer(f, 'hotkey');
      const file = commitFile(s.config.dataDir, netuid, sdk.address as string);
      let c: WeightsCommit;
      try {
        c = JSON.parse(await readFile(file, 'utf8')) as WeightsCommit;
      } catch {
        throw new CliError(
          ExitCode.FAILURE,
          `no pending commit for this hotkey in subnet ${netuid} (${file}); commit first`,
        );
      }
      return sdk.revealWeights({ netuid, uids: c.uids, weights: c.weights, salt: c.salt });
    });
    output(cmd.optsWithGlobals<GlobalOpts>(), { txHash: r.hash }, () => `revealed (tx ${r.hash})`);
  });

  withSignerOptions(
    withChainOptions(
      program.command('faucet').description('Get devnet SUB from the token faucet (devnet only)'),
    ),
  ).action(async (_o, cmd: Command) => {
    const r = await run(cmd, 'asking the faucet…', async (g, f) => {
      const s = await chainSetup(g, f);
      return (await s.signer(f, 'coldkey')).faucet();
    });
    output(
      cmd.optsWithGlobals<GlobalOpts>(),
      { txHash: r.hash, amount: r.amount.toString() },
      () => `received ${formatSub(r.amount)} SUB (tx ${r.hash})`,
    );
  });
}
