import type { Redis } from 'ioredis';
import { hashToken } from '../domain/ids.js';
import type { Principal } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

/** Who a station or registrar token belongs to, looked up by the token's hash (secrets are never compared). */
export class TokenRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async resolve(token: string): Promise<Principal | undefined> {
    const owner = await this.redis.get(this.keys.tokenOwner(hashToken(token)));
    if (!owner) return undefined;
    const [role, id] = owner.split(':') as [string, string];
    return role === 'station' || role === 'registrar' ? { role, id } : undefined;
  }
}
