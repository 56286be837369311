import { useEffect, useState } from 'preact/hooks';
import { api } from '../shared/api';
import { formatDate, type Lang } from '../shared/i18n';
import { TableScroll } from '../shared/table-scroll';
import type { AdminTranslate } from './messages';

type OfficeNow = NonNullable<Awaited<ReturnType<typeof fetchOffice>>>;

const REFRESH_MS = 2000;
const fetchOffice = async () => (await api.GET('/v1/office')).data;

/** Seconds as people say them: "45 с", "3 хв 20 с", "2 год 5 хв". */
function duration(seconds: number, lang: Lang): string {
  const units = lang === 'uk' ? { h: 'год', m: 'хв', s: 'с' } : { h: 'h', m: 'min', s: 's' };
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} ${units.h} ${m} ${units.m}`;
  if (m > 0) return `${m} ${units.m} ${s} ${units.s}`;
  return `${s} ${units.s}`;
}

/** The office live: refreshed every two seconds while the section is open. */
export function OfficeView({ t, lang }: { t: AdminTranslate; lang: Lang }) {
  const [office, setOffice] = useState<OfficeNow | undefined>();
  useEffect(() => {
    let stopped = false;
    const refresh = async () => {
      const next = await fetchOffice().catch(() => undefined);
      if (!stopped && next) setOffice(next);
    };
    void refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  if (!office) return null;
  return (
    <>
      <p class="hint">{t('office.updated', { time: formatDate(office.at) })}</p>
      {office.services.length === 0 && <p>{t('office.noServices')}</p>}
      <div class="office-grid">
        {office.services.map((service) => (
          <section key={service.slug} class="card" aria-labelledby={`service-${service.slug}`}>
            <h3 id={`service-${service.slug}`}>{service.names[lang]}</h3>
            <dl class="counts">
              <div>
                <dt>{t('office.free')}</dt>
                <dd>{service.free}</dd>
              </div>
              <div>
                <dt>{t('office.busy')}</dt>
                <dd>{service.busy}</dd>
              </div>
              <div>
                <dt>{t('office.away')}</dt>
                <dd>{service.away}</dd>
              </div>
            </dl>
            {service.registrars.length === 0 ? (
              <p>{t('office.noRegistrars')}</p>
            ) : (
              <ul class="registrar-states">
                {service.registrars.map((registrar) => (
                  <li key={registrar.id}>
                    {registrar.name}{' '}
                    <span class="badge" data-status={registrar.status}>
                      {t(`status.${registrar.status}`)}
                    </span>
                  </li>
                ))}
              </ul>
            )}
            <h4>{t('office.waiting')}</h4>
            {service.waiting.length === 0 ? (
              <p>{t('office.noWaiting')}</p>
            ) : (
              <TableScroll label={t('office.waiting')}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('office.packet')}</th>
                      <th scope="col">{t('office.waited')}</th>
                      <th scope="col">{t('office.eligible')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {service.waiting.map((packet) => (
                      <tr key={packet.packetId} data-starved={packet.starved}>
                        <td>
                          <code>{packet.packetId}</code>
                        </td>
                        <td>{duration(packet.waitedSeconds, lang)}</td>
                        <td>
                          {packet.eligible}
                          {packet.starved && (
                            <strong class="warning"> · {t('office.starved', { min: office.minPool })}</strong>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableScroll>
            )}
          </section>
        ))}
      </div>
      <h3>{t('office.queues')}</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">{t('office.queue')}</th>
            <th scope="col">{t('office.queue.waiting')}</th>
            <th scope="col">{t('office.queue.active')}</th>
            <th scope="col">{t('office.queue.delayed')}</th>
            <th scope="col">{t('office.queue.failed')}</th>
          </tr>
        </thead>
        <tbody>
          {office.queues.map((queue) => (
            <tr key={queue.name}>
              <th scope="row">{queue.name}</th>
              <td>{queue.waiting}</td>
              <td>{queue.active}</td>
              <td>{queue.delayed}</td>
              <td>{queue.failed}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <a href="/admin/queues">{t('office.dashboard')}</a>
      </p>
    </>
  );
}
