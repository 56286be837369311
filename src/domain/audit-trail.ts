import { verify, X509Certificate } from 'node:crypto';
import {
  checkpointMessage,
  epochAnnouncementMessage,
  protocolLeaf,
  type SignedCheckpoint,
  type SignedEpochAnnouncement,
} from './checkpoint.js';
import { commitmentOf, drawMismatch, epochOf, epochStartMs } from './committed-random.js';
import { rootOf } from './merkle.js';
import type { ProtocolEntry } from './protocol.js';

/**
 * The checks an outsider can make of the protocol with nothing but the entries, the signed checkpoints, the epoch
 * announcements and secrets, and the office certificate: the service's audit and the offline auditor run these
 * same functions over what they read.
 */

/** Whose protocol it is and which certificate must have signed for it. */
export type Trust = { deployment: string; certificate: Buffer };

/** Whether `signature` over `message` was made with the key of `certificateDer` (RSA, or ECDSA as r‖s). */
export function signedBy(message: Buffer, signature: Buffer, certificateDer: Buffer): boolean {
  try {
    const publicKey = new X509Certificate(certificateDer).publicKey;
    return verify(
      'sha256',
      message,
      publicKey.asymmetricKeyType === 'ec' ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
      signature,
    );
  } catch {
    return false;
  }
}

export type CheckpointVerification =
  | { ok: true; checkpoints: number; coveredEntries: number }
  | { ok: false; brokenAt: number; reason: string };

/**
 * Every checkpoint must be signed with the trusted certificate, be about this deployment, cover no more entries
 * than there are, and have the root of the entries it covers; points at the first entry no valid checkpoint
 * vouches for as it is now.
 */
export function verifyCheckpoints(
  entries: readonly ProtocolEntry[],
  checkpoints: readonly SignedCheckpoint[],
  trust: Trust,
): CheckpointVerification {
  const leaves = entries.map(protocolLeaf);
  let covered = 0;
  const sorted = [...checkpoints].sort((a, b) => a.body.treeSize - b.body.treeSize);
  for (const checkpoint of sorted) {
    const { body } = checkpoint;
    const size = body.treeSize;
    const broken = (reason: string): CheckpointVerification => ({ ok: false, brokenAt: covered + 1, reason });
    if (!Buffer.from(checkpoint.certificate, 'base64').equals(trust.certificate))
      return broken(`checkpoint ${size} is not signed with the office certificate`);
    if (!signedBy(checkpointMessage(body), Buffer.from(checkpoint.signature, 'base64'), trust.certificate))
      return broken(`checkpoint ${size} has an invalid signature`);
    if (body.deployment !== trust.deployment) return broken(`checkpoint ${size} is about another protocol`);
    if (size > leaves.length)
      return {
        ok: false,
        brokenAt: leaves.length + 1,
        reason: `checkpoint ${size} signed entries that are gone`,
      };
    if (rootOf(leaves.slice(0, size)).toString('hex') !== body.rootHash)
      return broken(`entries ${covered + 1}–${size} are not the ones checkpoint ${size} signed`);
    covered = size;
  }
  return { ok: true, checkpoints: sorted.length, coveredEntries: covered };
}

/** An epoch as published: its signed announcement, and its secret once it has ended. */
export type PublishedEpoch = { announcement: SignedEpochAnnouncement; secret?: string };

export type DrawVerification =
  | {
      ok: true;
      /** Draws recomputed from their epoch's revealed secret. */
      verified: number;
      /** Draws of an epoch whose secret is not revealed (not over yet). */
      pending: number;
      /** Draws of an epoch announced only after it began (a deployment's first), or with no epoch. */
      uncommitted: number;
    }
  | { ok: false; brokenAt: number; reason: string };

/**
 * Recomputes every draw whose epoch's secret is published, after checking that the announcement is the office's,
 * that the secret is the one it committed to, and that the draw was made in that epoch.
 */
export function verifyDraws(
  entries: readonly ProtocolEntry[],
  epochs: ReadonlyMap<number, PublishedEpoch>,
  trust: Trust,
): DrawVerification {
  const facts = new Map<
    number,
    { committedInAdvance: boolean; epochSeconds: number; secret?: string } | string
  >();
  const factsOf = (epoch: number) => {
    const published = epochs.get(epoch);
    if (!published) return `epoch ${epoch} was never announced`;
    const { announcement, secret } = published;
    const { body } = announcement;
    if (!Buffer.from(announcement.certificate, 'base64').equals(trust.certificate))
      return `epoch ${epoch}'s announcement is not signed with the office certificate`;
    if (
      !signedBy(
        epochAnnouncementMessage(body),
        Buffer.from(announcement.signature, 'base64'),
        trust.certificate,
      )
    )
      return `epoch ${epoch}'s announcement has an invalid signature`;
    if (body.epoch !== epoch || body.deployment !== trust.deployment)
      return `epoch ${epoch}'s announcement is about another epoch`;
    if (secret !== undefined && commitmentOf(secret) !== body.commitment)
      return `epoch ${epoch}'s secret is not the one announced`;
    return {
      committedInAdvance: Date.parse(body.announcedAt) < epochStartMs(epoch, body.epochSeconds),
      epochSeconds: body.epochSeconds,
      ...(secret ? { secret } : {}),
    };
  };
  const counts = { verified: 0, pending: 0, uncommitted: 0 };
  for (const entry of entries) {
    if (entry.type !== 'draw') continue;
    if (entry.epoch === undefined) {
      counts.uncommitted++;
      continue;
    }
    const broken = (reason: string): DrawVerification => ({ ok: false, brokenAt: entry.seq, reason });
    if (!facts.has(entry.epoch)) facts.set(entry.epoch, factsOf(entry.epoch));
    const known = facts.get(entry.epoch)!;
    if (typeof known === 'string') return broken(known);
    const drawnIn = epochOf(Date.parse(entry.at), known.epochSeconds);
    // Planned at the end of one epoch and written at the start of the next: that much and no more.
    if (drawnIn !== entry.epoch && drawnIn !== entry.epoch + 1)
      return broken(`a draw at ${entry.at} names epoch ${entry.epoch}`);
    if (!known.committedInAdvance) counts.uncommitted++;
    if (!known.secret) {
      counts.pending++;
      continue;
    }
    const mismatch = drawMismatch(entry, known.secret);
    if (mismatch) return broken(mismatch);
    if (known.committedInAdvance) counts.verified++;
  }
  return { ok: true, ...counts };
}

export type ExclusionCheck =
  | {
      ok: true;
      /** Exclusions the log itself justifies: busy (holding an earlier draw's packet), recused (an earlier recusal). */
      justified: number;
      /** Exclusions for reasons the log does not record (away, removed, decided the same ticket). */
      notInLog: number;
    }
  | { ok: false; brokenAt: number; reason: string };

/** Checks each draw's busy and recused exclusions against the entries before it. */
export function checkExclusions(entries: readonly ProtocolEntry[]): ExclusionCheck {
  /** registrar → the draw whose packet he holds. */
  const holding = new Map<string, number>();
  /** `packet registrar` pairs of recusals so far. */
  const recusals = new Set<string>();
  const counts = { justified: 0, notInLog: 0 };
  for (const entry of entries) {
    if (entry.type === 'draw') {
      for (const { registrarId, reason } of entry.excluded) {
        const justified =
          reason === 'busy'
            ? holding.has(registrarId)
            : reason === 'recused'
              ? recusals.has(`${entry.packetId} ${registrarId}`)
              : undefined;
        if (justified === undefined) counts.notInLog++;
        else if (justified) counts.justified++;
        else
          return {
            ok: false,
            brokenAt: entry.seq,
            reason: `${registrarId} is excluded as ${reason}, which no earlier entry shows`,
          };
      }
      holding.set(entry.chosen, entry.seq);
    } else {
      if (holding.get(entry.registrarId) === entry.drawSeq) holding.delete(entry.registrarId);
      if (entry.type === 'release' && entry.reason === 'recusal')
        recusals.add(`${entry.packetId} ${entry.registrarId}`);
    }
  }
  return { ok: true, ...counts };
}

/** Everything an outsider needs to audit the protocol without the service (GET /v1/audit/export). */
export type ProtocolExport = {
  format: 'scan-office-protocol-export/1';
  deployment: string;
  exportedAt: string;
  /** The office certificate, DER, base64; an auditor should compare it with the one the office publishes. */
  certificate: string;
  entries: ProtocolEntry[];
  checkpoints: SignedCheckpoint[];
  epochs: Array<{ epoch: number } & PublishedEpoch>;
};
