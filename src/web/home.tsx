import { render } from 'preact';
import { useLang } from './shared/i18n';
import { Shell } from './shared/layout';
import './shared/styles.css';

function Home() {
  const { lang, setLang, t } = useLang();
  return (
    <Shell title={t('app.title')} t={t} lang={lang} setLang={setLang}>
      <p>{t('home.lead')}</p>
      <ul class="choices">
        <li class="card">
          <h2>
            <a href="/track">{t('home.track')}</a>
          </h2>
          <p>{t('home.trackHint')}</p>
        </li>
        <li class="card">
          <h2>
            <a href="/desk">{t('home.desk')}</a>
          </h2>
          <p>{t('home.deskHint')}</p>
        </li>
      </ul>
    </Shell>
  );
}

render(<Home />, document.getElementById('app')!);
