import type { Redis } from 'ioredis';
import { createLogger, type Logger } from '../../src/infra/logger.js';
import { TesseractPool, type TesseractPoolOptions } from '../../src/ocr/tesseract-pool.js';
import type { Runtime } from '../../src/runtime.js';
import type { PageWorkerDeps } from '../../src/workers/page-worker.js';

/** The real tesseract.js engines, as the worker role configures them by default (two workers unless told). */
export const startTestPool = (
  options: Partial<Pick<TesseractPoolOptions, 'workers' | 'recyclePages'>> = {},
) =>
  TesseractPool.start({
    languages: ['ukr', 'eng'],
    model: 'best_int',
    pageSegmentationMode: 3,
    workers: 2,
    recyclePages: 200,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...options,
  });

/** Page-worker dependencies wired to a test stack, the way the worker role wires them to its runtime. */
export function pageWorkerDepsFor(
  runtime: Runtime,
  redisPrefix: string,
  pool: TesseractPool,
  connection: Redis,
  log: Logger = runtime.log,
): PageWorkerDeps {
  return {
    connection,
    redisPrefix,
    packets: runtime.packets,
    store: runtime.store,
    engines: { ocr: pool, orientation: pool },
    metrics: runtime.metrics,
    progress: runtime.progress,
    log,
    options: { concurrency: 2, maxPixels: 100_000_000, jpegQuality: 70 },
  };
}
