import createClient from 'openapi-fetch';
import type { paths } from '../api/schema';

let csrfToken = '';

/** The session's CSRF token: sent with every change this page asks for (a page of another site cannot read it). */
export const rememberCsrfToken = (token: string) => {
  csrfToken = token;
};

/** The CSRF header, for the few requests made without the typed client (uploads, for their progress). */
export const csrfHeader = (): [string, string] => ['x-csrf-token', csrfToken];

/** The API, typed from the server's OpenAPI document; the session cookie goes along, the token never does. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

api.use({
  onRequest({ request }) {
    if (!['GET', 'HEAD'].includes(request.method)) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
});

/** The error code of a failed answer, when the body has our shape. */
export const errorCode = (error: unknown) =>
  (error as { error?: { code?: string } } | undefined)?.error?.code ?? 'unknown';
