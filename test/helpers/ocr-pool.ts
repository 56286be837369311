import { createLogger } from '../../src/infra/logger.js';
import { TesseractPool } from '../../src/ocr/tesseract-pool.js';

/** The real tesseract.js engines, as the worker role configures them by default. */
export const startTestPool = (workers = 2) =>
  TesseractPool.start({
    languages: ['ukr', 'eng'],
    model: 'best_int',
    pageSegmentationMode: 3,
    workers,
    recyclePages: 200,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  });

export const SAMPLES_DIR = new URL('../../../shared/samples/', import.meta.url);
