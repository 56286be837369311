import { describe, expect, it } from 'vitest';
import { characterErrorRate, editDistance, wordF1, wordsOf } from '../../fixtures/text-metrics.js';
import { ukrainianForm } from '../../fixtures/ukrainian-forms.js';

describe('text metrics', () => {
  it('counts edits between sequences of characters and of words', () => {
    expect(editDistance([...'kitten'], [...'sitting'])).toBe(3);
    expect(editDistance(['Заява', '№', '12'], ['Заява', '12'])).toBe(1);
    expect(editDistance([], [...'абв'])).toBe(3);
  });

  describe('reading-order CER', () => {
    it('ignores how whitespace is laid out and which apostrophe is used', () => {
      expect(characterErrorRate('Прошу   видати\nдовідку\f', 'Прошу видати\n\nдовідку')).toBe(0);
      expect(characterErrorRate('ім’я та прізвище', "ім'я та прізвище")).toBe(0);
    });

    it('counts one wrong character in ten as 0.1, and a Latin look-alike as wrong', () => {
      expect(characterErrorRate('Заява 1284', 'Заява 1234')).toBeCloseTo(0.1, 10);
      // Cyrillic Р and Latin P look the same on paper; a viewer's search for "PDF" misses the first.
      expect(characterErrorRate('РDF', 'PDF')).toBeCloseTo(1 / 3, 10);
    });

    it('scores the right words in the wrong column order as mostly wrong', () => {
      const leftColumn = 'аааа аааа';
      const rightColumn = 'бббб бббб';
      const truth = `${leftColumn}\n\n${rightColumn}`;
      // 19 characters: all 16 letters are wrong, only the three spaces line up.
      expect(characterErrorRate(`${rightColumn}\n${leftColumn}`, truth)).toBeCloseTo(16 / 19, 10);
      expect(wordF1(`${rightColumn}\n${leftColumn}`, truth).f1).toBe(1);
    });

    it('counts everything missing as 1 and never divides by zero', () => {
      expect(characterErrorRate('', 'довідка')).toBe(1);
      expect(characterErrorRate('шум', '')).toBe(3);
    });
  });

  describe('word F1', () => {
    it('trims punctuation at word ends but keeps №, fill-in lines and inner hyphens and slashes', () => {
      expect(wordsOf('Заява № 1234/25, «ID-картка» ______. — •')).toEqual([
        'Заява',
        '№',
        '1234/25',
        'ID-картка',
        '______',
      ]);
      expect(wordsOf('(cnap@rada.gov.ua).')).toEqual(['cnap@rada.gov.ua']);
    });

    it('matches repeated words only as often as the truth has them', () => {
      const scores = wordF1('так ні ні', 'так так ні');
      expect(scores.precision).toBeCloseTo(2 / 3, 10);
      expect(scores.recall).toBeCloseTo(2 / 3, 10);
      expect(scores.f1).toBeCloseTo(2 / 3, 10);
    });

    it('tells extra words (precision) from missing ones (recall)', () => {
      const extra = wordF1('Паспорт серії АВ шум шум', 'Паспорт серії АВ');
      expect(extra).toEqual({ precision: 0.6, recall: 1, f1: 0.75 });
      const missing = wordF1('Паспорт', 'Паспорт серії АВ №');
      expect(missing.precision).toBe(1);
      expect(missing.recall).toBe(0.25);
      expect(missing.f1).toBeCloseTo(0.4, 10);
    });

    it('is case sensitive and gives 0 when nothing matches, 1 when both are empty', () => {
      expect(wordF1('RESET', 'reset').f1).toBe(0);
      expect(wordF1('', 'довідка')).toEqual({ precision: 0, recall: 0, f1: 0 });
      expect(wordF1(' \n', '')).toEqual({ precision: 1, recall: 1, f1: 1 });
    });
  });
});

describe('printed forms for fixture pages', () => {
  it('are the same for a seed, with a numbered title, numbered fields and fill-in lines', () => {
    expect(ukrainianForm(11)).toEqual(ukrainianForm(11));
    expect(ukrainianForm(11)).not.toEqual(ukrainianForm(12));
    const forms = Array.from({ length: 20 }, (_, seed) => ukrainianForm(seed));
    for (const form of forms) {
      expect(form.title[0]).toMatch(/^(ЗАЯВА|ДОВІДКА) № \d{4}\/2\d$/);
      expect(form.body.filter((line) => /^\d\. /.test(line))).toHaveLength(7);
      expect(form.body.at(-1)).toMatch(/^Підпис заявника _{10,16} {4}Дата «__» _{8,12} 20\d\d р\.$/);
    }
    // Across seeds some fields are filled in and some left blank.
    const fields = forms.flatMap((form) => form.body.filter((line) => /^\d\. /.test(line)));
    expect(fields.filter((line) => /: _+$/.test(line)).length).toBeGreaterThan(10);
    expect(
      fields.some((line) => /^3\. Паспорт серії [А-ЯІЄ]{2} № \d{6}, виданий \d\d\.\d\d\.20\d\d$/.test(line)),
    ).toBe(true);
  });
});
