import type { Redis } from 'ioredis';
import { hashToken, newId, newToken } from '../domain/ids.js';
import type { Registrar, RegistrarStatus } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';
import { runScript } from './scripts.js';

const registrarOf = (row: Record<string, string>): Registrar => ({
  id: row.id!,
  name: row.name!,
  services: JSON.parse(row.services ?? '[]') as string[],
  status: row.status as RegistrarStatus,
  createdAt: row.createdAt!,
});

/**
 * Registrars and their status. A registrar's own wish (free, away) and an administrator taking him out of the pool
 * are compare-and-set scripts; becoming busy and free again happens with the packet he is given or decides
 * (PacketRepository.assign, decide, release), in the same atomic step.
 */
export class RegistrarRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** New registrars start `away`: they are in no draw until they say they are free. Only the token's hash is kept. */
  async create(name: string, services: string[]): Promise<{ registrar: Registrar; token: string }> {
    const registrar: Registrar = {
      id: newId('registrar'),
      name,
      services,
      status: 'away',
      createdAt: new Date().toISOString(),
    };
    const token = newToken('registrar');
    await this.redis
      .multi()
      .hset(this.keys.registrar(registrar.id), {
        ...registrar,
        services: JSON.stringify(services),
        tokenHash: hashToken(token),
      })
      .set(this.keys.tokenOwner(hashToken(token)), `registrar:${registrar.id}`)
      .zadd(this.keys.registrars, Date.now(), registrar.id)
      .exec();
    return { registrar, token };
  }

  async list(): Promise<Registrar[]> {
    const ids = await this.redis.zrange(this.keys.registrars, 0, -1);
    const rows = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.registrar(id))));
    return rows.filter((row) => row.id).map(registrarOf);
  }

  /** The registrar, the packet he holds, and whether he asked to go away once it is done. */
  async get(id: string): Promise<(Registrar & { packetId?: string; awayAfter: boolean }) | undefined> {
    const row = await this.redis.hgetall(this.keys.registrar(id));
    if (!row.id) return undefined;
    return {
      ...registrarOf(row),
      ...(row.packetId ? { packetId: row.packetId } : {}),
      awayAfter: row.awayAfter === '1',
    };
  }

  /** His own wish. Returns the status he has now ('busy' while he holds a packet), or 'missing' / 'removed'. */
  async setStatus(registrarId: string, requested: 'free' | 'away'): Promise<string> {
    return runScript<'setRegistrarStatus', string>(
      this.redis,
      'setRegistrarStatus',
      { registrar: this.keys.registrar(registrarId), wake: this.keys.dispatchWake },
      { status: requested },
    );
  }

  /**
   * An administrator sets him away or removes him while he holds no packet. 'holds_packet': he was given one
   * meanwhile, and it must go back with PacketRepository.release instead.
   */
  takeOutOfPool(registrarId: string, status: 'away' | 'removed'): Promise<'ok' | 'missing' | 'holds_packet'> {
    return runScript(
      this.redis,
      'takeOutOfPool',
      { registrar: this.keys.registrar(registrarId) },
      { status },
    );
  }

  /** Deletes a removed registrar's token; requests are refused already by his status. */
  async revokeToken(registrarId: string): Promise<void> {
    const tokenHash = await this.redis.hget(this.keys.registrar(registrarId), 'tokenHash');
    if (tokenHash) await this.redis.del(this.keys.tokenOwner(tokenHash));
  }
}
