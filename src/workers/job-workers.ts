import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../infra/logger.js';
import type { Bundling } from '../services/bundling.js';
import type { PageProcessing } from '../services/page-processing.js';
import { startJobWorker } from './queues.js';

export type JobWorkerWiring = {
  /** A connection that waits for Redis (BullMQ workers must not fail fast). */
  connection: Redis;
  redisPrefix: string;
  log: Logger;
  /** Job lock length and stalled-job check interval. */
  locking: { lockMs: number; stalledCheckMs: number };
};

/** Consumes the pages queue, `concurrency` pages at once (one per OCR worker). */
export const startPageWorker = (
  pages: PageProcessing,
  concurrency: number,
  wiring: JobWorkerWiring,
): Worker =>
  startJobWorker('processPage', {
    ...wiring,
    concurrency,
    handle: (payload) => pages.process(payload),
    onFinalFailure: (payload, last) => pages.giveUp(payload, last),
  });

/** Consumes the packets queue, one bundle at a time (building a PDF is memory-heavy). */
export const startBundleWorker = (bundling: Bundling, wiring: JobWorkerWiring): Worker =>
  startJobWorker('bundlePacket', {
    ...wiring,
    concurrency: 1,
    handle: (payload) => bundling.bundle(payload),
    onFinalFailure: (payload, last) => bundling.giveUp(payload, last),
  });
