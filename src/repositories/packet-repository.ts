import type { Redis } from 'ioredis';
import { newId, newTrackingCode } from '../domain/ids.js';
import { type ChainHead, type EntryBody, type ExclusionReason, sealEntry } from '../domain/protocol.js';
import { type PacketStatus, type PageStatus, packetSourcesOf, pageSourcesOf } from '../domain/status.js';
import type { Packet, PacketPdf, Page } from '../domain/types.js';
import {
  type Appended,
  type AppendOutcome,
  type ProtocolRepository,
  protocolGuard,
} from './protocol-repository.js';
import type { RedisKeys } from './redis-keys.js';
import { runScript } from './scripts.js';

/**
 * Packets and their pages, and every change of a packet's status. Each change is one Lua compare-and-set (see ./lua):
 * the check of the state it expects and the write happen in one atomic step, so two API processes can never, say,
 * accept a page into a packet that was just submitted. The changes that decide who handles a packet (assign,
 * decide, release) also check the protocol head the entry was sealed against and append the entry, so an
 * assignment and its protocol entry exist together or not at all.
 */

export type PutPageResult =
  | { outcome: 'created' | 'replaced'; page: Page; previous?: Page }
  | { outcome: 'same'; previous: Page }
  | { outcome: 'missing' }
  | { outcome: 'not_open'; status: PacketStatus }
  | { outcome: 'rescan_only'; pages: number[] };

export type SubmitResult =
  | { outcome: 'submitted' }
  | { outcome: 'missing' }
  | { outcome: 'incomplete'; missing: number[]; extra: number[] }
  | { outcome: 'not_open'; status: PacketStatus; pageCount?: number };

/** A scanner's document as received for a packet, and the numbers its pages got. */
export type PacketDocument = {
  sha256: string;
  bytes: number;
  kind: 'pdf' | 'tiff';
  key: string;
  receivedAt: string;
  pages: Array<{ n: number; sha256: string; bytes: number }>;
};

export type AddDocumentResult =
  | { outcome: 'added'; document: PacketDocument; queue: Page[] }
  | { outcome: 'same'; document: PacketDocument }
  | { outcome: 'missing' }
  | { outcome: 'not_open'; status: PacketStatus }
  | { outcome: 'rescan_only'; pages: number[] }
  | { outcome: 'too_many'; pages: number }
  | { outcome: 'bad_position'; highest: number };

export type ReorderResult =
  | { outcome: 'reordered'; queue: Page[] }
  | { outcome: 'same' }
  | { outcome: 'missing' }
  | { outcome: 'not_open'; status: PacketStatus }
  | { outcome: 'rescan_only'; pages: number[] }
  | { outcome: 'changed'; pages: Array<{ n: number; sha256: string }> };

/** After a release: free (or away, if he asked to be after this packet), or what an administrator set. */
export type StatusAfterRelease = '' | 'away' | 'removed';

type ScriptReply = [string, ...unknown[]];

/** Which upload and which run of page n a job works for. */
export type PageRun = { n: number; sha256: string; run: number };

/** One repair the reconciler made, as the administrator's view of the packet lists it. */
export type Repair = { at: string; kind: string; detail: string };
const MAX_REPAIRS_KEPT = 50;

const sourcesOf = (to: PacketStatus, from?: PacketStatus) =>
  packetSourcesOf(to).filter((status) => from === undefined || status === from);

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
    ...(row.bundleRun ? { bundleRun: Number(row.bundleRun) } : {}),
    ...(row.bundleQueuedAt ? { bundleQueuedAt: row.bundleQueuedAt } : {}),
    ...(row.bundleRunAt ? { bundleRunAt: row.bundleRunAt } : {}),
    ...(row.readyAt ? { readyAt: row.readyAt } : {}),
    ...(row.pdf ? { pdf: JSON.parse(row.pdf) as PacketPdf } : {}),
    ...(row.registrarId
      ? { registrarId: row.registrarId, assignedAt: row.assignedAt!, drawSeq: Number(row.drawSeq) }
      : {}),
    ...(row.outcome ? { outcome: row.outcome as 'approved' | 'rejected', decidedAt: row.decidedAt! } : {}),
    ...(row.note ? { note: row.note } : {}),
    ...(row.resubmissionOf ? { resubmissionOf: row.resubmissionOf } : {}),
  };
}

export class PacketRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly protocol: ProtocolRepository,
  ) {}

  /**
   * Opens a packet. A resubmission names the earlier packet and who decided it and the ones before it; it is
   * refused when the earlier packet has a resubmission already.
   */
  async create(input: {
    ticket: string;
    service: string;
    stationId: string;
    resubmission?: { of: string; deciders: string[] };
  }): Promise<Packet | 'already_resubmitted'> {
    const { resubmission, ...fields } = input;
    const packet: Packet = {
      id: newId('packet'),
      ...fields,
      status: 'open',
      trackingCode: newTrackingCode(),
      createdAt: new Date().toISOString(),
      ...(resubmission ? { resubmissionOf: resubmission.of } : {}),
    };
    const outcome = await runScript<'createPacket', 'ok' | 'already_resubmitted'>(
      this.redis,
      'createPacket',
      {
        packet: this.keys.packet(packet.id),
        trackingCode: this.keys.trackingCode(packet.trackingCode),
        packets: this.keys.packets,
        stationPackets: this.keys.stationPackets(packet.stationId),
        active: this.keys.activePackets,
        earlier: this.keys.packet(resubmission?.of ?? packet.id),
      },
      {
        packetId: packet.id,
        earlierId: resubmission?.of ?? '',
        fields: {
          ...(Object.fromEntries(
            Object.entries(packet).map(([field, value]) => [field, String(value)]),
          ) as Record<string, string>),
          ...(resubmission ? { earlierDeciders: JSON.stringify(resubmission.deciders) } : {}),
        },
        score: Date.now(),
      },
    );
    return outcome === 'ok' ? packet : outcome;
  }

  /** Who decided the packet and the packets it resubmits, latest first. */
  async decidersOf(packet: Packet): Promise<string[]> {
    const earlier = await this.redis.hget(this.keys.packet(packet.id), 'earlierDeciders');
    return [
      ...(packet.outcome && packet.registrarId ? [packet.registrarId] : []),
      ...(earlier ? (JSON.parse(earlier) as string[]) : []),
    ];
  }

  /** Ids of packets not yet decided, oldest first, `count` at a time from `offset`. */
  activePacketIds(offset: number, count: number): Promise<string[]> {
    return this.redis.zrange(this.keys.activePackets, offset, offset + count - 1);
  }

  async recordRepair(packetId: string, repair: Repair): Promise<void> {
    await this.redis
      .multi()
      .rpush(this.keys.packetRepairs(packetId), JSON.stringify(repair))
      .ltrim(this.keys.packetRepairs(packetId), -MAX_REPAIRS_KEPT, -1)
      .exec();
  }

  async repairs(packetId: string): Promise<Repair[]> {
    const rows = await this.redis.lrange(this.keys.packetRepairs(packetId), 0, -1);
    return rows.map((row) => JSON.parse(row) as Repair);
  }

  async isQueuedForDraw(packetId: string): Promise<boolean> {
    return (await this.redis.zscore(this.keys.readyQueue, packetId)) !== null;
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

  /**
   * Records a stored page while the packet is open, under a new run (the run in `page` is replaced); the same bytes
   * again leave the existing record alone.
   */
  async putPage(packetId: string, page: Page): Promise<PutPageResult> {
    const [outcome, detail, previous] = await runScript<'putPage', ScriptReply>(
      this.redis,
      'putPage',
      {
        packet: this.keys.packet(packetId),
        pages: this.keys.packetPages(packetId),
        runs: this.keys.pageRuns(packetId),
      },
      { n: page.n, sha256: page.sha256, page: JSON.stringify(page) },
    );
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
          page: JSON.parse(detail as string) as Page,
          ...(previous ? { previous: JSON.parse(previous as string) as Page } : {}),
        };
    }
  }

  /**
   * Moves run `run` of page n (upload `sha256`) to `status` with extra fields, if its current status allows it.
   * 'stale' means the page was rescanned, deleted or queued again meanwhile: the caller's work is for nobody.
   */
  async updatePage(
    packetId: string,
    page: PageRun,
    status: PageStatus,
    fields: Partial<Omit<Page, 'n' | 'sha256' | 'status' | 'run'>> = {},
  ): Promise<'ok' | 'stale' | PageStatus> {
    const [outcome, detail] = await runScript<'updatePage', ScriptReply>(
      this.redis,
      'updatePage',
      { pages: this.keys.packetPages(packetId) },
      { ...page, sources: pageSourcesOf(status), fields: { ...fields, status } },
    );
    if (outcome === 'status') return detail as PageStatus;
    return outcome as 'ok' | 'stale';
  }

  /**
   * Queues this run of a page again under a new run, if nothing changed it meanwhile and its status is one of
   * `from`; `newWindow` starts a new retry window. Returns the page as now recorded, or undefined.
   */
  async requeuePage(
    packetId: string,
    page: PageRun,
    from: PageStatus[],
    options: { newWindow: boolean },
  ): Promise<Page | undefined> {
    const at = new Date().toISOString();
    const [outcome, encoded] = await runScript<'requeuePage', ScriptReply>(
      this.redis,
      'requeuePage',
      { pages: this.keys.packetPages(packetId), runs: this.keys.pageRuns(packetId) },
      { ...page, sources: from, at, ...(options.newWindow ? { queuedAt: at } : {}) },
    );
    return outcome === 'ok' ? (JSON.parse(encoded as string) as Page) : undefined;
  }

  /**
   * An administrator's retry: a failed packet is submitted again (new bundle run) and its failed pages are queued
   * again (new runs), with a new retry window. Returns the pages to queue, or the status that forbids it.
   */
  async retry(packetId: string): Promise<{ pages: Page[] } | 'missing' | PacketStatus> {
    const [outcome, detail] = await runScript<'retry', ScriptReply>(
      this.redis,
      'retry',
      {
        packet: this.keys.packet(packetId),
        pages: this.keys.packetPages(packetId),
        runs: this.keys.pageRuns(packetId),
      },
      { at: new Date().toISOString() },
    );
    if (outcome === 'missing') return 'missing';
    if (outcome === 'status') return detail as PacketStatus;
    return { pages: (detail as string[]).map((page) => JSON.parse(page) as Page) };
  }

  /** Starts bundle run `run + 1` of a packet still in one of `from`, unless someone did already. */
  async requeueBundle(packetId: string, run: number, from: PacketStatus[]): Promise<boolean> {
    const outcome = await runScript<'requeueBundle', string>(
      this.redis,
      'requeueBundle',
      { packet: this.keys.packet(packetId) },
      { run, sources: from, at: new Date().toISOString() },
    );
    return outcome === 'ok';
  }

  /** Puts a ready, unassigned packet missing from the ready queue back into it; true when it was missing. */
  async requeueReady(packetId: string): Promise<boolean> {
    const outcome = await runScript<'requeueReady', string>(
      this.redis,
      'requeueReady',
      { packet: this.keys.packet(packetId), readyQueue: this.keys.readyQueue, wake: this.keys.dispatchWake },
      { packetId, score: String(Date.now()) },
    );
    return outcome === 'ok';
  }

  async deletePage(
    packetId: string,
    n: number,
  ): Promise<'deleted' | 'absent' | 'missing' | 'rescan_only' | PacketStatus> {
    const [outcome, detail] = await runScript<'deletePage', ScriptReply>(
      this.redis,
      'deletePage',
      { packet: this.keys.packet(packetId), pages: this.keys.packetPages(packetId) },
      { n },
    );
    if (outcome === 'missing' || outcome === 'rescan_only') return outcome;
    if (outcome === 'status') return detail as PacketStatus;
    return detail === 1 ? 'deleted' : 'absent';
  }

  /**
   * Renumbers the pages 1…k in the order given (each named by its number and upload as the station saw them), in
   * one step. Returns the pages to queue again, or why nothing changed.
   */
  async reorderPages(packetId: string, order: Array<{ n: number; sha256: string }>): Promise<ReorderResult> {
    const [outcome, detail] = await runScript<'reorderPages', ScriptReply>(
      this.redis,
      'reorderPages',
      {
        packet: this.keys.packet(packetId),
        pages: this.keys.packetPages(packetId),
        runs: this.keys.pageRuns(packetId),
      },
      { order, at: new Date().toISOString() },
    );
    switch (outcome) {
      case 'missing':
        return { outcome: 'missing' };
      case 'same':
        return { outcome: 'same' };
      case 'status':
        return { outcome: 'not_open', status: detail as PacketStatus };
      case 'rescan_only':
        return { outcome, pages: (detail as string).split(',').map(Number) };
      case 'changed':
        return { outcome, pages: JSON.parse(detail as string) as Array<{ n: number; sha256: string }> };
      default:
        return { outcome: 'reordered', queue: (detail as string[]).map((page) => JSON.parse(page) as Page) };
    }
  }

  /**
   * Adds a document's pages (records without numbers) after the highest page, or from `at` on, in one step. Returns
   * the pages to queue, or the document as first recorded when it was added before.
   */
  async addDocument(
    packetId: string,
    document: Omit<PacketDocument, 'pages'>,
    pages: Array<Omit<Page, 'n' | 'run'>>,
    at: number | undefined,
    maxPages: number,
  ): Promise<AddDocumentResult> {
    const [outcome, detail, queued] = await runScript<'addDocument', ScriptReply>(
      this.redis,
      'addDocument',
      {
        packet: this.keys.packet(packetId),
        pages: this.keys.packetPages(packetId),
        runs: this.keys.pageRuns(packetId),
        documents: this.keys.packetDocuments(packetId),
      },
      {
        sha256: document.sha256,
        document: JSON.stringify(document),
        pages: pages as Page[],
        ...(at === undefined ? {} : { at }),
        at_time: new Date().toISOString(),
        maxPages,
      },
    );
    switch (outcome) {
      case 'missing':
        return { outcome: 'missing' };
      case 'status':
        return { outcome: 'not_open', status: detail as PacketStatus };
      case 'rescan_only':
        return { outcome, pages: (detail as string).split(',').map(Number) };
      case 'too_many':
        return { outcome, pages: Number(detail) };
      case 'bad_position':
        return { outcome, highest: Number(detail) };
      case 'same':
        return { outcome, document: JSON.parse(detail as string) as PacketDocument };
      default:
        return {
          outcome: 'added',
          document: JSON.parse(detail as string) as PacketDocument,
          queue: (queued as string[]).map((page) => JSON.parse(page) as Page),
        };
    }
  }

  async getDocument(packetId: string, sha256: string): Promise<PacketDocument | undefined> {
    const raw = await this.redis.hget(this.keys.packetDocuments(packetId), sha256);
    return raw ? (JSON.parse(raw) as PacketDocument) : undefined;
  }

  async listDocuments(packetId: string): Promise<PacketDocument[]> {
    const rows = await this.redis.hvals(this.keys.packetDocuments(packetId));
    return rows
      .map((row) => JSON.parse(row) as PacketDocument)
      .sort((a, b) => (a.receivedAt < b.receivedAt ? -1 : 1));
  }

  /** The most recent packets of the whole office, newest first. */
  recentIds(count: number): Promise<string[]> {
    return this.redis.zrevrange(this.keys.packets, 0, count - 1);
  }

  async submit(packetId: string, pageCount: number): Promise<SubmitResult> {
    const [outcome, first, second] = await runScript<'submit', ScriptReply>(
      this.redis,
      'submit',
      { packet: this.keys.packet(packetId), pages: this.keys.packetPages(packetId) },
      { pages: pageCount, at: new Date().toISOString(), sources: sourcesOf('submitted', 'open') },
    );
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
    const [outcome, detail] = await runScript<'transition', ScriptReply>(
      this.redis,
      'transition',
      { packet: this.keys.packet(packetId) },
      { to, sources: packetSourcesOf(to), fields: encoded },
    );
    if (outcome === 'status') return detail as PacketStatus;
    return outcome as 'ok' | 'missing';
  }

  /** processing → ready, queued oldest first by ready time, and a wake-up for the dispatchers. */
  async markReady(packetId: string, readyAt: Date, pdf: PacketPdf): Promise<string> {
    return runScript<'markReady', string>(
      this.redis,
      'markReady',
      { packet: this.keys.packet(packetId), readyQueue: this.keys.readyQueue, wake: this.keys.dispatchWake },
      {
        packetId,
        readyAt: readyAt.toISOString(),
        score: String(readyAt.getTime()),
        pdf: JSON.stringify(pdf),
        sources: sourcesOf('ready', 'processing'),
      },
    );
  }

  /**
   * The atomic compare-and-set of a draw. `head`: the protocol head the draw was planned on; if it moved, another
   * change landed first and the draw is refused (a lost race: draw again).
   */
  async assign(body: EntryBody & { type: 'draw' }, head: ChainHead, at = new Date()): Promise<Appended> {
    // `at`: when the draw was planned, which is when its eligibility (cooldowns) was judged.
    const entry = sealEntry(body, head, at);
    const outcome = await runScript<'assign', AppendOutcome>(
      this.redis,
      'assign',
      {
        packet: this.keys.packet(body.packetId),
        registrar: this.keys.registrar(body.chosen),
        readyQueue: this.keys.readyQueue,
        protocol: this.keys.protocol,
        head: this.keys.protocolHead,
      },
      {
        ...protocolGuard(head, entry),
        packetId: body.packetId,
        registrarId: body.chosen,
        at: entry.at,
        sources: packetSourcesOf('assigned'),
      },
    );
    return { outcome, entry };
  }

  decide(
    packetId: string,
    registrarId: string,
    drawSeq: number,
    outcome: 'approved' | 'rejected',
    note: string,
  ): Promise<Appended> {
    return this.protocol.appendWith(
      { type: 'decision', packetId, registrarId, outcome, drawSeq },
      (entry, head) =>
        runScript<'decide', AppendOutcome>(
          this.redis,
          'decide',
          {
            packet: this.keys.packet(packetId),
            registrar: this.keys.registrar(registrarId),
            protocol: this.keys.protocol,
            head: this.keys.protocolHead,
            wake: this.keys.dispatchWake,
            active: this.keys.activePackets,
          },
          {
            ...protocolGuard(head, entry),
            packetId,
            registrarId,
            outcome,
            note,
            at: entry.at,
            sources: packetSourcesOf('decided'),
          },
        ),
    );
  }

  /**
   * Takes a packet back from its registrar for a new draw that excludes him: his recusal, or an administrator
   * removing him, or the reconciler finding him away, in the same step as his new status. A recusal also starts his
   * cooldown and excludes him from the packets waiting now (`recusal`), all written in the entry.
   */
  release(
    packetId: string,
    registrarId: string,
    drawSeq: number,
    reason: 'recusal' | 'away' | 'removed',
    registrarStatus: StatusAfterRelease,
    recusal?: { cooldownUntil: number; alsoExcludedFrom: string[] },
  ): Promise<Appended> {
    const exclusion: ExclusionReason = reason === 'recusal' ? 'recused' : reason;
    const others = recusal?.alsoExcludedFrom.filter((id) => id !== packetId) ?? [];
    return this.protocol.appendWith(
      {
        type: 'release',
        packetId,
        registrarId,
        reason,
        drawSeq,
        ...(others.length > 0 ? { alsoExcludedFrom: others } : {}),
        ...(recusal ? { cooldownUntil: new Date(recusal.cooldownUntil).toISOString() } : {}),
      },
      async (entry, head) => {
        const score = (await this.redis.hget(this.keys.packet(packetId), 'readyScore')) ?? String(Date.now());
        return runScript<'release', AppendOutcome>(
          this.redis,
          'release',
          {
            packet: this.keys.packet(packetId),
            registrar: this.keys.registrar(registrarId),
            readyQueue: this.keys.readyQueue,
            exclusions: this.keys.packetExclusions(packetId),
            protocol: this.keys.protocol,
            head: this.keys.protocolHead,
            wake: this.keys.dispatchWake,
          },
          {
            ...protocolGuard(head, entry),
            packetId,
            registrarId,
            exclusion,
            registrarStatus,
            queuedFor: reason === 'recusal' ? 'recusal' : 'away',
            score,
            sources: sourcesOf('ready', 'assigned'),
            cooldownUntil: recusal ? String(recusal.cooldownUntil) : '',
            alsoExcludedKeys: others.map((id) => this.keys.packetExclusions(id)),
          },
        );
      },
    );
  }
}
