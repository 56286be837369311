import { createHash } from 'node:crypto';
import type { JobQueue } from '../domain/jobs.js';
import type { Logger } from '../infra/logger.js';
import type { PacketRepository } from '../repositories/packet-repository.js';

/** The SHA-256 over the ordered page hashes: which uploads a bundle is made of. */
export const pagesDigestOf = (pages: Array<{ n: number; sha256: string }>) =>
  createHash('sha256')
    .update(pages.map((page) => `${page.n}:${page.sha256}`).join('\n'))
    .digest('hex');

/**
 * Moves a submitted packet on once its pages have settled: a failed page fails the packet (naming the pages to
 * rescan); all pages done enqueues the bundle job. Called after submit and after every page outcome; running it
 * twice is harmless (the job id de-duplicates, the status change is a compare-and-set).
 */
export class PacketProgress {
  constructor(
    private readonly packets: Pick<PacketRepository, 'get' | 'listPages' | 'transition'>,
    private readonly jobs: JobQueue,
    private readonly log: Logger,
  ) {}

  async advance(packetId: string): Promise<void> {
    const packet = await this.packets.get(packetId);
    if (packet?.status !== 'submitted' || packet.pageCount === undefined) return;
    const pages = (await this.packets.listPages(packetId)).filter((page) => page.n <= packet.pageCount!);
    const failed = pages.filter((page) => page.status === 'failed');
    if (failed.length > 0) {
      const failure = failed
        .map((page) => `page ${page.n}: ${page.failure ?? 'processing failed'}`)
        .join(' ');
      const outcome = await this.packets.transition(packetId, 'failed', {
        failure,
        rescanPages: failed.map((page) => page.n),
      });
      if (outcome === 'ok')
        this.log.warn({ packetId, pages: failed.map((page) => page.n) }, 'packet failed: pages to rescan');
      return;
    }
    if (pages.length === packet.pageCount && pages.every((page) => page.status === 'done')) {
      await this.jobs.enqueue('bundlePacket', { packetId, pagesDigest: pagesDigestOf(pages) });
    }
  }
}
