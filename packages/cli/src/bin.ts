/**
 * Process entry of `subnet`: runs the command tree and maps failures to exit codes
 * (see exitCodes.ts). Usage errors exit 2, config errors 3, an unreachable node 4.
 */
import { CommanderError } from 'commander';
import { CliError, ExitCode } from './exitCodes.js';
import { createProgram } from './program.js';

// A closed pipe (`subnet rpc … | head`) is a normal end, not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

try {
  await createProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version "errors" are normal exits; everything else is a usage error.
    process.exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
  } else if (err instanceof CliError) {
    process.stderr.write(`subnet: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`subnet: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = ExitCode.FAILURE;
  }
}
