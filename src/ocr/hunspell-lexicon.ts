import { loadModule } from 'hunspell-asm';
import type { Lexicon, Script } from '../pipeline/script-correction.js';

/**
 * The Ukrainian and English hunspell dictionaries (npm `dictionary-uk`, `dictionary-en`, shipped in node_modules) in
 * hunspell compiled to WebAssembly. Load once per process: 1.4–1.7 s and ~55 MB of RSS, nearly all of it the
 * Ukrainian dictionary. nspell, the JavaScript hunspell, took 12.7 s and 630 MB for that dictionary alone: it
 * expands every word form up front.
 */
export async function loadHunspellLexicon(): Promise<Lexicon> {
  const factory = await loadModule();
  const open = async (language: 'uk' | 'en') => {
    const { default: dictionary } = await import(language === 'uk' ? 'dictionary-uk' : 'dictionary-en');
    const aff = factory.mountBuffer(dictionary.aff, `${language}.aff`);
    const dic = factory.mountBuffer(dictionary.dic, `${language}.dic`);
    const hunspell = factory.create(aff, dic);
    // hunspell has read both files into its own tables; the mounted copies only take memory.
    factory.unmount(aff);
    factory.unmount(dic);
    return hunspell;
  };
  const dictionaries: Record<Script, { spell(word: string): boolean }> = {
    cyrillic: await open('uk'),
    latin: await open('en'),
  };
  return {
    isWord: (word, script) => dictionaries[script].spell(word.replace(/[’ʼ]/g, "'")),
  };
}
