import { type DrawRules, poolFor } from '../domain/draw.js';
import type { RegistrarStatus, Service } from '../domain/types.js';
import type { ReadyQueueRepository } from '../repositories/ready-queue-repository.js';
import type { RegistrarRepository } from '../repositories/registrar-repository.js';
import type { ServiceCatalogRepository } from '../repositories/service-catalog-repository.js';

export type QueueDepth = { name: string; waiting: number; active: number; delayed: number; failed: number };

export type OfficeOverviewDeps = {
  registrars: Pick<RegistrarRepository, 'list'>;
  readyQueue: Pick<ReadyQueueRepository, 'waitingPackets'>;
  catalog: Pick<ServiceCatalogRepository, 'list'>;
  queueDepths: () => Promise<QueueDepth[]>;
  /** DISPATCH_MIN_POOL and RESUBMISSION_POLICY: who may take a waiting packet. */
  rules: Omit<DrawRules, 'now'>;
};

export type ServiceNow = {
  slug: string;
  names: Service['names'];
  registrars: Array<{ id: string; name: string; status: Exclude<RegistrarStatus, 'removed'> }>;
  free: number;
  busy: number;
  away: number;
  /** Ready packets waiting for a draw, oldest first. */
  waiting: Array<{
    packetId: string;
    readySince: string;
    waitedSeconds: number;
    eligible: number;
    starved: boolean;
  }>;
};

export type OfficeNow = { at: string; minPool: number; services: ServiceNow[]; queues: QueueDepth[] };

/**
 * The office as the administrator watches it: per service, who is free, busy or away, which packets wait and for
 * how long, and which of them are starved (fewer eligible registrars than DISPATCH_MIN_POOL); the job queues' depths.
 */
export class OfficeOverview {
  constructor(private readonly deps: OfficeOverviewDeps) {}

  async now(): Promise<OfficeNow> {
    const [catalogue, all, waiting, queues] = await Promise.all([
      this.deps.catalog.list(),
      this.deps.registrars.list(),
      this.deps.readyQueue.waitingPackets(),
      this.deps.queueDepths(),
    ]);
    const registrars = all.filter((registrar) => registrar.status !== 'removed');
    const now = Date.now();
    // Services that registrars or packets name are shown even if they predate the catalogue.
    const slugs = new Set([
      ...catalogue.map((service) => service.slug),
      ...registrars.flatMap((registrar) => registrar.services),
      ...waiting.map((packet) => packet.service),
    ]);
    const services = [...slugs].sort().map((slug): ServiceNow => {
      const serving = registrars.filter((registrar) => registrar.services.includes(slug));
      const count = (status: RegistrarStatus) =>
        serving.filter((registrar) => registrar.status === status).length;
      return {
        slug,
        names: catalogue.find((service) => service.slug === slug)?.names ?? { uk: slug, en: slug },
        registrars: serving.map(({ id, name, status }) => ({
          id,
          name,
          status: status as Exclude<RegistrarStatus, 'removed'>,
        })),
        free: count('free'),
        busy: count('busy'),
        away: count('away'),
        waiting: waiting
          .filter((packet) => packet.service === slug)
          .map((packet) => {
            const pool = poolFor(packet, registrars, { ...this.deps.rules, now });
            const eligible = pool.eligible.length;
            return {
              packetId: packet.id,
              readySince: new Date(packet.readyAt).toISOString(),
              waitedSeconds: Math.max(0, Math.round((now - packet.readyAt) / 1000)),
              eligible,
              starved: eligible < pool.minPool,
            };
          }),
      };
    });
    return { at: new Date(now).toISOString(), minPool: this.deps.rules.minPool, services, queues };
  }
}
