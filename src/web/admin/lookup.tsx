import { useState } from 'preact/hooks';
import { api } from '../shared/api';
import { formatDate } from '../shared/i18n';
import type { Directory } from './directory';
import type { AdminTranslate } from './messages';

type Packet = NonNullable<Awaited<ReturnType<typeof packetById>>>;

const packetById = async (id: string) =>
  (await api.GET('/v1/packets/{id}', { params: { path: { id } } })).data;

/** Finds a packet by its id or the citizen's tracking code, shows everything an administrator may see of it. */
export function LookupView({ t, directory }: { t: AdminTranslate; directory: Directory }) {
  const [query, setQuery] = useState('');
  const [packet, setPacket] = useState<Packet | null | undefined>();
  const [notice, setNotice] = useState('');

  const find = async (event?: Event) => {
    event?.preventDefault();
    setNotice('');
    const wanted = query.trim();
    if (/^pk_[A-Za-z0-9_-]{22}$/.test(wanted)) return setPacket((await packetById(wanted)) ?? null);
    const { data } = await api.GET('/v1/packets', { params: { query: { trackingCode: wanted } } });
    const found = data?.[0];
    setPacket(found ? ((await packetById(found.id)) ?? null) : null);
  };
  const retry = async () => {
    if (!packet) return;
    const { error } = await api.POST('/v1/packets/{id}/retry', { params: { path: { id: packet.id } } });
    setNotice(error ? t('error.generic') : t('lookup.retried'));
    setPacket((await packetById(packet.id)) ?? null);
  };

  return (
    <>
      <form onSubmit={find} class="inline-form">
        <label for="lookup">{t('lookup.query')}</label>
        <input
          id="lookup"
          type="search"
          required
          maxLength={40}
          value={query}
          onInput={(event) => setQuery((event.target as HTMLInputElement).value)}
        />{' '}
        <button type="submit" class="primary">
          {t('lookup.find')}
        </button>
      </form>
      <div aria-live="polite">
        {packet === null && <p>{t('lookup.notFound')}</p>}
        {packet && (
          <section class="card" aria-labelledby="found-title">
            <h3 id="found-title">
              <code>{packet.id}</code>
            </h3>
            <dl class="facts">
              <dt>{t('lookup.status')}</dt>
              <dd>{packet.status}</dd>
              <dt>{t('lookup.ticket')}</dt>
              <dd>{packet.ticket}</dd>
              <dt>{t('lookup.service')}</dt>
              <dd>{directory.serviceName(packet.service)}</dd>
              <dt>{t('lookup.station')}</dt>
              <dd>{directory.stations.find((s) => s.id === packet.stationId)?.name ?? packet.stationId}</dd>
              {packet.registrarId && (
                <>
                  <dt>{t('lookup.registrar')}</dt>
                  <dd>{directory.registrarName(packet.registrarId)}</dd>
                </>
              )}
              {packet.outcome && (
                <>
                  <dt>{t('lookup.outcome')}</dt>
                  <dd>
                    {packet.outcome}
                    {packet.decidedAt && `, ${formatDate(packet.decidedAt)}`}
                  </dd>
                </>
              )}
              <dt>{t('lookup.pages')}</dt>
              <dd>{packet.pages.map((page) => `${page.n}: ${page.status}`).join(', ') || '—'}</dd>
              {packet.failure && (
                <>
                  <dt>{t('lookup.failure')}</dt>
                  <dd>{packet.failure}</dd>
                </>
              )}
            </dl>
            {(packet.repairs ?? []).length > 0 && (
              <>
                <h4>{t('lookup.repairs')}</h4>
                <ul>
                  {packet.repairs!.map((repair) => (
                    <li key={repair.at + repair.kind}>
                      {formatDate(repair.at)}: {repair.kind} — {repair.detail}
                    </li>
                  ))}
                </ul>
              </>
            )}
            {packet.status === 'failed' && (
              <button type="button" class="primary" onClick={retry}>
                {t('lookup.retry')}
              </button>
            )}
            <p role="status">{notice}</p>
          </section>
        )}
      </div>
    </>
  );
}
