import { connectRedis } from '../infra/redis.js';
import { TesseractPool } from '../ocr/tesseract-pool.js';
import type { Runtime } from '../runtime.js';
import { startPageWorker } from './page-worker.js';

/** The worker role: a pool of tesseract.js workers fed by the pages queue. */
export async function startWorkerRole(runtime: Runtime): Promise<void> {
  const { config, log } = runtime;
  const pool = await TesseractPool.start({
    languages: config.ocr.languages,
    model: config.ocr.model,
    pageSegmentationMode: config.ocr.pageSegmentationMode,
    workers: config.ocr.concurrency,
    recyclePages: config.ocr.recyclePages,
    log: log.child({ component: 'ocr' }),
  });
  runtime.shutdown.register('clients', 'ocr-pool', () => pool.close());

  // Workers wait for Redis instead of failing fast: their own connection, with an offline queue.
  const connection = await connectRedis(runtime.redisUrl, 'blocking');
  runtime.shutdown.register('clients', 'worker-redis', () => connection.quit());
  const worker = startPageWorker({
    connection,
    redisPrefix: config.redis.prefix,
    packets: runtime.packets,
    store: runtime.store,
    engines: { ocr: pool, orientation: pool },
    metrics: runtime.metrics,
    log: log.child({ component: 'page-worker' }),
    options: {
      concurrency: config.ocr.concurrency,
      maxPixels: config.limits.maxPagePixels,
      jpegQuality: config.ocr.jpegQuality,
    },
  });
  // close() lets active jobs finish: a page in the middle of OCR completes instead of being lost.
  runtime.shutdown.register('work', 'page-worker', () => worker.close());
  log.info(
    { concurrency: config.ocr.concurrency, languages: config.ocr.languages, model: config.ocr.model },
    'page worker started',
  );
}
