import { useEffect, useState } from 'preact/hooks';
import { api } from '../shared/api';
import type { Lang } from '../shared/i18n';
import { TableScroll } from '../shared/table-scroll';
import type { Directory } from './directory';
import type { AdminTranslate } from './messages';

type Created = { name: string; token: string };

/** Registrars' statuses change as they work; the list follows. */
const STATUS_REFRESH_MS = 5000;

/** A new principal's token, shown once, with a copy button (and selectable text where the clipboard is closed). */
function TokenNotice({ t, created }: { t: AdminTranslate; created: Created }) {
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied(t('people.copied'));
    } catch {
      setCopied(t('people.copyFailed'));
    }
  };
  return (
    <div class="card token-notice" role="status">
      <p>{t('people.created', { name: created.name })}</p>
      <label for="new-token">{t('people.token')}</label>
      <input
        id="new-token"
        type="text"
        readOnly
        value={created.token}
        onFocus={(e) => e.currentTarget.select()}
      />{' '}
      <button type="button" onClick={copy}>
        {t('people.copy')}
      </button>
      <p aria-live="polite">{copied}</p>
    </div>
  );
}

/** One name field and a button: how both stations and registrars start. */
function NameForm(props: {
  id: string;
  t: AdminTranslate;
  submitLabel: string;
  children?: preact.ComponentChildren;
  onSubmit: (name: string) => Promise<string | undefined>;
}) {
  const [name, setName] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const refusal = await props.onSubmit(name.trim());
    setBusy(false);
    setProblem(refusal ?? '');
    if (!refusal) setName('');
  };
  return (
    <form onSubmit={submit} class="inline-form">
      <label for={props.id}>{props.t('people.name')}</label>
      <input
        id={props.id}
        type="text"
        required
        maxLength={100}
        value={name}
        onInput={(event) => setName((event.target as HTMLInputElement).value)}
      />
      {props.children}
      <p role="alert" class="problem">
        {problem}
      </p>
      <button type="submit" class="primary" disabled={busy}>
        {props.submitLabel}
      </button>
    </form>
  );
}

/** Stations and registrars: create (the token shown once), list, take a registrar out of the pool, remove. */
export function PeopleView({ t, lang, directory }: { t: AdminTranslate; lang: Lang; directory: Directory }) {
  const [created, setCreated] = useState<Created | undefined>();
  const [chosen, setChosen] = useState<string[]>([]);
  useEffect(() => {
    const timer = setInterval(directory.refresh, STATUS_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const createStation = async (name: string) => {
    const { data } = await api.POST('/v1/stations', { body: { name } });
    if (!data) return t('error.generic');
    setCreated({ name, token: data.token });
    await directory.refresh();
    return undefined;
  };
  const createRegistrar = async (name: string) => {
    if (chosen.length === 0) return t('people.pickService');
    const { data } = await api.POST('/v1/registrars', { body: { name, services: chosen } });
    if (!data) return t('error.generic');
    setCreated({ name, token: data.token });
    setChosen([]);
    await directory.refresh();
    return undefined;
  };
  const confirmed = (name: string) => confirm(t('people.confirmRemove', { name }));
  const removeStation = async (id: string, name: string) => {
    if (!confirmed(name)) return;
    await api.DELETE('/v1/stations/{id}', { params: { path: { id } } });
    await directory.refresh();
  };
  /** Taking a registrar out of the pool is recorded with its reason; the browser's own prompt asks for it. */
  const reasonFor = (question: 'people.reasonAway' | 'people.reasonRemove', name: string) => {
    for (;;) {
      const reason = prompt(t(question, { name }));
      if (reason === null) return undefined;
      if (reason.trim().length >= 3) return reason.trim();
      alert(t('people.reasonTooShort'));
    }
  };
  const setAway = async (id: string, name: string) => {
    const reason = reasonFor('people.reasonAway', name);
    if (reason === undefined) return;
    await api.PUT('/v1/registrars/{id}/status', {
      params: { path: { id } },
      body: { status: 'away', reason },
    });
    await directory.refresh();
  };
  const removeRegistrar = async (id: string, name: string) => {
    const reason = reasonFor('people.reasonRemove', name);
    if (reason === undefined) return;
    await api.DELETE('/v1/registrars/{id}', { params: { path: { id } }, body: { reason } });
    await directory.refresh();
  };
  const registrars = directory.registrars.filter((registrar) => registrar.status !== 'removed');

  return (
    <>
      {created && <TokenNotice t={t} created={created} />}
      <section aria-labelledby="stations-title">
        <h3 id="stations-title">{t('people.stations')}</h3>
        <NameForm id="station-name" t={t} submitLabel={t('people.createStation')} onSubmit={createStation} />
        {directory.stations.length === 0 ? (
          <p>{t('people.noStations')}</p>
        ) : (
          <ul class="people">
            {directory.stations.map((station) => (
              <li key={station.id}>
                <span>{station.name}</span>
                <button
                  type="button"
                  class="danger"
                  aria-label={t('people.removeLabel', { name: station.name })}
                  onClick={() => removeStation(station.id, station.name)}
                >
                  {t('people.remove')}
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="registrars-title">
        <h3 id="registrars-title">{t('people.registrars')}</h3>
        <NameForm
          id="registrar-name"
          t={t}
          submitLabel={t('people.createRegistrar')}
          onSubmit={createRegistrar}
        >
          <fieldset>
            <legend>{t('people.registrarServices')}</legend>
            {directory.services.map((service) => (
              <label key={service.slug} class="inline">
                <input
                  type="checkbox"
                  value={service.slug}
                  checked={chosen.includes(service.slug)}
                  onChange={(event) =>
                    setChosen((list) =>
                      (event.target as HTMLInputElement).checked
                        ? [...list, service.slug]
                        : list.filter((slug) => slug !== service.slug),
                    )
                  }
                />{' '}
                {service.names[lang]}
              </label>
            ))}
          </fieldset>
        </NameForm>
        {registrars.length === 0 ? (
          <p>{t('people.noRegistrars')}</p>
        ) : (
          <TableScroll label={t('people.registrars')}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('people.name')}</th>
                  <th scope="col">{t('admin.services')}</th>
                  <th scope="col">{t('people.status')}</th>
                  <th scope="col">{t('people.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {registrars.map((registrar) => (
                  <tr key={registrar.id}>
                    <th scope="row">{registrar.name}</th>
                    <td>{registrar.services.map(directory.serviceName).join(', ')}</td>
                    <td>
                      <span class="badge" data-status={registrar.status}>
                        {t(`status.${registrar.status as 'free' | 'busy' | 'away'}`)}
                      </span>
                    </td>
                    <td class="row-actions">
                      {registrar.status !== 'away' && (
                        <button
                          type="button"
                          aria-label={t('people.setAwayLabel', { name: registrar.name })}
                          onClick={() => setAway(registrar.id, registrar.name)}
                        >
                          {t('people.setAway')}
                        </button>
                      )}
                      <button
                        type="button"
                        class="danger"
                        aria-label={t('people.removeLabel', { name: registrar.name })}
                        onClick={() => removeRegistrar(registrar.id, registrar.name)}
                      >
                        {t('people.remove')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </>
  );
}
