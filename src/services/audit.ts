import { type FairnessReport, fairnessOf } from '../domain/fairness.js';
import { type ChainVerification, type ProtocolEntry, verifyChain } from '../domain/protocol.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';
import type { ProtocolMirror } from './protocol-mirror.js';

export type AuditVerification =
  | (Extract<ChainVerification, { ok: true }> & { mirror: { mirrored: number; behind: number } })
  | Extract<ChainVerification, { ok: false }>;

/** Reading and checking the assignment protocol: what an auditor or an administrator may see. */
export class Audit {
  constructor(
    private readonly protocol: ProtocolRepository,
    private readonly mirror: ProtocolMirror,
  ) {}

  /** A page of entries after `after`; `next` is where the following page starts, or null at the end. */
  async entries(after: number, limit: number): Promise<{ entries: ProtocolEntry[]; next: number | null }> {
    const entries = await this.protocol.entries(after, limit);
    const head = await this.protocol.head();
    const last = entries.at(-1)?.seq ?? after;
    return { entries, next: last < head.seq ? last : null };
  }

  /**
   * Recomputes the whole chain; the stored head must be where it ends, or the tail was cut; and every entry copied
   * to the S3 mirror must be the same there, or the chain in Redis was rewritten.
   */
  async verify(): Promise<AuditVerification> {
    const entries = await this.protocol.entries();
    const verification = verifyChain(entries);
    if (!verification.ok) return verification;
    const head = await this.protocol.head();
    if (verification.head.seq !== head.seq || verification.head.hash !== head.hash)
      return {
        ok: false,
        entries: entries.length,
        brokenAt: verification.head.seq + 1,
        reason: 'entries after this point are missing',
      };
    const mirror = await this.mirror.compare(entries);
    if (!mirror.ok)
      return { ok: false, entries: entries.length, brokenAt: mirror.seq, reason: mirror.reason };
    return { ...verification, mirror: { mirrored: mirror.mirrored, behind: mirror.behind } };
  }

  async fairness(): Promise<FairnessReport> {
    return fairnessOf(await this.protocol.entries());
  }
}
