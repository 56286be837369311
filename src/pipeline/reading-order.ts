import { type BoundingBox, type OcrLine, type OcrResult, paragraphsOf, textOfLines } from './ocr.js';

/**
 * tesseract orders its text blocks by where they start, so a heading under both columns of a two-column page can come
 * back between the columns (the leaflet's `Additional Features`, read after the left column and before the right).
 * This stage puts the paragraphs in reading order by cutting the page at its widest empty band again and again
 * (recursive XY-cut): a band across the page parts what is above from what is below; a gap down the page parts
 * side-by-side columns, read left to right. A paragraph is never taken apart.
 */

type Paragraph = { lines: OcrLine[]; box: BoundingBox };
type Axis = 'across' | 'down';
type Cut = { axis: Axis; at: number; width: number };

/** The box around `boxes`. */
const around = (boxes: BoundingBox[]): BoundingBox => ({
  x0: Math.min(...boxes.map((box) => box.x0)),
  y0: Math.min(...boxes.map((box) => box.y0)),
  x1: Math.max(...boxes.map((box) => box.x1)),
  y1: Math.max(...boxes.map((box) => box.y1)),
});

/** The start and end of a box along the axis a cut crosses: rows for a cut across, columns for a cut down. */
const extent = (box: BoundingBox, axis: Axis) => (axis === 'across' ? [box.y0, box.y1] : [box.x0, box.x1]);

/** The widest empty band between the paragraphs along `axis`, or undefined when each overlaps the next. */
function widestGap(paragraphs: Paragraph[], axis: Axis): Cut | undefined {
  const spans = paragraphs.map(({ box }) => extent(box, axis)).sort((a, b) => a[0]! - b[0]!);
  let reach = spans[0]![1]!;
  let widest: Cut | undefined;
  for (const [start = 0, end = 0] of spans.slice(1)) {
    if (start > reach && (!widest || start - reach > widest.width))
      widest = { axis, at: (start + reach) / 2, width: start - reach };
    reach = Math.max(reach, end);
  }
  return widest;
}

const sidesOf = (paragraphs: Paragraph[], { axis, at }: Cut) => {
  const before = paragraphs.filter(({ box }) => extent(box, axis)[1]! < at);
  return [before, paragraphs.filter((paragraph) => !before.includes(paragraph))] as const;
};

/** Whether two groups share some rows: columns side by side, not a short line at the right above one at the left. */
function sideBySide([left, right]: readonly [Paragraph[], Paragraph[]]): boolean {
  if (left.length === 0 || right.length === 0) return false;
  const [top, bottom] = [left, right].map((side) => extent(around(side.map(({ box }) => box)), 'across'));
  return top![0]! < bottom![1]! && bottom![0]! < top![1]!;
}

/**
 * The cut to make. Between the widest band across and the widest gap between columns side by side: the columns when
 * the band leaves the same columns on both sides of it (paragraph breaks that happen to line up across the columns,
 * wider than the gap between them in large print), or when they are wider and hold paragraphs of several lines on
 * both sides (text in columns, not fields of a form one line each, which read row by row); else the band. A gap down
 * the page between groups that share no rows is also a band across, and reading it top to bottom is right.
 */
function bestCut(paragraphs: Paragraph[]): Cut | undefined {
  const across = widestGap(paragraphs, 'across');
  const down = widestGap(paragraphs, 'down');
  const sides = down && sidesOf(paragraphs, down);
  const columns = sides && sideBySide(sides) ? down : undefined;
  if (!columns || !across) return across ?? down;
  const throughColumns = sidesOf(paragraphs, across).every((side) => sideBySide(sidesOf(side, columns)));
  const textColumns = sides!.every((side) => side.some(({ lines }) => lines.length > 1));
  return throughColumns || (textColumns && columns.width > across.width) ? columns : across;
}

function ordered(paragraphs: Paragraph[]): Paragraph[] {
  const cut = paragraphs.length > 1 ? bestCut(paragraphs) : undefined;
  if (!cut) return paragraphs;
  return sidesOf(paragraphs, cut).flatMap(ordered);
}

/**
 * The OCR with its paragraphs in reading order, numbered again from 0, and its text built from them; as read when
 * tesseract's order already is.
 */
export function inReadingOrder(ocr: OcrResult): OcrResult {
  const paragraphs = paragraphsOf(ocr.lines).map((lines) => ({
    lines,
    box: around(lines.map(({ bbox }) => bbox)),
  }));
  const reordered = ordered(paragraphs);
  if (reordered.every((paragraph, i) => paragraph === paragraphs[i])) return ocr;
  const lines = reordered.flatMap(({ lines }, paragraph) => lines.map((line) => ({ ...line, paragraph })));
  return { ...ocr, lines, text: textOfLines(lines) };
}
