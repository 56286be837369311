import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/types.js';
import { type Access, sameSecret } from '../services/access.js';
import { AppError } from './http-error.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type Role = Principal['role'];

/** The cookie that carries a browser's session id: HttpOnly, SameSite=Strict, the session itself in Redis. */
export const SESSION_COOKIE = 'scan_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A request that changes something on the strength of a cookie must prove it comes from our own pages: the
 * session's CSRF token in a header (a page of another site cannot read it), and, when the browser names the
 * origin, our own. SameSite=Strict already keeps the cookie off cross-site requests; this holds without it too.
 */
export function assertSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `${request.protocol}://${request.host}`)
    throw new AppError(403, 'csrf_failed', 'This request comes from another site');
}

function assertCsrf(request: FastifyRequest, csrfToken: string): void {
  assertSameOrigin(request);
  const presented = request.headers[CSRF_HEADER];
  if (typeof presented !== 'string' || !sameSecret(presented, csrfToken))
    throw new AppError(403, 'csrf_failed', `Send the session's CSRF token in ${CSRF_HEADER}`);
}

/**
 * Builds the `requireRole` guard, an onRequest hook: the caller is known before the body is read, so a stranger
 * cannot make the API buffer an upload. Machines send `Authorization: Bearer <token>`; browsers send the session
 * cookie (and, to change anything, the CSRF token). No valid credential is 401 and counts against the caller's
 * address (`countAnonymous` answers 429 past the limit); a valid one of another role is 403.
 */
export function createAuth(
  access: Access,
  countAnonymous: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
) {
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Principal> {
    const header = request.headers.authorization;
    const sessionId = request.cookies[SESSION_COOKIE];
    if (header !== undefined) {
      const match = header.match(/^Bearer ([A-Za-z0-9_-]{16,200})$/);
      const principal = match ? await access.principalOf(match[1]!) : undefined;
      if (principal) return principal;
    } else if (sessionId !== undefined) {
      const session = await access.session(sessionId);
      if (session) {
        if (!SAFE_METHODS.has(request.method)) assertCsrf(request, session.csrfToken);
        return session.principal;
      }
    }
    await countAnonymous(request, reply);
    throw new AppError(
      401,
      'unauthorized',
      header === undefined ? 'Sign in, or send Authorization: Bearer <token>' : 'The token is not valid',
    );
  }

  return {
    requireRole(...roles: Role[]) {
      return async (request: FastifyRequest, reply: FastifyReply) => {
        const principal = await authenticate(request, reply);
        if (!roles.includes(principal.role)) {
          throw new AppError(403, 'forbidden', `This route is for ${roles.join(' or ')} tokens`);
        }
        request.principal = principal;
      };
    },
    /** The CSRF check alone, for a route that finds its session itself (signing out). */
    assertCsrf,
  };
}
export type Auth = ReturnType<typeof createAuth>;

/** The id of the station or registrar behind a request that passed `requireRole('station' | 'registrar')`. */
export function principalId(request: FastifyRequest): string {
  const principal = request.principal;
  if (!principal || principal.role === 'admin')
    throw new AppError(403, 'forbidden', 'This route needs a station or registrar token');
  return principal.id;
}
