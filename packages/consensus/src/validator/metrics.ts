/**
 * The validator loop's Prometheus metrics, created once per registry: challenges and their verdicts, audits,
 * weight transactions, and how many miners are routable. `/metrics` is unauthenticated, so nothing here is
 * per miner: a miner's score before the weights are committed would let others copy them (review H1); the
 * operator reads scores through the JWT-authenticated Engine API (`consensus_getStatusV1`).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ValidatorMetrics {
  /** Challenge answers by verdict (pass, fail, error, unverified). */
  verdicts: Counter<'verdict'>;
  /** Logprob audits by result (pass, fail, skipped). */
  audits: Counter<'result'>;
  /** Weight transactions by kind (commit, reveal) and outcome (ok, reverted, failed). */
  weightTxs: Counter<'kind' | 'outcome'>;
  /** Miners with a score, by whether organic traffic may go to them (`routable`: true | false). */
  miners: Gauge<'routable'>;
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
    miners: new Gauge({
      name: 'subnet_consensus_scored_miners',
      help: 'Miners this validator scores, by whether the gateway may route organic traffic to them.',
      labelNames: ['routable'],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
