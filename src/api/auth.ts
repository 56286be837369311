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

/** Builds the `requireRole` guard: a missing or unknown token is 401; a valid token of another role is 403. */
export function createAuth(access: Access) {
  async function authenticate(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    const match = header?.match(/^Bearer ([A-Za-z0-9_-]{16,200})$/);
    if (!match) throw new AppError(401, 'unauthorized', 'Send Authorization: Bearer <token>');
    const principal = await access.principalOf(match[1]!);
    if (!principal) throw new AppError(401, 'unauthorized', 'The token is not valid');
    return principal;
  }

  return {
    requireRole(...roles: Role[]) {
      return async (request: FastifyRequest, _reply: FastifyReply) => {
        const principal = await authenticate(request);
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
