import type { Redis } from 'ioredis';
import { type ChainHead, GENESIS_HASH, type ProtocolEntry } from '../domain/protocol.js';
import type { RedisKeys } from './redis-keys.js';

/** Reads the assignment protocol (entries are appended only by the packet scripts that make them happen). */
export class ProtocolRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async head(): Promise<ChainHead> {
    const row = await this.redis.hgetall(this.keys.protocolHead);
    return { seq: Number(row.seq ?? 0), hash: row.hash ?? GENESIS_HASH };
  }

  /** Protocol entries with seq > after, at most `limit`. */
  async entries(after = 0, limit = 1_000_000): Promise<ProtocolEntry[]> {
    const raw = await this.redis.lrange(this.keys.protocol, after, after + limit - 1);
    return raw.map((line) => JSON.parse(line) as ProtocolEntry);
  }

  /** The last entry copied to the S3 mirror. */
  async mirroredSeq(): Promise<number> {
    return Number((await this.redis.get(this.keys.protocolMirrored)) ?? 0);
  }

  async setMirroredSeq(seq: number): Promise<void> {
    await this.redis.set(this.keys.protocolMirrored, String(seq));
  }
}
