import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../shared/api';
import { type Lang, useLang } from '../shared/i18n';
import { Shell } from '../shared/layout';
import { SignIn, useSession } from '../shared/session';
import '../shared/styles.css';
import { type StationKey, type StationTranslate, stationMessages } from './messages';
import { PacketWorkspace } from './packet';

type Service = { slug: string; names: Record<Lang, string> };
type PacketLine = { id: string; ticket: string; service: string; status: string; trackingCode: string };

const LIST_REFRESH_MS = 5000;

function Station() {
  const { lang, setLang, t } = useLang(stationMessages);
  const { session, signedIn, signOut } = useSession('station');
  return (
    <Shell
      title={t('station.title')}
      t={t}
      lang={lang}
      setLang={setLang}
      {...(session ? { signedInAs: session.name, onSignOut: signOut } : {})}
    >
      {session === null && <SignIn forRole="station" t={t} onSignedIn={signedIn} />}
      {session && <Workplace t={t} lang={lang} />}
    </Shell>
  );
}

/** The packet being worked on lives in the address, so a reload (or a crash of the browser) comes back to it. */
const packetInAddress = () => new URLSearchParams(location.search).get('packet') ?? undefined;
function showInAddress(packetId: string | undefined) {
  const url = new URL(location.href);
  if (packetId) url.searchParams.set('packet', packetId);
  else url.searchParams.delete('packet');
  history.replaceState(null, '', url);
}

function Workplace({ t, lang }: { t: StationTranslate; lang: Lang }) {
  const [services, setServices] = useState<Service[]>([]);
  const [packets, setPackets] = useState<PacketLine[]>([]);
  const [current, setCurrent] = useState<string | undefined>(packetInAddress);

  const refreshList = async () => {
    const { data } = await api.GET('/v1/packets', { params: { query: {} } });
    if (data) setPackets(data);
  };
  useEffect(() => {
    void api.GET('/v1/services').then(({ data }) => setServices(data ?? []));
    void refreshList();
    const timer = setInterval(refreshList, LIST_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const select = (packetId: string | undefined) => {
    setCurrent(packetId);
    showInAddress(packetId);
  };
  const serviceName = (slug: string) =>
    services.find((service) => service.slug === slug)?.names[lang] ?? slug;

  return (
    <div class="station">
      <nav aria-labelledby="packets-title" class="packet-list">
        <h2 id="packets-title">{t('station.packets')}</h2>
        <button
          type="button"
          class="primary"
          aria-pressed={current === undefined}
          onClick={() => select(undefined)}
        >
          {t('station.newPacket')}
        </button>
        {packets.length === 0 ? (
          <p>{t('station.noPackets')}</p>
        ) : (
          <ul>
            {packets.map((packet) => (
              <li key={packet.id}>
                <a
                  href={`?packet=${packet.id}`}
                  aria-current={packet.id === current ? 'page' : undefined}
                  onClick={(event) => {
                    event.preventDefault();
                    select(packet.id);
                  }}
                >
                  <strong>{packet.ticket}</strong> · {serviceName(packet.service)}
                </a>{' '}
                <span class="badge" data-status={packet.status}>
                  {t(`station.status.${packet.status}` as StationKey)}
                </span>
              </li>
            ))}
          </ul>
        )}
      </nav>
      <div class="station-work">
        {current ? (
          <PacketWorkspace
            key={current}
            packetId={current}
            serviceName={serviceName}
            t={t}
            lang={lang}
            onChanged={refreshList}
            onNext={() => select(undefined)}
          />
        ) : (
          <NewPacket
            t={t}
            lang={lang}
            services={services}
            onOpened={(id) => {
              select(id);
              void refreshList();
            }}
          />
        )}
      </div>
    </div>
  );
}

function NewPacket(props: {
  t: StationTranslate;
  lang: Lang;
  services: Service[];
  onOpened: (packetId: string) => void;
}) {
  const { t } = props;
  const [ticket, setTicket] = useState('');
  const [service, setService] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    const { data, response } = await api.POST('/v1/packets', { body: { ticket: ticket.trim(), service } });
    setBusy(false);
    if (!data) return setProblem(t(response.status === 400 ? 'station.ticketInvalid' : 'error.generic'));
    props.onOpened(data.id);
  };
  if (props.services.length === 0) return <p class="card">{t('station.noServices')}</p>;
  return (
    <section class="card narrow" aria-labelledby="new-packet-title">
      <h2 id="new-packet-title">{t('station.newPacket')}</h2>
      <form onSubmit={submit}>
        <label for="ticket">{t('station.ticket')}</label>
        <input
          id="ticket"
          type="text"
          required
          maxLength={64}
          autocomplete="off"
          aria-describedby="ticket-hint"
          value={ticket}
          onInput={(event) => setTicket((event.target as HTMLInputElement).value)}
        />
        <p id="ticket-hint" class="hint">
          {t('station.ticketHint')}
        </p>
        <label for="service">{t('station.service')}</label>
        <select
          id="service"
          required
          value={service}
          onChange={(event) => setService((event.target as HTMLSelectElement).value)}
        >
          <option value="">{t('station.chooseService')}</option>
          {props.services.map((entry) => (
            <option key={entry.slug} value={entry.slug}>
              {entry.names[props.lang]}
            </option>
          ))}
        </select>
        <p role="alert" class="problem">
          {problem}
        </p>
        <button type="submit" class="primary" disabled={busy}>
          {t('station.open')}
        </button>
      </form>
    </section>
  );
}

render(<Station />, document.getElementById('app')!);
