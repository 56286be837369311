import { createHash } from 'node:crypto';
import { UnrecoverableError, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Packet, Page } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { OcrResult } from '../pipeline/ocr.js';
import { buildPacketPdf } from '../pipeline/packet-pdf.js';
import { type SigningIdentity, signPdf, verifyPdfSignature } from '../pipeline/pades.js';
import type { AssignmentRepository } from '../repositories/assignment-repository.js';
import type { PacketRepository } from '../repositories/packet-repository.js';
import { packetPdfKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { JobPayload } from './jobs.js';
import { pagesDigestOf } from './packet-progress.js';
import { startJobWorker } from './queues.js';

export const PDF_PRODUCER = 'Scan office';

export type BundleDeps = {
  packets: PacketRepository;
  assignments: AssignmentRepository;
  store: ObjectStore;
  identity: SigningIdentity;
  font: Uint8Array;
  office: { name: string; location: string };
  metrics: Metrics;
  log: Logger;
};

export type BundleOutcome = 'ready' | 'skipped';

/** The chain-of-custody record embedded in the PDF: what was scanned, and what the pipeline made of it. */
export function manifestOf(packet: Packet, pages: Page[], readyAt: string) {
  return {
    packetId: packet.id,
    ticket: packet.ticket,
    service: packet.service,
    stationId: packet.stationId,
    createdAt: packet.createdAt,
    submittedAt: packet.submittedAt,
    readyAt,
    pages: pages.map((page) => ({
      n: page.n,
      original: { sha256: page.sha256, bytes: page.bytes, format: page.format, storedAt: page.storedAt },
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
export async function runBundleJob(
  deps: BundleDeps,
  payload: JobPayload<'bundlePacket'>,
): Promise<BundleOutcome> {
  const { packets, store, metrics } = deps;
  const log = deps.log.child({ packetId: payload.packetId });
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
        async (page) => JSON.parse((await store.get(page.processing!.ocrKey)).toString('utf8')) as OcrResult,
      ),
    ),
  ]);
  const readyAt = new Date();
  const unsigned = await buildPacketPdf({
    title: `${packet.service} · ${packet.ticket}`,
    subject: `Packet ${packet.id}, ${pages.length} pages`,
    producer: PDF_PRODUCER,
    createdAt: readyAt,
    manifest: manifestOf(packet, pages, readyAt.toISOString()),
    font: deps.font,
    pages: pages.map((page, i) => ({
      jpeg: images[i]!,
      dpi: page.processing!.dpi,
      width: page.processing!.width,
      height: page.processing!.height,
      turnDeg: page.processing!.imageTurnDeg ?? 0,
      lines: ocrResults[i]!.lines,
    })),
    signature: {
      reason: `Packet ${packet.id} sealed for the registrar`,
      name: deps.office.name,
      location: deps.office.location,
      contactInfo: deps.office.name,
      signingTime: readyAt,
    },
  });
  const pdf = await signPdf(unsigned, deps.identity);
  const verification = await verifyPdfSignature(pdf);
  if (!verification.valid)
    throw new UnrecoverableError(`the signed PDF does not verify: ${verification.reason}`);

  const sha256 = createHash('sha256').update(pdf).digest('hex');
  const key = packetPdfKey(packet.id, sha256);
  await store.put(key, pdf, 'application/pdf', sha256);
  const outcome = await deps.assignments.markReady(packet.id, readyAt, {
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

export function startBundleWorker(
  deps: BundleDeps & {
    connection: Redis;
    redisPrefix: string;
    locking?: { lockMs: number; stalledCheckMs: number };
  },
): Worker {
  return startJobWorker('bundlePacket', {
    connection: deps.connection,
    redisPrefix: deps.redisPrefix,
    concurrency: 1,
    log: deps.log,
    ...(deps.locking ? { locking: deps.locking } : {}),
    handle: (payload) => runBundleJob(deps, payload),
    onFinalFailure: async (payload, error) => {
      await deps.packets.transition(payload.packetId, 'failed', {
        failure: `The packet PDF could not be made (${error.message}); an administrator must look at it.`,
      });
    },
  });
}
