import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type FinalFailure, type JobPayload, PermanentJobFailure } from '../domain/jobs.js';
import type { Packet, Page } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import { sha256OfFile } from '../pipeline/file-bytes.js';
import type { OcrResult } from '../pipeline/ocr.js';
import { type PdfPageInput, writePacketPdf } from '../pipeline/packet-pdf.js';
import { type SigningIdentity, signPdfFile, verifyPdfSignatureFile } from '../pipeline/pades.js';
import type { PacketDocument, PacketRepository } from '../repositories/packet-repository.js';
import { packetPdfKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type PacketProgress, pagesDigestOf } from './packet-progress.js';

export const PDF_PRODUCER = 'Scan office';

/** Each bundle run writes its PDF in a temporary folder of this name, removed when the run ends. */
const BUNDLE_DIR_PREFIX = 'scan-bundle-';
/** No bundle run takes this long: an older folder belongs to a worker that was killed mid-run. */
const STALE_BUNDLE_DIR_MS = 60 * 60 * 1000;

/**
 * Removes what killed bundle runs left in the temporary folder (up to a packet's PDF each): a SIGKILL or OOM kill
 * skips the `finally` that would have. Run at worker start; folders of runs still going are too young to touch.
 */
export async function removeStaleBundleFiles(log: Logger, now = Date.now()): Promise<void> {
  for (const name of await readdir(os.tmpdir())) {
    if (!name.startsWith(BUNDLE_DIR_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    const { mtimeMs } = await stat(dir).catch(() => ({ mtimeMs: now }));
    if (now - mtimeMs < STALE_BUNDLE_DIR_MS) continue;
    await rm(dir, { recursive: true, force: true });
    log.warn({ dir }, 'removed the files of a bundle run that did not finish');
  }
}

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
 * The pages as the PDF takes them, read from S3 one page ahead of the writer: a page's image and OCR are in memory
 * only while it is written (and while the one before it is).
 */
async function* pdfPagesOf(store: ObjectStore, pages: Page[]): AsyncGenerator<PdfPageInput> {
  const load = async (page: Page): Promise<PdfPageInput> => {
    const processing = page.processing!;
    const [image, ocr] = await Promise.all([
      store.get(processing.processedKey),
      store.get(processing.ocrKey),
    ]);
    return {
      image,
      format: processing.imageFormat ?? 'jpeg',
      dpi: processing.dpi,
      width: processing.width,
      height: processing.height,
      turnDeg: processing.imageTurnDeg ?? 0,
      lines: (JSON.parse(ocr.toString('utf8')) as OcrResult).lines,
    };
  };
  let next: Promise<PdfPageInput> | undefined;
  for (const [i, page] of pages.entries()) {
    const current = next ?? load(page);
    const following = pages[i + 1];
    next = following && load(following);
    // Read ahead; should the writer stop first, its failure must not go unhandled.
    next?.catch(() => undefined);
    yield await current;
  }
}

/**
 * Builds, signs, self-verifies and stores the packet PDF, then marks the packet ready. Idempotent: the PDF goes to a
 * key of its own digest and the status change is a compare-and-set, so a retry after a crash simply does it again,
 * and of two overlapping runs only the one that marks the packet ready is ever named by it.
 */
export class Bundling {
  constructor(private readonly deps: BundlingDeps) {}

  async bundle(payload: JobPayload<'bundlePacket'>): Promise<BundleOutcome> {
    const { packets, metrics } = this.deps;
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

    const readyAt = new Date();
    const { key, sha256, bytes } = await this.storeSignedPdf(packet, pages, readyAt);
    const outcome = await packets.markReady(packet.id, readyAt, { key, sha256, bytes, pages: pages.length });
    if (outcome !== 'ok') {
      log.warn({ status: outcome }, 'packet changed while bundling; this run’s PDF is left unreferenced');
      return 'skipped';
    }
    const seconds = (performance.now() - started) / 1000;
    metrics.bundleDuration.observe(seconds);
    metrics.pdfBytesPerPage.observe(bytes / pages.length);
    log.info({ pages: pages.length, bytes, sha256, seconds }, 'packet PDF signed and stored; packet ready');
    return 'ready';
  }

  /**
   * Writes, signs and self-checks the PDF in a temporary file and uploads it under its digest: the job holds a page
   * or two in memory, whatever the packet's size.
   */
  private async storeSignedPdf(packet: Packet, pages: Page[], readyAt: Date) {
    const { packets, store, identity, office } = this.deps;
    const documents = await packets.listDocuments(packet.id);
    const dir = await mkdtemp(path.join(os.tmpdir(), BUNDLE_DIR_PREFIX));
    try {
      const file = path.join(dir, 'packet.pdf');
      const { placeholder } = await writePacketPdf(
        {
          title: `${packet.service} · ${packet.ticket}`,
          subject: `Packet ${packet.id}, ${pages.length} pages`,
          producer: PDF_PRODUCER,
          createdAt: readyAt,
          manifest: manifestOf(packet, pages, readyAt.toISOString(), documents),
          font: this.deps.font,
          pages: pdfPagesOf(store, pages),
          signature: {
            reason: `Packet ${packet.id} sealed for the registrar`,
            name: office.name,
            location: office.location,
            contactInfo: office.name,
            signingTime: readyAt,
          },
        },
        file,
      );
      await signPdfFile(file, placeholder!, identity);
      const verification = await verifyPdfSignatureFile(file);
      if (!verification.valid)
        throw new PermanentJobFailure(`the signed PDF does not verify: ${verification.reason}`);
      const { sha256, bytes } = await sha256OfFile(file);
      const key = packetPdfKey(packet.id, sha256);
      await store.putFile(key, file, 'application/pdf', sha256);
      return { key, sha256, bytes };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  giveUp(payload: JobPayload<'bundlePacket'>, last: FinalFailure): Promise<void> {
    return this.deps.progress.bundleGaveUp(payload.packetId, last);
  }
}
