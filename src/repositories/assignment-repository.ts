import type { Redis } from 'ioredis';
import type { WaitingPacket } from '../dispatch/draw.js';
import {
  type ChainHead,
  type EntryBody,
  type ExclusionReason,
  GENESIS_HASH,
  type ProtocolEntry,
  sealEntry,
} from '../dispatch/protocol.js';
import { packetSourcesOf } from '../domain/status.js';
import type { PacketPdf } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * Assignment state in Redis. Every change that decides who handles a packet is one Lua script that (1) checks the
 * protocol head it was computed against, (2) checks the state it expects, (3) changes the state and appends the
 * sealed protocol entry. So an assignment and its protocol entry exist together or not at all, and two dispatchers
 * (or a dispatcher and a recusal) can never both succeed on stale state.
 */

const LUA_HELPERS = `
local function contains(list, item)
  return list ~= nil and list ~= false and string.find(',' .. list .. ',', ',' .. item .. ',', 1, true) ~= nil
end
local function head_is(head_key, expected)
  return (redis.call('HGET', head_key, 'hash') or '${GENESIS_HASH}') == expected
end
local function append(list_key, head_key, entry, hash, seq)
  redis.call('RPUSH', list_key, entry)
  redis.call('HSET', head_key, 'hash', hash, 'seq', seq)
end
local function wake(wake_key, reason)
  redis.call('LPUSH', wake_key, reason)
  redis.call('LTRIM', wake_key, 0, 99)
end
`;

/** KEYS: packet, registrar, ready queue, protocol list, protocol head. */
const ASSIGN = `${LUA_HELPERS}
local packet_id, registrar_id, at, expected, entry, hash, seq, sources = unpack(ARGV)
if not head_is(KEYS[5], expected) then return 'head_moved' end
local status = redis.call('HGET', KEYS[1], 'status')
if not contains(sources, status) or redis.call('HEXISTS', KEYS[1], 'registrarId') == 1 then return 'packet_taken' end
if redis.call('HGET', KEYS[2], 'status') ~= 'free' then return 'registrar_taken' end
redis.call('HSET', KEYS[1], 'status', 'assigned', 'registrarId', registrar_id, 'assignedAt', at, 'drawSeq', seq)
redis.call('HDEL', KEYS[1], 'queuedFor', 'waited', 'previousSeq')
redis.call('HSET', KEYS[2], 'status', 'busy', 'packetId', packet_id)
redis.call('ZREM', KEYS[3], packet_id)
append(KEYS[4], KEYS[5], entry, hash, seq)
return 'ok'
`;

/** KEYS: packet, registrar, ticket deciders, protocol list, protocol head, wake list. */
const DECIDE = `${LUA_HELPERS}
local registrar_id, outcome, note, at, expected, entry, hash, seq, sources = unpack(ARGV)
if not head_is(KEYS[5], expected) then return 'head_moved' end
if redis.call('HGET', KEYS[1], 'registrarId') ~= registrar_id then return 'not_yours' end
local status = redis.call('HGET', KEYS[1], 'status')
if not contains(sources, status) then return status end
redis.call('HSET', KEYS[1], 'status', 'decided', 'outcome', outcome, 'decidedAt', at)
if note ~= '' then redis.call('HSET', KEYS[1], 'note', note) end
local next_status = redis.call('HGET', KEYS[2], 'awayAfter') == '1' and 'away' or 'free'
redis.call('HSET', KEYS[2], 'status', next_status)
redis.call('HDEL', KEYS[2], 'packetId', 'awayAfter')
redis.call('SADD', KEYS[3], registrar_id)
append(KEYS[4], KEYS[5], entry, hash, seq)
if next_status == 'free' then wake(KEYS[6], 'registrar_free') end
return 'ok'
`;

/** KEYS: packet, registrar, ready queue, packet exclusions, protocol list, protocol head, wake list. */
const RELEASE = `${LUA_HELPERS}
local packet_id, registrar_id, exclusion, registrar_status, queued_for, score, expected, entry, hash, seq, sources = unpack(ARGV)
if not head_is(KEYS[6], expected) then return 'head_moved' end
if redis.call('HGET', KEYS[1], 'registrarId') ~= registrar_id then return 'not_yours' end
local status = redis.call('HGET', KEYS[1], 'status')
if not contains(sources, status) then return status end
redis.call('HSET', KEYS[1], 'status', 'ready', 'queuedFor', queued_for, 'previousSeq', seq)
redis.call('HDEL', KEYS[1], 'registrarId', 'assignedAt', 'drawSeq', 'waited')
redis.call('HSET', KEYS[4], registrar_id, exclusion)
redis.call('ZADD', KEYS[3], score, packet_id)
if registrar_status == '' then
  registrar_status = redis.call('HGET', KEYS[2], 'awayAfter') == '1' and 'away' or 'free'
end
redis.call('HSET', KEYS[2], 'status', registrar_status)
redis.call('HDEL', KEYS[2], 'packetId', 'awayAfter')
append(KEYS[5], KEYS[6], entry, hash, seq)
wake(KEYS[7], 'released')
return 'ok'
`;

/** KEYS: registrar, wake list. A busy registrar's wish takes effect when his packet is done. */
const SET_REGISTRAR_STATUS = `${LUA_HELPERS}
local requested = ARGV[1]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'removed' then return 'removed' end
if status == 'busy' then
  if requested == 'away' then redis.call('HSET', KEYS[1], 'awayAfter', '1') else redis.call('HDEL', KEYS[1], 'awayAfter') end
  return 'busy'
end
redis.call('HSET', KEYS[1], 'status', requested)
if requested == 'free' then wake(KEYS[2], 'registrar_free') end
return requested
`;

/** KEYS: packet, ready queue, wake list. The bundle job's last step: processing → ready, and into the queue. */
const MARK_READY = `${LUA_HELPERS}
local packet_id, ready_at, score, pdf, sources = unpack(ARGV)
local status = redis.call('HGET', KEYS[1], 'status')
if not contains(sources, status) then return status or 'missing' end
redis.call('HSET', KEYS[1], 'status', 'ready', 'readyAt', ready_at, 'readyScore', score, 'pdf', pdf, 'queuedFor', 'ready')
redis.call('ZADD', KEYS[2], score, packet_id)
wake(KEYS[3], 'ready')
return 'ok'
`;

export type AppendOutcome = 'ok' | 'head_moved' | 'packet_taken' | 'registrar_taken' | 'not_yours' | string;

export class AssignmentRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async head(): Promise<ChainHead> {
    const row = await this.redis.hgetall(this.keys.protocolHead);
    return { seq: Number(row.seq ?? 0), hash: row.hash ?? GENESIS_HASH };
  }

  /** Seals `body` after the current head and lets `script` apply it; retries only when the head moved. */
  private async appendWith(
    body: EntryBody,
    script: (entry: ProtocolEntry, head: ChainHead) => Promise<AppendOutcome>,
  ): Promise<{ outcome: AppendOutcome; entry: ProtocolEntry }> {
    for (let attempt = 0; ; attempt++) {
      const head = await this.head();
      const entry = sealEntry(body, head, new Date());
      const outcome = await script(entry, head);
      if (outcome !== 'head_moved' || attempt >= 20) return { outcome, entry };
    }
  }

  /** The atomic compare-and-set of a draw. 'head_moved' means another change landed first: draw again. */
  async assign(
    body: EntryBody & { type: 'draw' },
  ): Promise<{ outcome: AppendOutcome; entry: ProtocolEntry }> {
    const head = await this.head();
    const entry = sealEntry(body, head, new Date());
    const outcome = (await this.redis.eval(
      ASSIGN,
      5,
      this.keys.packet(body.packetId),
      this.keys.registrar(body.chosen),
      this.keys.readyQueue,
      this.keys.protocol,
      this.keys.protocolHead,
      body.packetId,
      body.chosen,
      entry.at,
      head.hash,
      JSON.stringify(entry),
      entry.hash,
      String(entry.seq),
      packetSourcesOf('assigned').join(','),
    )) as AppendOutcome;
    return { outcome, entry };
  }

  decide(
    packetId: string,
    registrarId: string,
    drawSeq: number,
    outcome: 'approved' | 'rejected',
    note: string,
  ) {
    return this.appendWith(
      { type: 'decision', packetId, registrarId, outcome, drawSeq },
      async (entry, head) => {
        const ticket = (await this.redis.hget(this.keys.packet(packetId), 'ticket')) ?? '';
        return (await this.redis.eval(
          DECIDE,
          6,
          this.keys.packet(packetId),
          this.keys.registrar(registrarId),
          this.keys.ticketDeciders(ticket),
          this.keys.protocol,
          this.keys.protocolHead,
          this.keys.dispatchWake,
          registrarId,
          outcome,
          note,
          entry.at,
          head.hash,
          JSON.stringify(entry),
          entry.hash,
          String(entry.seq),
          packetSourcesOf('decided').join(','),
        )) as AppendOutcome;
      },
    );
  }

  /**
   * Takes a packet back from its registrar for a new draw that excludes him: his recusal, or an administrator
   * setting him away or removing him. `registrarStatus` '' means "free, unless he asked to go away afterwards".
   */
  release(
    packetId: string,
    registrarId: string,
    drawSeq: number,
    reason: 'recusal' | 'away' | 'removed',
    registrarStatus: '' | 'away' | 'removed',
  ) {
    const exclusion: ExclusionReason = reason === 'recusal' ? 'recused' : reason;
    return this.appendWith(
      { type: 'release', packetId, registrarId, reason, drawSeq },
      async (entry, head) => {
        const score = (await this.redis.hget(this.keys.packet(packetId), 'readyScore')) ?? String(Date.now());
        return (await this.redis.eval(
          RELEASE,
          7,
          this.keys.packet(packetId),
          this.keys.registrar(registrarId),
          this.keys.readyQueue,
          this.keys.packetExclusions(packetId),
          this.keys.protocol,
          this.keys.protocolHead,
          this.keys.dispatchWake,
          packetId,
          registrarId,
          exclusion,
          registrarStatus,
          reason === 'recusal' ? 'recusal' : 'away',
          score,
          head.hash,
          JSON.stringify(entry),
          entry.hash,
          String(entry.seq),
          packetSourcesOf('ready')
            .filter((status) => status === 'assigned')
            .join(','),
        )) as AppendOutcome;
      },
    );
  }

  async setRegistrarStatus(registrarId: string, requested: 'free' | 'away'): Promise<string> {
    return (await this.redis.eval(
      SET_REGISTRAR_STATUS,
      2,
      this.keys.registrar(registrarId),
      this.keys.dispatchWake,
      requested,
    )) as string;
  }

  /** processing → ready, queued oldest first by ready time, and a wake-up for the dispatchers. */
  async markReady(packetId: string, readyAt: Date, pdf: PacketPdf): Promise<string> {
    return (await this.redis.eval(
      MARK_READY,
      3,
      this.keys.packet(packetId),
      this.keys.readyQueue,
      this.keys.dispatchWake,
      packetId,
      readyAt.toISOString(),
      String(readyAt.getTime()),
      JSON.stringify(pdf),
      packetSourcesOf('ready')
        .filter((status) => status === 'processing')
        .join(','),
    )) as string;
  }

  /** Ready packets, oldest first, with what a draw needs to know about each. */
  async waitingPackets(): Promise<WaitingPacket[]> {
    const ids = await this.redis.zrange(this.keys.readyQueue, 0, -1);
    if (ids.length === 0) return [];
    const rows = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.packet(id))));
    const exclusionRows = await Promise.all(
      ids.map((id) => this.redis.hgetall(this.keys.packetExclusions(id))),
    );
    const deciders = await Promise.all(
      rows.map((row) => this.redis.smembers(this.keys.ticketDeciders(row.ticket ?? ''))),
    );
    return ids.flatMap((id, i) => {
      const row = rows[i]!;
      if (row.status !== 'ready') return [];
      const exclusions = new Map<string, ExclusionReason>(
        Object.entries(exclusionRows[i]!) as Array<[string, ExclusionReason]>,
      );
      for (const registrarId of deciders[i]!)
        if (!exclusions.has(registrarId)) exclusions.set(registrarId, 'decided_same_ticket');
      return [
        {
          id,
          service: row.service!,
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

  async markWaited(packetIds: string[]): Promise<void> {
    if (packetIds.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of packetIds) pipeline.hset(this.keys.packet(id), 'waited', '1');
    await pipeline.exec();
  }

  /** Protocol entries with seq > after, at most `limit`. */
  async entries(after = 0, limit = 1_000_000): Promise<ProtocolEntry[]> {
    const raw = await this.redis.lrange(this.keys.protocol, after, after + limit - 1);
    return raw.map((line) => JSON.parse(line) as ProtocolEntry);
  }

  async waitForWake(blocking: Redis, timeoutSeconds: number): Promise<string | undefined> {
    const result = await blocking.blpop(this.keys.dispatchWake, timeoutSeconds);
    return result?.[1];
  }

  async mirroredSeq(): Promise<number> {
    return Number((await this.redis.get(this.keys.protocolMirrored)) ?? 0);
  }

  async setMirroredSeq(seq: number): Promise<void> {
    await this.redis.set(this.keys.protocolMirrored, String(seq));
  }
}
