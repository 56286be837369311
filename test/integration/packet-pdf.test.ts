import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GeneratedPage, generatePage } from '../../fixtures/page-generator.js';
import { GENEROUS_PAGE_LIMITS } from '../../fixtures/page-limits.js';
import {
  packetPdfBytes,
  pdfJsPageText,
  pdfPageOf,
  pdfPageText,
  pdfPageWords,
  renderPdfPage,
} from '../../fixtures/pdf-tools.js';
import { readSampleText, SAMPLES_DIR, TWO_COLUMN_SAMPLE, turnedBilevelScan } from '../../fixtures/samples.js';
import { characterErrorRate } from '../../fixtures/text-metrics.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import { analyzeLayout } from '../../src/pipeline/deskew.js';
import { normalizePage } from '../../src/pipeline/normalize.js';
import type { PdfPageInput } from '../../src/pipeline/packet-pdf.js';
import { type ProcessedPage, processPage } from '../../src/pipeline/process-page.js';
import { encodePgm } from '../../src/pipeline/raw-image.js';
import { startTestPool } from '../helpers/ocr-pool.js';

const run = promisify(execFile);
const FONT = path.resolve(import.meta.dirname, '../../node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

let dir: string;
let generated: GeneratedPage[];
let processed: ProcessedPage[];
let pdfFile: string;
let pdfBytes: Uint8Array;
let pool: TesseractPool;
const manifest = {
  packetId: 'pk_test',
  ticket: 'А-017',
  pages: [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4, blank: true }],
};

/** The test packet's PDF with these pages. */
const packetPdfOf = async (pages: PdfPageInput[]) =>
  packetPdfBytes({
    title: 'land-registration · А-017',
    subject: 'Packet pk_test',
    producer: 'Scan office',
    createdAt: new Date('2026-11-23T12:00:00Z'),
    manifest,
    font: await readFile(FONT),
    pages,
  });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-pdf-'));
  pool = await startTestPool();
  generated = await Promise.all([
    generatePage({ dpi: 300, skewDeg: 6, paragraphs: { from: 0, count: 3 } }),
    generatePage({ dpi: 200, rotation: 180, stamp: true, paragraphs: { from: 5, count: 3 } }),
    generatePage({ dpi: 200, rotation: 90, skewDeg: -4.5, paragraphs: { from: 8, count: 2 } }),
  ]);
  const blank = await sharp({ create: { width: 1654, height: 2339, channels: 3, background: '#fff' } })
    .withMetadata({ density: 200 })
    .jpeg()
    .toBuffer();
  const options = { limits: GENEROUS_PAGE_LIMITS, jpegQuality: 70 };
  processed = await Promise.all(
    [...generated.map((page) => page.bytes), blank].map((bytes) =>
      processPage(bytes, { ocr: pool, orientation: pool }, options),
    ),
  );
  pdfBytes = await packetPdfOf(processed.map(pdfPageOf));
  pdfFile = path.join(dir, 'packet.pdf');
  await writeFile(pdfFile, pdfBytes);
});
afterAll(async () => {
  await pool?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('packet PDF', () => {
  it('has one page per scan, in order, sized from each page’s DPI (A4), blank pages included', async () => {
    const pdf = await PDFDocument.load(pdfBytes, { updateMetadata: false });
    expect(pdf.getPageCount()).toBe(4);
    for (const page of pdf.getPages()) {
      expect(page.getWidth()).toBeCloseTo(595.4, 0);
      expect(page.getHeight()).toBeCloseTo(841.7, 0);
    }
    expect(pdf.getTitle()).toBe('land-registration · А-017');
    expect(pdf.getProducer()).toBe('Scan office');
  });

  it('has an invisible text layer that pdftotext reads with the OCR’s own accuracy (within 0.5 points of CER)', async () => {
    for (const [i, page] of generated.entries()) {
      const stdout = await pdfPageText(pdfFile, i + 1);
      const pdfCer = characterErrorRate(stdout, page.truth.text);
      const ocrCer = characterErrorRate(processed[i]!.ocr.text, page.truth.text);
      expect(Math.abs(pdfCer - ocrCer), `page ${i + 1}`).toBeLessThanOrEqual(0.005);
      expect(pdfCer).toBeLessThanOrEqual(0.03);
    }
  });

  it('shows each scan upright and straight, with the text layer on its words', async () => {
    const RENDER_DPI = 150;
    for (const [i, page] of generated.entries()) {
      const rendered = await renderPdfPage(pdfFile, i + 1, RENDER_DPI);
      const { grey } = await normalizePage(rendered, GENEROUS_PAGE_LIMITS);
      const layout = await analyzeLayout(grey);
      expect(layout.quarterTurn, `page ${i + 1}`).toBe(0);
      expect(Math.abs(layout.skewDeg), `page ${i + 1}`).toBeLessThanOrEqual(0.2);

      // Reading the rendering proves the page is the right way up; its word positions must match the text layer's.
      const seen = await pool.recognize({ pgm: encodePgm(grey), dpi: RENDER_DPI });
      expect(characterErrorRate(seen.text, page.truth.text), `page ${i + 1}`).toBeLessThanOrEqual(0.03);
      const layer = new Map((await pdfPageWords(pdfFile, i + 1)).map((word) => [word.text, word]));
      const offsets = seen.lines
        .flatMap((line) => line.words)
        .flatMap((word) => {
          const twin = layer.get(word.text);
          if (!twin || word.text.length < 6) return [];
          const points = 72 / RENDER_DPI;
          const x = ((word.bbox.x0 + word.bbox.x1) / 2) * points;
          const y = ((word.bbox.y0 + word.bbox.y1) / 2) * points;
          return [Math.hypot(x - twin.x, y - twin.y)];
        })
        .sort((a, b) => a - b);
      expect(offsets.length, `page ${i + 1}`).toBeGreaterThan(20);
      expect(offsets[Math.floor(offsets.length / 2)], `page ${i + 1}`).toBeLessThanOrEqual(2);
    }
  });

  it('embeds manifest.json as an attachment', async () => {
    await run('pdfdetach', ['-saveall', '-o', dir, pdfFile]);
    expect(JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'))).toEqual(manifest);
  });

  it('embeds the page JPEGs as they are, without re-encoding', async () => {
    const buffer = Buffer.from(pdfBytes);
    const jpegs = processed.filter((page) => page.summary.imageFormat === 'jpeg');
    expect(jpegs.length).toBeGreaterThan(0);
    for (const page of jpegs) expect(buffer.includes(page.image.subarray(0, 4096))).toBe(true);
  });

  it('embeds a page JPEG that is a view into a larger buffer, as small objects read back from S3 are', async () => {
    const page = processed.find((candidate) => candidate.summary.imageFormat === 'jpeg')!;
    const pooled = Buffer.concat([Buffer.alloc(16, 0xab), page.image]).subarray(16);
    expect(pooled.byteOffset).toBe(16);
    const bytes = await packetPdfOf([{ ...pdfPageOf(page), image: pooled, format: 'jpeg' }]);
    expect(Buffer.from(bytes).includes(page.image)).toBe(true);
  });
});

describe('packet PDF of a real two-column scan', () => {
  let leaflet: ProcessedPage[];
  let leafletPdf: string;

  beforeAll(async () => {
    // The LinnSequencer leaflet, a real 300 dpi bilevel scan: upright, turned a quarter and skewed 7°, and skewed
    // −12° (where its headings measure 17–26 % taller than its body text).
    await run('pdfimages', ['-png', new URL('jbig2.pdf', SAMPLES_DIR).pathname, path.join(dir, 'leaflet')]);
    const upright = await readFile(path.join(dir, 'leaflet-000.png'));
    const turned = await sharp(upright).rotate(90).rotate(7, { background: '#fff' }).png().toBuffer();
    // Skewed as the bench's hard corpus has it: thresholded back to black and white, stored as a scanner does.
    const skewed = await turnedBilevelScan(upright, -12, 300);
    const options = { limits: GENEROUS_PAGE_LIMITS, jpegQuality: 70, dpi: 300 };
    leaflet = await Promise.all(
      [upright, turned, skewed].map((bytes) => processPage(bytes, { ocr: pool, orientation: pool }, options)),
    );
    leafletPdf = path.join(dir, 'leaflet.pdf');
    await writeFile(leafletPdf, await packetPdfOf(leaflet.map(pdfPageOf)));
  });

  it('gives pdftotext the columns one after the other, in the OCR’s reading order', async () => {
    for (const [i, page] of leaflet.entries()) {
      const extracted = await pdfPageText(leafletPdf, i + 1);
      expect(page.ocr.lines.length, `page ${i + 1}`).toBeGreaterThan(60);
      // Interleaved columns cost 15–35 % here; the words alone would agree either way.
      expect(characterErrorRate(extracted, page.ocr.text), `page ${i + 1}`).toBeLessThanOrEqual(0.02);
    }
  });

  it('gives the page text in reading order too, the heading under both columns after them', async () => {
    // tesseract put `Additional Features` between the columns: 1.1 % CER against the transcription, 0.2–0.4 % now.
    const truth = await readSampleText(TWO_COLUMN_SAMPLE.truthFile);
    for (const [i, page] of leaflet.entries())
      expect(characterErrorRate(page.ocr.text, truth), `page ${i + 1}`).toBeLessThanOrEqual(0.006);
  });

  it('gives pdf.js, the desk’s viewer, the text layer in reading order as drawn, heading after the columns', async () => {
    const truth = await readSampleText(TWO_COLUMN_SAMPLE.truthFile);
    for (const i of leaflet.keys())
      expect(
        characterErrorRate(await pdfJsPageText(leafletPdf, i + 1), truth),
        `page ${i + 1}`,
      ).toBeLessThanOrEqual(0.006);
  });

  it('reads its list bullets as bullets, not as the letters tesseract takes them for', async () => {
    // The leaflet has 19 round bullets; tesseract reads them as е, є, ®, ¢ and the like, and misses one.
    for (const [i, page] of leaflet.entries()) {
      const bullets = page.ocr.lines.filter((line) => line.words[0]?.text === '•');
      expect(bullets.length, `page ${i + 1}`).toBeGreaterThanOrEqual(15);
      expect(bullets.length, `page ${i + 1}`).toBeLessThanOrEqual(19);
    }
  });

  it('keeps a black-and-white scan exactly, as CCITT G4, where the page shows it', async () => {
    const { stdout: images } = await run('pdfimages', ['-list', leafletPdf]);
    // The turned copy was resampled to grey by its rotation; the upright and the thresholded skewed page are black
    // and white.
    const ccittPages = images
      .split('\n')
      .flatMap((line) => (/ ccitt /.test(line) ? [line.trim().split(/\s+/)[0]] : []));
    expect(ccittPages).toEqual(['1', '3']);
    const bilevel = (image: sharp.Sharp) =>
      image.toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    const original = await bilevel(sharp(path.join(dir, 'leaflet-000.png')));
    const { width, height } = original.info;

    // Decoded, the image is the scan pixel for pixel, padded with white.
    await run('pdfimages', ['-f', '1', '-l', '1', '-png', leafletPdf, path.join(dir, 'embedded')]);
    const embedded = await bilevel(sharp(path.join(dir, 'embedded-000.png')));
    let changed = 0;
    for (let y = 0; y < embedded.info.height; y++)
      for (let x = 0; x < embedded.info.width; x++) {
        const inside = x < width && y < height;
        const expected = inside ? original.data[y * width + x]! >= 128 : true;
        if (embedded.data[y * embedded.info.width + x]! >= 128 !== expected) changed++;
      }
    expect(changed).toBe(0);

    // Rendered, the page's pixels sit where the scan has them: poppler's 1-bit resampling blurs edges, so a shift
    // by 2 px doubles the differences.
    const rendered = await bilevel(sharp(await renderPdfPage(leafletPdf, 1, 300)));
    expect([rendered.info.width, rendered.info.height]).toEqual([width, height]);
    const differing = (dx: number, dy: number) => {
      let count = 0;
      for (let y = 2; y < height - 2; y++)
        for (let x = 2; x < width - 2; x++)
          if (original.data[y * width + x]! >= 128 !== rendered.data[(y + dy) * width + x + dx]! >= 128)
            count++;
      return count / (width * height);
    };
    const aligned = differing(0, 0);
    expect(aligned).toBeLessThan(0.03);
    for (const [dx, dy] of [
      [2, 0],
      [-2, 0],
      [0, 2],
      [0, -2],
    ] as const)
      expect(aligned, `shifted by ${dx}, ${dy}`).toBeLessThan(differing(dx, dy));
  });

  it('is a tagged PDF whose paragraphs follow the reading order', async () => {
    const { stdout: info } = await run('pdfinfo', [leafletPdf]);
    expect(info).toMatch(/^Tagged:\s+yes$/m);
    const { stdout: structure } = await run('pdfinfo', ['-struct-text', leafletPdf]);
    const paragraphs = [...structure.matchAll(/^\s+P \(block\)\n\s+"(.*)"$/gm)].map((match) => match[1]!);
    const ocrParagraphs = new Set(
      leaflet.flatMap((page, i) => page.ocr.lines.map((line) => `${i}:${line.paragraph}`)),
    );
    expect(paragraphs).toHaveLength(ocrParagraphs.size);
    const structureText = paragraphs.join('\n');
    const ocrText = leaflet.map((page) => page.ocr.text).join('\n');
    expect(characterErrorRate(structureText, ocrText)).toBeLessThanOrEqual(0.02);
  });
});
