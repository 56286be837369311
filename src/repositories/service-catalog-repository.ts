import type { Redis } from 'ioredis';
import type { Service } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

/** The office's service catalogue: slug → its names, in one hash. */
export class ServiceCatalogRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Adds a service unless its slug is taken; false when it was. */
  async create(service: Service): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.services, service.slug, JSON.stringify(service))) === 1;
  }

  async list(): Promise<Service[]> {
    const rows = await this.redis.hvals(this.keys.services);
    return rows.map((row) => JSON.parse(row) as Service).sort((a, b) => (a.slug < b.slug ? -1 : 1));
  }

  async get(slug: string): Promise<Service | undefined> {
    const row = await this.redis.hget(this.keys.services, slug);
    return row ? (JSON.parse(row) as Service) : undefined;
  }

  /** Those of `slugs` not in the catalogue. */
  async missing(slugs: string[]): Promise<string[]> {
    if (slugs.length === 0) return [];
    const found = await this.redis.hmget(this.keys.services, ...slugs);
    return slugs.filter((_slug, i) => found[i] === null);
  }
}
