import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { GENEROUS_PAGE_LIMITS } from '../../fixtures/page-limits.js';
import { readSample, readSampleTruths } from '../../fixtures/samples.js';
import { characterErrorRate } from '../../fixtures/text-metrics.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import { analyzeLayout } from '../../src/pipeline/deskew.js';
import { normalizePage } from '../../src/pipeline/normalize.js';
import { processPage, upsideDownTurn } from '../../src/pipeline/process-page.js';
import { startTestPool } from '../helpers/ocr-pool.js';

let pool: TesseractPool;
const options = { limits: GENEROUS_PAGE_LIMITS, jpegQuality: 70 };
const run = (bytes: Buffer) => processPage(bytes, { ocr: pool, orientation: pool }, options);
/** The pipeline's layout analysis and OSD step alone, without the OCR-confidence check that follows them. */
async function osdOnly(bytes: Buffer) {
  const normalized = await normalizePage(bytes, GENEROUS_PAGE_LIMITS);
  const layout = await analyzeLayout(normalized.grey);
  return { layout, flip: await upsideDownTurn(layout, normalized.dpi, normalized.grey.width, pool) };
}

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

  // Pages scanned lying down, turned 90° clockwise: the line profiles turn them a quarter the wrong way, so OSD must
  // see them upside down. Their analysis copy was once scaled by the width, here the long side, to 0.7× the scale of
  // an upright page's, and OSD answered 180° with confidence 0.6–1.1 (the flip needs 2) or not at all.
  it.each([
    {
      pointSize: 10,
      dpi: 300,
      font: 'PT Serif',
      paragraphs: { from: 1, count: 1 },
      skewDeg: 13.48,
      noise: 12,
      seed: 7001,
    },
    {
      pointSize: 8,
      dpi: 300,
      font: 'DejaVu Sans',
      paragraphs: { from: 5, count: 2 },
      skewDeg: 12.72,
      noise: 16,
      seed: 7005,
    },
    {
      pointSize: 8,
      dpi: 200,
      font: 'DejaVu Serif',
      paragraphs: { from: 9, count: 4 },
      skewDeg: 5.12,
      noise: 8,
      seed: 7045,
    },
    {
      pointSize: 9,
      dpi: 200,
      font: 'DejaVu Serif',
      paragraphs: { from: 9, count: 2 },
      skewDeg: 0.56,
      noise: 8,
      seed: 7069,
    },
  ] as const)(
    'OSD alone sees that a page turned 90° ($pointSize pt, $dpi dpi) needs the other quarter turn',
    async (spec) => {
      const page = await generatePage({ ...spec, rotation: 90, blur: 0.4, format: 'jpeg' });
      const { layout, flip } = await osdOnly(page.bytes);
      expect(layout.quarterTurn).toBe(90);
      expect(flip).toBe(180);
    },
  );

  it('reads small print the right way up when OSD misjudges it (7 pt at 200 dpi, upside down)', async () => {
    const page = await generatePage({
      dpi: 200,
      font: 'DejaVu Sans',
      pointSize: 7,
      paragraphs: { from: 0, count: 2 },
      rotation: 180,
      skewDeg: -6,
      noise: 8,
      blur: 0.4,
      format: 'jpeg',
      seed: 4000,
    });
    // The premise: OSD alone leaves this page upside down, so only the OCR-confidence check can turn it.
    const { layout, flip } = await osdOnly(page.bytes);
    expect(layout.quarterTurn + flip).toBe(0);
    const result = await run(page.bytes);
    expect(result.summary.orientation).toBe(180);
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

  it('keeps colour for a page with a blue stamp and makes greyscale JPEGs of other scans it encodes', async () => {
    const stamped = await run((await generatePage({ dpi: 200, stamp: true })).bytes);
    const plain = await run((await generatePage({ dpi: 200, format: 'png' })).bytes);
    expect(stamped.summary.colour).toBe(true);
    expect((await sharp(stamped.image).metadata()).channels).toBe(3);
    expect(plain.summary.colour).toBe(false);
    expect((await sharp(plain.image).metadata()).channels).toBe(1);
    expect((await sharp(plain.image).metadata()).density).toBe(200);
  });

  it('keeps the scanner’s JPEG as it is, and re-encodes a generous or turned one', async () => {
    // Re-encoding a noisy 80-quality scan would save little: the scanner's picture goes into the PDF unchanged, its
    // metadata (here a phone's EXIF with its GPS position) left out.
    const scanned = (await generatePage({ dpi: 200, noise: 12, jpegQuality: 80 })).bytes;
    const noisy = await sharp(scanned)
      .withExif({ IFD0: { Make: 'Phone', Model: 'Serial 0042' }, IFD3: { GPSLatitudeRef: 'N' } })
      .keepIccProfile()
      .jpeg({ quality: 80 })
      .toBuffer();
    const kept = (await run(noisy)).image;
    const scanData = (jpeg: Buffer) => jpeg.subarray(jpeg.indexOf(Buffer.from([0xff, 0xda])));
    expect(scanData(kept).equals(scanData(noisy))).toBe(true);
    expect(kept.length).toBeLessThan(noisy.length);
    expect(kept.includes('Serial 0042')).toBe(false);
    expect((await sharp(kept).metadata()).exif).toBeUndefined();
    // A 98-quality scan is far larger than the office's quality: re-encoded.
    const generous = (await generatePage({ dpi: 200, jpegQuality: 98 })).bytes;
    const fromGenerous = await run(generous);
    expect(fromGenerous.image.length).toBeLessThan(generous.length);
    // Nor is a colour profile other than sRGB (a PDF shows DeviceRGB): converted and re-encoded.
    const wideGamut = await sharp(scanned).withIccProfile('p3').jpeg({ quality: 80 }).toBuffer();
    expect(scanData((await run(wideGamut)).image).equals(scanData(wideGamut))).toBe(false);
    // An EXIF turn is not something a PDF honours: the pixels are re-encoded upright, even from a smaller file.
    const turned = await sharp(noisy).withMetadata({ orientation: 6 }).jpeg({ quality: 40 }).toBuffer();
    const fromTurned = await run(turned);
    expect(scanData(fromTurned.image).equals(scanData(turned))).toBe(false);
    expect((await sharp(fromTurned.image).metadata()).orientation).toBeUndefined();
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

describe('printed forms', () => {
  /** Fill-in lines as OCR can see them: runs of 4 or more (shorter ones are under an em dash long). */
  const blanks = (text: string) => [...text.matchAll(/_{4,}/g)].map((match) => match[0].length);

  it('keeps field numbers on their fields and fill-in lines as underscores of about their length', async () => {
    // 9 pt at 200 dpi: page segmentation reads the column of field numbers apart (as vertical text) and tesseract
    // cuts the fill-in lines out with letters touching them; the stage reads the page as one column and writes the
    // blanks back.
    const page = await generatePage({
      kind: 'form',
      dpi: 200,
      font: 'DejaVu Serif',
      pointSize: 9,
      noise: 13,
      blur: 0.57,
      format: 'png',
      seed: 1012,
    });
    const { text } = (await run(page.bytes)).ocr;
    for (let field = 1; field <= 7; field++) expect(text).toMatch(new RegExp(`^${field}\\. \\p{Lu}`, 'mu'));
    const expected = blanks(page.truth.text);
    const read = blanks(text);
    expect(read).toHaveLength(expected.length);
    // The length comes from tesseract's row height: the font's proportions (±8 %) and the row's estimate vary.
    for (const [i, length] of read.entries())
      expect(Math.abs(length - expected[i]!)).toBeLessThanOrEqual(expected[i]! * 0.25);
    // Without this stage: 19 %.
    expect(characterErrorRate(text, page.truth.text)).toBeLessThanOrEqual(0.06);
  });
});

describe('the shared sample scans (not made by us)', () => {
  it('corrects their skew within 0.3° and reads them with CER ≤ 3%', async () => {
    for (const truth of await readSampleTruths()) {
      const result = await run(await readSample(truth.file));
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
