/** `subnet config show`: the merged configuration and where each layer came from. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { type GlobalOpts, output, resolveConfig } from '../context.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Inspect the node configuration');
  config
    .command('show')
    .description('Print the merged configuration (defaults < file < environment < flags)')
    .action((_opts, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const cfg = resolveConfig(global);
      output(global, cfg, () => stringify(cfg).trimEnd());
    });
}
