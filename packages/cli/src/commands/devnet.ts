/**
 * `subnet devnet` (what `npm start` runs): a whole local subnet chain on this machine — anvil on
 * 127.0.0.1, the contracts, subnet 1 with its validators and miners — resumed from `<dataDir>/devnet/`
 * when it exists. Prints where everything is and stops anvil cleanly on Ctrl-C.
 */
import type { Command } from 'commander';
import { type GlobalOpts, resolveConfig, untilStopSignal, withProgress } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';
import { formatSub } from './chainContext.js';

export function registerDevnet(program: Command): void {
  program
    .command('devnet')
    .description('Start (or resume) the local devnet: anvil, contracts, subnet 1 with validators and miners')
    .option('--port <port>', 'anvil port on 127.0.0.1 (default: devnet.port, 8545)')
    .option('--data-dir <dir>', 'where the devnet keeps its chain state, wallets and devnet.json')
    .action(async (flags: { port?: string; dataDir?: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const config = resolveConfig(global, {
        ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
        ...(flags.port === undefined ? {} : { devnet: { port: Number(flags.port) } }),
      });
      const { startDevnet, createSubnetClient, fetchMetagraph } = await import('@subnet/chain');
      const started = Date.now();
      let spinnerText = (s: string): void => {
        process.stderr.write(`${s}\n`);
      };
      const devnet = await withProgress(global, 'starting the devnet…', () =>
        startDevnet({
          dataDir: config.dataDir,
          port: config.devnet.port,
          blockTimeS: config.devnet.blockTimeS,
          validators: config.devnet.validators,
          miners: config.devnet.miners,
          p2pBasePort: config.devnet.p2pBasePort,
          onProgress: (step) => spinnerText(`devnet: ${step}`),
        }),
      ).catch((err: unknown) => {
        throw new CliError(ExitCode.FAILURE, `the devnet failed to start: ${(err as Error).message}`);
      });
      spinnerText = () => {};
      const { network } = devnet;
      const sdk = createSubnetClient({
        rpcUrl: devnet.anvil.rpcUrl,
        chainId: network.chainId,
        contracts: network.contracts,
      });
      const metagraph = await fetchMetagraph(sdk.chain, { netuid: network.netuid ?? 1 });
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (global.json === true) {
        process.stdout.write(
          `${JSON.stringify({ ...network, file: devnet.file, resumed: devnet.resumed })}\n`,
        );
      } else {
        process.stdout.write(
          [
            `devnet ${devnet.resumed ? 'resumed' : 'ready'} in ${seconds} s`,
            `  chain     ${devnet.anvil.rpcUrl} (chain id ${network.chainId}, block ${metagraph.block})`,
            `  subnet    ${network.netuid} with ${metagraph.neurons.length} neurons`,
            ...metagraph.neurons.map(
              (n) =>
                `    uid ${n.uid}  ${(n.isValidator ? 'validator' : 'miner').padEnd(9)}  hotkey ${n.hotkey}  stake ${formatSub(n.stake)} SUB`,
            ),
            `  contracts ${Object.entries(network.contracts)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
            `  written   ${devnet.file}`,
            '',
            'try: npx subnet metagraph --netuid 1',
            'press Ctrl-C to stop (the chain is saved and resumes on the next start)',
            '',
          ].join('\n'),
        );
      }
      await untilStopSignal();
      process.stderr.write('stopping the devnet…\n');
      await devnet.stop();
    });
}
