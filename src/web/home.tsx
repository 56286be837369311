import { render } from 'preact';
import { homeMessages } from './home-messages';
import { useLang } from './shared/i18n';
import { Shell } from './shared/layout';
import './shared/styles.css';

const PLACES = [
  ['/track', 'home.track', 'home.trackHint'],
  ['/station', 'home.station', 'home.stationHint'],
  ['/desk', 'home.desk', 'home.deskHint'],
  ['/admin', 'home.admin', 'home.adminHint'],
] as const;

function Home() {
  const { lang, setLang, t } = useLang(homeMessages);
  return (
    <Shell title={t('app.title')} t={t} lang={lang} setLang={setLang}>
      <p>{t('home.lead')}</p>
      <ul class="choices">
        {PLACES.map(([href, name, hint]) => (
          <li key={href} class="card">
            <h2>
              <a href={href}>{t(name)}</a>
            </h2>
            <p>{t(hint)}</p>
          </li>
        ))}
      </ul>
    </Shell>
  );
}

render(<Home />, document.getElementById('app')!);
