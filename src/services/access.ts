import { createHash, timingSafeEqual } from 'node:crypto';
import { fail, type Outcome, ok } from '../domain/outcome.js';
import type { Principal } from '../domain/types.js';
import type { RegistrarRepository } from '../repositories/registrar-repository.js';
import type { Session, SessionRepository } from '../repositories/session-repository.js';
import type { StationRepository } from '../repositories/station-repository.js';
import type { TokenRepository } from '../repositories/token-repository.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Compares presented tokens with the admin token in constant time (over digests, so lengths do not leak). */
export function adminTokenMatcher(adminToken: string): (presented: string) => boolean {
  const adminDigest = digest(adminToken);
  return (presented) => timingSafeEqual(digest(presented), adminDigest);
}

/** Whether two secrets are equal, in constant time. */
export const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export type AccessDeps = {
  tokens: TokenRepository;
  registrars: Pick<RegistrarRepository, 'get'>;
  stations: Pick<StationRepository, 'get'>;
  sessions: SessionRepository;
  adminToken: string;
  sessionTtlSeconds: number;
};

/** Who is signed in, as a browser sees it: never the token, and a CSRF token for its changes. */
export type SignedIn = {
  id: string;
  principal: Principal;
  name: string;
  csrfToken: string;
  expiresAt: string;
};

/**
 * Who a token or a browser session belongs to. The admin token is compared in constant time; station and
 * registrar tokens are looked up by their hash. A principal's sessions die with him: a removed registrar's or
 * station's token and sessions answer nobody, and an administrator's sessions end when the admin token changes.
 */
export class Access {
  private readonly isAdminToken: (presented: string) => boolean;
  private readonly adminCredential: string;

  constructor(private readonly deps: AccessDeps) {
    this.isAdminToken = adminTokenMatcher(deps.adminToken);
    this.adminCredential = digest(`session:${deps.adminToken}`).toString('hex');
  }

  async principalOf(token: string): Promise<Principal | undefined> {
    if (this.isAdminToken(token)) return { role: 'admin' };
    const principal = await this.deps.tokens.resolve(token);
    return principal && (await this.stillValid(principal)) ? principal : undefined;
  }

  /** Signs a browser in with the token it was issued; the token itself goes no further. */
  async signIn(token: string): Promise<Outcome<SignedIn>> {
    const principal = await this.principalOf(token);
    if (!principal) return fail({ code: 'invalid_token' });
    const credential = principal.role === 'admin' ? this.adminCredential : undefined;
    const { id, ...session } = await this.deps.sessions.create(
      principal,
      this.deps.sessionTtlSeconds,
      credential,
    );
    return ok({ id, ...(await this.describe(session)) });
  }

  /** The session behind a cookie, while it lasts and its principal may still act. */
  async session(id: string): Promise<Omit<SignedIn, 'id'> | undefined> {
    const session = await this.deps.sessions.get(id);
    if (!session || Date.parse(session.expiresAt) <= Date.now()) return undefined;
    if (session.principal.role === 'admin' && session.credential !== this.adminCredential) return undefined;
    if (!(await this.stillValid(session.principal))) return undefined;
    return this.describe(session);
  }

  signOut(id: string): Promise<void> {
    return this.deps.sessions.delete(id);
  }

  private async stillValid(principal: Principal): Promise<boolean> {
    if (principal.role === 'admin') return true;
    if (principal.role === 'station') {
      const station = await this.deps.stations.get(principal.id);
      return station !== undefined && station.removedAt === undefined;
    }
    const registrar = await this.deps.registrars.get(principal.id);
    return registrar !== undefined && registrar.status !== 'removed';
  }

  private async describe(session: Session): Promise<Omit<SignedIn, 'id'>> {
    const { principal } = session;
    const name =
      principal.role === 'admin'
        ? 'admin'
        : principal.role === 'registrar'
          ? ((await this.deps.registrars.get(principal.id))?.name ?? '')
          : ((await this.deps.stations.get(principal.id))?.name ?? '');
    return { principal, name, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
  }
}
