import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type Lang, useLang } from '../shared/i18n';
import { Shell } from '../shared/layout';
import { SignIn, useSession } from '../shared/session';
import '../shared/styles.css';
import { useDirectory } from './directory';
import { FairnessView } from './fairness';
import { LookupView } from './lookup';
import { type AdminTranslate, adminMessages } from './messages';
import { OfficeView } from './office';
import { PeopleView } from './people';
import { ProtocolView } from './protocol';
import { ServicesView } from './services';

const SECTIONS = ['office', 'people', 'services', 'fairness', 'protocol', 'lookup'] as const;
type Section = (typeof SECTIONS)[number];

const sectionInAddress = (): Section => {
  const wanted = location.hash.slice(1);
  return (SECTIONS as readonly string[]).includes(wanted) ? (wanted as Section) : 'office';
};

function Admin() {
  const { lang, setLang, t } = useLang(adminMessages);
  const { session, signedIn, signOut } = useSession('admin');
  return (
    <Shell
      title={t('admin.title')}
      t={t}
      lang={lang}
      setLang={setLang}
      {...(session ? { signedInAs: session.name, onSignOut: signOut } : {})}
    >
      {session === null && <SignIn forRole="admin" t={t} onSignedIn={signedIn} />}
      {session && <Console t={t} lang={lang} />}
    </Shell>
  );
}

/**
 * The console's sections, one at a time, named in the address (#office, #people, …) so each can be linked and the
 * browser's back button works. None of them can choose who decides a packet: there is no such control or route.
 */
function Console({ t, lang }: { t: AdminTranslate; lang: Lang }) {
  const [section, setSection] = useState<Section>(sectionInAddress);
  const directory = useDirectory(lang);
  useEffect(() => {
    const follow = () => setSection(sectionInAddress());
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  const views: Record<Section, () => preact.JSX.Element> = {
    office: () => <OfficeView t={t} lang={lang} />,
    people: () => <PeopleView t={t} lang={lang} directory={directory} />,
    services: () => <ServicesView t={t} lang={lang} directory={directory} />,
    fairness: () => <FairnessView t={t} directory={directory} />,
    protocol: () => <ProtocolView t={t} directory={directory} />,
    lookup: () => <LookupView t={t} directory={directory} />,
  };
  return (
    <>
      <nav aria-label={t('admin.sections')} class="tabs">
        <ul>
          {SECTIONS.map((name) => (
            <li key={name}>
              <a href={`#${name}`} aria-current={name === section ? 'page' : undefined}>
                {t(`admin.${name}`)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <section aria-labelledby="section-title">
        <h2 id="section-title">{t(`admin.${section}`)}</h2>
        {views[section]()}
      </section>
    </>
  );
}

render(<Admin />, document.getElementById('app')!);
