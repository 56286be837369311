import { type OcrResult, type OcrWord, withWordsReplaced } from './ocr.js';

/**
 * OCR in `ukr+eng` mixes up glyphs that look alike across the two scripts: `або` comes back as `abo`, `на` as `Ha`,
 * `reset` as `гезеї`, `№` as `Ne` or `Мо`. This stage reads such words again in the other script and takes that
 * reading only when it is a word there and the words around are written in that script (a long one needs no such
 * witness). A word that is a word as read is never changed, but for the Ukrainian apostrophe, written `’`.
 */

export type Script = 'latin' | 'cyrillic';

/** One word list per script (hunspell dictionaries behind it in src/ocr). */
export interface Lexicon {
  /** Whether `word`, written in `script`'s letters (apostrophes and hyphens aside), is a word of it, as cased. */
  isWord(word: string, script: Script): boolean;
}

export type ScriptCorrection = { ocr: OcrResult; changes: number };

/**
 * Letters OCR reads for a letter of the other script. SAME_SHAPE: a Latin and a Cyrillic glyph of one shape, read
 * either way. MISREAD: what was read, then what was meant, one way only. Cyrillic lowercase в, к, м, н, т are small
 * capitals of Latin letters, so OCR reads `на` as `Ha` (never seen the other way round); the rest were seen in OCR of
 * our pages or in reports: `Toro` for `того`, `abo` for `або`, `kapTKy` for `картку`, `nocnyra` for `послуга`, `еп`
 * for `en`, `KEM` and `KEN` for `КЕП`, `Big` for `від`, `ОСВ` for `OCR`, `гезеї` for `reset`, `гір` for `zip`.
 */
const SAME_SHAPE = [
  ...['aа', 'cс', 'eе', 'iі', 'oо', 'pр', 'xх', 'yу', 'ïї'],
  ...['AА', 'BВ', 'CС', 'EЕ', 'HН', 'IІ', 'KК', 'MМ', 'OО', 'PР', 'TТ', 'XХ', 'YУ'],
];
const MISREAD = [
  ...['Hн', 'Bв', 'Kк', 'Mм', 'Tт'],
  ...['rг', 'bб', 'gд', 'kк', 'nп', 'nл', 'tт', 'rт', 'HД', 'MП', 'NП', 'пn', 'гr', 'гz', 'зs', 'їt', 'ВR'],
];

/** What a letter as read may have been meant as, most alike first. */
const meant = new Map<string, string[]>();
const mayMean = (read: string, intended: string) => meant.set(read, [...(meant.get(read) ?? []), intended]);
for (const [latin = '', cyrillic = ''] of SAME_SHAPE) {
  mayMean(latin, cyrillic);
  mayMean(cyrillic, latin);
}
for (const [read = '', intended = ''] of MISREAD) mayMean(read, intended);

/** More readings than this (a long word of many ambiguous letters) are not tried. */
const MAX_READINGS = 128;
/**
 * A word this long that is no word as read but a word in the other script's letters is taken without the words around
 * agreeing: `гезеї` is `reset` even where its neighbours were misread too. Shorter words match by chance.
 */
const MIN_LETTERS_WITHOUT_CONTEXT = 5;
/** How many words of two or more letters on each side, in reading order, tell what a word is surrounded by. */
const CONTEXT_WORDS = 4;

const LATIN = /\p{Script=Latin}/u;
const CYRILLIC = /\p{Script=Cyrillic}/u;
/** Letters, with the apostrophes and hyphens inside Ukrainian and English words; digits make a code. */
const WORD = /^[\p{L}’ʼ'-]+$/u;
/** But `3` among letters is `з` misread (`3a` for `за`); alone it is a number. */
const DIGIT_MISREADS = new Map([['3', 'з']]);
const WORD_WITH_MISREAD_DIGITS = /^(?=.*\p{L})[\p{L}3’ʼ'-]+$/u;
const JOINERS = /[’ʼ'-]/gu;
/** Quotes, brackets and punctuation around a word; what is left is the word itself. */
const AROUND = /^([«„“"'‘([{]*)(.*?)([»“”"'’)\]}.,;:!?…]*)$/su;
/** Ukrainian writes its apostrophe (`ім’я`) as ’; OCR gives the typewriter one. */
const TYPEWRITER_APOSTROPHE = /(?<=\p{Script=Cyrillic})'(?=\p{Script=Cyrillic})/gu;
const SENTENCE_END = /[.!?…:;]['"»”’)\]]*$/u;

/**
 * Every letter is in the English dictionary (as a symbol); these are the one-letter words, and `р`, which closes the
 * date on every form (`2025 р.`, the year).
 */
const ONE_LETTER_WORDS: Record<Script, ReadonlySet<string>> = {
  latin: new Set(['a', 'A', 'I']),
  cyrillic: new Set(['а', 'в', 'з', 'і', 'й', 'о', 'у', 'є', 'р']),
};

/**
 * `№` read as two glyphs: N or Cyrillic М, Л, И, then o, e, ° in either script, or 9 or 2. Only before a number (or
 * the fill-in line for one),
 * and only among Cyrillic words: `No 5` in an English sentence stays. Joined to its number only with a letter, as
 * `N95` is a mask and no `№`.
 */
const NUMERO = /^[NМЛИ][oeое°º92]$/u;
const NUMERO_JOINED = /^([«"(]*)[NМЛИ][oeое°º](\d.*)$/u;

const scriptOf = (letter: string): Script | undefined =>
  LATIN.test(letter) ? 'latin' : CYRILLIC.test(letter) ? 'cyrillic' : undefined;
const otherThan = (script: Script): Script => (script === 'latin' ? 'cyrillic' : 'latin');
const isTitle = (word: string) => {
  const [first = '', ...rest] = word;
  return first !== first.toLowerCase() && rest.join('') === rest.join('').toLowerCase();
};

/** The one script of a word's letters, 'mixed', or undefined for numbers, codes, e-mail and URLs. */
function scriptOfWord(core: string): Script | 'mixed' | undefined {
  if (!WORD.test(core)) return WORD_WITH_MISREAD_DIGITS.test(core) ? 'mixed' : undefined;
  const scripts = new Set([...core.replace(JOINERS, '')].map(scriptOf));
  if (scripts.has(undefined) || scripts.size === 0) return undefined;
  return scripts.size === 1 ? [...scripts][0] : 'mixed';
}

/**
 * How a word of one script stands in its dictionary where it stands. hunspell takes any word capitalised, as at the
 * start of a sentence; in the middle of one, a capital on a word that is also a lowercase word is only `capitalised`:
 * on the pages we measured, every `Ha`, `He` and `Ta` inside a Ukrainian sentence was `на`, `не` or `та` misread.
 */
type Standing = 'word' | 'capitalised' | 'none';

function standing(word: string, script: Script, lexicon: Lexicon, sentenceStart: boolean): Standing {
  const lower = word.toLowerCase();
  const known =
    [...word].length === 1
      ? (w: string) => ONE_LETTER_WORDS[script].has(w)
      : (w: string) => lexicon.isWord(w, script);
  if (sentenceStart || !isTitle(word) || lower === word)
    return known(word) || (sentenceStart && known(lower)) ? 'word' : 'none';
  if (!known(lower)) return known(word) ? 'word' : 'none';
  return 'capitalised';
}

/** The word written in `target`'s letters, best first, or none when a letter has no look-alike there. */
function readingsIn(core: string, target: Script): string[] {
  let readings = [{ text: '', cost: 0 }];
  for (const letter of core) {
    const script = scriptOf(letter);
    const digitMeant = DIGIT_MISREADS.get(letter);
    const options = digitMeant
      ? [target === 'cyrillic' ? digitMeant : letter]
      : script && script !== target
        ? meant.get(letter)
        : [letter];
    if (!options) return [];
    readings = readings.flatMap((reading) =>
      options.map((option, rank) => ({ text: reading.text + option, cost: reading.cost + rank })),
    );
    if (readings.length > MAX_READINGS) return [];
  }
  return readings.sort((a, b) => a.cost - b.cost).map((reading) => reading.text);
}

/** The scripts of the words around one word, and of its nearest neighbours on either side. */
type Context = { latin: number; cyrillic: number; previous?: Script | 'mixed'; next?: Script | 'mixed' };

function contextOf(scripts: (Script | 'mixed' | undefined)[], i: number): Context {
  const context: Context = { latin: 0, cyrillic: 0 };
  const count = (script: Script | 'mixed') => {
    if (script !== 'mixed') context[script]++;
  };
  for (let j = i - 1, seen = 0; j >= 0 && seen < CONTEXT_WORDS; j--) {
    const script = scripts[j];
    if (script === undefined) continue;
    context.previous ??= script;
    count(script);
    seen++;
  }
  for (let j = i + 1, seen = 0; j < scripts.length && seen < CONTEXT_WORDS; j++) {
    const script = scripts[j];
    if (script === undefined) continue;
    context.next ??= script;
    count(script);
    seen++;
  }
  return context;
}

/**
 * Whether the words around are written in `script`: most of them for Cyrillic, any of them for Latin, as Latin words
 * (commands, product names) stand inside Ukrainian sentences and not the other way round. A `capitalised` word
 * needs its nearest neighbours on both sides in `script` instead: `My` in `розділі My requests` is English.
 */
function supports(context: Context, script: Script, read: Standing): boolean {
  if (read === 'capitalised') return context.previous === script && context.next === script;
  return script === 'cyrillic' ? context.cyrillic > context.latin : context.latin > 0;
}

/** The corrected core of one word, or undefined to keep it as read. */
function correctWord(
  core: string,
  context: Context,
  lexicon: Lexicon,
  sentenceStart: boolean,
): string | undefined {
  const script = scriptOfWord(core);
  if (script === undefined) return undefined;
  const parts = core.split('-');
  if (parts.length > 1) {
    if (script !== 'mixed' && standing(core, script, lexicon, sentenceStart) === 'word') return undefined;
    const corrected = parts
      .map((part, i) => (part && correctWord(part, context, lexicon, sentenceStart && i === 0)) || part)
      .join('-');
    return corrected === core ? undefined : corrected;
  }

  const isWord = (reading: string, target: Script) =>
    standing(reading, target, lexicon, sentenceStart) === 'word';
  // A common word goes before a name (`Hata` is `Дата`, not `Ната`), a word as cased before a capitalised one
  // (`Ha` is `на`, not `На`): OCR reads small letters as capitals, but the capital of a field's label is printed.
  const bestWord = (readings: string[], target: Script) => {
    const judged = readings.map((reading) => ({
      reading,
      standing: standing(reading, target, lexicon, sentenceStart),
      common: isWord(reading.toLowerCase(), target),
    }));
    return (
      judged.find(({ standing, common }) => standing === 'word' && common)?.reading ??
      judged.find(({ standing, common }) => standing === 'capitalised' && common)?.reading ??
      judged.find(({ standing }) => standing === 'word')?.reading
    );
  };
  if (script !== 'mixed') {
    const target = otherThan(script);
    // Most words have a letter with no look-alike: they need no dictionary.
    const readings = readingsIn(core, target);
    if (readings.length === 0) return undefined;
    const read = standing(core, script, lexicon, sentenceStart);
    if (read === 'word') return undefined;
    const needsContext = read === 'capitalised' || [...core].length < MIN_LETTERS_WITHOUT_CONTEXT;
    if (needsContext && !supports(context, target, read)) return undefined;
    return bestWord(readings, target);
  }
  // A word of both scripts is wrong as read. Of its readings that are words, take the one the words around support,
  // or the only one.
  const found = (['latin', 'cyrillic'] as const).flatMap((target) => {
    const reading = bestWord(readingsIn(core, target), target);
    return reading ? [{ reading, target }] : [];
  });
  if (found.length === 1) return found[0]!.reading;
  return found.find(({ target }) => supports(context, target, 'none'))?.reading;
}

/** The word's text corrected, or undefined to keep it. */
function correctToken(
  text: string,
  next: string | undefined,
  context: Context,
  lexicon: Lexicon,
  sentenceStart: boolean,
): string | undefined {
  if (isNumero(text, next)) {
    // Forms put `№` after a label: the word before it counts as much as those around.
    if (context.previous !== 'cyrillic' && context.cyrillic <= context.latin) return undefined;
    const joined = NUMERO_JOINED.exec(text);
    return joined ? `${joined[1]}№${joined[2]}` : '№';
  }
  // Fields joined by semicolons (a bank payment's purpose, `*;101;…;адмінпослуга`) are words of their own.
  if (text.includes(';')) {
    const fields = text.split(';');
    const corrected = fields.map(
      (field) => (field ? correctToken(field, undefined, context, lexicon, false) : undefined) ?? field,
    );
    return corrected.some((field, i) => field !== fields[i]) ? corrected.join(';') : undefined;
  }
  const [, before = '', core = '', after = ''] = AROUND.exec(text) ?? [];
  const corrected = core && correctWord(core, context, lexicon, sentenceStart);
  const word = corrected ? before + corrected + after : text;
  const withApostrophes = word.replace(TYPEWRITER_APOSTROPHE, '’');
  return withApostrophes === text ? undefined : withApostrophes;
}

const isNumero = (text: string, next: string | undefined) =>
  NUMERO_JOINED.test(text) || (NUMERO.test(text) && /^[\d_]/.test(next ?? ''));

/**
 * Corrects the words of an OCR result that were read in the wrong script, keeping boxes, confidences and the layout
 * of `text`. Returns the result and how many words changed.
 */
export function correctScripts(ocr: OcrResult, lexicon: Lexicon): ScriptCorrection {
  const words = ocr.lines.flatMap((line) => line.words);
  // What the words around are written in; one-letter words and `№` misread say little about that.
  const scripts = words.map(({ text }, i) => {
    const core = AROUND.exec(text)?.[2] ?? '';
    if (isNumero(text, words[i + 1]?.text) || core.replace(JOINERS, '').length < 2) return undefined;
    return scriptOfWord(core);
  });

  const corrected = new Map<OcrWord, string>();
  let i = 0;
  for (const line of ocr.lines) {
    for (const [inLine, word] of line.words.entries()) {
      const previous = words[i - 1]?.text;
      // A line's first word may start a field of a form, so it may be capitalised too.
      const sentenceStart = inLine === 0 || previous === undefined || SENTENCE_END.test(previous);
      const text = correctToken(word.text, words[i + 1]?.text, contextOf(scripts, i), lexicon, sentenceStart);
      if (text !== undefined && text !== word.text) corrected.set(word, text);
      i++;
    }
  }
  return { ocr: withWordsReplaced(ocr, corrected), changes: corrected.size };
}
