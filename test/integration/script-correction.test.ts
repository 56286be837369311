import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENEROUS_PAGE_LIMITS } from '../../fixtures/page-limits.js';
import { readSample, readSampleTruths } from '../../fixtures/samples.js';
import { alignWords, characterErrorRate, normalizeForComparison } from '../../fixtures/text-metrics.js';
import { loadHunspellLexicon } from '../../src/ocr/hunspell-lexicon.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import type { OcrResult } from '../../src/pipeline/ocr.js';
import { processPage } from '../../src/pipeline/process-page.js';
import type { Lexicon } from '../../src/pipeline/script-correction.js';
import { startTestPool } from '../helpers/ocr-pool.js';

let pool: TesseractPool;
let lexicon: Lexicon;
beforeAll(async () => {
  [pool, lexicon] = await Promise.all([startTestPool({ workers: 1 }), loadHunspellLexicon()]);
});
afterAll(async () => {
  await pool?.close();
});

const wordsOf = (ocr: OcrResult) => ocr.lines.flatMap((line) => line.words.map((word) => word.text));

describe('script correction on real OCR', () => {
  // Scans whose OCR mixes scripts: `abo` for `або` and `Toro` for `того` in the prose, `Мо` for `№` and `He` for
  // `не` in the form.
  it.each(['uk-prose-200dpi.jpg', 'uk-form-skew3.jpg'])(
    '%s: reads better, and no word that was right is made wrong',
    async (file) => {
      const truth = (await readSampleTruths()).find((sample) => sample.file === file)!;
      // The page as the pipeline reads it without the dictionaries, and with them: the same OCR (and fill-in lines,
      // list marks), so the difference is the correction's.
      const bytes = await readSample(file);
      const options = { limits: GENEROUS_PAGE_LIMITS, jpegQuality: 70 };
      const read = (await processPage(bytes, { ocr: pool, orientation: pool }, options)).ocr;
      const page = await processPage(bytes, { ocr: pool, orientation: pool, lexicon }, options);

      const before = wordsOf(read);
      const after = wordsOf(page.ocr);
      const truthWords = normalizeForComparison(truth.text).split(' ');
      const aligned = alignWords(before, truthWords);
      const same = (a: string, b: string) => normalizeForComparison(a) === normalizeForComparison(b);
      const changed = before.flatMap((word, i) => (word === after[i] ? [] : [{ word, now: after[i]!, i }]));
      const madeWrong = changed.filter(({ word, now, i }) => {
        const expected = truthWords[aligned[i] ?? -1];
        return expected !== undefined && same(word, expected) && !same(now, expected);
      });

      expect(changed.length, file).toBeGreaterThan(0);
      expect(madeWrong, file).toEqual([]);
      expect(characterErrorRate(page.ocr.text, truth.text)).toBeLessThan(
        characterErrorRate(read.text, truth.text),
      );
    },
    60_000,
  );
});
