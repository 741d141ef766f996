/**
 * Yuma Consensus: golden vectors ported from opentensor/subtensor, properties, and input errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsensusErrorCode, type YumaInput, type YumaParams, yuma } from '../src/index.js';
import { yumaFloat } from './yumaFloat.js';

const U16 = 65_535;
const Q = [16_383, 32_767, 49_149, 65_535]; // u16::MAX/4 · [1, 2, 3, 4]
const Z = [0, 0, 0, 0];
const SRV4 = [0, 0, 0, U16];

/** Runs epochs in sequence, feeding each epoch's bonds to the next. */
function run(stakes: number[], weightsPerEpoch: number[][][], params: YumaParams) {
  let bonds: number[][] | undefined;
  return weightsPerEpoch.map((weights) => {
    const out = yuma({ stakes, weights, bonds }, params);
    bonds = out.bonds;
    return out;
  });
}

/** Deterministic xorshift32 in [0, 1), so property tests are reproducible. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function randomInput(V: number, M: number, seed: number, density = 0.3): YumaInput {
  const r = rng(seed);
  return {
    stakes: Array.from({ length: V }, () => Math.floor(r() * 1_000_000) + 1),
    weights: Array.from({ length: V }, () =>
      Array.from({ length: M }, () => (r() < density ? Math.floor(r() * U16) : 0)),
    ),
    bonds: Array.from({ length: V }, () => Array.from({ length: M }, () => Math.floor(r() * U16))),
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Asserts |actual_k - expected_k| <= tol for every k. */
function near(
  actual: readonly number[] | undefined,
  expected: ArrayLike<number>,
  tol: number,
  label: string,
): void {
  assert.equal(actual?.length, expected.length, `${label}: length`);
  for (let k = 0; k < expected.length; k++) {
    const a = actual?.[k] ?? Number.NaN;
    const e = expected[k] ?? Number.NaN;
    assert.ok(Math.abs(a - e) <= tol, `${label}[${k}]: ${a} ≠ ${e}`);
  }
}

describe('yuma golden vectors', () => {
  // Ported from opentensor/subtensor pallets/subtensor/src/tests/epoch.rs::test_bonds (Yuma 2, kappa 32767,
  // bonds_moving_average 900_000, bonds_penalty 65535). uids 0-3 are validators with stake [1, 2, 3, 4] and
  // uids 4-7 are miners 0-3 here; a self-weight there (masked on chain) is an all-zero row here. The bonds are
  // the test's exact `assert_eq!`s; dividends are the `D:` lines of its trace comments (I32F32 printed as the shortest decimal within 2^-32).
  const epochs = run(
    [1, 2, 3, 4],
    [
      [Q, Q, Q, Q],
      [Z, Q, Q, Q],
      [Z, Z, Q, Q],
      [Z, Z, Z, Q],
      [Z, Z, SRV4, Q], // val3 puts all weight on srv4, above its consensus 0.4: clipped
      [Z, Z, SRV4, Q],
      [Z, Z, SRV4, Q],
    ],
    { version: 2 },
  );
  const col = (e: number, j: number) => epochs[e]?.bonds.map((row) => row[j]);

  it('test_bonds: u16 bonds match subtensor exactly over seven epochs', () => {
    assert.deepEqual(col(0, 0), [16_383, 32_767, 49_151, 65_535]);
    assert.deepEqual(col(1, 0), [14_582, 32_767, 49_151, 65_535]);
    assert.deepEqual(col(2, 0), [12_603, 28_321, 49_151, 65_535]);
    assert.deepEqual(col(3, 3), [12_602, 28_320, 49_150, 65_535]);
    assert.deepEqual(col(4, 3), [10_951, 24_609, 49_150, 65_535]);
    assert.deepEqual(col(5, 3), [9_559, 21_482, 49_150, 65_535]);
    assert.deepEqual(col(6, 3), [8_376, 18_824, 49_150, 65_535]);
    // Trace "current_block: 7" shows the stored bonds of the other miners too.
    assert.deepEqual(
      epochs[5]?.bonds.map((r) => r[0]),
      [12_600, 28_318, 49_148, 65_535],
    );
  });

  it('test_bonds: consensus, dividends and the clipped weight match the trace', () => {
    const e1 = epochs[0];
    const close = (a: number[] | undefined, b: number[]) => near(a, b, 2 ** -32, 'trace');
    close(e1?.consensus, [0.0999975584, 0.2000012207, 0.2999926754, 0.400008545]);
    close(e1?.dividends, [0.0999999978, 0.1999999983, 0.3000000012, 0.4000000022]);
    close(epochs[1]?.dividends, [0.0899967032, 0.2022211233, 0.303334432, 0.404447741]);
    close(epochs[6]?.dividends, [0.0590361361, 0.1326722752, 0.3464062694, 0.4618853189]);
    // val3's weight 1.0 on srv4 is clipped to the consensus 0.4000085450 (val4's weight, the stake median).
    assert.equal(epochs[4]?.clippedWeights[2]?.[3], epochs[4]?.consensus[3]);
    close(epochs[4]?.consensus, [0, 0, 0, 0.400008545]);
    assert.ok((epochs[4]?.trust[3] ?? 1) < 1);
    assert.deepEqual(epochs[6]?.incentive, [0, 0, 0, 1]);
  });

  it('test_yuma_3_liquid_alpha_disabled: Yuma 3 bonds EMA and dividends over six epochs', () => {
    // Ported from opentensor/subtensor pallets/subtensor/src/tests/epoch.rs::test_yuma_3_liquid_alpha_disabled:
    // 3 validators (stake 33, 33, 34), 2 miners, kappa 32767, bonds_moving_average 975_000, bonds_penalty 0,
    // tolerance 1e-3 as upstream. In epoch 2 validator C alone weighs miner 2: out of consensus, but bonded
    // (penalty 0), so C's dividends drop and its bond to miner 2 decays afterwards.
    const all = [
      [U16, 0],
      [U16, 0],
      [U16, 0],
    ];
    const split = [
      [U16, 0],
      [U16, 0],
      [0, U16],
    ];
    const out = run([33, 33, 34], [all, all, split, all, all, all], {
      version: 3,
      kappa: 32_767,
      bondsMovingAverage: 975_000,
      bondsPenalty: 0,
    });
    const bonds = [
      [0.025, 0, 0.025, 0, 0.025, 0],
      [0.0494, 0, 0.0494, 0, 0.0494, 0],
      [0.0731, 0, 0.0731, 0, 0.0481, 0.025],
      [0.0963, 0, 0.0963, 0, 0.0719, 0.0244],
      [0.1189, 0, 0.1189, 0, 0.0951, 0.0238],
      [0.1409, 0, 0.1409, 0, 0.1178, 0.0232],
    ];
    const dividends = [
      [0.33, 0.33, 0.34],
      [0.33, 0.33, 0.34],
      [0.3734, 0.3734, 0.2532],
      [0.3611, 0.3611, 0.2779],
      [0.3541, 0.3541, 0.2919],
      [0.3495, 0.3495, 0.3009],
    ];
    out.forEach((o, e) => {
      near(
        o.bonds.flat().map((b) => b / U16),
        bonds[e] ?? [],
        1e-3,
        `epoch ${e} bonds`,
      );
      near(o.dividends, dividends[e] ?? [], 1e-3, `epoch ${e} dividends`);
    });
  });

  it('hand-computed: Yuma 3 bonds reset clears a miner column before the EMA', () => {
    // alpha = 0.1: a fresh bond is 0.1·w = 6553 (u16 floor of 0.1 in I32F32); without the reset the old
    // 65535 would keep 0.9 of itself.
    const params = { version: 3, bondsMovingAverage: 900_000 } as const;
    const input = {
      stakes: [1, 1],
      weights: [
        [U16, 0],
        [U16, 0],
      ],
      bonds: [
        [U16, U16],
        [U16, U16],
      ],
    };
    assert.deepEqual(yuma({ ...input, resetMiners: [0, 1] }, params).bonds, [
      [6553, 0],
      [6553, 0],
    ]);
    assert.deepEqual(yuma(input, params).bonds, [
      [U16, 58_981],
      [U16, 58_981],
    ]);
  });
});

describe('yuma properties', () => {
  for (const version of [2, 3] as const) {
    const params = { version };
    it(`v${version}: identical inputs give identical outputs`, () => {
      const input = randomInput(16, 40, 7);
      assert.deepEqual(yuma(input, params), yuma(structuredClone(input), params));
    });

    it(`v${version}: permuting miners permutes every per-miner output`, () => {
      const input = randomInput(12, 30, 11);
      const perm = Array.from({ length: 30 }, (_, j) => (j * 7) % 30);
      const permute = (m: readonly (readonly number[])[]) =>
        m.map((row) => perm.map((j) => row[j] as number));
      const a = yuma(input, params);
      const b = yuma(
        { ...input, weights: permute(input.weights), bonds: permute(input.bonds ?? []) },
        params,
      );
      for (const k of ['consensus', 'trust', 'rank', 'incentive'] as const) {
        assert.deepEqual(
          b[k],
          perm.map((j) => a[k][j]),
          k,
        );
      }
      assert.deepEqual(b.bonds, permute(a.bonds));
      assert.deepEqual(b.clippedWeights, permute(a.clippedWeights));
      assert.deepEqual(b.dividends, a.dividends);
    });

    it(`v${version}: scaling every stake by a constant changes nothing`, () => {
      const input = randomInput(10, 25, 13);
      const scaled = { ...input, stakes: input.stakes.map((s) => BigInt(s) * 1_000_003n) };
      assert.deepEqual(yuma(scaled, params), yuma(input, params));
    });

    it(`v${version}: incentive and dividends sum to 1 within rounding when any weight is set`, () => {
      for (const seed of [1, 2, 3, 4, 5]) {
        const out = yuma(randomInput(20, 64, seed), params);
        assert.ok(
          Math.abs(sum(out.incentive) - 1) < 64 * 2 ** -32,
          `incentive sums to ${sum(out.incentive)}`,
        );
        assert.ok(Math.abs(sum(out.dividends) - 1) < 20 * 2 ** -32, `dividends sum to ${sum(out.dividends)}`);
      }
    });

    it(`v${version}: agrees with the Float64 reference to 1e-6`, () => {
      const V = 16;
      const M = 50;
      const input = randomInput(V, M, 17, 1);
      const out = yuma(input, params);
      const ref = yumaFloat(
        Float64Array.from(input.stakes.map(Number)),
        Float64Array.from(input.weights.flat()),
        Float64Array.from((input.bonds ?? []).flat()),
        V,
        M,
        { version, kappa: 32_767, bondsMovingAverage: 900_000, bondsPenalty: U16 },
      );
      near(out.incentive, ref.incentive, 1e-6, 'incentive');
      near(out.dividends, ref.dividends, 1e-6, 'dividends');
    });
  }

  it('one dishonest validator under 1/3 stake cannot move the honest majority consensus', () => {
    const honest = [10_000, 40_000, 0, 15_535];
    const input = (liar: number[]) => ({
      stakes: [30, 25, 20, 24],
      weights: [honest, honest, honest, liar],
    });
    const base = yuma(input(honest), { version: 3 });
    for (const liar of [
      [0, 0, U16, 0],
      [U16, 0, 0, 0],
      [1, 1, 1, 1],
    ]) {
      const out = yuma(input(liar), { version: 3 });
      assert.deepEqual(out.consensus, base.consensus);
      assert.equal(out.incentive[2], 0, 'the colluding miner earns nothing');
      assert.ok((out.validatorTrust[3] ?? 1) < (base.validatorTrust[3] ?? 0));
    }
  });

  it('no weights: zero consensus and incentive, empty shapes are fine', () => {
    const out = yuma({ stakes: [5, 5], weights: [Z, Z] }, { version: 2 });
    assert.deepEqual(out.incentive, [0, 0, 0, 0]);
    assert.deepEqual(out.dividends, [0, 0]);
    assert.deepEqual(yuma({ stakes: [], weights: [] }, { version: 3 }).consensus, []);
  });
});

describe('yuma bad input', () => {
  const ok = {
    stakes: [1, 2],
    weights: [
      [1, 2],
      [3, 4],
    ],
  };
  const code = (input: YumaInput, c: string, params: YumaParams = { version: 3 }) =>
    assert.throws(
      () => yuma(input, params),
      (e: Error & { code?: string }) => e.name === 'ConsensusError' && e.code === c,
    );

  it('rejects a ragged weight matrix', () =>
    code({ ...ok, weights: [[1, 2], [3]] }, ConsensusErrorCode.RAGGED_MATRIX));
  it('rejects negative, NaN and fractional stake', () => {
    for (const s of [-1, Number.NaN, 1.5, Number.POSITIVE_INFINITY, -1n]) {
      code({ ...ok, stakes: [1, s] }, ConsensusErrorCode.INVALID_STAKE);
    }
  });
  it('rejects size mismatches', () => {
    code({ ...ok, stakes: [1] }, ConsensusErrorCode.SIZE_MISMATCH);
    code({ ...ok, bonds: [[1, 2]] }, ConsensusErrorCode.SIZE_MISMATCH);
    code({ ...ok, bonds: [[1, 2], [3]] }, ConsensusErrorCode.SIZE_MISMATCH);
    code({ ...ok, resetMiners: [2] }, ConsensusErrorCode.SIZE_MISMATCH);
  });
  it('rejects weights and bonds outside u16', () => {
    code(
      {
        ...ok,
        weights: [
          [1, 65_536],
          [3, 4],
        ],
      },
      ConsensusErrorCode.INVALID_VALUE,
    );
    code(
      {
        ...ok,
        weights: [
          [1, 0.5],
          [3, 4],
        ],
      },
      ConsensusErrorCode.INVALID_VALUE,
    );
    code(
      {
        ...ok,
        bonds: [
          [1, -1],
          [3, 4],
        ],
      },
      ConsensusErrorCode.INVALID_VALUE,
    );
  });
  it('rejects parameters out of range', () => {
    code(ok, ConsensusErrorCode.INVALID_PARAMS, { version: 4 as 3 });
    code(ok, ConsensusErrorCode.INVALID_PARAMS, { version: 2, kappa: 70_000 });
    code(ok, ConsensusErrorCode.INVALID_PARAMS, { version: 2, bondsMovingAverage: 1_000_001 });
    code(ok, ConsensusErrorCode.INVALID_PARAMS, { version: 2, bondsPenalty: -1 });
  });
});
