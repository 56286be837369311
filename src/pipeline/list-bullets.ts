import { baselineAt, type OcrResult, type OcrWord, typicalRowHeight, withWordsReplaced } from './ocr.js';

/**
 * A round bullet (•) before a list item comes back from tesseract as a letter or sign of its outline: `е`, `є`, `e`,
 * `а`, `®`, `¢`, `©`, `o`. Those sit on the baseline; a bullet floats at mid-height, its bottom about a fifth of a row
 * above it.
 */
const BULLET_READINGS = /^[eеєoо0cсaа®©¢°·]$/u;
/** Bottom at least this many rows above the baseline. */
const MIN_RAISE_ROWS = 0.12;
/** And no taller or wider than this: a bullet is a dot, not a capital. */
const MAX_SIZE_ROWS = 0.55;

/** Whether `word`, the first of its line, is a bullet read as a letter. */
function isMisreadBullet(word: OcrWord, baseline: number, row: number): boolean {
  const { x0, y0, x1, y1 } = word.bbox;
  return (
    BULLET_READINGS.test(word.text) &&
    baseline - y1 >= MIN_RAISE_ROWS * row &&
    y1 - y0 <= MAX_SIZE_ROWS * row &&
    x1 - x0 <= MAX_SIZE_ROWS * row
  );
}

/** The OCR with list bullets read as letters written as `•` again; the rest as read. */
export function withListBullets(ocr: OcrResult): OcrResult {
  const page = typicalRowHeight(ocr.lines);
  const bullets = new Map<OcrWord, string>();
  for (const line of ocr.lines) {
    const [first] = line.words;
    const row = line.rowHeight ?? page;
    if (!first || !line.baseline || row === undefined) continue;
    if (isMisreadBullet(first, baselineAt(line, (first.bbox.x0 + first.bbox.x1) / 2), row))
      bullets.set(first, '•');
  }
  return withWordsReplaced(ocr, bullets);
}
