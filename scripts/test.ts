/**
 * The test run of `npm test`: every package's compiled tests with node's test runner, in three passes. First
 * every file but the devnet and tool suites, two at a time; then the devnet suites one at a time; then the
 * suites that need llama.cpp's RPC tools, whose build starts in the background at the start. A devnet suite
 * starts a whole subnet (anvil and up to a dozen node processes), and beside another file on a 2-core
 * machine it starved that file's own subprocesses past their deadlines (seen in CI: wallet CLI calls that
 * take 1 s took 21–29 s next to the attack devnet). Each pass prints node's own closing counts (`ℹ pass N`,
 * `ℹ fail N`); `.ci/run` adds them up. Exits non-zero when either pass failed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { globSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Suites that run a whole devnet: alone, after the rest. */
const DEVNET_SUITES = new Set([
  'packages/cli/dist/test/devnet.test.js',
  'packages/cli/dist/test/epochDevnet.test.js',
  'packages/cli/dist/test/trustDevnet.test.js',
  'packages/cli/dist/test/dashboard.test.js',
  'packages/cli/dist/test/chainAttackDevnet.test.js',
  'packages/cli/dist/test/paymentsDevnet.test.js',
  'packages/cli/dist/test/openaiDevnet.test.js',
]);

/**
 * Suites that need llama.cpp's RPC tools (built from node-llama-cpp's bundled source, cached per machine):
 * they run last, alone, so the build started in the background at the start has had the whole run to finish.
 */
const TOOL_SUITES = new Set([
  'packages/app/dist/test/llamaServer.test.js',
  'packages/node/dist/test/pipelineGroup.test.js',
]);

const files = globSync('packages/*/dist/test/**/*.test.js').sort();
const rest = files.filter((f) => !DEVNET_SUITES.has(f) && !TOOL_SUITES.has(f));
const devnets = files.filter((f) => DEVNET_SUITES.has(f));
const tools = files.filter((f) => TOOL_SUITES.has(f));

/**
 * Builds (or finds) llama.cpp's tools in the background at idle CPU priority (SCHED_IDLE, else nice 19), so
 * the first run on a machine pays for part of the build with the CPU the first pass leaves unused; the tool
 * suites wait for the rest on its lock. Its output goes to a log file named here.
 */
function buildToolsInBackground(): ChildProcess | undefined {
  if (tools.length === 0) return undefined;
  installBuildTools();
  const log = join(tmpdir(), `subnet-llama-tools-${process.pid}.log`);
  const fd = openSync(log, 'w');
  const cmd = [process.execPath, 'packages/cli/dist/src/bin.js', 'model', 'tools'];
  const idle = spawnSync('chrt', ['--version']).status === 0 ? ['chrt', '--idle', '0'] : [];
  const argv = [...idle, 'nice', '-n', '19', ...cmd];
  console.log(`test: building llama.cpp's RPC tools in the background at idle priority (log: ${log})`);
  // Its own process group, so the compilers it starts can be paused and stopped with it. `detached` also
  // makes a new session, and with it a new scheduler autogroup that competes with the tests' as an equal
  // whatever its tasks' priority (seen: the build took half the CPU and the tests ran up to 9x slower): the
  // autogroup's own nice is set to 19 too.
  const child = spawn('sh', ['-c', 'echo 19 > /proc/self/autogroup 2>/dev/null; exec "$@"', 'sh', ...argv], {
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  process.on('exit', () => signalBuild(child, 'SIGTERM'));
  return child;
}

/** Signals the build's whole process group (the CLI and the compilers under it), if it is still running. */
function signalBuild(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** cmake, g++ and git from Debian when one is missing and this runs as root (CI); otherwise the suite says so. */
function installBuildTools(): void {
  const missing = ['cmake', 'g++', 'git'].filter((t) => spawnSync(t, ['--version']).status !== 0);
  if (missing.length === 0 || process.getuid?.() !== 0) return;
  console.log(`test: installing Debian's ${missing.join(', ')} to build llama.cpp's RPC tools`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const ok =
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env }).status === 0 &&
    spawnSync('apt-get', ['install', '-y', '-qq', 'cmake', 'g++', 'git'], { stdio: 'inherit', env })
      .status === 0;
  if (!ok) console.log('test: could not install them; the pipeline-group suite will say what is missing');
}

const builder = buildToolsInBackground();

function pass(list: string[], concurrency: number): number {
  if (list.length === 0) return 0;
  const r = spawnSync(
    process.execPath,
    ['--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...list],
    { stdio: 'inherit' },
  );
  return r.status ?? 1;
}

const first = pass(rest, 2);
// The devnet suites measure detection and settlement in wall-clock time, and a compiler on the other core (or
// hyperthread) can slow them even at idle priority: the build is paused while they run and resumed for the tool
// suites (which wait for it on its lock).
signalBuild(builder, 'SIGSTOP');
const second = pass(devnets, 1);
signalBuild(builder, 'SIGCONT');
const third = pass(tools, 1);
signalBuild(builder, 'SIGTERM');
process.exit(first !== 0 || second !== 0 || third !== 0 ? 1 : 0);
