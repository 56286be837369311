import { readFile } from 'node:fs/promises';
import type { Worker } from 'bullmq';
import { dropImageCache } from '../infra/image-memory.js';
import { connectRedis } from '../infra/redis.js';
import { loadHunspellLexicon } from '../ocr/hunspell-lexicon.js';
import { TesseractPool } from '../ocr/tesseract-pool.js';
import { PDF_FONT_FILE } from '../pipeline/packet-pdf.js';
import type { PageEngines } from '../pipeline/process-page.js';
import { Bundling, removeStaleBundleFiles } from '../services/bundling.js';
import { PageProcessing } from '../services/page-processing.js';
import { startBundleWorker, startPageWorker } from '../workers/job-workers.js';
import { type Infrastructure, packetProgressOf } from './infrastructure.js';

/** The role's services, and its queue consumers (which tests pause to stage races). */
export type WorkerRole = {
  pages: PageProcessing;
  bundling: Bundling;
  pageWorker: Worker;
  bundleWorker: Worker;
};

/**
 * The worker role: a pool of tesseract.js workers fed by the pages queue, with the dictionaries that correct its
 * script mix-ups, and the packet bundler. `engines` replaces both (tests share one pool between stacks); whoever
 * passes it closes it.
 */
export async function startWorkerRole(
  infra: Infrastructure,
  options: { engines?: PageEngines } = {},
): Promise<WorkerRole> {
  const { config, log, shutdown, store, metrics } = infra;
  const { packets } = infra.repositories;
  dropImageCache();
  let engines = options.engines;
  if (!engines) {
    const pool = await TesseractPool.start({
      languages: config.ocr.languages,
      model: config.ocr.model,
      pageSegmentationMode: config.ocr.pageSegmentationMode,
      workers: config.ocr.concurrency,
      recyclePages: config.ocr.recyclePages,
      timeoutMs: config.ocr.timeoutMs,
      log: log.child({ component: 'ocr' }),
    });
    shutdown.register('clients', 'ocr-pool', () => pool.close());
    engines = { ocr: pool, orientation: pool, lexicon: await loadHunspellLexicon() };
  }

  const progress = packetProgressOf(infra);
  const pages = new PageProcessing({
    packets,
    store,
    engines,
    metrics,
    progress,
    log: log.child({ component: 'page-worker' }),
    options: { limits: config.limits.page, jpegQuality: config.ocr.jpegQuality },
  });
  await removeStaleBundleFiles(log.child({ component: 'bundle-worker' }));
  const bundling = new Bundling({
    packets,
    progress,
    store,
    identity: await infra.signingIdentity(),
    font: await readFile(PDF_FONT_FILE),
    office: config.office,
    metrics,
    log: log.child({ component: 'bundle-worker' }),
  });

  // Workers wait for Redis instead of failing fast: their own connection, with an offline queue.
  const connection = await connectRedis(infra.redisUrl, 'blocking');
  shutdown.register('clients', 'worker-redis', () => connection.quit());
  const wiring = { connection, redisPrefix: config.redis.prefix, locking: config.jobs };
  const pageWorker = startPageWorker(pages, config.ocr.concurrency, {
    ...wiring,
    log: log.child({ component: 'page-worker' }),
  });
  const bundleWorker = startBundleWorker(bundling, {
    ...wiring,
    log: log.child({ component: 'bundle-worker' }),
  });
  // close() lets active jobs finish: a page in the middle of OCR completes instead of being lost.
  shutdown.register('work', 'page-worker', () => pageWorker.close());
  shutdown.register('work', 'bundle-worker', () => bundleWorker.close());
  log.info(
    { concurrency: config.ocr.concurrency, languages: config.ocr.languages, model: config.ocr.model },
    'page worker started',
  );
  return { pages, bundling, pageWorker, bundleWorker };
}
