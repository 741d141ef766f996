/** `subnet node start | status | restart-stack`: run a node and look at a running one. */
import type { ConfigInput } from '@subnet/config';
import { startNode } from '@subnet/node';
import { createLogger } from '@subnet/utils';
import { type Command, Option } from 'commander';
import {
  askNode,
  type GlobalOpts,
  output,
  resolveConfig,
  untilStopSignal,
  withProgress,
} from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';

interface StartFlags {
  processMode?: 'single' | 'split';
  host?: string;
  port?: string;
  dataDir?: string;
  logLevel?: string;
}

function flagsToConfig(f: StartFlags): ConfigInput {
  const node: Record<string, unknown> = {};
  if (f.processMode !== undefined) node.processMode = f.processMode;
  if (f.host !== undefined) node.host = f.host;
  if (f.port !== undefined) node.port = Number(f.port);
  const out: Record<string, unknown> = { node };
  if (f.dataDir !== undefined) out.dataDir = f.dataDir;
  if (f.logLevel !== undefined) out.log = { level: f.logLevel };
  return out as ConfigInput;
}

const hint = 'is the node running? start it with `subnet node start`';

export function registerNode(program: Command): void {
  const node = program.command('node').description('Run a node or inspect a running one');

  node
    .command('start')
    .description('Start a node with the configured stacks; Ctrl-C stops it')
    .addOption(
      new Option('--process-mode <mode>', 'single process or one process per stack').choices([
        'single',
        'split',
      ]),
    )
    .option('--host <host>', 'bind address of the Engine API, health and metrics')
    .option('--port <port>', 'port of the Engine API, health and metrics (0 = any free port)')
    .option('--data-dir <dir>', 'where keys, state and secrets live')
    .addOption(
      new Option('--log-level <level>').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    )
    .action(async (flags: StartFlags, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const config = resolveConfig(global, flagsToConfig(flags));
      const logger = createLogger({ level: config.log.level, name: 'subnet' });
      const running = await withProgress(global, 'starting node…', () => startNode(config, { logger })).catch(
        (err: unknown) => {
          throw new CliError(ExitCode.FAILURE, `node failed to start: ${(err as Error).message}`);
        },
      );
      const summary = { url: running.url, processMode: config.node.processMode, stacks: running.stacks() };
      if (global.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        process.stderr.write(
          `node up (${config.node.processMode} mode): Engine API ${running.url}/rpc, health ${running.url}/health, metrics ${running.url}/metrics\n` +
            `stacks: ${summary.stacks.map((s) => `${s.name} (${s.status})`).join(', ') || 'none configured (see docs/configuration.md: node.stacks)'}\n` +
            'press Ctrl-C to stop\n',
        );
      }
      await untilStopSignal();
      process.stderr.write('stopping…\n');
      await running.stop();
    });

  node
    .command('status')
    .description('Show the health of the configured node and the status of each stack')
    .action(async (_opts, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const [health, { stacks }, version] = await askNode(
        global,
        { label: 'asking the node…', failure: 'cannot get the node status', hint },
        (c) =>
          Promise.all([
            c.call('node_getHealthV1', {}),
            c.call('node_getStacksV1', {}),
            c.call('node_getVersionV1', {}),
          ]),
      );
      output(global, { health, stacks, version }, () =>
        [
          `node ${version.version} on ${version.runtime} (${health.processMode} mode): ${health.status}, up ${Math.round(health.uptimeS)} s`,
          ...stacks.map(
            (s) =>
              `  ${s.name.padEnd(12)} ${s.status.padEnd(10)} pid ${String(s.pid ?? '-').padEnd(8)} restarts ${s.restarts}${s.lastError === null ? '' : `  last error: ${s.lastError}`}`,
          ),
        ].join('\n'),
      );
      if (health.status !== 'ok') process.exitCode = ExitCode.DEGRADED;
    });

  node
    .command('restart-stack')
    .description('Restart one stack of the running node (split mode: its process); the others keep running')
    .argument('<name>', 'stack name as in node.stacks')
    .action(async (name: string, _opts, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const { stack } = await askNode(
        global,
        { label: `restarting ${name}…`, failure: `cannot restart ${name}`, hint },
        (c) => c.call('node_restartStackV1', { name }, { timeoutMs: 60_000 }),
      );
      output(
        global,
        stack,
        () => `${stack.name}: ${stack.status}, pid ${stack.pid}, restarts ${stack.restarts}`,
      );
    });
}
