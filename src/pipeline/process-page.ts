import type { PageAnalysis } from '../domain/types.js';
import { analyzeLayout, type LayoutAnalysis } from './deskew.js';
import { normalizePage } from './normalize.js';
import {
  EMPTY_OCR,
  type OcrEngine,
  type OcrResult,
  type OrientationDetector,
  scaleOcrResult,
} from './ocr.js';
import { encodePgm, type RawImage, rotatePage, setJfifDensity, sharpOf, toRaw } from './raw-image.js';

export type StageTimings = {
  normalize: number;
  deskew: number;
  orientation: number;
  rotate: number;
  ocr: number;
  encode: number;
};

export type PageSummary = PageAnalysis & { ms: StageTimings };

export type ProcessedPage = {
  /** The upright, deskewed page as JPEG (colour when the scan had colour, else greyscale): what the PDF shows. */
  image: Buffer;
  ocr: OcrResult;
  summary: PageSummary;
};

/** The page as greyscale for OCR, and in colour when it has colour (what the PDF then shows). */
type PageView = { grey: RawImage; colour: RawImage | undefined };

export type PageEngines = { ocr: OcrEngine; orientation: OrientationDetector };
export type ProcessOptions = { maxPixels: number; jpegQuality: number };

/**
 * tesseract's LSTM reads each text line scaled to a fixed height, so a 300 dpi page spends time on detail the
 * recogniser throws away. OCR therefore reads a copy whose text lines are about this many pixels apart. Measured
 * (interleaved A/B, one thread): 12 pt at 300 dpi reads 26% faster and better (CER 0.60% → 0.24%); on a mix of
 * 8/10/12 pt at 200/300 dpi the OCR stage is 13.5% faster at the same mean CER. Small print is barely reduced.
 */
const OCR_LINE_PITCH_PX = 50;
/** Never reduce by more than this, and skip reductions too small to pay for the resize. */
const MIN_OCR_SCALE = 0.5;
const MAX_OCR_SCALE = 0.85;

/** Below this OSD confidence a 180° turn is not trusted: a wrong flip is worse than none. */
const MIN_FLIP_CONFIDENCE = 2;
/**
 * Mean word confidence below which a page may be upside down after all. Measured on generated pages (8–14 pt):
 * read the right way up 95, the same pages upside down 23–39.
 */
const UPRIGHT_OCR_CONFIDENCE = 70;

const since = (start: number) => Math.round(performance.now() - start);

async function timed<T>(
  timings: StageTimings,
  stage: keyof StageTimings,
  work: () => Promise<T>,
): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    timings[stage] += since(start);
  }
}

/**
 * One page, start to end: normalize → find text direction and skew → decide upright vs upside down → rotate the
 * full-resolution image once → OCR (again the other way up if it reads poorly) → encode. Throws UnreadableImageError
 * for images that can never be read.
 */
export async function processPage(
  original: Buffer,
  engines: PageEngines,
  options: ProcessOptions,
): Promise<ProcessedPage> {
  const ms: StageTimings = { normalize: 0, deskew: 0, orientation: 0, rotate: 0, ocr: 0, encode: 0 };
  const page = await timed(ms, 'normalize', () => normalizePage(original, { maxPixels: options.maxPixels }));
  const layout = await timed(ms, 'deskew', () => analyzeLayout(page.grey));

  const straighten = layout.quarterTurn - layout.skewDeg;
  let flip: number = await timed(ms, 'orientation', () =>
    upsideDownTurn(layout, page.dpi, page.grey.width, engines.orientation),
  );
  const turnView = (view: PageView, angle: number) =>
    timed(ms, 'rotate', async () => {
      const [grey, colour] = await Promise.all([
        rotatePage(view.grey, angle),
        view.colour && rotatePage(view.colour, angle),
      ]);
      return { grey, colour };
    });
  const read = (image: RawImage) =>
    timed(ms, 'ocr', () =>
      layout.blank
        ? Promise.resolve(EMPTY_OCR)
        : recognizeAtWorkingSize(engines.ocr, image, page.dpi, layout.linePitch),
    );

  let view = await turnView(page, straighten + flip);
  let ocr = await read(view.grey);
  // OSD misjudges some pages (small print at low resolution). Text read the wrong way up comes back with low
  // confidence, so a page that reads poorly is also read the other way up, and the better reading wins.
  if (!layout.blank && layout.confident && ocr.confidence < UPRIGHT_OCR_CONFIDENCE) {
    const turned = await turnView(view, 180);
    const turnedOcr = await read(turned.grey);
    if (turnedOcr.confidence > ocr.confidence) [view, ocr, flip] = [turned, turnedOcr, 180 - flip];
  }
  const image = await timed(ms, 'encode', () =>
    encodeJpeg(view.colour ?? view.grey, page.dpi, options.jpegQuality),
  );

  return {
    image,
    ocr,
    summary: {
      orientation: ((((layout.quarterTurn + flip) % 360) + 360) % 360) as PageSummary['orientation'],
      skewDeg: layout.skewDeg,
      blank: layout.blank,
      ocrConfidence: layout.blank ? null : ocr.confidence,
      dpi: page.dpi,
      colour: page.colour !== undefined,
      width: view.grey.width,
      height: view.grey.height,
      ms,
    },
  };
}

/**
 * Projection profiles tell across from down and the skew; OSD tells upright from upside down. It reads the small
 * analysis copy, straightened, where it is fast; the OCR confidence check in processPage catches its misses.
 * Returns 180 when OSD is sure enough that the straightened page is upside down, else 0.
 */
export async function upsideDownTurn(
  layout: LayoutAnalysis,
  pageDpi: number,
  pageWidth: number,
  detector: OrientationDetector,
): Promise<0 | 180> {
  if (layout.blank || !layout.confident) return 0;
  const upright = await rotatePage(layout.analysis, layout.quarterTurn - layout.skewDeg);
  const guess = await detector.detect({
    pgm: encodePgm(upright),
    dpi: Math.round((pageDpi * layout.analysis.width) / pageWidth),
  });
  return guess?.degrees === 180 && guess.confidence >= MIN_FLIP_CONFIDENCE ? 180 : 0;
}

/** OCR on a copy reduced to OCR_LINE_PITCH_PX between lines; boxes come back in `grey`'s pixels. */
async function recognizeAtWorkingSize(
  engine: OcrEngine,
  grey: RawImage,
  dpi: number,
  linePitch: number | undefined,
): Promise<OcrResult> {
  const scale = Math.max(MIN_OCR_SCALE, OCR_LINE_PITCH_PX / (linePitch ?? OCR_LINE_PITCH_PX));
  if (scale > MAX_OCR_SCALE) return engine.recognize({ pgm: encodePgm(grey), dpi });
  const working = await toRaw(sharpOf(grey).resize({ width: Math.round(grey.width * scale) }), 1);
  const result = await engine.recognize({ pgm: encodePgm(working), dpi: Math.round(dpi * scale) });
  return scaleOcrResult(result, grey.width / working.width);
}

async function encodeJpeg(image: RawImage, dpi: number, quality: number): Promise<Buffer> {
  // libjpeg-turbo with optimised Huffman tables: mozjpeg saves ~10% more bytes but costs ~5× the time.
  const jpeg = await sharpOf(image)
    .toColourspace(image.channels === 1 ? 'b-w' : 'srgb')
    .jpeg({ quality, optimiseCoding: true })
    .toBuffer();
  return setJfifDensity(jpeg, dpi);
}
