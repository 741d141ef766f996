/**
 * Prometheus metrics of an Engine API server (prom-client): calls by method and outcome, call latency,
 * open streams, events streamed.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface EngineMetrics {
  observeCall(method: string, outcome: string, seconds: number): void;
  setOpenStreams(n: number): void;
  countStreamEvents(n: number): void;
}

/** Registers the Engine API metrics on `registry`. */
export function createEngineMetrics(registry: Registry): EngineMetrics {
  const calls = new Counter({
    name: 'engine_api_calls_total',
    help: 'Engine API calls by method and outcome',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'engine_api_call_seconds',
    help: 'Engine API unary call latency',
    labelNames: ['method'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  const open = new Gauge({
    name: 'engine_api_open_streams',
    help: 'Streams open now',
    registers: [registry],
  });
  const events = new Counter({
    name: 'engine_api_stream_events_total',
    help: 'Events sent on streams',
    registers: [registry],
  });
  return {
    observeCall(method, outcome, seconds) {
      calls.inc({ method, outcome });
      latency.observe({ method }, seconds);
    },
    setOpenStreams: (n) => open.set(n),
    countStreamEvents: (n) => events.inc(n),
  };
}
