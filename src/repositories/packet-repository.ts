import type { Redis } from 'ioredis';
import { newId, newTrackingCode } from '../domain/ids.js';
import { type PacketStatus, type PageStatus, packetSourcesOf, pageSourcesOf } from '../domain/status.js';
import type { Packet, Page } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * Packet state changes are compare-and-set scripts: the check of the packet's status and the write happen in one
 * atomic step, so two API processes can never, say, accept a page into a packet that was just submitted.
 */
const PUT_PAGE = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
local previous = redis.call('HGET', KEYS[2], ARGV[1])
if previous and cjson.decode(previous).sha256 == ARGV[3] then return {'same', previous} end
if status ~= 'open' then return {'status', status} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {previous and 'replaced' or 'created', previous or ''}
`;

const DELETE_PAGE = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'open' then return {'status', status} end
return {'ok', redis.call('HDEL', KEYS[2], ARGV[1])}
`;

const SUBMIT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
local count = tonumber(ARGV[1])
if not string.find(',' .. ARGV[3] .. ',', ',' .. status .. ',', 1, true) then
  return {'status', status, redis.call('HGET', KEYS[1], 'pageCount') or ''}
end
local missing, extra = {}, {}
for n = 1, count do
  if redis.call('HEXISTS', KEYS[2], tostring(n)) == 0 then missing[#missing + 1] = n end
end
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  if tonumber(field) > count then extra[#extra + 1] = tonumber(field) end
end
if #missing > 0 or #extra > 0 then return {'incomplete', missing, extra} end
redis.call('HSET', KEYS[1], 'status', 'submitted', 'submittedAt', ARGV[2], 'pageCount', ARGV[1])
return {'ok'}
`;

/** Merges fields into one page record if it still holds the same upload and its status allows the change. */
const UPDATE_PAGE = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'stale'} end
local page = cjson.decode(raw)
if page.sha256 ~= ARGV[2] then return {'stale'} end
if not string.find(',' .. ARGV[4] .. ',', ',' .. page.status .. ',', 1, true) then return {'status', page.status} end
for key, value in pairs(cjson.decode(ARGV[3])) do page[key] = value end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(page))
return {'ok'}
`;

export type PutPageResult =
  | { outcome: 'created' | 'replaced'; previous?: Page }
  | { outcome: 'same'; previous: Page }
  | { outcome: 'missing' }
  | { outcome: 'not_open'; status: PacketStatus };

export type SubmitResult =
  | { outcome: 'submitted' }
  | { outcome: 'missing' }
  | { outcome: 'incomplete'; missing: number[]; extra: number[] }
  | { outcome: 'not_open'; status: PacketStatus; pageCount?: number };

type ScriptReply = [string, ...unknown[]];

function parsePacket(row: Record<string, string>): Packet | undefined {
  if (!row.id) return undefined;
  return {
    id: row.id,
    ticket: row.ticket!,
    service: row.service!,
    stationId: row.stationId!,
    status: row.status as PacketStatus,
    trackingCode: row.trackingCode!,
    createdAt: row.createdAt!,
    ...(row.submittedAt ? { submittedAt: row.submittedAt } : {}),
    ...(row.pageCount ? { pageCount: Number(row.pageCount) } : {}),
    ...(row.failure ? { failure: row.failure } : {}),
  };
}

export class PacketRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(input: { ticket: string; service: string; stationId: string }): Promise<Packet> {
    const packet: Packet = {
      id: newId('packet'),
      ...input,
      status: 'open',
      trackingCode: newTrackingCode(),
      createdAt: new Date().toISOString(),
    };
    await this.redis
      .multi()
      .hset(this.keys.packet(packet.id), packet)
      .set(this.keys.trackingCode(packet.trackingCode), packet.id)
      .zadd(this.keys.packets, Date.now(), packet.id)
      .exec();
    return packet;
  }

  async get(id: string): Promise<Packet | undefined> {
    return parsePacket(await this.redis.hgetall(this.keys.packet(id)));
  }

  async findByTrackingCode(code: string): Promise<Packet | undefined> {
    const id = await this.redis.get(this.keys.trackingCode(code));
    return id ? this.get(id) : undefined;
  }

  async getPage(packetId: string, n: number): Promise<Page | undefined> {
    const raw = await this.redis.hget(this.keys.packetPages(packetId), String(n));
    return raw ? (JSON.parse(raw) as Page) : undefined;
  }

  async listPages(packetId: string): Promise<Page[]> {
    const rows = await this.redis.hvals(this.keys.packetPages(packetId));
    return rows.map((raw) => JSON.parse(raw) as Page).sort((a, b) => a.n - b.n);
  }

  /** Records a stored page while the packet is open; the same bytes again leave the existing record alone. */
  async putPage(packetId: string, page: Page): Promise<PutPageResult> {
    const [outcome, detail] = (await this.redis.eval(
      PUT_PAGE,
      2,
      this.keys.packet(packetId),
      this.keys.packetPages(packetId),
      String(page.n),
      JSON.stringify(page),
      page.sha256,
    )) as ScriptReply;
    switch (outcome) {
      case 'missing':
        return { outcome };
      case 'status':
        return { outcome: 'not_open', status: detail as PacketStatus };
      case 'same':
        return { outcome, previous: JSON.parse(detail as string) as Page };
      default:
        return {
          outcome: outcome as 'created' | 'replaced',
          ...(detail ? { previous: JSON.parse(detail as string) as Page } : {}),
        };
    }
  }

  /**
   * Moves page n of this upload (`sha256`) to `status` with extra fields, if its current status allows it.
   * 'stale' means the page was rescanned or deleted meanwhile: the caller's work is for bytes nobody needs.
   */
  async updatePage(
    packetId: string,
    n: number,
    sha256: string,
    status: PageStatus,
    fields: Partial<Omit<Page, 'n' | 'sha256' | 'status'>> = {},
  ): Promise<'ok' | 'stale' | PageStatus> {
    const [outcome, detail] = (await this.redis.eval(
      UPDATE_PAGE,
      1,
      this.keys.packetPages(packetId),
      String(n),
      sha256,
      JSON.stringify({ ...fields, status }),
      pageSourcesOf(status).join(','),
    )) as ScriptReply;
    if (outcome === 'status') return detail as PageStatus;
    return outcome as 'ok' | 'stale';
  }

  async deletePage(packetId: string, n: number): Promise<'deleted' | 'absent' | 'missing' | PacketStatus> {
    const [outcome, detail] = (await this.redis.eval(
      DELETE_PAGE,
      2,
      this.keys.packet(packetId),
      this.keys.packetPages(packetId),
      String(n),
    )) as ScriptReply;
    if (outcome === 'missing') return 'missing';
    if (outcome === 'status') return detail as PacketStatus;
    return detail === 1 ? 'deleted' : 'absent';
  }

  async submit(packetId: string, pageCount: number): Promise<SubmitResult> {
    const [outcome, first, second] = (await this.redis.eval(
      SUBMIT,
      2,
      this.keys.packet(packetId),
      this.keys.packetPages(packetId),
      String(pageCount),
      new Date().toISOString(),
      packetSourcesOf('submitted').join(','),
    )) as ScriptReply;
    switch (outcome) {
      case 'missing':
        return { outcome };
      case 'status':
        return {
          outcome: 'not_open',
          status: first as PacketStatus,
          ...(second ? { pageCount: Number(second) } : {}),
        };
      case 'incomplete':
        return { outcome, missing: first as number[], extra: second as number[] };
      default:
        return { outcome: 'submitted' };
    }
  }
}
