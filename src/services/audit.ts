import { type FairnessReport, fairnessOf } from '../domain/fairness.js';
import { type ChainVerification, type ProtocolEntry, verifyChain } from '../domain/protocol.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';

/** Reading and checking the assignment protocol: what an auditor or an administrator may see. */
export class Audit {
  constructor(private readonly protocol: ProtocolRepository) {}

  /** A page of entries after `after`; `next` is where the following page starts, or null at the end. */
  async entries(after: number, limit: number): Promise<{ entries: ProtocolEntry[]; next: number | null }> {
    const entries = await this.protocol.entries(after, limit);
    const head = await this.protocol.head();
    const last = entries.at(-1)?.seq ?? after;
    return { entries, next: last < head.seq ? last : null };
  }

  /** Recomputes the whole chain; the stored head must be where it ends, or the tail was cut. */
  async verify(): Promise<ChainVerification> {
    const entries = await this.protocol.entries();
    const verification = verifyChain(entries);
    const head = await this.protocol.head();
    if (verification.ok && (verification.head.seq !== head.seq || verification.head.hash !== head.hash)) {
      return {
        ok: false,
        entries: entries.length,
        brokenAt: verification.head.seq + 1,
        reason: 'entries after this point are missing',
      };
    }
    return verification;
  }

  async fairness(): Promise<FairnessReport> {
    return fairnessOf(await this.protocol.entries());
  }
}
