import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import type { ApiDeps } from '../api/deps.js';
import { Access } from '../services/access.js';
import { Audit } from '../services/audit.js';
import { Intake } from '../services/intake.js';
import { OfficeOverview } from '../services/office-overview.js';
import { PacketRecovery } from '../services/packet-recovery.js';
import { PoolAdministration } from '../services/pool-administration.js';
import { RegistrarDesk } from '../services/registrar-desk.js';
import { ServiceCatalogue } from '../services/service-catalogue.js';
import { Tracking } from '../services/tracking.js';
import { type Infrastructure, packetProgressOf, protocolTrailOf } from './infrastructure.js';

/** The HTTP app's dependencies: its services over the shared infrastructure. */
export function apiDepsOf(infra: Infrastructure): ApiDeps {
  const { config, log, redis, store, metrics, jobs } = infra;
  const { packets, registrars, stations, tokens, sessions, protocol, catalog, readyQueue } =
    infra.repositories;
  const progress = packetProgressOf(infra);
  const catalogue = new ServiceCatalogue({ catalog, log: log.child({ component: 'service-catalogue' }) });
  return {
    config,
    log,
    metrics,
    redis,
    services: {
      access: new Access({
        tokens,
        registrars,
        stations,
        sessions,
        adminToken: infra.adminToken.token,
        sessionTtlSeconds: config.sessions.ttlSeconds,
      }),
      intake: new Intake({
        packets,
        store,
        progress,
        metrics,
        log: log.child({ component: 'intake' }),
        limits: config.limits.page,
        maxPages: config.limits.maxPagesPerPacket,
        catalogue,
        stations,
        office: config.office,
      }),
      recovery: new PacketRecovery({ packets, progress, log: log.child({ component: 'packet-recovery' }) }),
      desk: new RegistrarDesk({
        packets,
        registrars,
        readyQueue,
        recusalCooldownSeconds: config.dispatch.recusalCooldownSeconds,
        store,
        log: log.child({ component: 'registrar-desk' }),
      }),
      administration: new PoolAdministration({
        packets,
        registrars,
        stations,
        catalogue,
        log: log.child({ component: 'pool-administration' }),
      }),
      audit: new Audit(protocol, protocolTrailOf(infra), registrars),
      tracking: new Tracking(packets),
      catalogue,
      office: new OfficeOverview({
        registrars,
        readyQueue,
        catalog,
        rules: { minPool: config.dispatch.minPool, resubmissionPolicy: config.dispatch.resubmissionPolicy },
        queueDepths: () =>
          Promise.all(
            [...jobs.queues.values()].map(async (queue) => {
              const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
              return {
                name: queue.name,
                waiting: counts.waiting ?? 0,
                active: counts.active ?? 0,
                delayed: counts.delayed ?? 0,
                failed: counts.failed ?? 0,
              };
            }),
          ),
      }),
    },
    readiness: { redis: () => redis.ping(), s3: () => store.ping() },
    queues: [...jobs.queues.values()],
    adminToken: infra.adminToken.token,
  };
}

/** Builds the app (not listening yet), closed in the shutdown's first phase: in-flight requests finish. */
export async function buildApiRole(infra: Infrastructure): Promise<FastifyInstance> {
  const app = await buildApp(apiDepsOf(infra));
  infra.shutdown.register('intake', 'http', () => app.close());
  return app;
}

/** The API role: listens and returns the base URL a person can open. */
export async function startApiRole(infra: Infrastructure): Promise<string> {
  const app = await buildApiRole(infra);
  const { host, port } = infra.config;
  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shownHost}:${boundPort}`;
}
