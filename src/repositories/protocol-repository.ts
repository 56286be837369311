import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SignedCheckpoint, SignedEpochAnnouncement } from '../domain/checkpoint.js';
import {
  type ChainHead,
  type EntryBody,
  GENESIS_HASH,
  type ProtocolEntry,
  sealEntry,
} from '../domain/protocol.js';
import type { RedisKeys } from './redis-keys.js';
import type { ScriptEntry } from './scripts.js';

/** What a script that appends an entry answers: 'ok', 'head_moved' (seal again), or why it refused. */
export type AppendOutcome = 'ok' | 'head_moved' | 'packet_taken' | 'registrar_taken' | 'not_yours' | string;
export type Appended = { outcome: AppendOutcome; entry: ProtocolEntry };

/** What every appending script checks and appends: the head the entry was sealed on, and the entry. */
export const protocolGuard = (head: ChainHead, entry: ProtocolEntry) => ({
  expectedHead: head.hash,
  genesis: GENESIS_HASH,
  entry: { json: JSON.stringify(entry), hash: entry.hash, seq: String(entry.seq) } satisfies ScriptEntry,
});

const headOf = (row: Record<string, string>): ChainHead => ({
  seq: Number(row.seq ?? 0),
  hash: row.hash ?? GENESIS_HASH,
});
const entriesOf = (lines: string[]) => lines.map((line) => JSON.parse(line) as ProtocolEntry);

/**
 * Reads the assignment protocol. Entries are appended only by the scripts that make them happen (a draw, a
 * decision, a release, a registrar's status), each in the same atomic step, through `appendWith`.
 */
export class ProtocolRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Seals `body` after the current head and lets `script` apply it; seals again only when the head moved. */
  async appendWith(
    body: EntryBody,
    script: (entry: ProtocolEntry, head: ChainHead) => Promise<AppendOutcome>,
  ): Promise<Appended> {
    for (let attempt = 0; ; attempt++) {
      const head = await this.head();
      const entry = sealEntry(body, head, new Date());
      const outcome = await script(entry, head);
      if (outcome !== 'head_moved' || attempt >= 20) return { outcome, entry };
    }
  }

  async head(): Promise<ChainHead> {
    return headOf(await this.redis.hgetall(this.keys.protocolHead));
  }

  /** Protocol entries with seq > after, at most `limit`. */
  async entries(after = 0, limit = 1_000_000): Promise<ProtocolEntry[]> {
    return entriesOf(await this.redis.lrange(this.keys.protocol, after, after + limit - 1));
  }

  /**
   * The head and every entry as they were at one moment (one MULTI): an entry, appended by one atomic script, is in
   * both or in neither, as it is not when the two are read one after the other while the protocol grows.
   */
  async snapshot(): Promise<{ head: ChainHead; entries: ProtocolEntry[] }> {
    const replies = await this.redis
      .multi()
      .hgetall(this.keys.protocolHead)
      .lrange(this.keys.protocol, 0, -1)
      .exec();
    const [row, lines] = (replies ?? []).map(([error, reply]) => {
      if (error) throw error;
      return reply;
    });
    return { head: headOf(row as Record<string, string>), entries: entriesOf(lines as string[]) };
  }

  /** The last entry copied to the S3 mirror. */
  async mirroredSeq(): Promise<number> {
    return Number((await this.redis.get(this.keys.protocolMirrored)) ?? 0);
  }

  async setMirroredSeq(seq: number): Promise<void> {
    await this.redis.set(this.keys.protocolMirrored, String(seq));
  }

  /** Stores a checkpoint unless one of that size is there already (two dispatchers may sign the same size). */
  async addCheckpoint(checkpoint: SignedCheckpoint): Promise<void> {
    const size = checkpoint.body.treeSize;
    await this.redis
      .multi()
      .hsetnx(this.keys.checkpoints, String(size), JSON.stringify(checkpoint))
      .zadd(this.keys.checkpointSizes, size, String(size))
      .exec();
  }

  /** The checkpoint of `size`, or the latest one. */
  async checkpoint(size?: number): Promise<SignedCheckpoint | undefined> {
    const field =
      size ?? (await this.redis.zrevrange(this.keys.checkpointSizes, 0, 0)).map(Number).at(0) ?? undefined;
    if (field === undefined) return undefined;
    const raw = await this.redis.hget(this.keys.checkpoints, String(field));
    return raw ? (JSON.parse(raw) as SignedCheckpoint) : undefined;
  }

  /** The sizes of every checkpoint, ascending. */
  async checkpointSizes(): Promise<number[]> {
    return (await this.redis.zrange(this.keys.checkpointSizes, 0, -1)).map(Number);
  }

  /** The epoch's secret, made now (random) unless it exists: every dispatcher gets the same one. */
  async epochSecret(epoch: number): Promise<string> {
    await this.redis.hsetnx(this.keys.epochSecrets, String(epoch), randomBytes(32).toString('hex'));
    return (await this.redis.hget(this.keys.epochSecrets, String(epoch)))!;
  }

  /** Epochs that have a secret, ascending. */
  async epochsWithSecrets(): Promise<number[]> {
    return (await this.redis.hkeys(this.keys.epochSecrets)).map(Number).sort((a, b) => a - b);
  }

  /** Stores the epoch's signed announcement unless one is there already. */
  async addEpochAnnouncement(epoch: number, announcement: SignedEpochAnnouncement): Promise<void> {
    await this.redis.hsetnx(this.keys.epochAnnouncements, String(epoch), JSON.stringify(announcement));
  }

  async epochAnnouncement(epoch: number): Promise<SignedEpochAnnouncement | undefined> {
    const raw = await this.redis.hget(this.keys.epochAnnouncements, String(epoch));
    return raw ? (JSON.parse(raw) as SignedEpochAnnouncement) : undefined;
  }

  /** The secret if it exists, without making one. */
  async existingEpochSecret(epoch: number): Promise<string | undefined> {
    return (await this.redis.hget(this.keys.epochSecrets, String(epoch))) ?? undefined;
  }

  /** Epochs that have an announcement, ascending. */
  async announcedEpochs(): Promise<number[]> {
    return (await this.redis.hkeys(this.keys.epochAnnouncements)).map(Number).sort((a, b) => a - b);
  }
}
