import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

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
    documentsUploaded: new Counter({
      name: 'documents_uploaded_total',
      help: 'Scanner documents (multi-page PDF or TIFF) by outcome (added, unchanged, rejected)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    pagesProcessed: new Counter({
      name: 'pages_processed_total',
      help: 'Pages through the pipeline by outcome (done, failed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    pipelineStageDuration: new Histogram({
      name: 'pipeline_stage_duration_seconds',
      help: 'Time per page pipeline stage',
      labelNames: ['stage'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers: [registry],
    }),
    ocrConfidence: new Histogram({
      name: 'ocr_confidence',
      help: 'Mean OCR word confidence per page (0-100)',
      buckets: [10, 30, 50, 60, 70, 80, 85, 90, 95, 100],
      registers: [registry],
    }),
    bundleDuration: new Histogram({
      name: 'packet_bundle_duration_seconds',
      help: 'Time to build, sign, verify and store one packet PDF',
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
      registers: [registry],
    }),
    pdfBytesPerPage: new Histogram({
      name: 'packet_pdf_bytes_per_page',
      help: 'Size of signed packet PDFs divided by their page count',
      buckets: [50_000, 100_000, 200_000, 300_000, 500_000, 750_000, 1_000_000, 2_000_000],
      registers: [registry],
    }),
    draws: new Counter({
      name: 'dispatch_draws_total',
      help: 'Registrar draws by reason (ready, registrar_free, recusal, away)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    lostRaces: new Counter({
      name: 'dispatch_lost_races_total',
      help: 'Draws that lost a compare-and-set race and were drawn again',
      registers: [registry],
    }),
    mirrorConflicts: new Counter({
      name: 'protocol_mirror_conflicts_total',
      help: 'Protocol entries whose S3 mirror copy holds other bytes than Redis: the mirror is kept, not overwritten',
      registers: [registry],
    }),
    waitingPackets: new Gauge({
      name: 'dispatch_waiting_packets',
      help: 'Ready packets not yet assigned',
      registers: [registry],
    }),
    starvedPackets: new Gauge({
      name: 'dispatch_starved_packets',
      help: 'Ready packets waiting because fewer than DISPATCH_MIN_POOL eligible registrars are free',
      registers: [registry],
    }),
    poolSize: new Histogram({
      name: 'dispatch_pool_size',
      help: 'Eligible registrars per draw',
      buckets: [1, 2, 3, 5, 8, 13, 21],
      registers: [registry],
    }),
    readyToAssigned: new Histogram({
      name: 'dispatch_ready_to_assigned_seconds',
      help: 'Time from packet ready to assignment',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 3, 10, 60, 600, 3600],
      registers: [registry],
    }),
    reconciled: new Counter({
      name: 'reconciled_total',
      help: 'Packets the reconciler found without a way forward and re-drove, by kind of repair',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'queue_jobs',
      help: 'Jobs per queue and state, read at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

/** Queue depth is read from Redis when Prometheus scrapes, so every process reports the same shared numbers. */
export function observeQueueDepth(
  metrics: Metrics,
  queues: Array<{ name: string; getJobCounts(...states: string[]): Promise<Record<string, number>> }>,
): void {
  const gauge = metrics.queueDepth as Gauge<'queue' | 'state'> & { collect?: () => Promise<void> };
  gauge.collect = async () => {
    try {
      for (const queue of queues) {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        for (const [state, count] of Object.entries(counts)) gauge.set({ queue: queue.name, state }, count);
      }
    } catch {
      // Redis is away: keep the last values rather than failing the whole scrape.
    }
  };
}
