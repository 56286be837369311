import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../shared/api';
import { useLang } from '../shared/i18n';
import { Shell } from '../shared/layout';
import { SignIn, useSession } from '../shared/session';
import '../shared/styles.css';
import { type DeskTranslate, deskMessages } from './messages';
import { PacketDesk } from './packet';
import { warmUpPdfWorker } from './pdf';

type Me = {
  id: string;
  name: string;
  status: string;
  awayAfterCurrentPacket: boolean;
  cooldownUntil?: string;
};

const LONG_POLL_SECONDS = 20;

function Desk() {
  const { lang, setLang, t } = useLang(deskMessages);
  const { session, signedIn, signOut } = useSession('registrar');
  return (
    <Shell
      title={t('desk.title')}
      t={t}
      lang={lang}
      setLang={setLang}
      {...(session ? { signedInAs: session.name, onSignOut: signOut } : {})}
    >
      {session === null && <SignIn forRole="registrar" t={t} onSignedIn={signedIn} />}
      {session && <Workplace t={t} lang={lang} />}
    </Shell>
  );
}

/**
 * His status, and the packet drawn for him when there is one. The wait is a long poll: the packet appears by
 * itself within moments of the draw, without reloading.
 */
function Workplace({ t, lang }: { t: DeskTranslate; lang: string }) {
  useEffect(warmUpPdfWorker, []);
  const [me, setMe] = useState<Me | undefined>();
  const [packetId, setPacketId] = useState<string | undefined>();
  const [notice, setNotice] = useState('');

  const refreshMe = async () => {
    const { data } = await api.GET('/v1/registrar/me');
    if (data) setMe(data);
  };

  useEffect(() => {
    void refreshMe();
    const timer = setInterval(refreshMe, 5000);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    if (packetId || me?.status === 'away') return;
    const stop = new AbortController();
    void (async () => {
      while (!stop.signal.aborted) {
        const { data } = await api
          .GET('/v1/registrar/assignment', {
            params: { query: { wait: LONG_POLL_SECONDS } },
            signal: stop.signal,
          })
          .catch(() => ({ data: undefined }));
        if (data) {
          setNotice('');
          setPacketId(data.packetId);
          void refreshMe();
          return;
        }
        if (!stop.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    return () => stop.abort();
  }, [packetId, me?.status]);

  const setStatus = async (status: 'free' | 'away') => {
    const { data } = await api.PUT('/v1/registrar/status', { body: { status } });
    if (data) setMe((current) => current && { ...current, ...data });
  };

  const finished = async (message: string) => {
    setPacketId(undefined);
    setNotice(message);
    await refreshMe();
  };

  if (!me) return null;
  return (
    <>
      <section class="status-line" aria-labelledby="status-title">
        <h2 id="status-title" class="visually-hidden">
          {t('desk.status')}
        </h2>
        <p>
          {t('desk.status')}:{' '}
          <strong class="badge" data-status={me.status}>
            {t(`desk.status.${me.status as 'free' | 'away' | 'busy'}`)}
          </strong>
        </p>
        {me.status === 'away' && (
          <button type="button" class="primary" onClick={() => setStatus('free')}>
            {t('desk.goFree')}
          </button>
        )}
        {me.status === 'free' && (
          <button type="button" onClick={() => setStatus('away')}>
            {t('desk.goAway')}
          </button>
        )}
        {me.status === 'busy' && (
          <label class="inline">
            <input
              type="checkbox"
              checked={me.awayAfterCurrentPacket}
              onChange={(event) => setStatus((event.target as HTMLInputElement).checked ? 'away' : 'free')}
            />{' '}
            {t('desk.awayAfter')}
          </label>
        )}
      </section>
      <p aria-live="polite" class="ok">
        {notice}
      </p>
      {packetId ? (
        <PacketDesk packetId={packetId} t={t} onFinished={finished} />
      ) : (
        <p class="card" aria-live="polite">
          {me.status === 'away'
            ? t('desk.awayNote')
            : me.cooldownUntil
              ? t('desk.cooldownNote', {
                  time: new Date(me.cooldownUntil).toLocaleTimeString(lang === 'uk' ? 'uk-UA' : 'en-GB', {
                    hour: '2-digit',
                    minute: '2-digit',
                  }),
                })
              : t('desk.waiting')}
        </p>
      )}
    </>
  );
}

render(<Desk />, document.getElementById('app')!);
