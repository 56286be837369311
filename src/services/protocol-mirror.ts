import { canonicalJson, type ProtocolEntry } from '../domain/protocol.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';
import { protocolEntryKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';

export type MirrorComparison =
  | { ok: true; mirrored: number; behind: number }
  | { ok: false; seq: number; reason: string };

/** How many mirror objects are read at once when comparing. */
const READ_CONCURRENCY = 16;

/**
 * The assignment protocol's copy in S3, one object per entry, written once and never overwritten: someone who can
 * write Redis (and rewrites the chain there consistently, or resets the mirror's position) cannot make the mirror
 * agree, and the audit compares the two.
 */
export class ProtocolMirror {
  constructor(
    private readonly deps: {
      protocol: ProtocolRepository;
      store: ObjectStore;
      /** The deployment's name (REDIS_PREFIX): its folder in the bucket. */
      deployment: string;
      metrics: Metrics;
      log: Logger;
    },
  ) {}

  private key(seq: number): string {
    return protocolEntryKey(this.deps.deployment, seq);
  }

  private async mirrored(seq: number): Promise<ProtocolEntry | undefined> {
    if (!(await this.deps.store.stat(this.key(seq)))) return undefined;
    return JSON.parse((await this.deps.store.get(this.key(seq))).toString('utf8')) as ProtocolEntry;
  }

  /**
   * Copies the entries not yet in S3. An entry already there (a copy whose position was not recorded, after a
   * crash) is kept if it is the same; if it differs, copying stops there and the conflict is logged and counted.
   */
  async copyPending(): Promise<void> {
    const { protocol, store, log, metrics } = this.deps;
    const pending = await protocol.entries(await protocol.mirroredSeq());
    for (const entry of pending) {
      const existing = await this.mirrored(entry.seq);
      if (existing && canonicalJson(existing) !== canonicalJson(entry)) {
        metrics.mirrorConflicts.inc();
        log.error(
          { seq: entry.seq, redisHash: entry.hash, mirrorHash: existing.hash },
          'protocol entry differs from its S3 mirror copy; the mirror is kept and copying stops here',
        );
        return;
      }
      if (!existing)
        await store.put(this.key(entry.seq), Buffer.from(JSON.stringify(entry)), 'application/json');
      await protocol.setMirroredSeq(entry.seq);
    }
  }

  /**
   * Compares the chain with the mirror, entry by entry: every mirrored entry must be the same; entries not yet
   * copied (the mirror runs a pass behind) are counted as `behind`, but none may be missing before a copied one.
   */
  async compare(entries: ProtocolEntry[]): Promise<MirrorComparison> {
    let mirrored = 0;
    let firstMissing: number | undefined;
    for (let start = 0; start < entries.length; start += READ_CONCURRENCY) {
      const batch = entries.slice(start, start + READ_CONCURRENCY);
      const copies = await Promise.all(batch.map((entry) => this.mirrored(entry.seq)));
      for (const [i, copy] of copies.entries()) {
        const entry = batch[i]!;
        if (!copy) {
          firstMissing ??= entry.seq;
          continue;
        }
        if (firstMissing !== undefined)
          return {
            ok: false,
            seq: firstMissing,
            reason: 'missing from the S3 mirror, which holds later entries',
          };
        if (canonicalJson(copy) !== canonicalJson(entry))
          return { ok: false, seq: entry.seq, reason: 'differs from its S3 mirror copy' };
        mirrored++;
      }
    }
    return { ok: true, mirrored, behind: entries.length - mirrored };
  }
}
