import { beforeAll, describe, expect, it } from 'vitest';
import { alignWords } from '../../fixtures/text-metrics.js';
import { loadHunspellLexicon } from '../../src/ocr/hunspell-lexicon.js';
import type { OcrResult } from '../../src/pipeline/ocr.js';
import { correctScripts, type Lexicon } from '../../src/pipeline/script-correction.js';

// The real dictionaries: the rules are only as good as what hunspell says is a word. Loading takes ~2 s, too long
// for the unit tier.
let lexicon: Lexicon;
beforeAll(async () => {
  lexicon = await loadHunspellLexicon();
});

/** An OCR result of these lines (paragraphs apart when separated by ''), each word in its own box. */
function page(...lines: string[]): OcrResult {
  let x = 0;
  const read = lines.filter((line) => line !== '');
  return {
    text: `${lines.join('\n')}\n`,
    confidence: 90,
    lines: read.map((line, y) => ({
      bbox: { x0: 0, y0: y * 50, x1: 2000, y1: y * 50 + 40 },
      words: line.split(' ').map((text) => {
        x += 100;
        return { text, bbox: { x0: x, y0: y * 50, x1: x + 90, y1: y * 50 + 40 }, confidence: 90 };
      }),
    })),
  };
}

const corrected = (...lines: string[]) => correctScripts(page(...lines), lexicon).ocr.text.trimEnd();
const unchanged = (...lines: string[]) => expect(corrected(...lines)).toBe(lines.join('\n'));

describe('script correction', () => {
  describe('reads look-alike glyphs in the script of the words around', () => {
    it.each([
      ['подібним до «gunzip щось.zip» abo «gunzip -S .zip щось.zip». Щоб', 'abo', 'або'],
      ['копію опубліковано Ha сайті міської ради', 'Ha', 'на'],
      ['якщо калібрування ще He виконувалося або', 'He', 'не'],
      ['Нижче наведено опис Toro, як bash виконує', 'Toro', 'того'],
      ['вхід через портал за KEM, файл підписують', 'KEM', 'КЕП'],
      ['Реєстраційний № 5061/23 Big 05.01.2023 Підпис заявника', 'Big', 'від'],
      // A form's label: `Hata` also reads as the name `Ната`, `Hara` as the name `Дага`; the common word wins.
      ['Підпис заявника ______ Hata «__» ______ 2024 р.', 'Hata', 'Дата'],
      ['Підпис заявника ______ Hara «__» ______ 2024 р.', 'Hara', 'Дата'],
      // A 3 among letters is з; the year's р after a date.
      ['через id.gov.ua 3a КЕП, файл XML підписують', '3a', 'за'],
      ['Підпис заявника ______ Дата «__» ______ 2025 p.', 'p.', 'р.'],
    ])('Latin read for Cyrillic in Ukrainian text: %s', (read, wrong, right) => {
      expect(corrected(read)).toBe(read.replace(wrong, right));
    });

    it('Cyrillic read for Latin in English text: гезеї, сор, and the pronoun І', () => {
      expect(corrected('Press гезеї to clear the memory')).toBe('Press reset to clear the memory');
      expect(corrected('The сор on the corner said')).toBe('The cop on the corner said');
      // `bar 1` came back as `bar І` from the leaflet scan, but on our pages every Cyrillic І among English words
      // was the pronoun I (16 of 16) and none of 63 digits 1 was read as І: the letter is the better bet.
      expect(corrected('the sequence loops back around to bar І, you will hear')).toBe(
        'the sequence loops back around to bar I, you will hear',
      );
      expect(corrected('When І got to bar 1, I stopped the tape.')).toBe(
        'When I got to bar 1, I stopped the tape.',
      );
    });

    it('takes a short Latin reading inside Ukrainian text only with a Latin word nearby; a long one without', () => {
      expect(corrected('у терміналі Linux виконайте сор, а потім перезапустіть')).toBe(
        'у терміналі Linux виконайте cop, а потім перезапустіть',
      );
      unchanged('увімкніть функцію у налаштуваннях, натисніть сор і повторіть спробу');
      // Its neighbour `NFC` was misread too (`МЕС`): five letters that are no word as read need no witness.
      expect(corrected('увімкніть МЕС у налаштуваннях, натисніть гезеї і повторіть спробу')).toBe(
        'увімкніть МЕС у налаштуваннях, натисніть reset і повторіть спробу',
      );
    });

    it('makes a word of two scripts one, whichever way needs a word', () => {
      expect(corrected('Заявник: Oлійник Богдан Васильович')).toBe('Заявник: Олійник Богдан Васильович');
      expect(corrected('Для входу використовуйте ID-KapTKy з чипом')).toBe(
        'Для входу використовуйте ID-картку з чипом',
      );
      expect(corrected('the sequencer rесords every note')).toBe('the sequencer records every note');
      expect(corrected('використовуйте ID-kapTKy з чипом')).toBe('використовуйте ID-картку з чипом');
    });

    it('reads the fields of a payment purpose one by one', () => {
      expect(corrected('Призначення: *;101;3187654321;agMiHnocnyra ЦНАП;ID')).toBe(
        'Призначення: *;101;3187654321;адмінпослуга ЦНАП;ID',
      );
      unchanged('Призначення: *;101;3187654321;адмінпослуга ЦНАП;ID');
    });

    it('writes the Ukrainian apostrophe, and leaves the English one', () => {
      expect(corrected("Прізвище, ім'я, по батькові члена сім'ї")).toBe(
        'Прізвище, ім’я, по батькові члена сім’ї',
      );
      unchanged("the sequencer's memory, don't erase it");
    });

    it('keeps the case and the punctuation around the word', () => {
      expect(corrected('Abo надіслати поштою')).toBe('Або надіслати поштою');
      expect(corrected('у форматі «abo» (Toro), як сказано')).toBe('у форматі «або» (того), як сказано');
      expect(corrected('ключ KEM; файл підписують')).toBe('ключ КЕП; файл підписують');
    });
  });

  describe('never changes a word that is a word as read', () => {
    it('Ukrainian words written in look-alike letters', () => {
      unchanged('Рас як дві краплі води, ось і все: Рас, рас, ОСЬ, Тор');
      unchanged('The office said ось and тор are words');
    });

    it('English words written in look-alike letters, among Ukrainian words too', () => {
      unchanged('He said HE WAS SURE of it, and the cop on the corner agreed');
      unchanged('серія HE виданий, а cop і on лишаються');
      unchanged('A cop on duty saw a car');
    });

    it('a capital where a sentence or a line may start, and English words around an English word', () => {
      unchanged('Ha! That was close.');
      unchanged('Відповідь надіслано.', 'Ha сайті не буде');
      unchanged('Перевірте. He все прочитано');
      unchanged('у розділі My requests на сайті');
      // Capitalised English words, whose Cyrillic readings are words too (`Салоп`, `му`).
      unchanged('налаштування сканера Canon imageFORMULA у розділі My requests');
    });

    it('a 3 alone, which is a number', () => {
      unchanged('подайте 3 примірники заяви, а 3D модель не потрібна');
    });

    it('one-letter words of either script', () => {
      unchanged('Скануйте документи, a потім надішліть');
      unchanged('a reduced service is а mistake');
    });

    it('a Cyrillic word with no Latin word near it, even when its Latin reading is a word', () => {
      unchanged('Адреса: м. Київ, вул. Велика, буд. 59, кв. 90, серія КВ');
      unchanged('Змінна середовища НОМЕ вказує на домашній каталог');
    });
  });

  describe('leaves numbers and codes alone', () => {
    it('numbers, codes, e-mail, URLs, file names, fill-in lines', () => {
      unchanged(
        'код ABC-123, рахунок UA213223130000026007233566001, номер 3222486200:03:002:0154, площа 0,1200 га',
      );
      unchanged(
        'пишіть на admin@rada.gov.ua або https://cnap.kyiv.ua/services, файл backup.tar.gz чи щось.zip',
      );
      unchanged('дані з файла 7ір із одним елементом, пн-пт 3 9:00');
      unchanged('Підпис: ____________ Дата: «__» __________ 2025 р.');
    });
  });

  describe('№ read as two letters', () => {
    it.each(['Ne', 'No', 'Nо', 'Мо', 'Ме', 'Ле', 'N°', 'N9', 'N2'])(
      '%s before a number among Ukrainian words is №, as far from the number as read',
      (read) => {
        expect(corrected(`Паспорт: серія КВ ${read} 095477, виданий 18.03.1984`)).toBe(
          'Паспорт: серія КВ № 095477, виданий 18.03.1984',
        );
      },
    );

    it('before the fill-in line of a number', () => {
      expect(corrected('3. Паспорт серії __ Ме __________')).toBe('3. Паспорт серії __ № __________');
    });

    it('joined to its number', () => {
      expect(corrected('Номер справи Ne27/4-2025, рахунок')).toBe('Номер справи №27/4-2025, рахунок');
      expect(corrected('Номер реєстрації Мо5512, код послуги')).toBe('Номер реєстрації №5512, код послуги');
    });

    it('stays No in English and without a number', () => {
      unchanged('Item No 5 on the agenda was the budget');
      unchanged('Item No5 on the agenda was the budget');
      unchanged('маски N95 у продажу, серія Ne без номера');
    });
  });

  describe('the result', () => {
    it('keeps boxes, confidences and paragraph breaks, and counts the words changed', () => {
      const read = page('Прошу надіслати відповідь Ha адресу', '', 'Паспорт серія КВ Ne 095477 abo копія');
      const { ocr, changes } = correctScripts(read, lexicon);
      expect(changes).toBe(3);
      expect(ocr.text).toBe('Прошу надіслати відповідь на адресу\n\nПаспорт серія КВ № 095477 або копія\n');
      expect(ocr.lines.map((line) => line.words.map((word) => word.bbox))).toEqual(
        read.lines.map((line) => line.words.map((word) => word.bbox)),
      );
      expect(ocr.lines[0]!.words[3]).toEqual({ ...read.lines[0]!.words[3]!, text: 'на' });
      expect(ocr.confidence).toBe(read.confidence);
    });

    it('is the same result when nothing changes', () => {
      const read = page('Прошу провести державну реєстрацію права власності');
      expect(correctScripts(read, lexicon)).toEqual({ ocr: read, changes: 0 });
    });
  });

  it('is judged word by word against the truth (alignWords, as the integration test does)', () => {
    const truth = ['Прошу', 'надіслати', 'на', 'адресу', 'вказану', 'нижче'];
    // A word dropped and a word misread: the words read right stay paired with themselves, the misread one with
    // the word it stands for.
    expect(alignWords(['Прошу', 'надіслати', 'Ha', 'адресу', 'нижче'], truth)).toEqual([0, 1, 2, 3, 5]);
  });
});
