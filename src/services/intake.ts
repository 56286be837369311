import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { normalizeTrackingCode } from '../domain/ids.js';
import { fail, type Outcome, ok, type ResubmissionRefusal } from '../domain/outcome.js';
import { type PageWarning, pageWarnings } from '../domain/page-warnings.js';
import type { PacketStatus } from '../domain/status.js';
import type { Packet, Page, Principal, Service } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import {
  DOCUMENT_MEDIA_TYPES,
  type DocumentKind,
  type DocumentPage,
  DocumentRejected,
  splitDocument,
} from '../pipeline/document.js';
import { MEDIA_TYPES, type PageLimits, probeImage } from '../pipeline/image-probe.js';
import type { PacketDocument, PacketRepository, Repair } from '../repositories/packet-repository.js';
import type { StationRepository } from '../repositories/station-repository.js';
import { documentKey, documentPageKey, originalPageKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PacketProgress } from './packet-progress.js';
import type { ServiceCatalogue } from './service-catalogue.js';

export type IntakeDeps = {
  packets: PacketRepository;
  store: ObjectStore;
  progress: PacketProgress;
  metrics: Metrics;
  log: Logger;
  limits: PageLimits;
  /** MAX_PAGES_PER_PACKET: also the most pages one document may bring. */
  maxPages: number;
  catalogue: ServiceCatalogue;
  stations: Pick<StationRepository, 'recentPacketIds'>;
  /** What the citizen's receipt names: the office, and where its status page is (else the caller's origin). */
  office: { name: string; publicBaseUrl?: string };
};

export type StoredPage = { n: number; sha256: string; bytes: number };

/** A page as stations and administrators see it: storage keys are internal. */
export type PageView = Omit<Page, 'originalKey' | 'processing'> & {
  processing?: Omit<NonNullable<Page['processing']>, 'processedKey' | 'ocrKey' | 'thumbnailKey'>;
  warnings: PageWarning[];
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

/** A line in a station's list of its packets, or an administrator's search result. */
export type PacketSummary = Pick<
  Packet,
  | 'id'
  | 'ticket'
  | 'service'
  | 'status'
  | 'trackingCode'
  | 'createdAt'
  | 'submittedAt'
  | 'pageCount'
  | 'rescanPages'
>;

/** What the citizen takes home: enough to follow the case, nothing about who will decide it. */
export type Receipt = {
  office: string;
  ticket: string;
  service: Pick<Service, 'slug' | 'names'>;
  submittedAt: string;
  pageCount: number;
  trackingCode: string;
  trackingUrl: string;
};

const RECENT_PACKETS = 50;

const summaryOf = (packet: Packet): PacketSummary => ({
  id: packet.id,
  ticket: packet.ticket,
  service: packet.service,
  status: packet.status,
  trackingCode: packet.trackingCode,
  createdAt: packet.createdAt,
  ...(packet.submittedAt ? { submittedAt: packet.submittedAt } : {}),
  ...(packet.pageCount ? { pageCount: packet.pageCount } : {}),
  ...(packet.rescanPages ? { rescanPages: packet.rescanPages } : {}),
});

type PageChangeRefusal =
  | { outcome: 'missing' }
  | { outcome: 'not_open'; status: PacketStatus }
  | { outcome: 'rescan_only'; pages: number[] };

/** Why the packet's pages cannot change: it is gone, it is not open, or only its pages to rescan may change. */
function refused(result: PageChangeRefusal) {
  if (result.outcome === 'missing') return fail({ code: 'not_found', what: 'Packet' });
  if (result.outcome === 'not_open') return notOpen(result.status);
  return fail({ code: 'rescan_only', pages: result.pages });
}

const notOpen = (status: Packet['status'], action: 'change_pages' | 'submit' = 'change_pages') =>
  fail({ code: 'packet_not_open', status, action });

function pageViewOf({ originalKey: _key, processing, ...page }: Page): PageView {
  if (!processing) return { ...page, warnings: [] };
  const { processedKey: _processed, ocrKey: _ocr, thumbnailKey: _thumbnail, ...shown } = processing;
  return { ...page, processing: shown, warnings: pageWarnings(processing) };
}

/**
 * The front office's rules: a station opens a packet, puts, replaces and deletes pages while it is open (after a
 * failure, only the pages named for rescanning), and submits it once pages 1…N are all there. An upload is
 * acknowledged only after its bytes are in S3 and its record in Redis, and its processing job is queued at once.
 */
export class Intake {
  constructor(private readonly deps: IntakeDeps) {}

  /**
   * Opens a packet. `resubmissionOf`, an earlier rejected packet's tracking code, links the two: the dispatcher then
   * applies RESUBMISSION_POLICY to who decided the earlier ones, and the link is written in the draw's entry.
   */
  async open(
    stationId: string,
    input: { ticket: string; service: string; resubmissionOf?: string },
  ): Promise<Outcome<Packet>> {
    const { packets, catalogue, log } = this.deps;
    const { resubmissionOf, ...fields } = input;
    const known = await catalogue.check([input.service]);
    if (!known.ok) return known;
    let resubmission: { of: string; deciders: string[] } | undefined;
    if (resubmissionOf !== undefined) {
      const earlier = await packets.findByTrackingCode(normalizeTrackingCode(resubmissionOf));
      const refused = (why: ResubmissionRefusal) => fail({ code: 'resubmission_refused', why });
      if (!earlier) return refused('unknown_code');
      if (earlier.status !== 'decided') return refused('not_decided');
      // Only a refusal is resubmitted: fewer decided packets to link to is fewer registrars to steer away from.
      if (earlier.outcome !== 'rejected') return refused('not_rejected');
      if (earlier.service !== input.service) return refused('other_service');
      resubmission = { of: earlier.id, deciders: await packets.decidersOf(earlier) };
    }
    const packet = await packets.create({ ...fields, stationId, ...(resubmission ? { resubmission } : {}) });
    if (packet === 'already_resubmitted') return fail({ code: 'resubmission_refused', why: packet });
    log.info({ packetId: packet.id, resubmissionOf: resubmission?.of }, 'packet opened');
    return ok(packet);
  }

  /**
   * A station's own recent packets (newest first), or for an administrator the office's recent ones, or the one
   * with a tracking code.
   */
  async list(viewer: Principal, filter: { trackingCode?: string }): Promise<PacketSummary[]> {
    const { packets } = this.deps;
    if (viewer.role === 'registrar') return [];
    if (filter.trackingCode !== undefined) {
      const packet = await packets.findByTrackingCode(normalizeTrackingCode(filter.trackingCode));
      const visible = packet && (viewer.role === 'admin' || packet.stationId === viewer.id);
      return visible ? [summaryOf(packet)] : [];
    }
    const ids =
      viewer.role === 'admin'
        ? await packets.recentIds(RECENT_PACKETS)
        : await this.deps.stations.recentPacketIds(viewer.id, RECENT_PACKETS);
    const found = await Promise.all(ids.map((id) => packets.get(id)));
    return found.flatMap((packet) => (packet ? [summaryOf(packet)] : []));
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
      case 'not_open':
      case 'rescan_only':
        return refused(result);
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

  /**
   * Renumbers an open packet's pages 1…k in the order given, in one step; pages still to be processed are queued
   * again under their new numbers. If the pages changed since the station looked, nothing moves (pages_changed).
   */
  async reorderPages(
    stationId: string,
    packetId: string,
    order: Array<{ n: number; sha256: string }>,
  ): Promise<Outcome<{ pages: PageView[] }>> {
    const owned = await this.owned(stationId, packetId);
    if (!owned.ok) return owned;
    const result = await this.deps.packets.reorderPages(packetId, order);
    switch (result.outcome) {
      case 'missing':
      case 'not_open':
      case 'rescan_only':
        return refused(result);
      case 'changed':
        return fail({ code: 'pages_changed', pages: result.pages });
      case 'reordered':
        for (const page of result.queue) await this.deps.progress.queuePage(packetId, page);
        this.deps.log.info({ packetId, order: order.map((page) => page.n) }, 'pages reordered');
        break;
      default:
        break;
    }
    return ok({ pages: (await this.deps.packets.listPages(packetId)).map(pageViewOf) });
  }

  /** The small upright picture of a processed page, for its own station's page grid. */
  async thumbnail(
    stationId: string,
    packetId: string,
    n: number,
  ): Promise<Outcome<{ image: Buffer; etag: string }>> {
    const owned = await this.owned(stationId, packetId);
    if (!owned.ok) return owned;
    const page = await this.deps.packets.getPage(packetId, n);
    if (!page) return fail({ code: 'not_found', what: 'Page' });
    const key = page.processing?.thumbnailKey;
    if (!key || page.status !== 'done') return fail({ code: 'not_found', what: 'Thumbnail' });
    return ok({ image: await this.deps.store.get(key), etag: `"${page.processing!.processedSha256}"` });
  }

  /** The citizen's receipt for a submitted packet. */
  async receipt(stationId: string, packetId: string, origin: string): Promise<Outcome<Receipt>> {
    const owned = await this.owned(stationId, packetId);
    if (!owned.ok) return owned;
    const packet = owned.value;
    if (!packet.submittedAt || !packet.pageCount)
      return fail({ code: 'not_submitted', status: packet.status });
    const service = (await this.deps.catalogue.list()).find((entry) => entry.slug === packet.service);
    const base = (this.deps.office.publicBaseUrl ?? origin).replace(/\/+$/, '');
    return ok({
      office: this.deps.office.name,
      ticket: packet.ticket,
      service: { slug: packet.service, names: service?.names ?? { uk: packet.service, en: packet.service } },
      submittedAt: packet.submittedAt,
      pageCount: packet.pageCount,
      trackingCode: packet.trackingCode,
      trackingUrl: `${base}/track/${packet.trackingCode}`,
    });
  }

  /**
   * A scanner's document (multi-page PDF or TIFF), received into `file`: split into page images that keep the
   * scanner's pixels, each stored, then all added in one step after the highest page (or from `at` on). If any page
   * cannot be used, nothing is added and the refusal names it. The same document again answers with the pages it
   * gave the first time. The document itself is kept in S3 as received, and each page names it (`source`).
   */
  async addDocument(
    stationId: string,
    packetId: string,
    upload: { file: string; sha256: string; bytes: number; kind: DocumentKind },
    at: number | undefined,
  ): Promise<Outcome<{ created: boolean; document: PacketDocument }>> {
    const { packets, store, metrics, log } = this.deps;
    const owned = await this.owned(stationId, packetId);
    if (!owned.ok) return owned;
    const known = await packets.getDocument(packetId, upload.sha256);
    if (known) return ok({ created: false, document: known });
    const packet = owned.value;
    if (packet.status !== 'open') return notOpen(packet.status);
    if (packet.rescanPages) return fail({ code: 'rescan_only', pages: packet.rescanPages });

    const bytes = await readFile(upload.file);
    let split: DocumentPage[];
    try {
      split = await splitDocument(bytes, upload.kind, {
        maxPages: this.deps.maxPages,
        page: this.deps.limits,
      });
    } catch (error) {
      if (!(error instanceof DocumentRejected)) throw error;
      metrics.documentsUploaded.inc({ outcome: 'rejected' });
      log.info({ packetId, code: error.rejection.code, page: error.rejection.page }, 'document refused');
      return fail({ code: 'document_rejected', rejection: error.rejection });
    }

    // Acknowledge only what is durably stored: the document and every page image go to S3 before any record.
    const key = documentKey(packetId, upload.sha256, upload.kind);
    await store.put(key, bytes, DOCUMENT_MEDIA_TYPES[upload.kind], upload.sha256);
    const now = new Date().toISOString();
    const pages = await Promise.all(
      split.map(async (page) => {
        const sha256 = createHash('sha256').update(page.image).digest('hex');
        const originalKey = documentPageKey(packetId, upload.sha256, page.index, page.format);
        await store.put(originalKey, page.image, MEDIA_TYPES[page.format], sha256);
        const { width, height } = await sharp(page.image).metadata();
        return {
          status: 'stored' as const,
          sha256,
          bytes: page.image.length,
          format: page.format,
          width: width ?? 0,
          height: height ?? 0,
          originalKey,
          storedAt: now,
          queuedAt: now,
          runAt: now,
          dpi: page.dpi,
          source: { document: upload.sha256, index: page.index },
        };
      }),
    );
    const document = { sha256: upload.sha256, bytes: upload.bytes, kind: upload.kind, key, receivedAt: now };
    const result = await packets.addDocument(packetId, document, pages, at, this.deps.maxPages);
    switch (result.outcome) {
      case 'missing':
      case 'not_open':
      case 'rescan_only':
        return refused(result);
      case 'too_many':
        return fail({
          code: 'document_rejected',
          rejection: {
            status: 422,
            code: 'too_many_pages',
            message: `The packet has ${result.pages} pages; with this document's ${pages.length} it would pass ${this.deps.maxPages}`,
          },
        });
      case 'bad_position':
        return fail({ code: 'bad_position', at: at ?? 0, highest: result.highest });
      case 'same':
        return ok({ created: false, document: result.document });
      default:
        for (const page of result.queue) await this.deps.progress.queuePage(packetId, page);
        metrics.documentsUploaded.inc({ outcome: 'added' });
        log.info(
          { packetId, document: upload.sha256, pages: result.document.pages.map((page) => page.n) },
          'document added',
        );
        return ok({ created: true, document: result.document });
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
    const pages = (await this.deps.packets.listPages(packetId)).map(pageViewOf);
    const { stationId, pdf, registrarId, assignedAt, drawSeq: _seq, note: _note, ...common } = packet;
    const adminOnly =
      viewer.role === 'admin'
        ? { stationId, pdf, registrarId, assignedAt, repairs: await this.deps.packets.repairs(packetId) }
        : {};
    return ok({ ...common, pages, ...adminOnly });
  }
}
