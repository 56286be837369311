import { useEffect, useState } from 'preact/hooks';

/** Ukrainian first, English second. */
export const LANGS = ['uk', 'en'] as const;
export type Lang = (typeof LANGS)[number];

const uk = {
  'app.title': 'Адміністративний офіс',
  'app.skip': 'Перейти до змісту',
  'lang.switch': 'Мова',
  'lang.uk': 'Українська',
  'lang.en': 'English',
  'signin.title': 'Вхід',
  'signin.token': 'Ключ доступу',
  'signin.tokenHint': 'Ключ, який вам видав адміністратор. Він не зберігається у браузері.',
  'signin.submit': 'Увійти',
  'signin.failed': 'Ключ не підходить. Перевірте його і спробуйте ще раз.',
  'signin.wrongRole': 'Цей ключ не для цієї сторінки.',
  signout: 'Вийти',
  signedInAs: 'Ви увійшли як {name}',
  'error.generic': 'Щось пішло не так. Спробуйте ще раз.',
  'error.rateLimited': 'Забагато спроб. Зачекайте хвилину.',
  'error.unavailable': 'Сервіс тимчасово недоступний. Спробуйте трохи згодом.',
} as const;

export type CommonKey = keyof typeof uk;

const en: Record<CommonKey, string> = {
  'app.title': 'Administrative office',
  'app.skip': 'Skip to content',
  'lang.switch': 'Language',
  'lang.uk': 'Українська',
  'lang.en': 'English',
  'signin.title': 'Sign in',
  'signin.token': 'Access key',
  'signin.tokenHint': 'The key the administrator issued to you. The browser does not keep it.',
  'signin.submit': 'Sign in',
  'signin.failed': 'This key does not fit. Check it and try again.',
  'signin.wrongRole': 'This key is not for this page.',
  signout: 'Sign out',
  signedInAs: 'Signed in as {name}',
  'error.generic': 'Something went wrong. Please try again.',
  'error.rateLimited': 'Too many attempts. Please wait a minute.',
  'error.unavailable': 'The service is unavailable for a moment. Please try again shortly.',
};

const COMMON: Messages<CommonKey> = { uk, en };
const STORAGE_KEY = 'scan-office-lang';

/** A page's own messages in both languages; every key in both. */
export type Messages<K extends string> = Record<Lang, Record<K, string>>;

/** Builds a page's dictionaries: English must have exactly the Ukrainian keys. */
export const defineMessages = <K extends string>(uk: Record<K, string>, en: Record<NoInfer<K>, string>) => ({
  uk,
  en,
});

/** Looks up a common or a page message (`K`: the page's keys) and fills in its {parameters}. */
export type Translate<K extends string = never> = (
  key: CommonKey | K,
  params?: Record<string, string | number>,
) => string;

function stored(): Lang {
  const saved = globalThis.localStorage?.getItem(STORAGE_KEY);
  return (LANGS as readonly string[]).includes(saved ?? '') ? (saved as Lang) : 'uk';
}

export const translator =
  <K extends string>(lang: Lang, page: Messages<K>): Translate<K> =>
  (key, params = {}) =>
    (
      (page[lang] as Record<string, string>)[key] ??
      (COMMON[lang] as Record<string, string>)[key] ??
      key
    ).replace(/\{(\w+)\}/g, (whole, name: string) => String(params[name] ?? whole));

/** Dates as people here read them: uk-UA, whichever language the page is in. */
export const formatDate = (iso: string) =>
  new Intl.DateTimeFormat('uk-UA', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));

/** The page's language, remembered across visits; the document's lang attribute follows it. */
export function useLang<K extends string>(
  page: Messages<K>,
): { lang: Lang; setLang: (lang: Lang) => void; t: Translate<K> } {
  const [lang, setLangState] = useState<Lang>(stored);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = (next: Lang) => {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
    setLangState(next);
  };
  return { lang, setLang, t: translator(lang, page) };
}
