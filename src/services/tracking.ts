import { normalizeTrackingCode, TRACKING_CODE_PATTERN } from '../domain/ids.js';
import { fail, type Outcome, ok } from '../domain/outcome.js';
import { type PublicStatus, publicStatusOf } from '../domain/status.js';
import type { PacketRepository } from '../repositories/packet-repository.js';

/** What a citizen's tracking code shows: a coarse status and, once decided, the outcome; never who holds it. */
export class Tracking {
  constructor(private readonly packets: PacketRepository) {}

  async status(code: string): Promise<Outcome<{ status: PublicStatus; outcome?: 'approved' | 'rejected' }>> {
    const normalized = normalizeTrackingCode(code);
    const packet = TRACKING_CODE_PATTERN.test(normalized)
      ? await this.packets.findByTrackingCode(normalized)
      : undefined;
    if (!packet) return fail({ code: 'not_found', what: 'Tracking code' });
    return ok({
      status: publicStatusOf(packet.status),
      ...(packet.outcome ? { outcome: packet.outcome } : {}),
    });
  }
}
