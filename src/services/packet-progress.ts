import { createHash } from 'node:crypto';
import type { FinalFailure, JobPayload, JobQueue } from '../domain/jobs.js';
import type { Page } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { PacketRepository } from '../repositories/packet-repository.js';

/** The SHA-256 over the ordered page hashes: which uploads a bundle is made of. */
export const pagesDigestOf = (pages: Array<{ n: number; sha256: string }>) =>
  createHash('sha256')
    .update(pages.map((page) => `${page.n}:${page.sha256}`).join('\n'))
    .digest('hex');

type ProgressRecords = Pick<PacketRepository, 'get' | 'listPages' | 'transition' | 'updatePage'>;

/** The processPage job of the run a page record waits for, retried until the record's window ends. */
export const pageJobOf = (
  packetId: string,
  page: Page,
  retryWindowMs: number,
): JobPayload<'processPage'> => ({
  packetId,
  n: page.n,
  sha256: page.sha256,
  originalKey: page.originalKey,
  run: page.run,
  retryUntil: Date.parse(page.queuedAt) + retryWindowMs,
  ...(page.dpi ? { dpi: page.dpi } : {}),
});

/**
 * What happens next to a packet, decided in one place: a page's job is queued for the run its record names; once a
 * submitted packet's pages have settled, a failed page fails the packet (naming the pages to rescan) and all pages
 * done queue the bundle job. Called after submit, after every page outcome and by the reconciler; running it twice
 * is harmless (job ids de-duplicate, status changes are compare-and-set).
 */
export class PacketProgress {
  constructor(
    private readonly deps: {
      packets: ProgressRecords;
      jobs: JobQueue;
      metrics: Metrics;
      log: Logger;
      retryWindowMs: number;
    },
  ) {}

  queuePage(packetId: string, page: Page): Promise<void> {
    return this.deps.jobs.enqueue('processPage', pageJobOf(packetId, page, this.deps.retryWindowMs));
  }

  /** The bundle job a submitted packet with these pages needs now, or undefined while pages are still in work. */
  async bundleJobOf(packetId: string): Promise<JobPayload<'bundlePacket'> | undefined> {
    const packet = await this.deps.packets.get(packetId);
    if (!packet?.pageCount) return undefined;
    const pages = (await this.deps.packets.listPages(packetId)).filter((page) => page.n <= packet.pageCount!);
    if (pages.length !== packet.pageCount || pages.some((page) => page.status !== 'done')) return undefined;
    const windowStart = Date.parse(packet.bundleQueuedAt ?? packet.submittedAt ?? packet.createdAt);
    return {
      packetId,
      pagesDigest: pagesDigestOf(pages),
      run: packet.bundleRun ?? 0,
      retryUntil: windowStart + this.deps.retryWindowMs,
    };
  }

  async advance(packetId: string): Promise<void> {
    const { packets, log } = this.deps;
    const packet = await packets.get(packetId);
    if (packet?.status !== 'submitted' || packet.pageCount === undefined) return;
    const pages = (await packets.listPages(packetId)).filter((page) => page.n <= packet.pageCount!);
    const failed = pages.filter((page) => page.status === 'failed');
    if (failed.length > 0) {
      const failure = failed
        .map((page) => `page ${page.n}: ${page.failure ?? 'processing failed'}`)
        .join(' ');
      const outcome = await packets.transition(packetId, 'failed', {
        failure,
        rescanPages: failed.map((page) => page.n),
      });
      if (outcome === 'ok')
        log.warn({ packetId, pages: failed.map((page) => page.n) }, 'packet failed: pages to rescan');
      return;
    }
    await this.queueBundle(packetId);
  }

  /** Queues the bundle job of the packet's current bundle run once its pages are all done. */
  async queueBundle(packetId: string): Promise<void> {
    const bundle = await this.bundleJobOf(packetId);
    if (bundle) await this.deps.jobs.enqueue('bundlePacket', bundle);
  }

  /**
   * A page's processing failed for good: a permanent failure was recorded by the job itself; any other failure
   * (S3, Redis or OCR workers failing for the whole retry window) fails the page now, saying so.
   */
  async pageGaveUp(payload: JobPayload<'processPage'>, last: FinalFailure): Promise<void> {
    if (!last.permanent) {
      const minutes = Math.round(this.deps.retryWindowMs / 60_000);
      const failure =
        `Processing kept failing for ${minutes} minutes (${last.message}); an administrator can retry it, ` +
        `or rescan page ${payload.n}.`;
      const outcome = await this.deps.packets.updatePage(payload.packetId, payload, 'failed', { failure });
      if (outcome === 'ok') this.deps.metrics.pagesProcessed.inc({ outcome: 'failed' });
    }
    await this.advance(payload.packetId);
  }

  /** Bundling failed for good: the packet fails, and an administrator's retry bundles it again. */
  async bundleGaveUp(packetId: string, last: FinalFailure): Promise<void> {
    const outcome = await this.deps.packets.transition(packetId, 'failed', {
      failure: `The packet PDF could not be made (${last.message}); an administrator can retry it.`,
    });
    if (outcome === 'ok')
      this.deps.log.warn({ packetId, reason: last.message }, 'packet failed: bundling gave up');
  }
}
