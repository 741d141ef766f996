/**
 * The validator loop's Prometheus metrics, created once per registry: challenges and their verdicts, audits,
 * weight transactions, and each miner's current score.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ValidatorMetrics {
  /** Challenge answers by verdict (pass, fail, error, unverified). */
  verdicts: Counter<'verdict'>;
  /** Logprob audits by result (pass, fail, skipped). */
  audits: Counter<'result'>;
  /** Weight transactions by kind (commit, reveal) and outcome (ok, reverted, failed). */
  weightTxs: Counter<'kind' | 'outcome'>;
  /** Current score of each miner, by uid. */
  score: Gauge<'uid'>;
}

const cache = new WeakMap<Registry, ValidatorMetrics>();

export function validatorMetrics(registry: Registry): ValidatorMetrics {
  const hit = cache.get(registry);
  if (hit !== undefined) return hit;
  const registers = [registry];
  const m: ValidatorMetrics = {
    verdicts: new Counter({
      name: 'subnet_consensus_challenge_verdicts_total',
      help: 'Synthetic challenge answers, by verdict.',
      labelNames: ['verdict'],
      registers,
    }),
    audits: new Counter({
      name: 'subnet_consensus_audits_total',
      help: 'Logprob audits of challenge answers against the reference model, by result.',
      labelNames: ['result'],
      registers,
    }),
    weightTxs: new Counter({
      name: 'subnet_consensus_weight_txs_total',
      help: 'Weight commits and reveals, by outcome.',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    score: new Gauge({
      name: 'subnet_consensus_miner_score',
      help: "Each miner's current score (correctness × availability × latency factor).",
      labelNames: ['uid'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
