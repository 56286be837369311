import type { Redis } from 'ioredis';
import { hashToken, newId, newToken } from '../domain/ids.js';
import type { Station } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

/** Scanner stations. Only the hash of a station's token is kept. */
export class StationRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(name: string): Promise<{ station: Station; token: string }> {
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

  async get(id: string): Promise<Station | undefined> {
    const row = await this.redis.hgetall(this.keys.station(id));
    return row.id ? { id: row.id, name: row.name!, createdAt: row.createdAt! } : undefined;
  }

  async list(): Promise<Station[]> {
    const ids = await this.redis.zrange(this.keys.stations, 0, -1);
    const rows = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.station(id))));
    return rows.map((row) => ({ id: row.id!, name: row.name!, createdAt: row.createdAt! }));
  }
}
