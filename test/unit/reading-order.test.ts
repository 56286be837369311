import { describe, expect, it } from 'vitest';
import type { OcrLine, OcrResult } from '../../src/pipeline/ocr.js';
import { inReadingOrder } from '../../src/pipeline/reading-order.js';

/** A paragraph of `rows` lines of one word each, 40 px apart, from (x0, y0) to x1, numbered `paragraph`. */
function paragraph(name: string, paragraph: number, x0: number, x1: number, y0: number, rows = 1): OcrLine[] {
  return Array.from({ length: rows }, (_, row) => {
    const bbox = { x0, y0: y0 + row * 40, x1, y1: y0 + row * 40 + 30 };
    return { words: [{ text: `${name}${row + 1}`, bbox, confidence: 90 }], bbox, paragraph };
  });
}

const ocrOf = (...paragraphs: OcrLine[][]): OcrResult => ({
  text: 'as tesseract wrote it',
  lines: paragraphs.flat(),
  confidence: 90,
});
const order = (ocr: OcrResult) => [
  ...new Set(ocr.lines.map((line) => line.words[0]!.text.replace(/\d+$/, ''))),
];

describe('inReadingOrder', () => {
  it('reads a heading under both columns after the right column, as on the leaflet', () => {
    // tesseract's order: left column, then the heading that starts lower, then the right column that starts higher.
    const ocr = ocrOf(
      paragraph('title', 0, 100, 1900, 0),
      paragraph('left', 1, 100, 950, 100, 10),
      paragraph('heading', 2, 100, 500, 560),
      paragraph('right', 3, 1050, 1900, 100, 10),
      paragraph('full', 4, 100, 1900, 620, 2),
    );
    const result = inReadingOrder(ocr);
    expect(order(result)).toEqual(['title', 'left', 'right', 'heading', 'full']);
    expect(result.lines.map((line) => line.paragraph)).toEqual([
      0,
      ...Array(10).fill(1),
      ...Array(10).fill(2),
      3,
      4,
      4,
    ]);
    expect(result.text).toBe(
      [
        'title1',
        'left1\nleft2\nleft3\nleft4\nleft5\nleft6\nleft7\nleft8\nleft9\nleft10',
        'right1\nright2\nright3\nright4\nright5\nright6\nright7\nright8\nright9\nright10',
        'heading1',
        'full1\nfull2',
      ].join('\n\n'),
    );
  });

  it('keeps columns whole when paragraph breaks line up across them wider than the gap between them', () => {
    // Large print: 100 px between sections of both columns at the same height, 70 px between the columns.
    const ocr = ocrOf(
      paragraph('leftA', 0, 100, 800, 0, 3),
      paragraph('leftB', 1, 100, 800, 210, 3),
      paragraph('rightA', 2, 870, 1500, 0, 3),
      paragraph('rightB', 3, 870, 1500, 210, 3),
    );
    expect(inReadingOrder(ocr)).toBe(ocr);
  });

  it.each([
    {
      layout: 'side-by-side fields of one row left to right, row by row, however far apart',
      paragraphs: [
        paragraph('date', 0, 1200, 1900, 0),
        paragraph('signature', 1, 100, 900, 5),
        paragraph('annex', 2, 1400, 1900, 100),
        paragraph('title', 3, 100, 600, 160),
      ],
      expected: ['signature', 'date', 'annex', 'title'],
    },
    {
      layout: 'a longer left column before the right one, where only the left goes on below',
      paragraphs: [
        paragraph('leftA', 0, 100, 900, 0, 4),
        paragraph('rightA', 1, 1000, 1900, 0, 4),
        paragraph('leftB', 2, 100, 900, 200, 2),
        paragraph('leftC', 3, 100, 900, 330, 4),
      ],
      expected: ['leftA', 'leftB', 'leftC', 'rightA'],
    },
  ])('reads $layout', ({ paragraphs, expected }) => {
    expect(order(inReadingOrder(ocrOf(...paragraphs)))).toEqual(expected);
  });

  it('leaves a page tesseract already read in order as it was, text included', () => {
    const ocr = ocrOf(
      paragraph('one', 0, 100, 1900, 0, 2),
      paragraph('left', 1, 100, 950, 100, 4),
      paragraph('right', 2, 1050, 1900, 100, 4),
    );
    expect(inReadingOrder(ocr)).toBe(ocr);
  });
});
