/**
 * `subnet rpc METHOD [PARAMS]`: calls any Engine API method on the configured node. Unary results print
 * as JSON; stream events print one JSON line each until the stream ends or Ctrl-C.
 */
import { EngineErrorCode, encodeRequest } from '@subnet/engine-api';
import type { Command } from 'commander';
import { type GlobalOpts, nodeTransport, resolveConfig } from '../context.js';
import { CliError, ExitCode } from '../exitCodes.js';

export function registerRpc(program: Command): void {
  program
    .command('rpc')
    .description(
      'Call an Engine API method on the node (see docs/engine-api.md, or `subnet rpc rpc.discover`)',
    )
    .argument('<method>', 'wire name, e.g. node_getHealthV1')
    .argument('[params]', 'params as a JSON object', '{}')
    .option('--timeout <ms>', 'how long to wait for the first answer', '10000')
    .action(async (method: string, paramsText: string, opts: { timeout: string }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalOpts>();
      let params: unknown;
      try {
        params = JSON.parse(paramsText);
      } catch {
        throw new CliError(ExitCode.USAGE, `params must be JSON, e.g. '{"name":"app"}'; got ${paramsText}`);
      }
      const config = resolveConfig(global);
      const transport = await nodeTransport(config);
      const ctl = new AbortController();
      const onSigint = () => ctl.abort();
      process.once('SIGINT', onSigint);
      try {
        const timer = setTimeout(() => ctl.abort(), Number(opts.timeout));
        const reply = await transport
          .request(encodeRequest(1, method, params), { signal: ctl.signal, deadlineMs: undefined })
          .catch((err: unknown) => {
            throw new CliError(
              ExitCode.UNREACHABLE,
              `cannot reach the node at ${config.node.host}:${config.node.port}: ${(err as Error).message}`,
            );
          })
          .finally(() => clearTimeout(timer));
        if (reply.kind === 'json') {
          const res = JSON.parse(reply.body) as {
            result?: unknown;
            error?: { code: number; message: string };
          };
          if (res.error !== undefined) {
            process.stderr.write(`error ${res.error.code}: ${res.error.message}\n`);
            throw new CliError(
              res.error.code === EngineErrorCode.UNAUTHORIZED ? ExitCode.UNREACHABLE : ExitCode.RPC_ERROR,
              `${method} failed`,
            );
          }
          process.stdout.write(`${JSON.stringify(res.result, null, 2)}\n`);
        } else if (reply.kind === 'stream') {
          for await (const ev of reply.events) {
            if (ev.event === 'data') process.stdout.write(`${ev.data}\n`);
            else if (ev.event === 'end') {
              const end = JSON.parse(ev.data) as { reason: string; error?: { message: string } };
              if (end.error !== undefined)
                throw new CliError(ExitCode.RPC_ERROR, `stream ended: ${end.error.message}`);
            }
          }
        }
      } finally {
        process.off('SIGINT', onSigint);
        await transport.close();
      }
    });
}
