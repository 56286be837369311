import type { PageAnalysis } from '../domain/types.js';
import { analyzeLayout, type LayoutAnalysis } from './deskew.js';
import type { PageLimits } from './image-probe.js';
import { withListBullets } from './list-bullets.js';
import { normalizePage } from './normalize.js';
import {
  EMPTY_OCR,
  type OcrEngine,
  type OcrResult,
  type OrientationDetector,
  scaleOcrResult,
} from './ocr.js';
import {
  findFillInLines,
  readsListNumbersApart,
  withFillInWords,
  withoutFillInLines,
} from './printed-forms.js';
import {
  embeddableJpeg,
  encodeBilevelPng,
  encodeJpeg,
  encodePgm,
  isBilevel,
  normalizedDegrees,
  type RawImage,
  rotatePage,
  sharpOf,
  toRaw,
  turnedSize,
} from './raw-image.js';
import { inReadingOrder } from './reading-order.js';
import { correctScripts, type Lexicon } from './script-correction.js';

export type StageTimings = {
  normalize: number;
  deskew: number;
  orientation: number;
  /** Making the upright OCR copy (reduced, then turned); the full-resolution scan is never rotated. */
  rotate: number;
  ocr: number;
  encode: number;
};

export type PageSummary = PageAnalysis & {
  imageTurnDeg: number;
  imageFormat: 'jpeg' | 'png';
  ms: StageTimings;
};

export type ProcessedPage = {
  /**
   * The scan as JPEG, as scanned: not turned and not resampled; the scanner's own file when it is a JPEG a PDF embeds
   * as is, else encoded (colour when the page has colour, else greyscale). The PDF
   * shows it turned by `summary.imageTurnDeg`, so the registrar sees the page upright and straight while the file
   * keeps the scanner's own pixels, and no stage pays for rotating a full-resolution page.
   */
  image: Buffer;
  /** Boxes in the upright, straightened page's pixels (`summary.width` × `summary.height`). */
  ocr: OcrResult;
  summary: PageSummary;
};

export type PageEngines = {
  ocr: OcrEngine;
  orientation: OrientationDetector;
  /** Word lists to correct words read in the wrong script (correctScripts); without them OCR stays as read. */
  lexicon?: Lexicon;
};
export type ProcessOptions = {
  limits: PageLimits;
  jpegQuality: number /** From the page's document. */;
  dpi?: number;
};

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

/**
 * OSD reads text this skewed as well as straightened text, so such pages skip the analysis copy's rotation (~35 ms).
 * Measured on 64 pages skewed within ±5° (8–14 pt, 200/300 dpi, all four turns): every answer right either way, and
 * the weakest right confidence 6.5 unstraightened vs 4.0 straightened.
 */
const OSD_SKEW_TOLERANCE_DEG = 5;
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
 * One page, start to end: normalize → find text direction and skew → decide upright vs upside down → make the upright
 * OCR copy (reduced, then turned) → OCR it with its fill-in lines painted out (as one column when its list numbers
 * came apart; again the other way up if it reads poorly), then write the fill-in lines and list bullets back into
 * the text, put its paragraphs in reading order and correct words read in the wrong script → encode the scan unturned.
 * Throws UnreadableImageError for images that can never be read.
 */
export async function processPage(
  original: Buffer,
  engines: PageEngines,
  options: ProcessOptions,
): Promise<ProcessedPage> {
  const ms: StageTimings = { normalize: 0, deskew: 0, orientation: 0, rotate: 0, ocr: 0, encode: 0 };
  const page = await timed(ms, 'normalize', () => normalizePage(original, options.limits, options.dpi));
  const layout = await timed(ms, 'deskew', () => analyzeLayout(page.grey));

  const straighten = layout.quarterTurn - layout.skewDeg;
  let flip: number = await timed(ms, 'orientation', () =>
    upsideDownTurn(layout, page.dpi, page.grey.width, engines.orientation),
  );
  const upright = turnedSize(page.grey, straighten);
  const read = ({ image, pitch }: WorkingCopy) =>
    timed(ms, 'ocr', async () => {
      const fillInLines = findFillInLines(image, pitch);
      const input = {
        pgm: encodePgm(withoutFillInLines(image, fillInLines)),
        dpi: Math.round((page.dpi * image.width) / upright.width),
      };
      let result = await engines.ocr.recognize(input);
      if (readsListNumbersApart(result))
        result = await engines.ocr.recognize({ ...input, singleColumn: true });
      return scaleOcrResult(
        inReadingOrder(withListBullets(withFillInWords(result, fillInLines))),
        upright.width / image.width,
      );
    });

  let ocr = EMPTY_OCR;
  if (!layout.blank) {
    const working = await timed(ms, 'rotate', () =>
      uprightWorkingCopy(page.grey, straighten + flip, layout.linePitch),
    );
    ocr = await read(working);
    // OSD misjudges some pages (small print at low resolution). Text read the wrong way up comes back with low
    // confidence, so a page that reads poorly is also read the other way up, and the better reading wins.
    if (layout.confident && ocr.confidence < UPRIGHT_OCR_CONFIDENCE) {
      const turned = await timed(ms, 'rotate', () => rotatePage(working.image, 180));
      const turnedOcr = await read({ ...working, image: turned });
      if (turnedOcr.confidence > ocr.confidence) [ocr, flip] = [turnedOcr, 180 - flip];
    }
    // A few ms a page, counted with the OCR it corrects.
    const { lexicon } = engines;
    if (lexicon) ocr = await timed(ms, 'ocr', async () => correctScripts(ocr, lexicon).ocr);
  }
  // A black-and-white scan (CCITT, JBIG2, 1-bit PNG or TIFF) stays lossless: stored as PNG, embedded in the PDF as
  // CCITT G4, a fraction of a JPEG's bytes, and exactly the scanner's pixels.
  const imageFormat = !page.colour && isBilevel(page.grey) ? 'png' : 'jpeg';
  const image = await timed(ms, 'encode', () =>
    imageFormat === 'png'
      ? encodeBilevelPng(page.grey, page.dpi)
      : pageJpeg(original, page.colour ?? page.grey, page.dpi, options.jpegQuality),
  );

  return {
    image,
    ocr,
    summary: {
      orientation: normalizedDegrees(layout.quarterTurn + flip) as PageSummary['orientation'],
      skewDeg: layout.skewDeg,
      blank: layout.blank,
      ocrConfidence: layout.blank ? null : ocr.confidence,
      dpi: page.dpi,
      colour: page.colour !== undefined,
      width: upright.width,
      height: upright.height,
      // Rounded like skewDeg: the sum carries floating-point dust (350.59000000000003).
      imageTurnDeg: Math.round(normalizedDegrees(straighten + flip) * 1000) / 1000,
      imageFormat,
      ms,
    },
  };
}

/** A fresh encoding replaces the scanner's JPEG only when it saves at least this share of the bytes. */
const REENCODING_SAVING = 0.25;

/**
 * The scanner's own JPEG (its picture, without its metadata) when a PDF can embed it as is: the registrar sees
 * exactly what was scanned, and re-encoding a typical scan (quality 75–85, with scanner noise; chroma included, for a
 * greyscale page in a colour file) saves little and costs fidelity. A generous scan (quality 95 and up) is
 * re-encoded at the office's quality when that saves REENCODING_SAVING.
 */
async function pageJpeg(original: Buffer, pixels: RawImage, dpi: number, quality: number): Promise<Buffer> {
  const encoded = await encodeJpeg(pixels, dpi, quality);
  const kept = await embeddableJpeg(original);
  return kept && encoded.length > kept.length * (1 - REENCODING_SAVING) ? kept : encoded;
}

/**
 * Projection profiles tell across from down and the skew; OSD tells upright from upside down. It reads the small
 * analysis copy, turned across (and straightened unless barely skewed), where it is fast; the OCR confidence check
 * in processPage catches its misses. Returns 180 when OSD is sure enough that the page is upside down, else 0.
 */
export async function upsideDownTurn(
  layout: LayoutAnalysis,
  pageDpi: number,
  pageWidth: number,
  detector: OrientationDetector,
): Promise<0 | 180> {
  if (layout.blank || !layout.confident) return 0;
  const straighten = Math.abs(layout.skewDeg) <= OSD_SKEW_TOLERANCE_DEG ? 0 : layout.skewDeg;
  const upright = await rotatePage(layout.analysis, layout.quarterTurn - straighten);
  const guess = await detector.detect({
    pgm: encodePgm(upright),
    dpi: Math.round((pageDpi * layout.analysis.width) / pageWidth),
  });
  return guess?.degrees === 180 && guess.confidence >= MIN_FLIP_CONFIDENCE ? 180 : 0;
}

/** The upright copy OCR reads, and the distance between its text lines in its pixels. */
type WorkingCopy = { image: RawImage; pitch: number };

/**
 * The copy OCR reads: reduced to OCR_LINE_PITCH_PX between lines, then turned upright. Reducing first means the
 * rotation resamples only the reduced pixels.
 */
async function uprightWorkingCopy(
  grey: RawImage,
  angleDeg: number,
  linePitch: number | undefined,
): Promise<WorkingCopy> {
  const pitch = linePitch ?? OCR_LINE_PITCH_PX;
  const scale = Math.max(MIN_OCR_SCALE, OCR_LINE_PITCH_PX / pitch);
  if (scale > MAX_OCR_SCALE) return { image: await rotatePage(grey, angleDeg), pitch };
  const width = Math.round(grey.width * scale);
  const reduced = await toRaw(sharpOf(grey).resize({ width }), 1);
  return { image: await rotatePage(reduced, angleDeg), pitch: (pitch * width) / grey.width };
}
