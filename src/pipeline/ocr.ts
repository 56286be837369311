/** What the OCR and orientation stages need from an engine; tesseract.js sits behind these in src/ocr. */

export type BoundingBox = { x0: number; y0: number; x1: number; y1: number };
export type OcrWord = { text: string; bbox: BoundingBox; confidence: number };
/**
 * `baseline` runs from the line's first to its last pixel column (tesseract's `Baseline`); `rowHeight` is tesseract's
 * row height (x-height plus ascenders plus descenders); lines with the same `paragraph` (numbered in reading order
 * from 0) form one paragraph. All three are missing from OCR stored before they were recorded.
 */
export type OcrLine = {
  words: OcrWord[];
  bbox: BoundingBox;
  baseline?: BoundingBox;
  rowHeight?: number;
  paragraph?: number;
};

export type OcrResult = {
  text: string;
  /** Lines in reading order, each with its words; boxes are in processed-page pixels. */
  lines: OcrLine[];
  /** Mean word confidence, 0–100; 0 when there are no words. */
  confidence: number;
};

/** `singleColumn`: read the page as one column of text, without looking for columns (see readsListNumbersApart). */
export type OcrInput = { pgm: Buffer; dpi: number; singleColumn?: boolean };

export interface OcrEngine {
  recognize(input: OcrInput): Promise<OcrResult>;
}

export type OrientationGuess = { degrees: 0 | 90 | 180 | 270; confidence: number };

export interface OrientationDetector {
  /** Clockwise turn that makes the page upright; undefined when the engine cannot tell. */
  detect(input: OcrInput): Promise<OrientationGuess | undefined>;
}

export const EMPTY_OCR: OcrResult = { text: '', lines: [], confidence: 0 };

/** The baseline's height at `x`: tesseract's fitted baseline, else a fifth of the box above its bottom. */
export function baselineAt(line: OcrLine, x: number): number {
  const { baseline, bbox } = line;
  if (!baseline || baseline.x1 === baseline.x0) return bbox.y1 - (bbox.y1 - bbox.y0) * 0.2;
  const slope = (baseline.y1 - baseline.y0) / (baseline.x1 - baseline.x0);
  return baseline.y0 + (x - baseline.x0) * slope;
}

/** Consecutive lines of one paragraph; a line stored without its paragraph number stands alone. */
export function paragraphsOf(lines: OcrLine[]): OcrLine[][] {
  const paragraphs: OcrLine[][] = [];
  let previous: OcrLine | undefined;
  for (const line of lines) {
    const sameParagraph = previous?.paragraph !== undefined && previous.paragraph === line.paragraph;
    if (sameParagraph) paragraphs.at(-1)!.push(line);
    else paragraphs.push([line]);
    previous = line;
  }
  return paragraphs;
}

export const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The page's typical row height (of lines that have one), or undefined for OCR stored before row heights. */
export function typicalRowHeight(lines: OcrLine[]): number | undefined {
  const rows = lines.flatMap((line) => (line.rowHeight ? [line.rowHeight] : []));
  return rows.length > 0 ? median(rows) : undefined;
}

/** The page's text from its lines: words joined by spaces, lines by newlines, paragraphs by an empty line. */
export function textOfLines(lines: OcrLine[]): string {
  return lines
    .map((line, i) => {
      const newParagraph = i > 0 && line.paragraph !== lines[i - 1]!.paragraph;
      return (newParagraph ? '\n' : '') + line.words.map((word) => word.text).join(' ');
    })
    .join('\n');
}

/**
 * The result with some words' text replaced, in the lines and in `text`, whose line and paragraph breaks stay.
 * tesseract's text holds the words in reading order; should an engine's not, the text is built again from the lines.
 */
export function withWordsReplaced(ocr: OcrResult, replaced: Map<OcrWord, string>): OcrResult {
  if (replaced.size === 0) return ocr;
  const lines = ocr.lines.map((line) => ({
    ...line,
    words: line.words.map((word) => {
      const text = replaced.get(word);
      return text === undefined ? word : { ...word, text };
    }),
  }));
  let text = '';
  let from = 0;
  for (const word of ocr.lines.flatMap((line) => line.words)) {
    const at = ocr.text.indexOf(word.text, from);
    if (at < 0) return { ...ocr, lines, text: textOfLines(lines) };
    text += ocr.text.slice(from, at) + (replaced.get(word) ?? word.text);
    from = at + word.text.length;
  }
  return { ...ocr, lines, text: text + ocr.text.slice(from) };
}

/** The same result with every box multiplied by `factor`: OCR that ran on a reduced copy, mapped back to the page. */
export function scaleOcrResult(result: OcrResult, factor: number): OcrResult {
  const scaled = (b: BoundingBox): BoundingBox => ({
    x0: Math.round(b.x0 * factor),
    y0: Math.round(b.y0 * factor),
    x1: Math.round(b.x1 * factor),
    y1: Math.round(b.y1 * factor),
  });
  return {
    ...result,
    lines: result.lines.map((line) => ({
      ...line,
      bbox: scaled(line.bbox),
      words: line.words.map((word) => ({ ...word, bbox: scaled(word.bbox) })),
      ...(line.baseline ? { baseline: scaled(line.baseline) } : {}),
      ...(line.rowHeight ? { rowHeight: Math.round(line.rowHeight * factor) } : {}),
    })),
  };
}
