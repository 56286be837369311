import { createLogger } from '../../src/infra/logger.js';
import { TesseractPool, type TesseractPoolOptions } from '../../src/ocr/tesseract-pool.js';
import type { Infrastructure } from '../../src/roles/infrastructure.js';
import { startWorkerRole } from '../../src/roles/worker.js';

/** The real tesseract.js engines, as the worker role configures them by default (two workers unless told). */
export const startTestPool = (
  options: Partial<Pick<TesseractPoolOptions, 'workers' | 'recyclePages' | 'timeoutMs'>> = {},
) =>
  TesseractPool.start({
    languages: ['ukr', 'eng'],
    model: 'best_int',
    pageSegmentationMode: 3,
    workers: 2,
    recyclePages: 200,
    timeoutMs: 120_000,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...options,
  });

/** The worker role on a test stack, reading with a pool the test owns (and closes after the stack). */
export const startTestWorkers = (infra: Infrastructure, pool: TesseractPool) =>
  startWorkerRole(infra, { engines: { ocr: pool, orientation: pool } });
