import type { Redis } from 'ioredis';
import { newId, newTrackingCode } from '../domain/ids.js';
import { type PacketStatus, type PageStatus, packetSourcesOf, pageSourcesOf } from '../domain/status.js';
import type { Packet, PacketPdf, Page } from '../domain/types.js';
import type { RedisKeys } from './redis-keys.js';

/**
 * Packet state changes are compare-and-set scripts: the check of the packet's status and the write happen in one
 * atomic step, so two API processes can never, say, accept a page into a packet that was just submitted.
 */
/** True when the comma-separated list in ARGV-style `list` holds `item`. */
const LUA_CONTAINS = `
local function contains(list, item)
  return list ~= nil and list ~= false and string.find(',' .. list .. ',', ',' .. item .. ',', 1, true) ~= nil
end
`;

/**
 * A page may change while the packet is open. After a failure, only the pages named in rescanPages may change, and
 * the first such upload reopens the packet (failed → open).
 */
const PUT_PAGE = `${LUA_CONTAINS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
local previous = redis.call('HGET', KEYS[2], ARGV[1])
if previous and cjson.decode(previous).sha256 == ARGV[3] then return {'same', previous} end
local rescan = redis.call('HGET', KEYS[1], 'rescanPages')
if status == 'failed' and contains(rescan, ARGV[1]) then
  redis.call('HSET', KEYS[1], 'status', 'open')
elseif status ~= 'open' then
  return {'status', status}
elseif rescan and not contains(rescan, ARGV[1]) then
  return {'rescan_only', rescan}
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {previous and 'replaced' or 'created', previous or ''}
`;

const DELETE_PAGE = `${LUA_CONTAINS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'open' then return {'status', status} end
local rescan = redis.call('HGET', KEYS[1], 'rescanPages')
if rescan and not contains(rescan, ARGV[1]) then return {'rescan_only', rescan} end
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
redis.call('HDEL', KEYS[1], 'rescanPages', 'failure')
return {'ok'}
`;

/** Moves a packet to ARGV[1] if its status is one of ARGV[2] (comma-separated), setting the fields in ARGV[3]. */
const TRANSITION = `${LUA_CONTAINS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if not contains(ARGV[2], status) then return {'status', status} end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
for key, value in pairs(cjson.decode(ARGV[3])) do redis.call('HSET', KEYS[1], key, value) end
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
  | { outcome: 'not_open'; status: PacketStatus }
  | { outcome: 'rescan_only'; pages: number[] };

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
    ...(row.rescanPages ? { rescanPages: row.rescanPages.split(',').map(Number) } : {}),
    ...(row.readyAt ? { readyAt: row.readyAt } : {}),
    ...(row.pdf ? { pdf: JSON.parse(row.pdf) as PacketPdf } : {}),
    ...(row.registrarId
      ? { registrarId: row.registrarId, assignedAt: row.assignedAt!, drawSeq: Number(row.drawSeq) }
      : {}),
    ...(row.outcome ? { outcome: row.outcome as 'approved' | 'rejected', decidedAt: row.decidedAt! } : {}),
    ...(row.note ? { note: row.note } : {}),
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
      case 'rescan_only':
        return { outcome, pages: (detail as string).split(',').map(Number) };
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

  async deletePage(
    packetId: string,
    n: number,
  ): Promise<'deleted' | 'absent' | 'missing' | 'rescan_only' | PacketStatus> {
    const [outcome, detail] = (await this.redis.eval(
      DELETE_PAGE,
      2,
      this.keys.packet(packetId),
      this.keys.packetPages(packetId),
      String(n),
    )) as ScriptReply;
    if (outcome === 'missing' || outcome === 'rescan_only') return outcome;
    if (outcome === 'status') return detail as PacketStatus;
    return detail === 1 ? 'deleted' : 'absent';
  }

  /**
   * Compare-and-set of the packet status, allowed only along the transitions in domain/status.ts. Returns 'ok', or
   * the status that made the change impossible.
   */
  async transition(
    packetId: string,
    to: PacketStatus,
    fields: { failure?: string; rescanPages?: number[] } = {},
  ): Promise<'ok' | 'missing' | PacketStatus> {
    const encoded: Record<string, string> = {};
    if (fields.failure !== undefined) encoded.failure = fields.failure;
    if (fields.rescanPages !== undefined) encoded.rescanPages = fields.rescanPages.join(',');
    const [outcome, detail] = (await this.redis.eval(
      TRANSITION,
      1,
      this.keys.packet(packetId),
      to,
      packetSourcesOf(to).join(','),
      JSON.stringify(encoded),
    )) as ScriptReply;
    if (outcome === 'status') return detail as PacketStatus;
    return outcome as 'ok' | 'missing';
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
