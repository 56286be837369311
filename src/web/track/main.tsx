import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../shared/api';
import { useLang } from '../shared/i18n';
import { Shell } from '../shared/layout';
import { type TrackKey, trackMessages } from './messages';
import '../shared/styles.css';

const STEPS = ['received', 'processing', 'with_registrar', 'decided'] as const;
type Status = (typeof STEPS)[number];
type Found = { code: string; status: Status; outcome?: 'approved' | 'rejected' };

/** The code in the address (/track/ABCD-…), as the receipt's QR code links to it. */
const codeInPath = () => decodeURIComponent(location.pathname.replace(/^\/track\/?/, '')).trim();

function Track() {
  const { lang, setLang, t } = useLang(trackMessages);
  const [code, setCode] = useState(codeInPath);
  const [found, setFound] = useState<Found | undefined>();
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const result = useRef<HTMLElement>(null);

  const lookUp = async (wanted: string) => {
    if (!wanted) return;
    setBusy(true);
    setProblem('');
    setFound(undefined);
    const { data, response } = await api.GET('/v1/track/{trackingCode}', {
      params: { path: { trackingCode: wanted } },
    });
    setBusy(false);
    if (data) {
      setFound({ code: wanted.toUpperCase(), ...data });
      history.replaceState(null, '', `/track/${encodeURIComponent(wanted.toUpperCase())}`);
    } else
      setProblem(
        response.status === 429
          ? t('error.rateLimited')
          : response.status === 404 || response.status === 400
            ? t('track.notFound')
            : t('error.unavailable'),
      );
    result.current?.focus();
  };

  useEffect(() => {
    if (code) void lookUp(code);
  }, []);

  const current = found ? STEPS.indexOf(found.status) : -1;
  return (
    <Shell title={t('track.title')} t={t} lang={lang} setLang={setLang}>
      <form
        class="card narrow"
        onSubmit={(event) => {
          event.preventDefault();
          void lookUp(code.trim());
        }}
      >
        <p>{t('track.lead')}</p>
        <label for="code">{t('track.code')}</label>
        <input
          id="code"
          type="text"
          autocomplete="off"
          autocapitalize="characters"
          spellcheck={false}
          required
          value={code}
          onInput={(event) => setCode((event.target as HTMLInputElement).value)}
        />
        <p>
          <button type="submit" class="primary" disabled={busy}>
            {t('track.submit')}
          </button>
        </p>
      </form>
      <section
        ref={result}
        tabIndex={-1}
        aria-live="polite"
        aria-labelledby={found ? 'case-title' : undefined}
      >
        {problem && (
          <p role="alert" class="problem">
            {problem}
          </p>
        )}
        {found && (
          <>
            <h2 id="case-title">{t('track.caseFor', { code: found.code })}</h2>
            <ol class="timeline">
              {STEPS.map((step, index) => (
                <li
                  key={step}
                  class={index < current ? 'done' : undefined}
                  aria-current={index === current ? 'step' : undefined}
                >
                  {t(`track.step.${step}` as TrackKey)}
                  {index === current && <span class="visually-hidden"> ({t('track.current')})</span>}
                </li>
              ))}
            </ol>
            {found.outcome && (
              <p class={found.outcome === 'approved' ? 'ok' : 'warning'}>
                {t(`track.outcome.${found.outcome}`)}
              </p>
            )}
          </>
        )}
      </section>
    </Shell>
  );
}

render(<Track />, document.getElementById('app')!);
