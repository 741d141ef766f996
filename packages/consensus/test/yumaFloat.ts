/**
 * The same epoch as `yuma` in plain Float64Array arithmetic (no fixed-point rounding): the baseline of the
 * benchmark and a cross-check in the tests. Never use it for anything consensus-critical.
 */
export function yumaFloat(
  stakes: Float64Array,
  weights: Float64Array,
  prevBonds: Float64Array | undefined,
  V: number,
  M: number,
  p: { version: 2 | 3; kappa: number; bondsMovingAverage: number; bondsPenalty: number },
): { consensus: Float64Array; incentive: Float64Array; dividends: Float64Array; bonds: Float64Array } {
  const norm = (x: Float64Array) => {
    let s = 0;
    for (const v of x) s += v;
    if (s !== 0) for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) / s;
    return x;
  };
  const colNorm = (x: Float64Array) => {
    const sums = new Float64Array(M);
    for (let k = 0; k < V * M; k++) sums[k % M] = (sums[k % M] as number) + (x[k] as number);
    for (let k = 0; k < V * M; k++) if (sums[k % M] !== 0) x[k] = (x[k] as number) / (sums[k % M] as number);
    return x;
  };
  const s = norm(Float64Array.from(stakes));
  const W = Float64Array.from(weights);
  for (let i = 0; i < V; i++) {
    let sum = 0;
    for (let j = 0; j < M; j++) sum += W[i * M + j] as number;
    if (sum > 0) for (let j = 0; j < M; j++) W[i * M + j] = (W[i * M + j] as number) / sum;
  }
  const kappa = p.kappa / 65535;
  const C = new Float64Array(M);
  const order = new Int32Array(V);
  for (let j = 0; j < M; j++) {
    for (let i = 0; i < V; i++) order[i] = i;
    order.sort((a, b) => (W[a * M + j] as number) - (W[b * M + j] as number));
    // Lowest score w such that the stake weighing the miner above w is below kappa.
    let above = 1;
    for (const i of order) {
      above -= s[i] as number;
      if (above < kappa) {
        C[j] = W[i * M + j] as number;
        break;
      }
    }
  }
  const clipped = new Float64Array(V * M);
  const ranks = new Float64Array(M);
  for (let k = 0; k < V * M; k++) {
    const j = k % M;
    clipped[k] = Math.min(W[k] as number, C[j] as number);
    ranks[j] = (ranks[j] as number) + (s[(k / M) | 0] as number) * (clipped[k] as number);
  }
  const incentive = norm(ranks);
  const pen = p.bondsPenalty / 65535;
  const wb = new Float64Array(V * M);
  for (let k = 0; k < V * M; k++)
    wb[k] = (W[k] as number) + pen * ((clipped[k] as number) - (W[k] as number));
  const alpha = 1 - p.bondsMovingAverage / 1e6;
  const ema = new Float64Array(V * M);
  const dividends = new Float64Array(V);
  if (p.version === 2) {
    const B = prevBonds ? colNorm(Float64Array.from(prevBonds)) : new Float64Array(V * M);
    const delta = new Float64Array(V * M);
    for (let k = 0; k < V * M; k++) delta[k] = (s[(k / M) | 0] as number) * (wb[k] as number);
    colNorm(delta);
    for (let k = 0; k < V * M; k++) ema[k] = alpha * (delta[k] as number) + (1 - alpha) * (B[k] as number);
    colNorm(ema);
    for (let k = 0; k < V * M; k++) {
      const i = (k / M) | 0;
      dividends[i] = (dividends[i] as number) + (ema[k] as number) * (incentive[k % M] as number);
    }
  } else {
    for (let k = 0; k < V * M; k++) {
      ema[k] = alpha * (wb[k] as number) + (1 - alpha) * (prevBonds ? (prevBonds[k] as number) / 65535 : 0);
    }
    const shares = colNorm(Float64Array.from(ema));
    for (let k = 0; k < V * M; k++) {
      const i = (k / M) | 0;
      dividends[i] = (dividends[i] as number) + (shares[k] as number) * (incentive[k % M] as number);
    }
    for (let i = 0; i < V; i++) dividends[i] = (dividends[i] as number) * (s[i] as number);
  }
  return { consensus: C, incentive, dividends: norm(dividends), bonds: ema };
}
