/**
 * `subnet epoch status`: how an epoch of a subnet is being settled (docs/epoch.md), read from the chain like
 * the other chain commands: its blocks and deadline, status, drawn proposer, the proposal and who attested
 * it with how much stake, the emission and how much of it was claimed.
 */
import type { Command } from 'commander';
import { type GlobalOpts, output, withProgress } from '../context.js';
import {
  type ChainFlags,
  chainFailure,
  chainSetup,
  formatSub,
  intOption,
  shortAddress,
  table,
  withChainOptions,
} from './chainContext.js';

/** A stake share as a percentage with one decimal. */
function percent(part: bigint, whole: bigint): string {
  if (whole === 0n) return '0.0%';
  return `${(Number((part * 10_000n) / whole) / 100).toFixed(1)}%`;
}

export function registerEpoch(program: Command): void {
  const epoch = program.command('epoch').description('Follow the settlement of subnet epochs');
  withChainOptions(
    epoch
      .command('status')
      .description(
        'Status of an epoch (default: the latest ended): proposer, attestations with stake, deadline, emission, claimed',
      )
      .option('--netuid <n>', 'subnet id', '1')
      .option('--epoch <e>', 'epoch number (default: the latest ended one)'),
  ).action(async (_o, cmd: Command) => {
    const global = cmd.optsWithGlobals<GlobalOpts>();
    const flags = cmd.opts<ChainFlags & { netuid: string; epoch?: string }>();
    const e = await withProgress(global, 'reading the epoch…', async () => {
      const { sdk, chain } = await chainSetup(global, flags);
      const netuid = intOption(flags.netuid, '--netuid', 1);
      const at =
        flags.epoch === undefined ? undefined : intOption(flags.epoch, '--epoch', 0, Number.MAX_SAFE_INTEGER);
      return chain.epochToJson(await sdk.getEpoch(netuid, at));
    }).catch(chainFailure);
    output(global, e, () => {
      const left = e.deadline - e.currentBlock;
      const lines = [
        `subnet ${e.netuid} epoch ${e.epoch}: ${e.status}`,
        `  blocks     ${e.startBlock}..${e.endBlock}, deadline ${e.deadline} (${left >= 0 ? `${left} blocks left` : `passed ${-left} blocks ago`}); now block ${e.currentBlock}, epoch ${e.currentEpoch}`,
        `  yuma       version ${e.yumaVersion}`,
        `  emission   ${formatSub(BigInt(e.emission))} SUB, claimed ${formatSub(BigInt(e.claimed))} SUB`,
        `  proposer   ${e.proposer ?? '-'}`,
      ];
      const p = e.proposal;
      if (p === null) {
        lines.push('  proposal   none yet');
      } else {
        const attested = BigInt(p.attestedStake);
        const total = BigInt(p.totalStake);
        lines.push(
          `  proposal   by ${p.proposer} at block ${p.block}`,
          `  root       ${p.root}`,
          `  results    ${p.resultsHash}`,
          `  total      ${formatSub(BigInt(p.total))} SUB`,
          `  attested   ${percent(attested, total)} of validator stake (${formatSub(attested)} of ${formatSub(total)} SUB; final at 66.7%)`,
        );
        if (p.attestations.length > 0) {
          lines.push(
            table(
              ['  HOTKEY', 'STAKE', 'BLOCK'],
              p.attestations.map((a) => [
                `  ${shortAddress(a.hotkey)}`,
                formatSub(BigInt(a.stake)),
                String(a.block),
              ]),
            ),
          );
        }
      }
      return lines.join('\n');
    });
  });
}
