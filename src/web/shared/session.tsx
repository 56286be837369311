import { useEffect, useState } from 'preact/hooks';
import { api, errorCode, rememberCsrfToken } from './api';
import type { Translate } from './i18n';

export type Role = 'admin' | 'station' | 'registrar';
export type SignedIn = { role: Role; name: string; csrfToken: string; expiresAt: string };

/** The browser's session for this page's role: `undefined` while asking, `null` when signed out. */
export function useSession(role: Role) {
  const [session, setSession] = useState<SignedIn | null | undefined>(undefined);
  useEffect(() => {
    api.GET('/v1/session').then(({ data }) => {
      if (data && data.role === role) {
        rememberCsrfToken(data.csrfToken);
        setSession(data);
      } else setSession(null);
    });
  }, [role]);
  const signedIn = (next: SignedIn) => {
    rememberCsrfToken(next.csrfToken);
    setSession(next);
  };
  const signOut = async () => {
    await api.DELETE('/v1/session');
    rememberCsrfToken('');
    setSession(null);
  };
  return { session, signedIn, signOut };
}

/** Sign-in with the issued token: it goes to the server once and is then forgotten; the session is a cookie. */
export function SignIn({
  forRole,
  t,
  onSignedIn,
}: {
  forRole: Role;
  t: Translate;
  onSignedIn: (s: SignedIn) => void;
}) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setProblem('');
    const { data, error, response } = await api.POST('/v1/session', { body: { token: token.trim() } });
    setBusy(false);
    setToken('');
    if (data && data.role === forRole) return onSignedIn(data);
    if (data) {
      await api.DELETE('/v1/session');
      return setProblem(t('signin.wrongRole'));
    }
    setProblem(
      response.status === 429
        ? t('error.rateLimited')
        : errorCode(error) === 'unauthorized' || response.status === 400
          ? t('signin.failed')
          : t('error.generic'),
    );
  };
  return (
    <section class="card narrow" aria-labelledby="signin-title">
      <h2 id="signin-title">{t('signin.title')}</h2>
      <form onSubmit={submit}>
        <label for="token">{t('signin.token')}</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          required
          minLength={16}
          value={token}
          aria-describedby="token-hint"
          onInput={(event) => setToken((event.target as HTMLInputElement).value)}
        />
        <p id="token-hint" class="hint">
          {t('signin.tokenHint')}
        </p>
        <button type="submit" class="primary" disabled={busy}>
          {t('signin.submit')}
        </button>
        <p role="alert" class="problem">
          {problem}
        </p>
      </form>
    </section>
  );
}
