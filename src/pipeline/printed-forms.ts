/**
 * What tesseract gets wrong on printed forms, and how the page stage puts it right. Fill-in lines (`______`) are
 * rules to tesseract: it cuts them out before reading and often takes the letters touching them along, so a blank
 * field came back empty or as junk. And at page segmentation 3 a column of field numbers (`1.` … `7.`) is a column of
 * its own, read as vertical text ("NO Uh WIN"), away from its fields.
 */
import {
  type BoundingBox,
  baselineAt,
  type OcrLine,
  type OcrResult,
  type OcrWord,
  paragraphsOf,
  textOfLines,
  typicalRowHeight,
} from './ocr.js';
import type { RawImage } from './raw-image.js';

/**
 * A printed fill-in line in the image OCR reads: its ends and the rows it covers. A `short` one (`«__»`, the `__` of
 * `__.__.____`) is as long as a dash: OCR still sees it, and it is a blank only below a baseline, where dashes never
 * sit.
 */
export type FillInLine = BoundingBox & { short: boolean };

/** Darker than this (of 255) is ink: a thin underscore, blurred, is grey rather than black. */
const INK = 170;
/** A found line runs on while its rows are darker than this: its blurred ends. */
const FAINT_INK = 215;
/**
 * A rule this many line pitches long is longer than an em dash (one em, under a pitch): a blank of three underscores
 * or more.
 */
const DASH_LENGTH_OF_PITCH = 1.2;
/** Two underscores are one em, about 0.8 pitches; shorter runs are hyphens and strokes of letters. */
const MIN_LENGTH_OF_PITCH = 0.6;
/** And at most this thick: an underscore's stroke, blurred; a black bar is not a fill-in line. */
const MAX_THICKNESS_OF_PITCH = 0.15;
/** Rows right above and below a rule are mostly paper; the serif row along a line of text is not. */
const MAX_INK_BESIDE = 0.25;

const inkAt = (image: RawImage, x: number, y: number, ink = INK) => image.data[y * image.width + x]! < ink;

/** The line lengthened over its faint ends: while any of its rows (or the ones next to it) is darker than FAINT_INK. */
function withFaintEnds(image: RawImage, line: FillInLine): FillInLine {
  const faint = (x: number) => {
    for (let y = Math.max(0, line.y0 - 1); y <= Math.min(image.height - 1, line.y1 + 1); y++)
      if (inkAt(image, x, y, FAINT_INK)) return true;
    return false;
  };
  let { x0, x1 } = line;
  while (x0 > 0 && faint(x0 - 1)) x0--;
  while (x1 + 1 < image.width && faint(x1 + 1)) x1++;
  return { ...line, x0, x1 };
}

/** Share of ink on row `y` between x0 and x1 (paper outside the image). */
function inkShare(image: RawImage, y: number, x0: number, x1: number): number {
  if (y < 0 || y >= image.height) return 0;
  let ink = 0;
  for (let x = x0; x <= x1; x++) if (inkAt(image, x, y)) ink++;
  return ink / (x1 - x0 + 1);
}

/**
 * The fill-in lines of a greyscale page whose text lines are `pitch` pixels apart: horizontal runs of ink at least
 * MIN_LENGTH_OF_PITCH long (one-pixel gaps bridged), stacked over a few rows, thin and with paper above and below;
 * `short` under DASH_LENGTH_OF_PITCH.
 */
export function findFillInLines(image: RawImage, pitch: number): FillInLine[] {
  const minLength = Math.round(MIN_LENGTH_OF_PITCH * pitch);
  const dashLength = Math.round(DASH_LENGTH_OF_PITCH * pitch);
  const maxThickness = Math.max(2, Math.round(MAX_THICKNESS_OF_PITCH * pitch));
  const open: BoundingBox[] = [];
  const closed: BoundingBox[] = [];
  const inkOnRow = (x: number, y: number) => x < image.width && inkAt(image, x, y);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; ) {
      if (!inkAt(image, x, y)) {
        x++;
        continue;
      }
      let end = x;
      while (inkOnRow(end + 1, y) || inkOnRow(end + 2, y)) end++;
      if (end - x + 1 >= minLength) {
        const run = { x0: x, x1: end };
        // Runs on the next row that touch join the line: a rule left a hair skewed steps from row to row.
        const joined = open.find(
          (line) => line.y1 === y - 1 && Math.min(line.x1, run.x1) - Math.max(line.x0, run.x0) >= -2,
        );
        if (joined)
          Object.assign(joined, { x0: Math.min(joined.x0, x), x1: Math.max(joined.x1, end), y1: y });
        else open.push({ ...run, y0: y, y1: y });
      }
      x = end + 1;
    }
    // A line not continued on this row is complete.
    for (let i = open.length - 1; i >= 0; i--) if (open[i]!.y1 < y) closed.push(...open.splice(i, 1));
  }
  return (
    [...closed, ...open]
      .filter(
        (line) =>
          line.y1 - line.y0 + 1 <= maxThickness &&
          inkShare(image, line.y0 - 2, line.x0, line.x1) <= MAX_INK_BESIDE &&
          inkShare(image, line.y1 + 2, line.x0, line.x1) <= MAX_INK_BESIDE,
      )
      // Short or not as found: blurred ends lengthen a dash as much as a blank.
      .map((line) => withFaintEnds(image, { ...line, short: line.x1 - line.x0 + 1 < dashLength }))
  );
}

/**
 * The page with its fill-in lines painted over in paper white (one pixel around), for OCR to read the text alone.
 * Short ones stay: they may be dashes.
 */
export function withoutFillInLines(image: RawImage, lines: FillInLine[]): RawImage {
  const long = lines.filter((line) => !line.short);
  if (long.length === 0) return image;
  const data = Buffer.from(image.data);
  for (const line of long)
    for (let y = Math.max(0, line.y0 - 1); y <= Math.min(image.height - 1, line.y1 + 1); y++)
      data.fill(
        255,
        y * image.width + Math.max(0, line.x0 - 1),
        y * image.width + Math.min(image.width, line.x1 + 2),
      );
  return { ...image, data };
}

/**
 * An underscore is half an em wide in common text faces (DejaVu, Times, PT Serif), and tesseract's row height is one em
 * in DejaVu and about 1.17 in PT Serif (taller ascenders and descenders): this share of the row height is within 8 %
 * of an underscore in both.
 */
const UNDERSCORE_OF_ROW = 0.46;
/** A fill-in line belongs to the text line whose baseline is at most this many rows (heights) above it or below it. */
const BELOW_BASELINE_ROWS = 0.5;
const ABOVE_BASELINE_ROWS = 0.2;
/**
 * A short one only this far below the baseline or further: an underscore hangs under it (0.16–0.21 rows on our
 * forms), while a dash stands above it and strokes of letters end on it (−0.08–0.03 rows on the leaflet).
 */
const SHORT_MIN_BELOW_BASELINE_ROWS = 0.1;
/** Punctuation this close (in rows) to a fill-in line is part of the blank: `«______»`, `______,`. */
const ATTACHED_ROWS = 0.15;
/** Words covering more than this share of a line are text on it (underlined, or filled in by hand): no blank. */
const MAX_COVERED = 0.3;

const OPENING = /^[«„“‘"'([{]+$/u;
const CLOSING = /^[»”’)\]},.:;!?…]+$/u;
const GLUED_OPENING = /[«„“([]+$/u;
const isPunctuation = (text: string) => /^[\p{P}\p{S}]+$/u.test(text);
const overlap = (a: BoundingBox, b: BoundingBox) => Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));

/**
 * The OCR with each fill-in line written into its text line as a word of underscores as long as the printed one (its
 * length over an underscore's width, UNDERSCORE_OF_ROW of the page's typical row height), joined to punctuation
 * touching it. A fill-in line near no text line, or one that words already cover, adds nothing. The text is rebuilt
 * from the lines.
 */
export function withFillInWords(ocr: OcrResult, fillInLines: FillInLine[]): OcrResult {
  const row = typicalRowHeight(ocr.lines);
  if (fillInLines.length === 0 || row === undefined) return ocr;
  const lines = ocr.lines.map((line) => ({ ...line, words: [...line.words] }));
  // Long blanks first: a short one is believed only on a line of fields, one that has a long blank too.
  const withBlank = new Set<OcrLine>();
  for (const fillIn of [...fillInLines].sort((a, b) => Number(a.short) - Number(b.short))) {
    const centre = (fillIn.x0 + fillIn.x1) / 2;
    const y = (fillIn.y0 + fillIn.y1) / 2;
    const line = lines
      .filter((candidate) => {
        const below = y - baselineAt(candidate, centre);
        const lowest = fillIn.short ? SHORT_MIN_BELOW_BASELINE_ROWS : -ABOVE_BASELINE_ROWS;
        return below <= BELOW_BASELINE_ROWS * row && below >= lowest * row;
      })
      .sort((a, b) => Math.abs(y - baselineAt(a, centre)) - Math.abs(y - baselineAt(b, centre)))[0];
    if (!line || (fillIn.short && !withBlank.has(line))) continue;
    const text = line.words.filter((word) => !isPunctuation(word.text));
    const covered = text.reduce((sum, word) => sum + overlap(word.bbox, fillIn), 0);
    if (covered > MAX_COVERED * (fillIn.x1 - fillIn.x0)) continue;
    const count = Math.max(1, Math.round((fillIn.x1 - fillIn.x0) / (UNDERSCORE_OF_ROW * row)));
    const blank: OcrWord = {
      text: '_'.repeat(count),
      bbox: { x0: fillIn.x0, y0: Math.round(fillIn.y1 - row), x1: fillIn.x1, y1: fillIn.y1 },
      confidence: ocr.confidence,
    };
    // Punctuation on the blank (what OCR made of specks left of it) gives way; punctuation touching it joins it.
    const attached = (word: OcrWord) =>
      isPunctuation(word.text) &&
      word.bbox.x1 >= fillIn.x0 - ATTACHED_ROWS * row &&
      word.bbox.x0 <= fillIn.x1 + ATTACHED_ROWS * row;
    const onBlank = (word: OcrWord) => word.bbox.x0 >= fillIn.x0 && word.bbox.x1 <= fillIn.x1;
    // OCR often boxes a mark with the blank it touches (`»` over the `__` of `«__»`): a closing mark follows the
    // blank, an opening one precedes it, and any other stands on the side it reaches further past the blank.
    const follows = (word: OcrWord) => {
      if (word.bbox.x1 <= fillIn.x0) return false;
      if (word.bbox.x0 >= fillIn.x1) return true;
      return (
        CLOSING.test(word.text) ||
        (!OPENING.test(word.text) && word.bbox.x1 - fillIn.x1 > fillIn.x0 - word.bbox.x0)
      );
    };
    const before = line.words.filter((word) => attached(word) && !onBlank(word) && !follows(word));
    const after = line.words.filter((word) => attached(word) && !onBlank(word) && follows(word));
    const parts = [...before, blank, ...after];
    // OCR glues an opening mark to the word before a blank (`Дата«`), up to a row before it: the mark opens the
    // blank, as no word ends with one.
    const glued = line.words.find(
      (word) =>
        !isPunctuation(word.text) &&
        GLUED_OPENING.test(word.text) &&
        word.bbox.x1 >= fillIn.x0 - row &&
        word.bbox.x1 <= fillIn.x1,
    );
    const opening = glued ? (GLUED_OPENING.exec(glued.text)?.[0] ?? '') : '';
    if (glued)
      line.words = line.words.map((word) =>
        word === glued ? { ...word, text: word.text.slice(0, -opening.length) } : word,
      );
    const joined: OcrWord = {
      text: opening + parts.map((word) => word.text).join(''),
      bbox: {
        ...blank.bbox,
        x0: Math.min(...parts.map((word) => word.bbox.x0)),
        x1: Math.max(...parts.map((word) => word.bbox.x1)),
      },
      confidence: blank.confidence,
    };
    const gone = new Set([
      ...before,
      ...after,
      ...line.words.filter((word) => onBlank(word) && isPunctuation(word.text)),
    ]);
    line.words = [...line.words.filter((word) => !gone.has(word)), joined].sort(
      (a, b) => a.bbox.x0 - b.bbox.x0,
    );
    line.bbox = {
      x0: Math.min(line.bbox.x0, joined.bbox.x0),
      y0: line.bbox.y0,
      x1: Math.max(line.bbox.x1, joined.bbox.x1),
      y1: Math.max(line.bbox.y1, joined.bbox.y1),
    };
    withBlank.add(line);
  }
  return withBlank.size > 0 ? { ...ocr, lines, text: textOfLines(lines) } : ocr;
}

/** A column narrower than this many rows, beside text, is a column of list numbers or bullets. */
const MAX_MARGIN_COLUMN_ROWS = 2;
/** … and it spans at least this many rows, so it is more than one stray mark. */
const MIN_MARGIN_COLUMN_HEIGHT_ROWS = 3;

/**
 * Whether page segmentation read a narrow column of marks (the numbers of a numbered list of fields) apart from the
 * text lines beside it: a paragraph at most MAX_MARGIN_COLUMN_ROWS wide and at least MIN_MARGIN_COLUMN_HEIGHT_ROWS
 * tall, left of lines it overlaps in height. Such a page reads right as one column (PSM 4).
 */
export function readsListNumbersApart(ocr: OcrResult): boolean {
  const row = typicalRowHeight(ocr.lines);
  if (row === undefined) return false;
  for (const paragraph of paragraphsOf(ocr.lines)) {
    const box = {
      x0: Math.min(...paragraph.map((line) => line.bbox.x0)),
      y0: Math.min(...paragraph.map((line) => line.bbox.y0)),
      x1: Math.max(...paragraph.map((line) => line.bbox.x1)),
      y1: Math.max(...paragraph.map((line) => line.bbox.y1)),
    };
    if (box.x1 - box.x0 > MAX_MARGIN_COLUMN_ROWS * row) continue;
    if (box.y1 - box.y0 < MIN_MARGIN_COLUMN_HEIGHT_ROWS * row) continue;
    const beside = ocr.lines.filter(
      (line) => line.bbox.x0 >= box.x1 && line.bbox.y0 < box.y1 && line.bbox.y1 > box.y0,
    );
    if (beside.length >= MIN_MARGIN_COLUMN_HEIGHT_ROWS) return true;
  }
  return false;
}
