/**
 * What every command needs: the merged config (defaults < file < env < flags), output helpers that
 * honour `--json`, an Engine API client for the configured node, and a progress line for slow work.
 */
import { type Config, ConfigError, type ConfigInput, loadConfig } from '@subnet/config';
import {
  createEngineClient,
  createHttpTransport,
  createTokenSigner,
  type EngineApi,
  type EngineClient,
  EngineError,
  engineApi,
  loadOrCreateJwtSecret,
  type Transport,
} from '@subnet/engine-api';
import ora from 'ora';
import { CliError, ExitCode } from './exitCodes.js';

export interface GlobalOpts {
  config?: string;
  json?: boolean;
}

/** Loads the config, turning config errors into exit code 3. */
export function resolveConfig(global: GlobalOpts, flags: ConfigInput = {}): Config {
  try {
    return loadConfig({ file: global.config, flags });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(ExitCode.CONFIG, err.message);
    throw err;
  }
}

/** The node's Engine API base URL as configured. */
export function nodeUrl(config: Config): string {
  const host = config.node.host.includes(':') ? `[${config.node.host}]` : config.node.host;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${config.node.port}`;
}

/** An authenticated transport to the configured node. */
export async function nodeTransport(config: Config): Promise<Transport> {
  const secret = await loadOrCreateJwtSecret(config.engine.jwtSecretFile);
  return createHttpTransport({
    url: nodeUrl(config),
    token: createTokenSigner(secret, { subject: 'cli', lifetimeS: config.engine.tokenTtlS }),
    connections: 1,
  });
}

/** A typed client of the configured node. */
export async function nodeClient(config: Config): Promise<EngineClient<EngineApi>> {
  return createEngineClient(engineApi, await nodeTransport(config), { timeoutMs: 10_000 });
}

/** Prints data: JSON with `--json`, otherwise the human rendering. */
export function output(global: GlobalOpts, data: unknown, human: () => string): void {
  process.stdout.write(global.json === true ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/** Runs `work` with a spinner on stderr (only on a terminal, never with --json). */
export async function withProgress<T>(global: GlobalOpts, label: string, work: () => Promise<T>): Promise<T> {
  const quiet = process.stderr.isTTY !== true || global.json === true;
  const spinner = ora({ text: label, stream: process.stderr, isSilent: quiet });
  spinner.start();
  try {
    const out = await work();
    spinner.stop();
    return out;
  } catch (err) {
    spinner.stop();
    throw err;
  }
}

/**
 * Resolves on the first SIGINT or SIGTERM (Ctrl-C), for commands that run until stopped. A process started
 * with an IPC channel (a supervisor such as `subnet devnet`) also stops when that channel closes, so it never
 * outlives its supervisor, even one that was killed.
 */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const supervised = process.send !== undefined;
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('disconnect', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (supervised) {
      if (!process.connected) return stop();
      process.on('disconnect', stop);
      // The channel only watches the supervisor; it must not keep this process alive once stopped.
      process.channel?.unref();
    }
  });
}

/** Maps a failed Engine API call to an exit code: unreachable (4, with `hint`), Engine API error (5), other (1). */
export function engineFailure(err: unknown, what: string, hint: string): CliError {
  if (err instanceof EngineError && (err.code === 'UNAVAILABLE' || err.code === 'DEADLINE_EXCEEDED')) {
    return new CliError(ExitCode.UNREACHABLE, `${what}: ${err.message} (${hint})`);
  }
  if (err instanceof EngineError) return new CliError(ExitCode.RPC_ERROR, `${what}: ${err.message}`);
  return new CliError(ExitCode.FAILURE, `${what}: ${(err as Error).message}`);
}

/**
 * One request to the running node: a client from the config, a spinner, failures as CLI errors whose
 * hint says which stack should be running. Config and client errors surface as they are.
 */
export async function askNode<T>(
  global: GlobalOpts,
  o: { label: string; failure: string; hint: string },
  call: (client: EngineClient<EngineApi>, config: Config) => Promise<T>,
): Promise<T> {
  const config = resolveConfig(global);
  const client = await nodeClient(config);
  try {
    return await withProgress(global, o.label, () => call(client, config)).catch((err: unknown) => {
      throw engineFailure(err, o.failure, o.hint);
    });
  } finally {
    await client.close();
  }
}
