import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Principal } from '../domain/types.js';
import type { PrincipalRepository } from '../repositories/principal-repository.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Compares presented tokens with the admin token in constant time (over digests, so lengths do not leak). */
export function adminTokenMatcher(adminToken: string): (presented: string) => boolean {
  const adminDigest = digest(adminToken);
  return (presented) => timingSafeEqual(digest(presented), adminDigest);
}

export type Role = Principal['role'];

/**
 * Builds the `requireRole` guard. A missing or unknown token is 401; a valid token of another role is 403. The admin
 * token is compared in constant time over digests; station and registrar tokens are looked up by their hash.
 */
export function createAuth(principals: PrincipalRepository, adminToken: string) {
  const isAdminToken = adminTokenMatcher(adminToken);

  async function authenticate(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    const match = header?.match(/^Bearer ([A-Za-z0-9_-]{16,200})$/);
    if (!match) throw new AppError(401, 'unauthorized', 'Send Authorization: Bearer <token>');
    const token = match[1]!;
    if (isAdminToken(token)) return { role: 'admin' };
    const principal = await principals.resolveToken(token);
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
