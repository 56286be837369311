import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Principal } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

/** A browser's sign-in: who it is, its CSRF token, when it ends; `credential` pins an admin session to the token. */
export type Session = {
  principal: Principal;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
  credential?: string;
};

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Server-side sessions in Redis, found by the hash of their id (the cookie's value is never stored). */
export class SessionRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(
    principal: Principal,
    ttlSeconds: number,
    credential?: string,
  ): Promise<{ id: string } & Session> {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const session: Session = {
      principal,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlSeconds * 1000).toISOString(),
      ...(credential ? { credential } : {}),
    };
    await this.redis.set(this.keys.session(digest(id)), JSON.stringify(session), 'EX', ttlSeconds);
    return { id, ...session };
  }

  async get(id: string): Promise<Session | undefined> {
    const raw = await this.redis.get(this.keys.session(digest(id)));
    return raw ? (JSON.parse(raw) as Session) : undefined;
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.keys.session(digest(id)));
  }
}
