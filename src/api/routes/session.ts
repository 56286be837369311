import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { SignedIn } from '../../services/access.js';
import type { Auth } from '../auth.js';
import { assertSameOrigin, SESSION_COOKIE } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { AppError } from '../http-error.js';
import { unwrap } from '../outcomes.js';
import { errorResponse } from '../schemas.js';

const signedIn = z.object({
  role: z.enum(['admin', 'station', 'registrar']),
  name: z.string(),
  csrfToken: z.string(),
  expiresAt: z.string(),
});

/**
 * Browsers sign in with the token they were issued and then hold only an HttpOnly, SameSite=Strict cookie; the
 * token never reaches page script storage or a URL. The bearer-token API is unchanged for machines.
 */
export function sessionRoutes(
  deps: ApiDeps,
  auth: Auth,
  countAnonymous: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
): FastifyPluginAsyncZod {
  const { access } = deps.services;
  const { ttlSeconds, secureCookie } = deps.config.sessions;
  const cookie = { httpOnly: true, sameSite: 'strict', secure: secureCookie, path: '/' } as const;
  const view = (session: Omit<SignedIn, 'id'>) => ({
    role: session.principal.role,
    name: session.name,
    csrfToken: session.csrfToken,
    expiresAt: session.expiresAt,
  });

  return async (app) => {
    app.post(
      '/v1/session',
      {
        schema: {
          tags: ['session'],
          summary: 'Sign a browser in with an issued token: sets the session cookie, answers the CSRF token',
          body: z.object({ token: z.string().min(16).max(200) }).strict(),
          response: { 201: signedIn, 400: errorResponse, 401: errorResponse, 403: errorResponse },
        },
      },
      async (request, reply) => {
        assertSameOrigin(request);
        const outcome = await access.signIn(request.body.token);
        if (!outcome.ok) await countAnonymous(request, reply);
        const session = unwrap(outcome);
        reply.setCookie(SESSION_COOKIE, session.id, { ...cookie, maxAge: ttlSeconds });
        request.log.info({ role: session.principal.role }, 'browser signed in');
        return reply.code(201).send(view(session));
      },
    );

    app.get(
      '/v1/session',
      {
        schema: {
          tags: ['session'],
          summary: 'Who this browser is signed in as, and its CSRF token; 204 when it is not signed in',
          response: { 200: signedIn, 204: z.null() },
        },
      },
      async (request, reply) => {
        const id = request.cookies[SESSION_COOKIE];
        const session = id ? await access.session(id) : undefined;
        // Not an error: every page asks this first, and a browser logs error statuses as console errors.
        return session ? reply.code(200).send(view(session)) : reply.code(204).send(null);
      },
    );

    app.delete(
      '/v1/session',
      {
        schema: {
          tags: ['session'],
          summary: 'Sign out: the session ends on the server and the cookie is cleared',
          response: { 204: z.null(), 401: errorResponse, 403: errorResponse },
        },
      },
      async (request, reply) => {
        const id = request.cookies[SESSION_COOKIE];
        const session = id ? await access.session(id) : undefined;
        if (!id || !session) throw new AppError(401, 'unauthorized', 'Not signed in');
        auth.assertCsrf(request, session.csrfToken);
        await access.signOut(id);
        reply.clearCookie(SESSION_COOKIE, cookie);
        return reply.code(204).send(null);
      },
    );
  };
}
