import {
  type EpochAnnouncementBody,
  epochAnnouncementMessage,
  type SignedEpochAnnouncement,
} from '../domain/checkpoint.js';
import { commitmentOf, drawMismatch, epochOf, epochStartMs } from '../domain/committed-random.js';
import type { ProtocolEntry } from '../domain/protocol.js';
import type { Logger } from '../infra/logger.js';
import type { SigningIdentity } from '../pipeline/pades.js';
import { signedBy, signWithIdentity } from '../pipeline/plain-signature.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';
import { epochAnnouncementKey, epochSecretKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';

export type DrawVerification =
  | {
      ok: true;
      /** Draws recomputed from their epoch's revealed secret. */
      verified: number;
      /** Draws of an epoch not over yet (its secret is not revealed). */
      pending: number;
      /** Draws whose epoch was announced only after it began (a deployment's first epoch), or without one. */
      uncommitted: number;
    }
  | { ok: false; brokenAt: number; reason: string };

/**
 * The randomness epochs (committed-random.ts): before an epoch begins its secret's SHA-256 is signed with the office
 * key and published (Redis, and written once in S3); after it ends the secret is published. Draws take their
 * indexes from the current epoch's secret; the audit recomputes every draw of an ended epoch.
 */
export class RandomnessEpochs {
  /** Epochs whose secret this process has seen published, so each pass does not ask S3 again. */
  private readonly revealed = new Set<number>();

  constructor(
    private readonly deps: {
      protocol: ProtocolRepository;
      store: ObjectStore;
      deployment: string;
      epochSeconds: number;
      identity: () => Promise<SigningIdentity>;
      log: Logger;
    },
  ) {}

  get epochSeconds(): number {
    return this.deps.epochSeconds;
  }

  private async putOnce(key: string, value: unknown): Promise<void> {
    if (!(await this.deps.store.stat(key)))
      await this.deps.store.put(key, Buffer.from(JSON.stringify(value)), 'application/json');
  }

  private async announce(epoch: number, now: Date): Promise<void> {
    const { protocol, deployment, epochSeconds } = this.deps;
    if (await protocol.epochAnnouncement(epoch)) return;
    const identity = await this.deps.identity();
    const body: EpochAnnouncementBody = {
      deployment,
      epoch,
      epochSeconds,
      commitment: commitmentOf(await protocol.epochSecret(epoch)),
      announcedAt: now.toISOString(),
    };
    const signed: SignedEpochAnnouncement = {
      body,
      signature: (await signWithIdentity(epochAnnouncementMessage(body), identity)).toString('base64'),
      certificate: identity.certificates[0]!.toString('base64'),
    };
    await protocol.addEpochAnnouncement(epoch, signed);
    // Two dispatchers may race: whichever announcement Redis kept is the one S3 gets.
    await this.putOnce(epochAnnouncementKey(deployment, epoch), await protocol.epochAnnouncement(epoch));
    this.deps.log.info({ epoch, commitment: body.commitment }, 'randomness epoch announced');
  }

  /**
   * Announces the current and the next epoch (the next one ahead of time, which is what makes its draws
   * committed), and reveals the secrets of epochs that have ended. Returns the current epoch and its secret.
   */
  async prepare(now = new Date()): Promise<{ epoch: number; secret: string }> {
    const { protocol, deployment, epochSeconds } = this.deps;
    const current = epochOf(now.getTime(), epochSeconds);
    await this.announce(current, now);
    await this.announce(current + 1, now);
    for (const epoch of await protocol.epochsWithSecrets()) {
      if (epoch >= current) break;
      if (this.revealed.has(epoch)) continue;
      const secret = (await protocol.existingEpochSecret(epoch))!;
      await this.putOnce(epochSecretKey(deployment, epoch), { epoch, secret });
      this.revealed.add(epoch);
    }
    return { epoch: current, secret: await protocol.epochSecret(current) };
  }

  /** An epoch's announcement and, once it has ended, its secret. */
  async epoch(
    epoch: number,
    now = new Date(),
  ): Promise<{ announcement: SignedEpochAnnouncement; secret?: string } | undefined> {
    const announcement = await this.deps.protocol.epochAnnouncement(epoch);
    if (!announcement) return undefined;
    const ended = epoch < epochOf(now.getTime(), this.deps.epochSeconds);
    const secret = ended ? await this.deps.protocol.existingEpochSecret(epoch) : undefined;
    return { announcement, ...(secret ? { secret } : {}) };
  }

  /**
   * Recomputes every draw of an ended epoch from its secret, after checking that the secret is the one the office
   * signed before the epoch began and that the draw was made in that epoch.
   */
  async verifyDraws(entries: ProtocolEntry[], now = new Date()): Promise<DrawVerification> {
    const office = (await this.deps.identity()).certificates[0]!;
    const current = epochOf(now.getTime(), this.deps.epochSeconds);
    const known = new Map<number, { committedInAdvance: boolean; secret?: string } | string>();
    const epochFacts = async (epoch: number) => {
      const announcement = await this.deps.protocol.epochAnnouncement(epoch);
      if (!announcement) return `epoch ${epoch} was never announced`;
      const { body } = announcement;
      if (!Buffer.from(announcement.certificate, 'base64').equals(office))
        return `epoch ${epoch}'s announcement is not signed with the office certificate`;
      if (!signedBy(epochAnnouncementMessage(body), Buffer.from(announcement.signature, 'base64'), office))
        return `epoch ${epoch}'s announcement has an invalid signature`;
      if (body.epoch !== epoch || body.deployment !== this.deps.deployment)
        return `epoch ${epoch}'s announcement is about another epoch`;
      const committedInAdvance = Date.parse(body.announcedAt) < epochStartMs(epoch, body.epochSeconds);
      if (epoch >= current) return { committedInAdvance };
      const secret = await this.deps.protocol.existingEpochSecret(epoch);
      if (!secret || commitmentOf(secret) !== body.commitment)
        return `epoch ${epoch}'s secret is not the one announced`;
      return { committedInAdvance, secret };
    };
    const counts = { verified: 0, pending: 0, uncommitted: 0 };
    for (const entry of entries) {
      if (entry.type !== 'draw') continue;
      if (entry.epoch === undefined) {
        counts.uncommitted++;
        continue;
      }
      const broken = (reason: string): DrawVerification => ({ ok: false, brokenAt: entry.seq, reason });
      const drawnIn = epochOf(Date.parse(entry.at), this.deps.epochSeconds);
      // Planned at the end of one epoch and written at the start of the next: that much and no more.
      if (drawnIn !== entry.epoch && drawnIn !== entry.epoch + 1)
        return broken(`a draw at ${entry.at} names epoch ${entry.epoch}`);
      if (!known.has(entry.epoch)) known.set(entry.epoch, await epochFacts(entry.epoch));
      const facts = known.get(entry.epoch)!;
      if (typeof facts === 'string') return broken(facts);
      if (!facts.committedInAdvance) counts.uncommitted++;
      if (!facts.secret) {
        counts.pending++;
        continue;
      }
      const mismatch = drawMismatch(entry, facts.secret);
      if (mismatch) return broken(mismatch);
      if (facts.committedInAdvance) counts.verified++;
    }
    return { ok: true, ...counts };
  }
}
