import type { Redis } from 'ioredis';
import { hashToken, newId, newToken } from '../domain/ids.js';
import type { Station } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

const stationOf = (row: Record<string, string>): Station => ({
  id: row.id!,
  name: row.name!,
  createdAt: row.createdAt!,
  ...(row.removedAt ? { removedAt: row.removedAt } : {}),
});

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
      .hset(this.keys.station(station.id), { ...station, tokenHash: hashToken(token) })
      .set(this.keys.tokenOwner(hashToken(token)), `station:${station.id}`)
      .zadd(this.keys.stations, Date.now(), station.id)
      .exec();
    return { station, token };
  }

  async get(id: string): Promise<Station | undefined> {
    const row = await this.redis.hgetall(this.keys.station(id));
    return row.id ? stationOf(row) : undefined;
  }

  /** Stations in use, oldest first (removed ones are kept for their packets' history, not listed). */
  async list(): Promise<Station[]> {
    const ids = await this.redis.zrange(this.keys.stations, 0, -1);
    const rows = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.station(id))));
    return rows.filter((row) => row.id).map(stationOf);
  }

  /** Retires a station: its token stops resolving and it leaves the list. False when there is no such station. */
  async remove(id: string): Promise<boolean> {
    const row = await this.redis.hgetall(this.keys.station(id));
    if (!row.id || row.removedAt) return false;
    const removal = this.redis
      .multi()
      .hset(this.keys.station(id), 'removedAt', new Date().toISOString())
      .zrem(this.keys.stations, id);
    if (row.tokenHash) removal.del(this.keys.tokenOwner(row.tokenHash));
    await removal.exec();
    return true;
  }

  /** A station's most recent packets, newest first. */
  recentPacketIds(stationId: string, count: number): Promise<string[]> {
    return this.redis.zrevrange(this.keys.stationPackets(stationId), 0, count - 1);
  }
}
