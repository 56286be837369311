import { describe, expect, it } from 'vitest';
import { type OcrLine, type OcrResult, textOfLines } from '../../src/pipeline/ocr.js';
import {
  findFillInLines,
  readsListNumbersApart,
  withFillInWords,
  withoutFillInLines,
} from '../../src/pipeline/printed-forms.js';
import type { RawImage } from '../../src/pipeline/raw-image.js';

/** Lines 50 px apart, as OCR reads a page; rows 40 px, so an underscore is 0.46 × 40 = 18.4 px. */
const PITCH = 50;
const ROW = 40;

function paper(width = 600, height = 200): RawImage {
  return { data: Buffer.alloc(width * height, 250), width, height, channels: 1 };
}
function ink(image: RawImage, x0: number, y0: number, x1: number, y1: number, grey = 20): void {
  for (let y = y0; y <= y1; y++) image.data.fill(grey, y * image.width + x0, y * image.width + x1 + 1);
}

describe('findFillInLines', () => {
  it('finds a thin rule with its faint ends, a dash-long one as short, and leaves a bar and a serif row', () => {
    const image = paper();
    ink(image, 100, 60, 300, 61);
    // Blurred ends: grey enough to be the line, too faint to start one.
    ink(image, 96, 60, 99, 61, 200);
    ink(image, 301, 60, 305, 61, 200);
    // As long as an em dash (under a pitch), a hyphen, a black bar (too thick), and a serif row with letter stems
    // above it.
    ink(image, 400, 60, 440, 61);
    ink(image, 480, 60, 500, 61);
    ink(image, 100, 120, 300, 135);
    ink(image, 350, 180, 560, 181);
    for (let x = 350; x <= 560; x += 6) ink(image, x, 160, x + 2, 179);
    expect(findFillInLines(image, PITCH)).toEqual([
      { x0: 400, y0: 60, x1: 440, y1: 61, short: true },
      { x0: 96, y0: 60, x1: 305, y1: 61, short: false },
    ]);
  });

  it('follows a rule a hair skewed from row to row', () => {
    const image = paper();
    ink(image, 100, 60, 220, 60);
    ink(image, 221, 61, 340, 61);
    expect(findFillInLines(image, PITCH)).toEqual([{ x0: 100, y0: 60, x1: 340, y1: 61, short: false }]);
  });

  it('paints the rule white for OCR, one pixel around, and nothing else: no short one, as it may be a dash', () => {
    const image = paper();
    ink(image, 100, 60, 300, 61);
    ink(image, 20, 20, 40, 40);
    ink(image, 400, 60, 440, 61);
    const cleaned = withoutFillInLines(image, findFillInLines(image, PITCH));
    const inkLeft = [...cleaned.data].filter((value) => value < 128).length;
    expect(inkLeft).toBe(21 * 21 + 41 * 2);
    expect(image.data[60 * image.width + 150]).toBe(20);
  });
});

/** A text line of words at [x0, x1] with its baseline at `baseline`. */
function line(baseline: number, paragraph: number, ...words: Array<[string, number, number]>): OcrLine {
  return {
    words: words.map(([text, x0, x1]) => ({
      text,
      bbox: { x0, y0: baseline - 30, x1, y1: baseline },
      confidence: 90,
    })),
    bbox: { x0: words[0]![1], y0: baseline - 30, x1: words.at(-1)![2], y1: baseline },
    baseline: { x0: words[0]![1], y0: baseline, x1: words.at(-1)![2], y1: baseline },
    rowHeight: ROW,
    paragraph,
  };
}
const ocrOf = (...lines: OcrLine[]): OcrResult => ({ text: textOfLines(lines), lines, confidence: 88 });

describe('withFillInWords', () => {
  it('writes a blank as long as the printed line into its text line, in place', () => {
    const ocr = ocrOf(
      line(100, 0, ['Телефон:', 10, 150], ['(робочий)', 400, 520]),
      line(150, 1, ['Дата', 10, 80]),
    );
    // 184 px is ten underscores of 18.4 px; the line sits just under the baseline.
    const result = withFillInWords(ocr, [{ x0: 170, y0: 102, x1: 354, y1: 103, short: false }]);
    expect(result.text).toBe('Телефон: __________ (робочий)\n\nДата');
    expect(result.lines[0]!.words[1]).toMatchObject({ bbox: { x0: 170, x1: 354 }, confidence: 88 });
  });

  it('joins punctuation touching the blank and drops what OCR made of the line itself', () => {
    const ocr = ocrOf(
      line(100, 0, ['Дата', 10, 80], ['«', 100, 110], ['-', 150, 190], ['»', 228, 236], ['2025', 260, 330]),
    );
    const result = withFillInWords(ocr, [{ x0: 115, y0: 101, x1: 225, y1: 102, short: false }]);
    expect(result.text).toBe('Дата «______» 2025');
  });

  it('writes a short blank only under the baseline of a line with a long blank, joined to the marks around', () => {
    // `Дата «__» ______`: OCR boxed `»` together with the short line it touches.
    const form = ocrOf(line(100, 0, ['Дата', 10, 80], ['«', 90, 100], ['»', 104, 160]));
    const short = { x0: 106, y0: 106, x1: 142, y1: 107, short: true };
    const long = { x0: 180, y0: 102, x1: 290, y1: 103, short: false };
    expect(withFillInWords(form, [short, long]).text).toBe('Дата «__» ______');
    // Alone on its line it may be a stroke of a letter or a rule of the layout; on the baseline, the foot of a
    // letter (a dash stands higher still).
    expect(withFillInWords(form, [short])).toBe(form);
    expect(withFillInWords(form, [{ ...short, y0: 99, y1: 100 }, long]).text).toBe('Дата « » ______');
    // OCR glued the opening mark to the word before it.
    const glued = ocrOf(line(100, 0, ['Дата«', 10, 90], ['»', 104, 160]));
    expect(withFillInWords(glued, [short, long]).text).toBe('Дата «__» ______');
  });

  it('adds nothing for a line under words (underlined text) or far from any baseline (a table rule)', () => {
    const ocr = ocrOf(line(100, 0, ['Підпис', 10, 120], ['Іванов', 130, 260]));
    expect(withFillInWords(ocr, [{ x0: 130, y0: 102, x1: 260, y1: 103, short: false }])).toBe(ocr);
    expect(withFillInWords(ocr, [{ x0: 300, y0: 140, x1: 500, y1: 141, short: false }])).toBe(ocr);
  });
});

describe('readsListNumbersApart', () => {
  it('sees a narrow column of marks beside the text lines', () => {
    const fields = [0, 1, 2, 3].map((i) => line(100 + 50 * i, i, ['Поле', 60, 300]));
    const numbers: OcrLine = { ...line(200, 9, ['NO', 10, 40]), bbox: { x0: 10, y0: 70, x1: 40, y1: 250 } };
    expect(readsListNumbersApart(ocrOf(...fields, numbers))).toBe(true);
    expect(readsListNumbersApart(ocrOf(...fields))).toBe(false);
  });

  it('does not take a second column of text for one', () => {
    const left = [0, 1, 2, 3].map((i) => line(100 + 50 * i, 0, ['ліва', 10, 280]));
    const right = [0, 1, 2, 3].map((i) => line(100 + 50 * i, 1, ['права', 320, 600]));
    expect(readsListNumbersApart(ocrOf(...left, ...right))).toBe(false);
  });
});
