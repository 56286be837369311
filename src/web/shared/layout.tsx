import type { ComponentChildren } from 'preact';
import { LANGS, type Lang, type Translate } from './i18n';

/**
 * Every page's frame: a skip link, the office's name, the language switch (remembered), the person signed in and
 * sign-out, and the main region the skip link leads to.
 */
export function Shell(props: {
  title: string;
  t: Translate;
  lang: Lang;
  setLang: (lang: Lang) => void;
  signedInAs?: string;
  onSignOut?: () => void;
  children: ComponentChildren;
}) {
  const { t } = props;
  return (
    <>
      <a class="skip" href="#main">
        {t('app.skip')}
      </a>
      <header class="bar">
        <p class="brand">
          <a href="/">{t('app.title')}</a>
        </p>
        <nav aria-label={t('lang.switch')} class="langs">
          {LANGS.map((lang) => (
            <button
              type="button"
              key={lang}
              lang={lang}
              aria-pressed={props.lang === lang}
              onClick={() => props.setLang(lang)}
            >
              {t(`lang.${lang}`)}
            </button>
          ))}
        </nav>
        {props.signedInAs !== undefined && (
          <p class="who">
            {t('signedInAs', { name: props.signedInAs })}{' '}
            <button type="button" onClick={props.onSignOut}>
              {t('signout')}
            </button>
          </p>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </>
  );
}
