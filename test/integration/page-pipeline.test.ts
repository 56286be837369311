import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import { processPage } from '../../src/pipeline/process-page.js';
import { generatePage } from '../fixtures/page-generator.js';
import { characterErrorRate } from '../fixtures/text-metrics.js';
import { SAMPLES_DIR, startTestPool } from '../helpers/ocr-pool.js';

let pool: TesseractPool;
const options = { maxPixels: 100_000_000, jpegQuality: 70 };
const run = (bytes: Buffer) => processPage(bytes, { ocr: pool, orientation: pool }, options);

beforeAll(async () => {
  pool = await startTestPool();
});
afterAll(async () => {
  await pool?.close();
});

describe('orientation', () => {
  it.each([0, 90, 180, 270] as const)(
    'turns a page scanned at %i° upright and reads it',
    async (rotation) => {
      const page = await generatePage({
        rotation,
        skewDeg: -4.4,
        dpi: 200,
        paragraphs: { from: rotation / 90, count: 3 },
      });
      const result = await run(page.bytes);
      expect(result.summary.orientation).toBe((360 - rotation) % 360);
      expect(Math.abs(result.summary.skewDeg - -4.4)).toBeLessThanOrEqual(0.1);
      expect(characterErrorRate(result.ocr.text, page.truth.text)).toBeLessThanOrEqual(0.03);
      // Upright output keeps the portrait page format.
      expect(result.summary.height).toBeGreaterThan(result.summary.width);
    },
  );

  it('reads small print the right way up when OSD misjudges it (8 pt at 200 dpi, turned 90°)', async () => {
    // This exact page once came out upside down: OSD on the reduced analysis copy cannot read 8 pt at 200 dpi.
    const page = await generatePage({
      dpi: 200,
      font: 'DejaVu Serif',
      pointSize: 8,
      paragraphs: { from: 5, count: 4 },
      rotation: 90,
      skewDeg: -8.45,
      noise: 8,
      blur: 0.4,
      format: 'tiff',
      seed: 2003,
    });
    const result = await run(page.bytes);
    expect(result.summary.orientation).toBe(270);
    expect(result.summary.ocrConfidence).toBeGreaterThan(80);
    expect(characterErrorRate(result.ocr.text, page.truth.text)).toBeLessThanOrEqual(0.03);
  });
});

describe('OCR', () => {
  it('reads a skewed, noisy Ukrainian page at 300 dpi with CER ≤ 3% and word boxes on the page', async () => {
    const page = await generatePage({
      skewDeg: 12.5,
      dpi: 300,
      noise: 12,
      blur: 0.5,
      font: 'PT Serif',
      paragraphs: { from: 4, count: 5 },
    });
    const result = await run(page.bytes);
    const cer = characterErrorRate(result.ocr.text, page.truth.text);
    expect(cer).toBeLessThanOrEqual(0.03);
    expect(result.summary.ocrConfidence).toBeGreaterThan(80);
    const words = result.ocr.lines.flatMap((line) => line.words);
    expect(words.length).toBeGreaterThan(100);
    for (const { bbox } of words) {
      expect(bbox.x0).toBeGreaterThanOrEqual(0);
      expect(bbox.x1).toBeLessThanOrEqual(result.summary.width);
      expect(bbox.y1).toBeLessThanOrEqual(result.summary.height);
      expect(bbox.x1).toBeGreaterThan(bbox.x0);
    }
    expect(words.some((word) => word.text.includes('реєстрації'))).toBe(true);
  });

  it('keeps colour for a page with a blue stamp and makes greyscale JPEGs otherwise', async () => {
    const stamped = await run((await generatePage({ dpi: 200, stamp: true })).bytes);
    const plain = await run((await generatePage({ dpi: 200 })).bytes);
    expect(stamped.summary.colour).toBe(true);
    expect((await sharp(stamped.image).metadata()).channels).toBe(3);
    expect(plain.summary.colour).toBe(false);
    expect((await sharp(plain.image).metadata()).channels).toBe(1);
    expect((await sharp(plain.image).metadata()).density).toBe(200);
  });

  it('flags a blank page, keeps it, and does not OCR it', async () => {
    const blank = await sharp({ create: { width: 1654, height: 2339, channels: 3, background: '#ffffff' } })
      .withMetadata({ density: 200 })
      .jpeg()
      .toBuffer();
    const result = await run(blank);
    expect(result.summary).toMatchObject({ blank: true, ocrConfidence: null, skewDeg: 0, orientation: 0 });
    expect(result.ocr.lines).toEqual([]);
    expect((await sharp(result.image).metadata()).width).toBe(1654);
  });
});

describe('the shared sample scans (not made by us)', () => {
  type Truth = { file: string; text: string; skew: number; rotation: number };
  const truths = async () =>
    JSON.parse(await readFile(new URL('truth.json', SAMPLES_DIR), 'utf8')) as Truth[];

  it('corrects their skew within 0.3° and reads them with CER ≤ 3%', async () => {
    for (const truth of await truths()) {
      const result = await run(await readFile(new URL(truth.file, SAMPLES_DIR)));
      const cer = characterErrorRate(result.ocr.text, truth.text);
      console.log(
        `${truth.file}: skew ${result.summary.skewDeg}° (truth ${truth.skew}°), CER ${(cer * 100).toFixed(2)}%`,
      );
      expect(Math.abs(result.summary.skewDeg - truth.skew), truth.file).toBeLessThanOrEqual(0.3);
      expect(result.summary.orientation).toBe(truth.rotation);
      expect(cer, truth.file).toBeLessThanOrEqual(0.03);
    }
  });
});
