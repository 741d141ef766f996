/**
 * Structured JSON logging (pino). One root logger per process; each stack gets a child logger carrying
 * `{ stack }`. Never log secrets: tokens and keys are redacted by path.
 */
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Options for {@link createLogger}. */
export interface LoggerOpts {
  level: LogLevel;
  name?: string;
}

/** Creates the process' root logger, writing JSON lines to `destination` (stdout by default). */
export function createLogger(opts: LoggerOpts, destination?: DestinationStream): Logger {
  const options = {
    level: opts.level,
    base: { pid: process.pid, ...(opts.name === undefined ? {} : { name: opts.name }) },
    redact: {
      paths: ['token', 'secret', '*.token', '*.secret', 'headers.authorization'],
      censor: '[redacted]',
    },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** A logger that drops everything: for tests and libraries used without a host logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
