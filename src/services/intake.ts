import { createHash } from 'node:crypto';
import { fail, type Outcome, ok } from '../domain/outcome.js';
import type { Packet, Page, Principal } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import { MEDIA_TYPES, type PageLimits, probeImage } from '../pipeline/image-probe.js';
import type { PacketRepository, Repair } from '../repositories/packet-repository.js';
import { originalPageKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PacketProgress } from './packet-progress.js';

export type IntakeDeps = {
  packets: PacketRepository;
  store: ObjectStore;
  progress: PacketProgress;
  metrics: Metrics;
  log: Logger;
  limits: PageLimits;
};

export type StoredPage = { n: number; sha256: string; bytes: number };

/** A page as stations and administrators see it: storage keys are internal. */
export type PageView = Omit<Page, 'originalKey' | 'processing'> & {
  processing?: Omit<NonNullable<Page['processing']>, 'processedKey' | 'ocrKey'>;
};
export type PacketView = Omit<
  Packet,
  'stationId' | 'pdf' | 'registrarId' | 'assignedAt' | 'drawSeq' | 'note'
> &
  Partial<Pick<Packet, 'stationId' | 'pdf' | 'registrarId' | 'assignedAt'>> & {
    pages: PageView[];
    /** What the reconciler repaired (administrators only). */
    repairs?: Repair[];
  };

const notOpen = (status: Packet['status'], action: 'change_pages' | 'submit' = 'change_pages') =>
  fail({ code: 'packet_not_open', status, action });

/**
 * The front office's rules: a station opens a packet, puts, replaces and deletes pages while it is open (after a
 * failure, only the pages named for rescanning), and submits it once pages 1…N are all there. An upload is
 * acknowledged only after its bytes are in S3 and its record in Redis, and its processing job is queued at once.
 */
export class Intake {
  constructor(private readonly deps: IntakeDeps) {}

  async open(stationId: string, input: { ticket: string; service: string }): Promise<Packet> {
    const packet = await this.deps.packets.create({ ...input, stationId });
    this.deps.log.info({ packetId: packet.id }, 'packet opened');
    return packet;
  }

  /** A station sees only its own packets; anyone else's look exactly like packets that do not exist. */
  private async owned(stationId: string, packetId: string): Promise<Outcome<Packet>> {
    const packet = await this.deps.packets.get(packetId);
    return packet?.stationId === stationId ? ok(packet) : fail({ code: 'not_found', what: 'Packet' });
  }

  /** Stores page n (new, rescan, or the same bytes again). `created` is false for an idempotent repeat. */
  async putPage(
    stationId: string,
    packetId: string,
    n: number,
    body: Buffer,
    declaredMediaType: string | undefined,
  ): Promise<Outcome<StoredPage & { created: boolean }>> {
    const { packets, store, metrics } = this.deps;
    const owned = await this.owned(stationId, packetId);
    if (!owned.ok) return owned;
    const packet = owned.value;

    const probe = await probeImage(body, { declaredMediaType, limits: this.deps.limits });
    if (!probe.ok) {
      metrics.pagesUploaded.inc({ outcome: 'rejected' });
      return fail({ code: 'image_rejected', rejection: probe.rejection });
    }
    const sha256 = createHash('sha256').update(body).digest('hex');
    const now = new Date().toISOString();
    const page: Page = {
      n,
      status: 'stored',
      sha256,
      bytes: body.length,
      format: probe.image.format,
      width: probe.image.width,
      height: probe.image.height,
      originalKey: originalPageKey(packetId, n, sha256),
      storedAt: now,
      run: 0, // the record's script hands out the run
      queuedAt: now,
      runAt: now,
    };

    const existing = await packets.getPage(packetId, n);
    if (existing?.sha256 !== sha256) {
      // Checked before the upload goes to S3, so a closed packet costs no storage; the script checks again.
      const mayRescan = packet.status === 'failed' && packet.rescanPages?.includes(n);
      if (packet.status !== 'open' && !mayRescan) return notOpen(packet.status);
      // Acknowledge only what is durably stored: the bytes go to S3 before the page record exists.
      await store.put(page.originalKey, body, MEDIA_TYPES[page.format], sha256);
    }
    const stored = { n, sha256, bytes: body.length };
    const result = await packets.putPage(packetId, page);
    switch (result.outcome) {
      case 'missing':
        return fail({ code: 'not_found', what: 'Packet' });
      case 'not_open':
        return notOpen(result.status);
      case 'rescan_only':
        return fail({ code: 'rescan_only', pages: result.pages });
      case 'same':
        // An idempotent retry. If the first attempt stored the page but failed before enqueuing, enqueue now;
        // the job id names the record's run, so this is a no-op when that job exists.
        if (result.previous.status === 'stored')
          await this.deps.progress.queuePage(packetId, result.previous);
        metrics.pagesUploaded.inc({ outcome: 'unchanged' });
        return ok({ ...stored, created: false });
      default:
        await this.deps.progress.queuePage(packetId, result.page);
        metrics.pagesUploaded.inc({ outcome: result.outcome });
        this.deps.log.info(
          { packetId, page: n, sha256, bytes: body.length, outcome: result.outcome },
          'page stored',
        );
        return ok({ ...stored, created: true });
    }
  }

  async deletePage(stationId: string, packetId: string, n: number): Promise<Outcome<void>> {
    const owned = await this.owned(stationId, packetId);
    if (!owned.ok) return owned;
    const outcome = await this.deps.packets.deletePage(packetId, n);
    switch (outcome) {
      case 'missing':
        return fail({ code: 'not_found', what: 'Packet' });
      case 'absent':
        return fail({ code: 'not_found', what: 'Page' });
      case 'rescan_only':
        return fail({ code: 'rescan_only', pages: owned.value.rescanPages ?? [] });
      case 'deleted':
        this.deps.log.info({ packetId, page: n }, 'page deleted');
        return ok(undefined);
      default:
        return notOpen(outcome);
    }
  }

  /** Seals the packet with pages 1…`pages`; a retried submit of the same count is answered like the first. */
  async submit(
    stationId: string,
    packetId: string,
    pages: number,
  ): Promise<Outcome<{ status: Packet['status'] }>> {
    const owned = await this.owned(stationId, packetId);
    if (!owned.ok) return owned;
    const result = await this.deps.packets.submit(packetId, pages);
    switch (result.outcome) {
      case 'missing':
        return fail({ code: 'not_found', what: 'Packet' });
      case 'incomplete':
        return fail({ code: 'pages_missing', pages, missing: result.missing, extra: result.extra });
      case 'not_open':
        return result.pageCount === pages ? ok({ status: result.status }) : notOpen(result.status, 'submit');
      default:
        this.deps.log.info({ packetId, pages }, 'packet submitted');
        // Pages may all be done already (they are processed while the operator scans): move on at once.
        await this.deps.progress.advance(packetId);
        return ok({ status: 'submitted' });
    }
  }

  /**
   * The packet and its pages for its station or an administrator. Stations see where their packet is and the
   * outcome, never who holds or decided it.
   */
  async view(viewer: Principal, packetId: string): Promise<Outcome<PacketView>> {
    const packet = await this.deps.packets.get(packetId);
    const visible = viewer.role === 'admin' || (viewer.role === 'station' && packet?.stationId === viewer.id);
    if (!packet || !visible) return fail({ code: 'not_found', what: 'Packet' });
    const pages = (await this.deps.packets.listPages(packetId)).map(({ originalKey: _key, ...page }) => page);
    const { stationId, pdf, registrarId, assignedAt, drawSeq: _seq, note: _note, ...common } = packet;
    const adminOnly =
      viewer.role === 'admin'
        ? { stationId, pdf, registrarId, assignedAt, repairs: await this.deps.packets.repairs(packetId) }
        : {};
    return ok({ ...common, pages, ...adminOnly });
  }
}
