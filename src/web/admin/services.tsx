import { useState } from 'preact/hooks';
import { api, errorCode } from '../shared/api';
import type { Lang } from '../shared/i18n';
import type { Directory } from './directory';
import type { AdminTranslate } from './messages';

/** The service catalogue: packets and registrars can name only what is here. */
export function ServicesView({
  t,
  lang,
  directory,
}: {
  t: AdminTranslate;
  lang: Lang;
  directory: Directory;
}) {
  const [slug, setSlug] = useState('');
  const [uk, setUk] = useState('');
  const [en, setEn] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const { error, response } = await api.POST('/v1/services', {
      body: { slug: slug.trim(), names: { uk: uk.trim(), en: en.trim() } },
    });
    setBusy(false);
    if (error) {
      return setProblem(
        errorCode(error) === 'service_exists'
          ? t('services.exists')
          : response.status === 400
            ? t('services.slugHint')
            : t('error.generic'),
      );
    }
    setProblem('');
    setSlug('');
    setUk('');
    setEn('');
    await directory.refresh();
  };
  const field = (id: string, label: string, value: string, set: (value: string) => void, hint?: string) => (
    <>
      <label for={id}>{label}</label>
      <input
        id={id}
        type="text"
        required
        maxLength={id === 'service-slug' ? 40 : 100}
        value={value}
        {...(hint ? { 'aria-describedby': `${id}-hint` } : {})}
        onInput={(event) => set((event.target as HTMLInputElement).value)}
      />
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
    </>
  );
  return (
    <>
      <form onSubmit={submit} class="inline-form">
        {field('service-slug', t('services.slug'), slug, setSlug, t('services.slugHint'))}
        {field('service-uk', t('services.nameUk'), uk, setUk)}
        {field('service-en', t('services.nameEn'), en, setEn)}
        <p role="alert" class="problem">
          {problem}
        </p>
        <button type="submit" class="primary" disabled={busy}>
          {t('services.create')}
        </button>
      </form>
      {directory.services.length === 0 ? (
        <p>{t('services.none')}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t('services.slug')}</th>
              <th scope="col">{t(lang === 'uk' ? 'services.nameUk' : 'services.nameEn')}</th>
            </tr>
          </thead>
          <tbody>
            {directory.services.map((service) => (
              <tr key={service.slug}>
                <td>
                  <code>{service.slug}</code>
                </td>
                <td>{service.names[lang]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
