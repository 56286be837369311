import { createHash } from 'node:crypto';
import { type FinalFailure, type JobPayload, PermanentJobFailure } from '../domain/jobs.js';
import type { Packet, Page } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { OcrResult } from '../pipeline/ocr.js';
import { buildPacketPdf } from '../pipeline/packet-pdf.js';
import { type SigningIdentity, signPdf, verifyPdfSignature } from '../pipeline/pades.js';
import type { PacketDocument, PacketRepository } from '../repositories/packet-repository.js';
import { packetPdfKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type PacketProgress, pagesDigestOf } from './packet-progress.js';

export const PDF_PRODUCER = 'Scan office';

export type BundlingDeps = {
  packets: Pick<PacketRepository, 'get' | 'listPages' | 'listDocuments' | 'transition' | 'markReady'>;
  progress: PacketProgress;
  store: ObjectStore;
  identity: SigningIdentity;
  font: Uint8Array;
  office: { name: string; location: string };
  metrics: Metrics;
  log: Logger;
};

export type BundleOutcome = 'ready' | 'skipped';

/** The chain-of-custody record embedded in the PDF: what was scanned, and what the pipeline made of it. */
export function manifestOf(packet: Packet, pages: Page[], readyAt: string, documents: PacketDocument[] = []) {
  return {
    packetId: packet.id,
    ticket: packet.ticket,
    service: packet.service,
    stationId: packet.stationId,
    createdAt: packet.createdAt,
    submittedAt: packet.submittedAt,
    readyAt,
    // Scanner documents as received (kept in S3 under these digests); pages taken from them name them as `source`.
    documents: documents.map(({ sha256, bytes, kind, receivedAt }) => ({ sha256, bytes, kind, receivedAt })),
    pages: pages.map((page) => ({
      n: page.n,
      original: { sha256: page.sha256, bytes: page.bytes, format: page.format, storedAt: page.storedAt },
      // A page that came inside a scanner's document names that document (as stored, by its SHA-256) and its page.
      ...(page.source ? { source: page.source } : {}),
      processed: { sha256: page.processing!.processedSha256, bytes: page.processing!.processedBytes },
      orientation: page.processing!.orientation,
      skewDeg: page.processing!.skewDeg,
      imageTurnDeg: page.processing!.imageTurnDeg ?? 0,
      blank: page.processing!.blank,
      ocrConfidence: page.processing!.ocrConfidence,
      dpi: page.processing!.dpi,
    })),
  };
}

/**
 * Builds, signs, self-verifies and stores the packet PDF, then marks the packet ready. Idempotent: the PDF goes to a
 * key of its own digest and the status change is a compare-and-set, so a retry after a crash simply does it again,
 * and of two overlapping runs only the one that marks the packet ready is ever named by it.
 */
export class Bundling {
  constructor(private readonly deps: BundlingDeps) {}

  async bundle(payload: JobPayload<'bundlePacket'>): Promise<BundleOutcome> {
    const { packets, store, metrics } = this.deps;
    const log = this.deps.log.child({ packetId: payload.packetId });
    const started = performance.now();

    const claimed = await packets.transition(payload.packetId, 'processing');
    if (claimed !== 'ok' && claimed !== 'processing') {
      log.info({ status: claimed }, 'packet is not waiting for its PDF; skipping');
      return 'skipped';
    }
    const packet = (await packets.get(payload.packetId))!;
    const pages = (await packets.listPages(packet.id)).filter((page) => page.n <= (packet.pageCount ?? 0));
    if (pagesDigestOf(pages) !== payload.pagesDigest || pages.some((page) => page.status !== 'done')) {
      // A rescan changed the pages after this job was queued; the packet's own job will bundle the new set.
      log.info('pages changed since the bundle was queued; skipping');
      return 'skipped';
    }

    const [images, ocrResults] = await Promise.all([
      Promise.all(pages.map((page) => store.get(page.processing!.processedKey))),
      Promise.all(
        pages.map(
          async (page) =>
            JSON.parse((await store.get(page.processing!.ocrKey)).toString('utf8')) as OcrResult,
        ),
      ),
    ]);
    const readyAt = new Date();
    const unsigned = await buildPacketPdf({
      title: `${packet.service} · ${packet.ticket}`,
      subject: `Packet ${packet.id}, ${pages.length} pages`,
      producer: PDF_PRODUCER,
      createdAt: readyAt,
      manifest: manifestOf(packet, pages, readyAt.toISOString(), await packets.listDocuments(packet.id)),
      font: this.deps.font,
      pages: pages.map((page, i) => ({
        image: images[i]!,
        format: page.processing!.imageFormat ?? 'jpeg',
        dpi: page.processing!.dpi,
        width: page.processing!.width,
        height: page.processing!.height,
        turnDeg: page.processing!.imageTurnDeg ?? 0,
        lines: ocrResults[i]!.lines,
      })),
      signature: {
        reason: `Packet ${packet.id} sealed for the registrar`,
        name: this.deps.office.name,
        location: this.deps.office.location,
        contactInfo: this.deps.office.name,
        signingTime: readyAt,
      },
    });
    const pdf = await signPdf(unsigned, this.deps.identity);
    const verification = await verifyPdfSignature(pdf);
    if (!verification.valid)
      throw new PermanentJobFailure(`the signed PDF does not verify: ${verification.reason}`);

    const sha256 = createHash('sha256').update(pdf).digest('hex');
    const key = packetPdfKey(packet.id, sha256);
    await store.put(key, pdf, 'application/pdf', sha256);
    const outcome = await packets.markReady(packet.id, readyAt, {
      key,
      sha256,
      bytes: pdf.length,
      pages: pages.length,
    });
    if (outcome !== 'ok') {
      log.warn({ status: outcome }, 'packet changed while bundling; this run’s PDF is left unreferenced');
      return 'skipped';
    }
    const seconds = (performance.now() - started) / 1000;
    metrics.bundleDuration.observe(seconds);
    metrics.pdfBytesPerPage.observe(pdf.length / pages.length);
    log.info(
      { pages: pages.length, bytes: pdf.length, sha256, seconds },
      'packet PDF signed and stored; packet ready',
    );
    return 'ready';
  }

  giveUp(payload: JobPayload<'bundlePacket'>, last: FinalFailure): Promise<void> {
    return this.deps.progress.bundleGaveUp(payload.packetId, last);
  }
}
