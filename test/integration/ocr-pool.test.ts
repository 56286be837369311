import { access } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { characterErrorRate } from '../../fixtures/text-metrics.js';
import { normalizePage } from '../../src/pipeline/normalize.js';
import { encodePgm } from '../../src/pipeline/raw-image.js';
import { startTestPool } from '../helpers/ocr-pool.js';

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

describe('the tesseract.js pool', () => {
  it('reads with a replaced worker after recycling, and removes its traineddata folder on close', async () => {
    // Every page replaces the worker, so the second read runs on a worker started from the pool's folder.
    const pool = await startTestPool({ workers: 1, recyclePages: 1 });
    try {
      expect(await exists(`${pool.dataFolder}/ukr.traineddata.gz`)).toBe(true);
      for (const paragraph of [0, 1]) {
        const page = await generatePage({ dpi: 200, paragraphs: { from: paragraph, count: 1 } });
        const { grey, dpi } = await normalizePage(page.bytes, { maxPixels: 100_000_000 });
        const result = await pool.recognize({ pgm: encodePgm(grey), dpi });
        expect(characterErrorRate(result.text, page.truth.text)).toBeLessThan(0.03);
      }
    } finally {
      await pool.close();
    }
    expect(await exists(pool.dataFolder)).toBe(false);
  });
});
