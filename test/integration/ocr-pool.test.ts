import { access } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { GENEROUS_PAGE_LIMITS } from '../../fixtures/page-limits.js';
import { characterErrorRate } from '../../fixtures/text-metrics.js';
import { OcrTimeoutError } from '../../src/ocr/worker-leases.js';
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
        const { grey, dpi } = await normalizePage(page.bytes, GENEROUS_PAGE_LIMITS);
        const result = await pool.recognize({ pgm: encodePgm(grey), dpi });
        expect(characterErrorRate(result.text, page.truth.text)).toBeLessThan(0.03);
      }
    } finally {
      await pool.close();
    }
    expect(await exists(pool.dataFolder)).toBe(false);
  });

  it('fails a read that outlives its deadline, terminates the busy worker, and closes cleanly', async () => {
    // A 1 ms deadline: every real read outlives it, so the busy tesseract.js thread is terminated mid-OCR.
    const pool = await startTestPool({ workers: 1, timeoutMs: 1 });
    const page = await generatePage({ dpi: 200, paragraphs: { from: 2, count: 1 } });
    const { grey, dpi } = await normalizePage(page.bytes, GENEROUS_PAGE_LIMITS);
    await expect(pool.recognize({ pgm: encodePgm(grey), dpi })).rejects.toBeInstanceOf(OcrTimeoutError);
    // Orientation detection past its deadline is "cannot tell", not an error of the page.
    expect(await pool.detect({ pgm: encodePgm(grey), dpi })).toBeUndefined();
    await pool.close();
    expect(await exists(pool.dataFolder)).toBe(false);
  });
});
