export { CliError, ExitCode } from './exitCodes.js';
export { createProgram } from './program.js';
