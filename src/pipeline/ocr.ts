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

export type OcrInput = { pgm: Buffer; dpi: number };

export interface OcrEngine {
  recognize(input: OcrInput): Promise<OcrResult>;
}

export type OrientationGuess = { degrees: 0 | 90 | 180 | 270; confidence: number };

export interface OrientationDetector {
  /** Clockwise turn that makes the page upright; undefined when the engine cannot tell. */
  detect(input: OcrInput): Promise<OrientationGuess | undefined>;
}

export const EMPTY_OCR: OcrResult = { text: '', lines: [], confidence: 0 };

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
