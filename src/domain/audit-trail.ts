import { verify, X509Certificate } from 'node:crypto';
import {
  checkpointMessage,
  epochAnnouncementMessage,
  protocolLeaf,
  type SignedCheckpoint,
  type SignedEpochAnnouncement,
} from './checkpoint.js';
import { commitmentOf, drawMismatch, epochOf, epochStartMs } from './committed-random.js';
import { beaconRoundFor, PINNED_CHAINS, roundTime, verifyBeaconRound } from './drand-beacon.js';
import { rootOf } from './merkle.js';
import type { DrawBeacon, ExclusionReason, ProtocolEntry } from './protocol.js';

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

/**
 * The epoch commitments validly signed checkpoints repeat, with the earliest time one did; a commitment two
 * checkpoints disagree on is kept as '' so that it matches no announcement.
 */
function commitmentsInCheckpoints(
  checkpoints: readonly SignedCheckpoint[],
  trust: Trust,
): Map<number, { commitment: string; firstAt: number }> {
  const found = new Map<number, { commitment: string; firstAt: number }>();
  for (const { body, signature, certificate } of checkpoints) {
    if (!Buffer.from(certificate, 'base64').equals(trust.certificate)) continue;
    if (!signedBy(checkpointMessage(body), Buffer.from(signature, 'base64'), trust.certificate)) continue;
    for (const { epoch, commitment } of body.epochs ?? []) {
      const known = found.get(epoch);
      const at = Date.parse(body.at);
      if (!known) found.set(epoch, { commitment, firstAt: at });
      else
        found.set(epoch, {
          commitment: known.commitment === commitment ? commitment : '',
          firstAt: Math.min(known.firstAt, at),
        });
    }
  }
  return found;
}

/**
 * Why a draw's beacon round cannot be trusted: an unpinned chain, a round other than the first after the entry the
 * draw extends (the only one allowed: a dispatcher cannot choose), a round not out at the draw, a bad signature.
 */
function beaconFaultOf(beacon: DrawBeacon, drawnAt: number, extended?: ProtocolEntry): string | undefined {
  const chain = PINNED_CHAINS.get(beacon.chainHash);
  if (!chain) return `its beacon names chain ${beacon.chainHash}, which is not pinned`;
  if (!extended) return 'the first entry cannot name a beacon round: nothing fixes which';
  const due = beaconRoundFor(chain, Date.parse(extended.at));
  if (beacon.round !== due)
    return `its beacon round is ${beacon.round}; the first after entry ${extended.seq} is ${due}`;
  if (roundTime(chain, beacon.round) > drawnAt) return `its beacon round ${beacon.round} was not out yet`;
  const verdict = verifyBeaconRound(chain, beacon);
  if (!verdict.ok) return `its beacon round ${beacon.round} does not verify: ${verdict.reason}`;
  return undefined;
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
      /** Draws that mixed in a drand round, each verified against its pinned chain. */
      beacons: number;
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
  checkpoints: readonly SignedCheckpoint[] = [],
): DrawVerification {
  const repeated = commitmentsInCheckpoints(checkpoints, trust);
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
    const inCheckpoints = repeated.get(epoch);
    if (inCheckpoints && inCheckpoints.commitment !== body.commitment)
      return `epoch ${epoch}'s announcement differs from the commitment signed checkpoints repeat`;
    const start = epochStartMs(epoch, body.epochSeconds);
    return {
      committedInAdvance:
        Date.parse(body.announcedAt) < start ||
        (inCheckpoints !== undefined && inCheckpoints.firstAt < start),
      epochSeconds: body.epochSeconds,
      ...(secret ? { secret } : {}),
    };
  };
  const counts = { verified: 0, pending: 0, uncommitted: 0, beacons: 0 };
  for (const [index, entry] of entries.entries()) {
    if (entry.type !== 'draw') continue;
    const beaconFault = entry.beacon && beaconFaultOf(entry.beacon, Date.parse(entry.at), entries[index - 1]);
    if (beaconFault) return { ok: false, brokenAt: entry.seq, reason: beaconFault };
    if (entry.beacon) counts.beacons++;
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
      /** Exclusions earlier entries justify. */
      justified: number;
      /** Exclusions of registrars the log has not seen yet: created `away`, they are justified as away. */
      notInLog: number;
    }
  | { ok: false; brokenAt: number; reason: string };

/**
 * Replays who could be drawn, entry by entry: a registrar starts away (as created), turns free or away by status
 * entries (asked while holding a packet, away waits for the packet's end), holds a packet from his draw to its
 * decision or release, is removed for good. Each draw's eligible registrars must then be free, hold nothing, not have
 * recused from the packet or be cooling down from a recusal, and be allowed by the resubmission policy; each
 * exclusion must be what the replay shows: busy, away, removed, recused (from this packet, or from another while it
 * waited), cooldown, or the resubmission policy's (the chain of decisions it links to).
 */
export function checkExclusions(entries: readonly ProtocolEntry[]): ExclusionCheck {
  /** registrar → free/away/removed as the log shows it (absent: never seen, so away). */
  const statuses = new Map<string, 'free' | 'away' | 'removed'>();
  /** registrar → the draw whose packet he holds. */
  const holding = new Map<string, number>();
  /** Registrars who asked (or were set) to go away once their packet is done. */
  const awayAfter = new Set<string>();
  /** `packet registrar` pairs: recusals from the packet, or while it waited. */
  const recusals = new Set<string>();
  /** registrar → when his latest cooldown ends (ms). */
  const cooldowns = new Map<string, number>();
  /** packet → who decided it; packet → the packet it resubmits. */
  const deciders = new Map<string, string>();
  const resubmits = new Map<string, string>();
  const decidersBefore = (packetId: string) => {
    const found: string[] = [];
    for (
      let id: string | undefined = packetId;
      id && found.length <= entries.length;
      id = resubmits.get(id)
    ) {
      const decider = deciders.get(id);
      if (decider) found.push(decider);
    }
    return found;
  };
  const statusOf = (registrarId: string) => statuses.get(registrarId) ?? 'away';
  const counts = { justified: 0, notInLog: 0 };
  for (const entry of entries) {
    const broken = (reason: string): ExclusionCheck => ({ ok: false, brokenAt: entry.seq, reason });
    if (entry.type === 'status') {
      const { registrarId, status } = entry;
      if (statusOf(registrarId) === 'removed') return broken(`${registrarId} was removed before`);
      if (status === 'removed') statuses.set(registrarId, 'removed');
      else if (holding.has(registrarId)) {
        if (status === 'away') awayAfter.add(registrarId);
        else awayAfter.delete(registrarId);
      } else statuses.set(registrarId, status);
      continue;
    }
    if (entry.type !== 'draw') {
      if (holding.get(entry.registrarId) === entry.drawSeq) {
        holding.delete(entry.registrarId);
        const leaving = entry.type === 'release' && entry.reason !== 'recusal' ? entry.reason : undefined;
        statuses.set(entry.registrarId, leaving ?? (awayAfter.has(entry.registrarId) ? 'away' : 'free'));
        awayAfter.delete(entry.registrarId);
      }
      if (entry.type === 'decision') deciders.set(entry.packetId, entry.registrarId);
      else if (entry.reason === 'recusal') {
        for (const packetId of [entry.packetId, ...(entry.alsoExcludedFrom ?? [])])
          recusals.add(`${packetId} ${entry.registrarId}`);
        if (entry.cooldownUntil) cooldowns.set(entry.registrarId, Date.parse(entry.cooldownUntil));
      }
      continue;
    }
    const earlier = entry.resubmissionOf;
    const policy = entry.resubmissionPolicy;
    if (earlier !== undefined && !deciders.has(earlier))
      return broken(`it resubmits ${earlier}, which no earlier entry shows decided`);
    if (earlier !== undefined) resubmits.set(entry.packetId, earlier);
    const earlierDeciders = earlier === undefined ? [] : decidersBefore(earlier);
    const last = earlierDeciders[0];
    const lastEligible = last !== undefined && entry.eligible.includes(last);
    if (policy === 'same_registrar' && last !== undefined) {
      if (lastEligible && entry.eligible.length > 1)
        return broken(`others are eligible besides ${last}, who decided the earlier submission`);
      const lastOut = entry.excluded.find(({ registrarId }) => registrarId === last);
      // Without him the packet is drawn like any other only once he is removed or recused from it; else it waits.
      if (!lastEligible && lastOut && lastOut.reason !== 'removed' && lastOut.reason !== 'recused')
        return broken(
          `it was drawn without ${last}, who decided the earlier submission and is ${lastOut.reason}`,
        );
    }
    const at = Date.parse(entry.at);
    const recused = (registrarId: string) => recusals.has(`${entry.packetId} ${registrarId}`);
    const coolingDown = (registrarId: string) => (cooldowns.get(registrarId) ?? 0) > at;
    for (const registrarId of entry.eligible) {
      const ineligible = holding.has(registrarId)
        ? 'holds a packet'
        : statusOf(registrarId) !== 'free'
          ? `is ${statusOf(registrarId)}`
          : recused(registrarId)
            ? 'recused from it'
            : coolingDown(registrarId)
              ? 'is in a recusal cooldown'
              : policy === 'exclude_earlier' && earlierDeciders.includes(registrarId)
                ? 'decided an earlier submission'
                : undefined;
      if (ineligible) return broken(`${registrarId} is eligible but ${ineligible}`);
    }
    for (const { registrarId, reason } of entry.excluded) {
      const justifiedBy: Record<ExclusionReason, boolean> = {
        busy: holding.has(registrarId),
        away: !holding.has(registrarId) && statusOf(registrarId) === 'away',
        removed: statusOf(registrarId) === 'removed',
        recused: recused(registrarId),
        cooldown: coolingDown(registrarId),
        decided_earlier_submission: policy === 'exclude_earlier' && earlierDeciders.includes(registrarId),
        not_earlier_decider: policy === 'same_registrar' && lastEligible && last !== registrarId,
      };
      if (!justifiedBy[reason])
        return broken(`${registrarId} is excluded as ${reason}, which no earlier entry shows`);
      if (reason === 'away' && !statuses.has(registrarId)) counts.notInLog++;
      else counts.justified++;
    }
    holding.set(entry.chosen, entry.seq);
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
