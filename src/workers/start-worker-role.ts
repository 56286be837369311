import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { connectRedis } from '../infra/redis.js';
import { loadSigningIdentity } from '../infra/signing-identity.js';
import { TesseractPool } from '../ocr/tesseract-pool.js';
import type { Runtime } from '../runtime.js';
import { startBundleWorker } from './bundle-worker.js';
import { startPageWorker } from './page-worker.js';

/** DejaVu Sans covers Latin and Cyrillic; it carries the PDF's invisible text layer. */
export const PDF_FONT_FILE = createRequire(import.meta.url).resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

/** The worker role: a pool of tesseract.js workers fed by the pages queue, and the packet bundler. */
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
    progress: runtime.progress,
    locking: config.jobs,
    log: log.child({ component: 'page-worker' }),
    options: {
      concurrency: config.ocr.concurrency,
      maxPixels: config.limits.maxPagePixels,
      jpegQuality: config.ocr.jpegQuality,
    },
  });
  // close() lets active jobs finish: a page in the middle of OCR completes instead of being lost.
  runtime.shutdown.register('work', 'page-worker', () => worker.close());

  const bundler = startBundleWorker({
    connection,
    redisPrefix: config.redis.prefix,
    packets: runtime.packets,
    assignments: runtime.assignments,
    store: runtime.store,
    identity: await loadSigningIdentity(config.signing, log),
    font: await readFile(PDF_FONT_FILE),
    office: config.office,
    metrics: runtime.metrics,
    locking: config.jobs,
    log: log.child({ component: 'bundle-worker' }),
  });
  runtime.shutdown.register('work', 'bundle-worker', () => bundler.close());
  log.info(
    { concurrency: config.ocr.concurrency, languages: config.ocr.languages, model: config.ocr.model },
    'page worker started',
  );
}
