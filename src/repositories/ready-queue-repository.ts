import type { Redis } from 'ioredis';
import type { WaitingPacket } from '../domain/draw.js';
import type { ExclusionReason } from '../domain/protocol.js';
import type { PacketPdf } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

/** What the dispatchers read: the ready packets in queue order with what a draw needs, and their wake-up list. */
export class ReadyQueueRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** Ready packets, oldest first, with what a draw needs to know about each. */
  async waitingPackets(): Promise<WaitingPacket[]> {
    const ids = await this.redis.zrange(this.keys.readyQueue, 0, -1);
    if (ids.length === 0) return [];
    const rows = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.packet(id))));
    const exclusionRows = await Promise.all(
      ids.map((id) => this.redis.hgetall(this.keys.packetExclusions(id))),
    );
    return ids.flatMap((id, i) => {
      const row = rows[i]!;
      if (row.status !== 'ready') return [];
      const exclusions = new Map<string, ExclusionReason>(
        Object.entries(exclusionRows[i]!) as Array<[string, ExclusionReason]>,
      );
      return [
        {
          id,
          service: row.service!,
          stationId: row.stationId!,
          ...(row.resubmissionOf
            ? {
                resubmission: {
                  of: row.resubmissionOf,
                  deciders: JSON.parse(row.earlierDeciders ?? '[]') as string[],
                },
              }
            : {}),
          pdfSha256: row.pdf ? (JSON.parse(row.pdf) as PacketPdf).sha256 : '',
          exclusions,
          queuedFor: (row.queuedFor ?? 'ready') as WaitingPacket['queuedFor'],
          waited: row.waited === '1',
          readyAt: Number(row.readyScore ?? 0),
          ...(row.previousSeq ? { previousSeq: Number(row.previousSeq) } : {}),
        },
      ];
    });
  }

  /** Marks packets that had to wait for registrars: their eventual draw is due to a registrar turning free. */
  async markWaited(packetIds: string[]): Promise<void> {
    if (packetIds.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of packetIds) pipeline.hset(this.keys.packet(id), 'waited', '1');
    await pipeline.exec();
  }

  /** Blocks (on its own connection) until something wakes the dispatchers, or `timeoutSeconds` pass. */
  async waitForWake(blocking: Redis, timeoutSeconds: number): Promise<string | undefined> {
    const result = await blocking.blpop(this.keys.dispatchWake, timeoutSeconds);
    return result?.[1];
  }
}
