import type { PageAnalysis } from '../domain/types.js';
import { analyzeLayout } from './deskew.js';
import { normalizePage } from './normalize.js';
import { EMPTY_OCR, type OcrEngine, type OcrResult, type OrientationDetector } from './ocr.js';
import { encodePgm, type RawImage, rotatePage, setJfifDensity, sharpOf } from './raw-image.js';

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

export type PageEngines = { ocr: OcrEngine; orientation: OrientationDetector };
export type ProcessOptions = { maxPixels: number; jpegQuality: number };

/** Below this OSD confidence a 180° turn is not trusted: a wrong flip is worse than none. */
const MIN_FLIP_CONFIDENCE = 2;

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
    timings[stage] = since(start);
  }
}

/**
 * One page, start to end: normalize → find text direction and skew → decide upright vs upside down → rotate the
 * full-resolution image once → OCR → encode. Throws UnreadableImageError for images that can never be read.
 */
export async function processPage(
  original: Buffer,
  engines: PageEngines,
  options: ProcessOptions,
): Promise<ProcessedPage> {
  const ms: StageTimings = { normalize: 0, deskew: 0, orientation: 0, rotate: 0, ocr: 0, encode: 0 };
  const page = await timed(ms, 'normalize', () => normalizePage(original, { maxPixels: options.maxPixels }));
  const layout = await timed(ms, 'deskew', () => analyzeLayout(page.grey));

  // Projection profiles tell across from down and the skew; only OSD tells upright from upside down. Ask it on
  // the small analysis copy, already straightened, where it is fast and reliable.
  const straighten = layout.quarterTurn - layout.skewDeg;
  const flip = await timed(ms, 'orientation', async () => {
    if (layout.blank || !layout.confident) return 0;
    const upright = await rotatePage(layout.analysis, straighten);
    const guess = await engines.orientation.detect({
      pgm: encodePgm(upright),
      dpi: Math.round((page.dpi * upright.width) / page.grey.width),
    });
    return guess?.degrees === 180 && guess.confidence >= MIN_FLIP_CONFIDENCE ? 180 : 0;
  });
  const turn = straighten + flip;

  const [grey, shown] = await timed(ms, 'rotate', () =>
    Promise.all([rotatePage(page.grey, turn), page.colour ? rotatePage(page.colour, turn) : undefined]),
  );
  const ocr = await timed(ms, 'ocr', () =>
    layout.blank
      ? Promise.resolve(EMPTY_OCR)
      : engines.ocr.recognize({ pgm: encodePgm(grey), dpi: page.dpi }),
  );
  const image = await timed(ms, 'encode', () => encodeJpeg(shown ?? grey, page.dpi, options.jpegQuality));

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
      width: grey.width,
      height: grey.height,
      ms,
    },
  };
}

async function encodeJpeg(image: RawImage, dpi: number, quality: number): Promise<Buffer> {
  // libjpeg-turbo with optimised Huffman tables: mozjpeg saves ~10% more bytes but costs ~5× the time.
  const jpeg = await sharpOf(image)
    .toColourspace(image.channels === 1 ? 'b-w' : 'srgb')
    .jpeg({ quality, optimiseCoding: true })
    .toBuffer();
  return setJfifDensity(jpeg, dpi);
}
