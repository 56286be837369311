import { describe, expect, it } from 'vitest';
import { withListBullets } from '../../src/pipeline/list-bullets.js';
import type { OcrLine, OcrResult } from '../../src/pipeline/ocr.js';

const ROW = 44;

/** A line on baseline `baseline` whose first word is `mark` with its box's bottom `raise` rows above the baseline. */
function item(baseline: number, mark: string, raise: number, size = 0.4): OcrLine {
  const bottom = Math.round(baseline - raise * ROW);
  const side = Math.round(size * ROW);
  return {
    words: [
      { text: mark, bbox: { x0: 350, y0: bottom - side, x1: 350 + side, y1: bottom }, confidence: 80 },
      { text: 'Each', bbox: { x0: 383, y0: baseline - 32, x1: 470, y1: baseline }, confidence: 96 },
    ],
    bbox: { x0: 350, y0: baseline - 32, x1: 470, y1: baseline },
    baseline: { x0: 350, y0: baseline, x1: 470, y1: baseline },
    rowHeight: ROW,
    paragraph: 0,
  };
}
const page = (...lines: OcrLine[]): OcrResult => ({
  text: `${lines.map((line) => line.words.map((word) => word.text).join(' ')).join('\n')}\n`,
  lines,
  confidence: 90,
});

describe('withListBullets', () => {
  it('writes a bullet read as a letter or sign, floating above the baseline, as •', () => {
    const result = withListBullets(page(item(100, 'е', 0.2), item(160, '®', 0.23), item(220, '¢', 0.21)));
    expect(result.text).toBe('• Each\n• Each\n• Each\n');
    expect(result.lines.map((line) => line.words[0]!.text)).toEqual(['•', '•', '•']);
  });

  it('leaves letters on the baseline, big marks, other signs and words inside a line', () => {
    const read = page(item(100, 'є', 0), item(160, 'о', 0.02), item(220, 'О', 0.2, 0.7), item(280, '*', 0.2));
    expect(withListBullets(read)).toBe(read);
    const inside = page({
      ...item(100, 'Each', 0),
      words: [...item(100, 'Each', 0).words.slice(1), item(100, 'е', 0.2).words[0]!],
    });
    expect(withListBullets(inside)).toBe(inside);
  });
});
