/**
 * Yuma Consensus epoch time: the fixed-point `yuma` beside a plain Float64Array implementation of the same math,
 * in one run, for validators × miners of 64×256, 64×4096 and 256×4096 with random ~10 %-dense weights.
 * Prints one JSON object (median ms of N runs after warm-up). Target: ≤ 10 ms for a 64×4096 fixed-point epoch;
 * the fixed-point version skips zero weights, so it beats the dense float reference on these sparse inputs.
 *
 * Run: `npx tsc -b && node scripts/bench/yuma.ts`.
 */
import { yuma } from '../../packages/consensus/dist/src/index.js';
import { yumaFloat } from '../../packages/consensus/dist/test/yumaFloat.js';

const RUNS = Number(process.env.BENCH_YUMA_RUNS ?? 15);
const SHAPES = [
  [64, 256],
  [64, 4096],
  [256, 4096],
] as const;

function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s[s.length >> 1] ?? 0) * 100) / 100;
}

function time(fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const results = SHAPES.map(([V, M]) => {
  const r = rng(V * 7919 + M);
  const stakes = Array.from({ length: V }, () => Math.floor(r() * 1e12));
  const weights = Array.from({ length: V }, () =>
    Array.from({ length: M }, () => (r() < 0.1 ? Math.floor(r() * 65_535) : 0)),
  );
  const bonds = yuma({ stakes, weights }, { version: 2 }).bonds;
  const flat = {
    s: Float64Array.from(stakes),
    w: Float64Array.from(weights.flat()),
    b: Float64Array.from(bonds.flat()),
  };
  const p = { kappa: 32_767, bondsMovingAverage: 900_000, bondsPenalty: 65_535 };
  const row: Record<string, number | string> = { shape: `${V}x${M}` };
  for (const version of [2, 3] as const) {
    row[`fixedV${version}Ms`] = time(() => yuma({ stakes, weights, bonds }, { version }));
    row[`floatV${version}Ms`] = time(() => yumaFloat(flat.s, flat.w, flat.b, V, M, { version, ...p }));
  }
  return row;
});

console.log(
  JSON.stringify({ bench: 'yuma', runs: RUNS, node: process.version, targetMs64x4096: 10, results }),
);
