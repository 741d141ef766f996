/**
 * `subnet gateway keys create|list|revoke` and `subnet gateway status`: the running node's gateway stack
 * over the Engine API (`gateway_createKeyV1`, `gateway_listKeysV1`, `gateway_revokeKeyV1`,
 * `gateway_getStatusV1`): the API keys of the OpenAI-compatible front door, their limits and usage, and
 * where it listens with the models it can route. A key's secret is printed once, at creation.
 * `subnet gateway admin-token` prints the dashboard's admin token from its file (creating it when missing),
 * without a running node.
 */
import { adminTokenFileOf, loadOrCreateAdminToken } from '@subnet/dashboard';
import { errorMessage } from '@subnet/utils';
import type { Command } from 'commander';
import { askNode, type GlobalOpts, output, resolveConfig } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';

const hint = 'is a node with the gateway stack running?';

/** A positive integer flag, or a usage error naming it. */
function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new CliError(ExitCode.USAGE, `${flag} must be a positive integer`);
  return n;
}

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  revokedAt: number | null;
  limits: { requestsPerMinute: number; tokensPerMinute: number };
  usage: { requests: number; promptTokens: number; completionTokens: number; rejected: number };
}

/** The keys as an aligned table. */
function keyTable(keys: KeyRow[]): string {
  const rows = [
    ['ID', 'NAME', 'PREFIX', 'REQ/MIN', 'TOK/MIN', 'REQUESTS', 'TOKENS', 'REJECTED', 'REVOKED'],
    ...keys.map((k) => [
      k.id,
      k.name,
      `${k.prefix}…`,
      String(k.limits.requestsPerMinute),
      String(k.limits.tokensPerMinute),
      String(k.usage.requests),
      String(k.usage.promptTokens + k.usage.completionTokens),
      String(k.usage.rejected),
      k.revokedAt === null ? '-' : new Date(k.revokedAt).toISOString(),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function registerGateway(program: Command): void {
  const gateway = program
    .command('gateway')
    .description("The running node's gateway stack: the OpenAI-compatible API, its keys and limits");

  const keys = gateway.command('keys').description('Create, list and revoke API keys of the gateway');

  keys
    .command('create')
    .description('Create an API key; its secret is printed once and cannot be shown again')
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .option('--requests-per-minute <n>', 'request rate limit (default: gateway.requestsPerMinute)')
    .option('--tokens-per-minute <n>', 'token rate limit (default: gateway.tokensPerMinute)')
    .action(
      async (f: { name: string; requestsPerMinute?: string; tokensPerMinute?: string }, cmd: Command) => {
        const global = cmd.optsWithGlobals<GlobalOpts>();
        const requestsPerMinute = positiveInt(f.requestsPerMinute, '--requests-per-minute');
        const tokensPerMinute = positiveInt(f.tokensPerMinute, '--tokens-per-minute');
        const r = await askNode(
          global,
          { label: 'creating the key…', failure: `cannot create key ${f.name}`, hint },
          (c) =>
            c.call('gateway_createKeyV1', {
              name: f.name,
              ...(requestsPerMinute === undefined ? {} : { requestsPerMinute }),
              ...(tokensPerMinute === undefined ? {} : { tokensPerMinute }),
            }),
        );
        if (global.json === true)
          process.stderr.write('the secret ("key") is not shown again: store it now\n');
        output(global, r, () =>
          [
            `created ${r.info.id} (${r.info.name}): ${r.info.limits.requestsPerMinute} requests, ${r.info.limits.tokensPerMinute} tokens per minute`,
            '',
            `  ${r.key}`,
            '',
            'This secret is not shown again: store it now. Use it as the OpenAI API key (Authorization: Bearer …).',
          ].join('\n'),
        );
      },
    );

  keys
    .command('list')
    .description('API keys with their limits and usage (never their secrets)')
    .option('--all', 'include revoked keys')
    .action(async (f: { all?: boolean }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const { keys: list } = await askNode(
        global,
        { label: 'asking the node…', failure: 'cannot list keys', hint },
        (c) => c.call('gateway_listKeysV1', { includeRevoked: f.all === true }),
      );
      output(global, list, () =>
        list.length === 0
          ? 'no API keys (create one with subnet gateway keys create --name …)'
          : keyTable(list),
      );
    });

  keys
    .command('revoke')
    .description('Revoke an API key: requests with it are refused from now on')
    .argument('<id>', 'key id (key_…), from subnet gateway keys list')
    .action(async (id: string, _o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const r = await askNode(
        global,
        { label: `revoking ${id}…`, failure: `cannot revoke ${id}`, hint },
        (c) => c.call('gateway_revokeKeyV1', { id }),
      );
      output(global, r, () => (r.revoked ? `revoked ${id}` : `${id} was already revoked`));
    });

  gateway
    .command('admin-token')
    .description(
      "Print the dashboard's admin token (gateway.adminTokenFile, created when missing); it unlocks keys and models in the dashboard",
    )
    .action(async (_o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const config = resolveConfig(global);
      const file = adminTokenFileOf(config.dataDir, config.gateway.adminTokenFile);
      let token: string;
      try {
        token = await loadOrCreateAdminToken(file);
      } catch (err) {
        throw new CliError(
          ExitCode.CONFIG,
          `cannot read or create the admin token file ${file}: ${errorMessage(err)}`,
        );
      }
      output(global, { token, file }, () => token);
    });

  gateway
    .command('status')
    .description('Where the OpenAI-compatible API listens, and the models it can route with their miners')
    .action(async (_o, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      const s = await askNode(
        global,
        { label: 'asking the node…', failure: 'cannot read the gateway status', hint },
        (c) => c.call('gateway_getStatusV1', {}),
      );
      output(global, s, () =>
        [
          `url       ${s.url}`,
          `requests  ${s.requests}`,
          s.models.length === 0 ? 'models    none (no miner serves a model yet)' : 'models',
          ...s.models.map((m) => `  ${m.id.padEnd(24)} ${m.miners} miner${m.miners === 1 ? '' : 's'}`),
        ].join('\n'),
      );
    });
}
