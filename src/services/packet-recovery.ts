import { fail, type Outcome, ok } from '../domain/outcome.js';
import type { Logger } from '../infra/logger.js';
import type { PacketRepository } from '../repositories/packet-repository.js';
import type { PacketProgress } from './packet-progress.js';

/**
 * An administrator's way back for a packet that failed for a reason no rescan fixes (S3 or the OCR workers failing
 * for the whole retry window, a bundle that could not be made): processing and bundling run again. It never
 * assigns anyone: a packet that becomes ready is drawn like any other.
 */
export class PacketRecovery {
  constructor(
    private readonly deps: {
      packets: Pick<PacketRepository, 'retry'>;
      progress: PacketProgress;
      log: Logger;
    },
  ) {}

  async retry(packetId: string): Promise<Outcome<{ status: 'submitted'; requeuedPages: number[] }>> {
    const outcome = await this.deps.packets.retry(packetId);
    if (outcome === 'missing') return fail({ code: 'not_found', what: 'Packet' });
    if (typeof outcome === 'string') return fail({ code: 'not_retryable', status: outcome });
    for (const page of outcome.pages) await this.deps.progress.queuePage(packetId, page);
    await this.deps.progress.advance(packetId);
    const requeuedPages = outcome.pages.map((page) => page.n).sort((a, b) => a - b);
    this.deps.log.info({ packetId, requeuedPages }, 'administrator retried a failed packet');
    return ok({ status: 'submitted', requeuedPages });
  }
}
