import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { GENEROUS_PAGE_LIMITS } from '../../fixtures/page-limits.js';
import type { LayoutAnalysis } from '../../src/pipeline/deskew.js';
import type {
  OcrEngine,
  OcrInput,
  OcrResult,
  OrientationDetector,
  OrientationGuess,
} from '../../src/pipeline/ocr.js';
import { processPage, upsideDownTurn } from '../../src/pipeline/process-page.js';

/** An OCR engine that answers from a script (confidence per call) and records what it was asked to read. */
function scriptedOcr(confidences: number[]) {
  const reads: OcrInput[] = [];
  const engine: OcrEngine = {
    async recognize(input) {
      reads.push(input);
      const confidence = confidences[reads.length - 1] ?? 0;
      const word = { text: `read-${reads.length}`, bbox: { x0: 10, y0: 10, x1: 110, y1: 40 }, confidence };
      return { text: word.text, confidence, lines: [{ words: [word], bbox: word.bbox }] } satisfies OcrResult;
    },
  };
  return { engine, reads };
}

const detector = (guess: OrientationGuess | undefined): OrientationDetector & { calls: number } => {
  const counted = {
    calls: 0,
    async detect() {
      counted.calls++;
      return guess;
    },
  };
  return counted;
};

const layout = (extra: Partial<LayoutAnalysis> = {}): LayoutAnalysis => ({
  blank: false,
  darkFraction: 0.05,
  quarterTurn: 0,
  skewDeg: 0,
  linePitch: 50,
  confident: true,
  peakRatio: 4,
  analysis: { data: Buffer.alloc(64 * 48, 255), width: 64, height: 48, channels: 1 },
  ...extra,
});

describe('upside down or not (orientation detection decides)', () => {
  it('turns 180° only when the detector is sure enough', async () => {
    expect(await upsideDownTurn(layout(), 300, 2480, detector({ degrees: 180, confidence: 5 }))).toBe(180);
    expect(await upsideDownTurn(layout(), 300, 2480, detector({ degrees: 180, confidence: 1.5 }))).toBe(0);
    expect(await upsideDownTurn(layout(), 300, 2480, detector({ degrees: 0, confidence: 9 }))).toBe(0);
    expect(await upsideDownTurn(layout(), 300, 2480, detector(undefined))).toBe(0);
  });

  it('does not ask about blank pages or pages with too little text', async () => {
    const asked = detector({ degrees: 180, confidence: 9 });
    expect(await upsideDownTurn(layout({ blank: true }), 300, 2480, asked)).toBe(0);
    expect(await upsideDownTurn(layout({ confident: false }), 300, 2480, asked)).toBe(0);
    expect(asked.calls).toBe(0);
  });
});

describe('a page read with a scripted OCR engine', () => {
  let page: Buffer;
  beforeAll(async () => {
    page = (await generatePage({ dpi: 200, paragraphs: { from: 1, count: 1 } })).bytes;
  });
  const options = { limits: GENEROUS_PAGE_LIMITS, jpegQuality: 70 };

  it('reads once when the first reading is confident', async () => {
    const { engine, reads } = scriptedOcr([95, 99]);
    const result = await processPage(
      page,
      { ocr: engine, orientation: detector({ degrees: 0, confidence: 9 }) },
      options,
    );
    expect(reads).toHaveLength(1);
    expect(result.summary).toMatchObject({ orientation: 0, ocrConfidence: 95, blank: false });
    expect(result.ocr.text).toBe('read-1');
  });

  it('reads again turned 180° when the first reading is poor, and keeps the better one', async () => {
    const { engine, reads } = scriptedOcr([35, 92]);
    const result = await processPage(page, { ocr: engine, orientation: detector(undefined) }, options);
    expect(reads).toHaveLength(2);
    expect(result.summary).toMatchObject({ orientation: 180, ocrConfidence: 92 });
    expect(result.summary.imageTurnDeg).toBeCloseTo(180 - result.summary.skewDeg, 3);
    expect(result.ocr.text).toBe('read-2');
  });

  it('keeps the first reading when the turned one is no better', async () => {
    const { engine, reads } = scriptedOcr([35, 30]);
    const result = await processPage(page, { ocr: engine, orientation: detector(undefined) }, options);
    expect(reads).toHaveLength(2);
    expect(result.summary).toMatchObject({ orientation: 0, ocrConfidence: 35 });
  });

  it('skips OCR on a blank page and reports no confidence', async () => {
    const blank = await sharp({ create: { width: 1654, height: 2339, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const { engine, reads } = scriptedOcr([90]);
    const result = await processPage(blank, { ocr: engine, orientation: detector(undefined) }, options);
    expect(reads).toHaveLength(0);
    expect(result.summary).toMatchObject({ blank: true, ocrConfidence: null });
  });

  it('tells the engine the working copy’s real resolution and maps its boxes back to the page', async () => {
    const { engine, reads } = scriptedOcr([95]);
    const result = await processPage(page, { ocr: engine, orientation: detector(undefined) }, options);
    const workingWidth = Number(reads[0]!.pgm.toString('latin1', 0, 20).split(/\s+/)[1]);
    const scale = result.summary.width / workingWidth;
    expect(reads[0]!.dpi).toBe(Math.round(200 / scale));
    expect(result.ocr.lines[0]!.bbox.x1).toBe(Math.round(110 * scale));
  });
});
