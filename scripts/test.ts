/**
 * The test run of `npm test`: every package's compiled tests with node's test runner, in two passes. First
 * every file but the devnet suites, two at a time; then the devnet suites one at a time. A devnet suite
 * starts a whole subnet (anvil and up to a dozen node processes), and beside another file on a 2-core
 * machine it starved that file's own subprocesses past their deadlines (seen in CI: wallet CLI calls that
 * take 1 s took 21–29 s next to the attack devnet). Each pass prints node's own closing counts (`ℹ pass N`,
 * `ℹ fail N`); `.ci/run` adds them up. Exits non-zero when either pass failed.
 */
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

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

const files = globSync('packages/*/dist/test/**/*.test.js').sort();
const rest = files.filter((f) => !DEVNET_SUITES.has(f));
const devnets = files.filter((f) => DEVNET_SUITES.has(f));

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
const second = pass(devnets, 1);
process.exit(first !== 0 || second !== 0 ? 1 : 0);
