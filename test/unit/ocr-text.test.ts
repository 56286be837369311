import { describe, expect, it } from 'vitest';
import { type OcrLine, type OcrResult, textOfLines, withWordsReplaced } from '../../src/pipeline/ocr.js';

function line(y: number, paragraph: number, ...words: string[]): OcrLine {
  return {
    words: words.map((text, i) => ({
      text,
      bbox: { x0: i * 100, y0: y, x1: i * 100 + 90, y1: y + 30 },
      confidence: 90,
    })),
    bbox: { x0: 0, y0: y, x1: words.length * 100, y1: y + 30 },
    paragraph,
  };
}

describe('withWordsReplaced', () => {
  const lines = [line(0, 0, 'Прошу', 'Ha'), line(50, 0, 'адресу'), line(100, 1, 'Дата')];

  it('replaces words in place in the engine’s text, keeping its spacing and breaks', () => {
    const ocr: OcrResult = { text: 'Прошу  Ha\nадресу\n\nДата\n', lines, confidence: 90 };
    const result = withWordsReplaced(ocr, new Map([[lines[0]!.words[1]!, 'на']]));
    expect(result.text).toBe('Прошу  на\nадресу\n\nДата\n');
    expect(result.lines[0]!.words[1]!.text).toBe('на');
  });

  it('builds the text from the lines, paragraphs apart, when the engine’s text does not hold its words in order', () => {
    const ocr: OcrResult = { text: 'Дата\nПрошу Ha адресу', lines, confidence: 90 };
    const result = withWordsReplaced(ocr, new Map([[lines[0]!.words[1]!, 'на']]));
    expect(result.text).toBe('Прошу на\nадресу\n\nДата');
    expect(result.text).toBe(textOfLines(result.lines));
  });
});
