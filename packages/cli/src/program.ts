/**
 * The `subnet` command tree (commander). Each command group lives in `commands/`; this file wires them
 * and the global options. Kept free of process exits so tests can drive it.
 */
import { VERSION } from '@subnet/utils';
import { Command } from 'commander';
import { registerApp } from './commands/app.js';
import { registerChain } from './commands/chain.js';
import { registerConfig } from './commands/config.js';
import { registerDevnet } from './commands/devnet.js';
import { registerEpoch } from './commands/epoch.js';
import { registerGateway } from './commands/gateway.js';
import { registerModel } from './commands/model.js';
import { registerNetwork } from './commands/network.js';
import { registerNode } from './commands/node.js';
import { registerPay } from './commands/pay.js';
import { registerRpc } from './commands/rpc.js';
import { registerWallet } from './commands/wallet.js';

export function createProgram(): Command {
  const program = new Command('subnet')
    .description('Subnet Framework: run and manage decentralised AI-inference subnets')
    .version(VERSION, '-v, --version', 'print the version')
    .option('-c, --config <file>', 'config file (YAML or JSON); also SUBNET_CONFIG')
    .option('--json', 'print machine-readable JSON')
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError()
    .exitOverride();
  registerNode(program);
  registerConfig(program);
  registerRpc(program);
  registerWallet(program);
  registerDevnet(program);
  registerChain(program);
  registerEpoch(program);
  registerApp(program);
  registerNetwork(program);
  registerGateway(program);
  registerModel(program);
  registerPay(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}
