import { type DrawVerification, type PublishedEpoch, verifyDraws } from '../domain/audit-trail.js';
import {
  type EpochAnnouncementBody,
  epochAnnouncementMessage,
  type SignedCheckpoint,
  type SignedEpochAnnouncement,
} from '../domain/checkpoint.js';
import { commitmentOf, epochOf } from '../domain/committed-random.js';
import type { ProtocolEntry } from '../domain/protocol.js';
import type { Logger } from '../infra/logger.js';
import type { SigningIdentity } from '../pipeline/pades.js';
import { signWithIdentity } from '../pipeline/plain-signature.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';
import { epochAnnouncementKey, epochSecretKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';

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

  /** Every draw of an ended epoch recomputed from its secret (domain/audit-trail.ts). */
  async verifyDraws(
    entries: ProtocolEntry[],
    checkpoints: SignedCheckpoint[],
    now = new Date(),
  ): Promise<DrawVerification> {
    const epochs = new Set(
      entries.flatMap((entry) => (entry.type === 'draw' && entry.epoch !== undefined ? [entry.epoch] : [])),
    );
    return verifyDraws(
      entries,
      await this.published([...epochs], now),
      { deployment: this.deps.deployment, certificate: (await this.deps.identity()).certificates[0]! },
      checkpoints,
    );
  }

  /** The epochs as published now: announcements, and secrets of the ended ones. */
  async published(epochs: number[], now = new Date()): Promise<Map<number, PublishedEpoch>> {
    const found = new Map<number, PublishedEpoch>();
    for (const epoch of epochs) {
      const published = await this.epoch(epoch, now);
      if (published) found.set(epoch, published);
    }
    return found;
  }

  /** The commitments of the epochs announced for now and ahead, which each checkpoint repeats. */
  async commitmentsFrom(now = new Date()): Promise<Array<{ epoch: number; commitment: string }>> {
    const current = epochOf(now.getTime(), this.deps.epochSeconds);
    const epochs = (await this.announcedEpochs()).filter((epoch) => epoch >= current);
    const announcements = await Promise.all(
      epochs.map((epoch) => this.deps.protocol.epochAnnouncement(epoch)),
    );
    return announcements.flatMap((announcement) =>
      announcement ? [{ epoch: announcement.body.epoch, commitment: announcement.body.commitment }] : [],
    );
  }

  /** Every epoch announced so far. */
  announcedEpochs(): Promise<number[]> {
    return this.deps.protocol.announcedEpochs();
  }
}
