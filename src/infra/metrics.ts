import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** One registry per process (and per test app), so metrics never leak between instances. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    pagesUploaded: new Counter({
      name: 'pages_uploaded_total',
      help: 'Page uploads by outcome (created, replaced, unchanged, rejected)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
