import type { Redis } from 'ioredis';
import { hashToken, newId, newToken } from '../domain/ids.js';
import type { Principal, Registrar, RegistrarStatus, Station } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

const registrarOf = (row: Record<string, string>): Registrar => ({
  id: row.id!,
  name: row.name!,
  services: JSON.parse(row.services ?? '[]') as string[],
  status: row.status as RegistrarStatus,
  createdAt: row.createdAt!,
});

/** Stations and registrars, and the hashed tokens that identify them. Tokens themselves are never stored. */
export class PrincipalRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async createStation(name: string): Promise<{ station: Station; token: string }> {
    const station: Station = { id: newId('station'), name, createdAt: new Date().toISOString() };
    const token = newToken('station');
    await this.redis
      .multi()
      .hset(this.keys.station(station.id), station)
      .set(this.keys.tokenOwner(hashToken(token)), `station:${station.id}`)
      .zadd(this.keys.stations, Date.now(), station.id)
      .exec();
    return { station, token };
  }

  async listStations(): Promise<Station[]> {
    const ids = await this.redis.zrange(this.keys.stations, 0, -1);
    const rows = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.station(id))));
    return rows.map((row) => ({ id: row.id!, name: row.name!, createdAt: row.createdAt! }));
  }

  /** New registrars start `away`: they are in no draw until they say they are free. */
  async createRegistrar(name: string, services: string[]): Promise<{ registrar: Registrar; token: string }> {
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

  async listRegistrars(): Promise<Registrar[]> {
    const ids = await this.redis.zrange(this.keys.registrars, 0, -1);
    const rows = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.registrar(id))));
    return rows.filter((row) => row.id).map(registrarOf);
  }

  async getRegistrar(id: string): Promise<(Registrar & { packetId?: string }) | undefined> {
    const row = await this.redis.hgetall(this.keys.registrar(id));
    if (!row.id) return undefined;
    return {
      ...registrarOf(row),
      ...(row.packetId ? { packetId: row.packetId } : {}),
    };
  }

  /** Revokes a registrar's token and marks him removed; his record stays for the protocol's sake. */
  async markRegistrarRemoved(id: string): Promise<void> {
    const tokenHash = await this.redis.hget(this.keys.registrar(id), 'tokenHash');
    const transaction = this.redis
      .multi()
      .hset(this.keys.registrar(id), 'status', 'removed')
      .hdel(this.keys.registrar(id), 'awayAfter');
    if (tokenHash) transaction.del(this.keys.tokenOwner(tokenHash));
    await transaction.exec();
  }

  /** Looks a token up by its hash, so the lookup never compares secrets byte by byte. */
  async resolveToken(token: string): Promise<Principal | undefined> {
    const owner = await this.redis.get(this.keys.tokenOwner(hashToken(token)));
    if (!owner) return undefined;
    const [role, id] = owner.split(':') as [string, string];
    return role === 'station' || role === 'registrar' ? { role, id } : undefined;
  }
}
