import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../domain/types.js';
import type { RegistrarRepository } from '../repositories/registrar-repository.js';
import type { TokenRepository } from '../repositories/token-repository.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Compares presented tokens with the admin token in constant time (over digests, so lengths do not leak). */
export function adminTokenMatcher(adminToken: string): (presented: string) => boolean {
  const adminDigest = digest(adminToken);
  return (presented) => timingSafeEqual(digest(presented), adminDigest);
}

/**
 * Who a token belongs to. The admin token is compared in constant time; station and registrar tokens are looked up
 * by their hash. A removed registrar's token answers nobody, even before its record is cleaned up.
 */
export class Access {
  private readonly isAdminToken: (presented: string) => boolean;

  constructor(
    private readonly tokens: TokenRepository,
    private readonly registrars: RegistrarRepository,
    adminToken: string,
  ) {
    this.isAdminToken = adminTokenMatcher(adminToken);
  }

  async principalOf(token: string): Promise<Principal | undefined> {
    if (this.isAdminToken(token)) return { role: 'admin' };
    const principal = await this.tokens.resolve(token);
    if (principal?.role !== 'registrar') return principal;
    const registrar = await this.registrars.get(principal.id);
    return registrar && registrar.status !== 'removed' ? principal : undefined;
  }
}
