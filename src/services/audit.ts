import { type AnomalyReport, type AvailabilityEvent, anomaliesOf } from '../domain/anomalies.js';
import { checkExclusions, type ProtocolExport } from '../domain/audit-trail.js';
import type { SignedCheckpoint, SignedEpochAnnouncement } from '../domain/checkpoint.js';
import { type FairnessReport, fairnessOf } from '../domain/fairness.js';
import { fail, type Outcome, ok } from '../domain/outcome.js';
import { type ChainVerification, type ProtocolEntry, verifyChain } from '../domain/protocol.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';
import type { AdminAction, RegistrarRepository } from '../repositories/registrar-repository.js';
import type { Checkpoints, ConsistencyProof, InclusionProof } from './checkpoints.js';
import type { ProtocolMirror } from './protocol-mirror.js';
import type { RandomnessEpochs } from './randomness-epochs.js';

export type AuditVerification =
  | (Extract<ChainVerification, { ok: true }> & {
      mirror: { mirrored: number; behind: number };
      checkpoints: { signed: number; coveredEntries: number };
      draws: { verified: number; pending: number; uncommitted: number; beacons: number };
      exclusions: { justified: number; notInLog: number };
    })
  | Extract<ChainVerification, { ok: false }>;

const LATEST_ADMIN_ACTIONS = 100;

/** Reading and checking the assignment protocol: what an auditor or an administrator may see. */
export class Audit {
  constructor(
    private readonly protocol: ProtocolRepository,
    private readonly trail: { mirror: ProtocolMirror; checkpoints: Checkpoints; epochs: RandomnessEpochs },
    private readonly registrars: Pick<RegistrarRepository, 'adminActions'>,
  ) {}

  /** A page of entries after `after`; `next` is where the following page starts, or null at the end. */
  async entries(after: number, limit: number): Promise<{ entries: ProtocolEntry[]; next: number | null }> {
    const entries = await this.protocol.entries(after, limit);
    const head = await this.protocol.head();
    const last = entries.at(-1)?.seq ?? after;
    return { entries, next: last < head.seq ? last : null };
  }

  /**
   * Recomputes the whole chain; the stored head must be where it ends, or the tail was cut; every entry copied to
   * the S3 mirror must be the same there, and every signed checkpoint's root must be that of the entries it
   * covers, or the chain was rewritten.
   */
  async verify(): Promise<AuditVerification> {
    // Checkpoints first: each signs entries already in the protocol, so none reaches past the snapshot read after.
    const checkpoints = await this.trail.checkpoints.all();
    const { head, entries } = await this.protocol.snapshot();
    const verification = verifyChain(entries);
    if (!verification.ok) return verification;
    if (verification.head.seq !== head.seq || verification.head.hash !== head.hash)
      return {
        ok: false,
        entries: entries.length,
        brokenAt: verification.head.seq + 1,
        reason: 'entries after this point are missing',
      };
    const mirror = await this.trail.mirror.compare(entries);
    if (!mirror.ok)
      return { ok: false, entries: entries.length, brokenAt: mirror.seq, reason: mirror.reason };
    const signed = await this.trail.checkpoints.verify(entries, checkpoints);
    if (!signed.ok)
      return { ok: false, entries: entries.length, brokenAt: signed.brokenAt, reason: signed.reason };
    const draws = await this.trail.epochs.verifyDraws(entries, checkpoints);
    if (!draws.ok)
      return { ok: false, entries: entries.length, brokenAt: draws.brokenAt, reason: draws.reason };
    const exclusions = checkExclusions(entries);
    if (!exclusions.ok)
      return { ok: false, entries: entries.length, brokenAt: exclusions.brokenAt, reason: exclusions.reason };
    return {
      ...verification,
      mirror: { mirrored: mirror.mirrored, behind: mirror.behind },
      checkpoints: { signed: signed.checkpoints, coveredEntries: signed.coveredEntries },
      draws: {
        verified: draws.verified,
        pending: draws.pending,
        uncommitted: draws.uncommitted,
        beacons: draws.beacons,
      },
      exclusions: { justified: exclusions.justified, notInLog: exclusions.notInLog },
    };
  }

  /** The signed checkpoint of `size`, or the latest. */
  async checkpoint(size?: number): Promise<Outcome<SignedCheckpoint>> {
    const checkpoint = await this.trail.checkpoints.checkpoint(size);
    return checkpoint ? ok(checkpoint) : fail({ code: 'not_found', what: 'Checkpoint' });
  }

  /** That entry `seq` is in the protocol's first `treeSize` entries (default: all of them). */
  async inclusionProof(seq: number, treeSize?: number): Promise<Outcome<InclusionProof>> {
    const proof = await this.trail.checkpoints.inclusionProof(seq, treeSize);
    return proof ? ok(proof) : fail({ code: 'not_found', what: 'Protocol entry' });
  }

  /** That the protocol's first `to` entries extend its first `from`. */
  async consistencyProof(from: number, to: number): Promise<Outcome<ConsistencyProof>> {
    const proof = await this.trail.checkpoints.consistencyProof(from, to);
    return proof ? ok(proof) : fail({ code: 'not_found', what: 'Protocol entry' });
  }

  /** A randomness epoch's signed announcement, and its secret once it has ended. */
  async epoch(epoch: number): Promise<Outcome<{ announcement: SignedEpochAnnouncement; secret?: string }>> {
    const found = await this.trail.epochs.epoch(epoch);
    return found ? ok(found) : fail({ code: 'not_found', what: 'Epoch' });
  }

  /** Everything the offline auditor needs (`npm run audit -- <file>`), as of now. */
  async export(): Promise<ProtocolExport> {
    const { checkpoints, epochs } = this.trail;
    const entries = await this.protocol.entries();
    const published = await epochs.published(await epochs.announcedEpochs());
    return {
      format: 'scan-office-protocol-export/1',
      deployment: checkpoints.deployment,
      exportedAt: new Date().toISOString(),
      certificate: (await checkpoints.officeCertificate()).toString('base64'),
      entries,
      checkpoints: await checkpoints.all(),
      epochs: [...published].map(([epoch, found]) => ({ epoch, ...found })),
    };
  }

  /**
   * Collusion analytics over the protocol and the registrars' free/away changes (domain/anomalies.ts), with the
   * administrators' removals and away settings and their reasons.
   */
  async anomalies(alpha?: number): Promise<
    AnomalyReport & {
      administratorActions: { count: number; releasedPackets: number; latest: AdminAction[] };
    }
  > {
    const [entries, actions] = await Promise.all([this.protocol.entries(), this.registrars.adminActions()]);
    // Turning free or away, as the status entries record it (not requests made while holding a packet).
    const events = entries.flatMap((entry): AvailabilityEvent[] =>
      entry.type === 'status' && entry.status !== 'removed' && !entry.afterPacket
        ? [
            {
              registrarId: entry.registrarId,
              status: entry.status,
              at: entry.at,
              by: entry.by === 'registrar' ? 'registrar' : 'admin',
            },
          ]
        : [],
    );
    return {
      ...anomaliesOf(entries, events, alpha === undefined ? {} : { alpha }),
      administratorActions: {
        count: actions.length,
        releasedPackets: actions.filter((action) => action.released).length,
        latest: actions.slice(-LATEST_ADMIN_ACTIONS),
      },
    };
  }

  async fairness(): Promise<FairnessReport> {
    return fairnessOf(await this.protocol.entries());
  }
}
