import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/types.js';
import type { Access } from '../services/access.js';
import { AppError } from './http-error.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type Role = Principal['role'];

/**
 * Builds the `requireRole` guard, an onRequest hook: the token is checked before the body is read, so a stranger
 * cannot make the API buffer an upload. A missing or unknown token is 401, and counts against its address
 * (`countAnonymous` answers 429 past the limit); a valid token of another role is 403.
 */
export function createAuth(
  access: Access,
  countAnonymous: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
) {
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Principal> {
    const header = request.headers.authorization;
    const match = header?.match(/^Bearer ([A-Za-z0-9_-]{16,200})$/);
    const principal = match ? await access.principalOf(match[1]!) : undefined;
    if (principal) return principal;
    await countAnonymous(request, reply);
    throw new AppError(
      401,
      'unauthorized',
      match ? 'The token is not valid' : 'Send Authorization: Bearer <token>',
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
