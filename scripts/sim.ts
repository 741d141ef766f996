/**
 * Long runs of the deterministic subnet simulator (docs/epoch.md, "The simulator"): seeds × epochs at one
 * or more subnet sizes, every run on its own anvil with the real contracts and the real consensus code, the
 * invariants checked after every epoch. Prints one JSON document on stdout (the runs, faults injected by
 * kind, invariant checks passed, epochs/s per size, wall time) and exits 1 on any violation, naming the seed
 * and the command that replays it.
 *
 * Run: `npm run sim` (the default plan: > 1,000 epochs over three sizes, 64 × 256 among them), or with knobs:
 *   node scripts/sim.ts --seeds 1,2,3 --epochs 50 --validators 16 --miners 64 [--tempo 10] [--no-faults]
 * (or SIM_SEEDS, SIM_EPOCHS, SIM_VALIDATORS, SIM_MINERS, SIM_TEMPO; flags win). Build first: `npx tsc -b`.
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_FAULTS,
  NO_FAULTS,
  type SimReport,
  simulate,
} from '../packages/consensus/dist/test/sim/simulate.js';

interface Plan {
  validators: number;
  miners: number;
  epochs: number;
  seeds: number[];
}

/** The default plan: 1,050 epochs; a twentieth of them at full size, where an epoch costs ~30 small ones. */
const DEFAULT_PLAN: Plan[] = [
  { validators: 64, miners: 256, epochs: 25, seeds: [1, 2] },
  { validators: 16, miners: 64, epochs: 50, seeds: [11, 12, 13, 14] },
  { validators: 8, miners: 24, epochs: 80, seeds: [21, 22, 23, 24, 25, 26, 27, 28, 29, 30] },
];

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    epochs: { type: 'string' },
    validators: { type: 'string' },
    miners: { type: 'string' },
    tempo: { type: 'string' },
    'no-faults': { type: 'boolean' },
  },
});
const knob = (flag: string | undefined, env: string): number | undefined => {
  const raw = flag ?? process.env[env];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`${env.toLowerCase()}: expected a positive integer, got ${raw}`);
  return n;
};
const seedsRaw = values.seeds ?? process.env.SIM_SEEDS;
const seeds = seedsRaw?.split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 0) throw new Error(`seeds: expected integers, got ${s}`);
  return n;
});
const epochs = knob(values.epochs, 'SIM_EPOCHS');
const validators = knob(values.validators, 'SIM_VALIDATORS');
const miners = knob(values.miners, 'SIM_MINERS');
const tempo = knob(values.tempo, 'SIM_TEMPO') ?? 10;
const custom =
  seeds !== undefined || epochs !== undefined || validators !== undefined || miners !== undefined;
const plan: Plan[] = custom
  ? [{ validators: validators ?? 16, miners: miners ?? 64, epochs: epochs ?? 20, seeds: seeds ?? [1, 2, 3] }]
  : DEFAULT_PLAN;
const faults = values['no-faults'] === true ? NO_FAULTS : DEFAULT_FAULTS;

const started = performance.now();
const runs: SimReport[] = [];
let failed: SimReport | undefined;
outer: for (const p of plan) {
  for (const seed of p.seeds) {
    const r = await simulate({
      seed,
      epochs: p.epochs,
      validators: p.validators,
      miners: p.miners,
      tempo,
      faults,
    });
    runs.push(r);
    process.stderr.write(
      `sim: ${p.validators}x${p.miners} seed ${seed}: ${r.epochs} epochs, ${r.finalised} finalised, ${r.violations.length} violations, ${r.epochsPerSecond} epochs/s\n`,
    );
    if (r.violations.length > 0) {
      failed = r;
      break outer;
    }
  }
}

const sum = (xs: Record<string, number>[]) => {
  const out: Record<string, number> = {};
  for (const x of xs) for (const [k, v] of Object.entries(x)) out[k] = (out[k] ?? 0) + v;
  return out;
};
const bySize = plan.map((p) => {
  const rs = runs.filter((r) => r.validators === p.validators && r.miners === p.miners);
  const e = rs.reduce((a, r) => a + r.epochs, 0);
  const runMs = rs.reduce((a, r) => a + r.wallMs - r.setupMs, 0);
  return {
    validators: p.validators,
    miners: p.miners,
    seeds: rs.map((r) => r.seed),
    epochs: e,
    epochsPerSecond: Number((e / (runMs / 1000)).toFixed(3)),
    setupMsPerRun: Math.round(rs.reduce((a, r) => a + r.setupMs, 0) / Math.max(1, rs.length)),
  };
});
const doc = {
  ok: failed === undefined,
  seeds: runs.map((r) => r.seed),
  epochs: runs.reduce((a, r) => a + r.epochs, 0),
  finalised: runs.reduce((a, r) => a + r.finalised, 0),
  expired: runs.reduce((a, r) => a + r.expired, 0),
  faults: sum(runs.map((r) => r.faults)),
  activity: sum(runs.map((r) => r.activity)),
  checksPassed: sum(runs.map((r) => r.checks)),
  violations: runs.flatMap((r) => r.violations.map((v) => ({ seed: r.seed, ...v }))),
  bySize,
  wallMs: Math.round(performance.now() - started),
  runs: runs.map((r) => ({
    seed: r.seed,
    validators: r.validators,
    miners: r.miners,
    epochs: r.epochs,
    finalised: r.finalised,
    violations: r.violations.length,
    epochsPerSecond: r.epochsPerSecond,
    wallMs: r.wallMs,
    digest: r.digest,
    ...(r.failedEpoch === undefined ? {} : { failedEpoch: r.failedEpoch }),
  })),
};
console.log(JSON.stringify(doc, null, 2));
if (failed !== undefined) {
  const v = failed.violations[0];
  process.stderr.write(
    `sim: seed ${failed.seed} broke ${v?.invariant} in epoch ${v?.epoch}: ${v?.detail}\n` +
      `sim: replay with: node scripts/sim.ts --seeds ${failed.seed} --epochs ${failed.requestedEpochs} --validators ${failed.validators} --miners ${failed.miners} --tempo ${failed.tempo}${values['no-faults'] === true ? ' --no-faults' : ''}\n`,
  );
  process.exit(1);
}
