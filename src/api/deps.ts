import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { Access } from '../services/access.js';
import type { Audit } from '../services/audit.js';
import type { Intake } from '../services/intake.js';
import type { OfficeOverview } from '../services/office-overview.js';
import type { PacketRecovery } from '../services/packet-recovery.js';
import type { PoolAdministration } from '../services/pool-administration.js';
import type { RegistrarDesk } from '../services/registrar-desk.js';
import type { ServiceCatalogue } from '../services/service-catalogue.js';
import type { Tracking } from '../services/tracking.js';

export type ApiServices = {
  access: Access;
  intake: Intake;
  recovery: PacketRecovery;
  desk: RegistrarDesk;
  administration: PoolAdministration;
  audit: Audit;
  tracking: Tracking;
  catalogue: ServiceCatalogue;
  office: OfficeOverview;
};

/** Everything the HTTP layer needs, built by the API role (and by tests against their own Redis and S3). */
export type ApiDeps = {
  config: Config;
  log: Logger;
  metrics: Metrics;
  services: ApiServices;
  /** Rate-limit counters live here, and its state tells whether an error means Redis is unavailable. */
  redis: Redis;
  /** Readiness probes by dependency. */
  readiness: { redis: () => Promise<unknown>; s3: () => Promise<unknown> };
  /** Shown on the admin queue dashboard. */
  queues: Queue[];
  adminToken: string;
  /** Where the built web front end is (tests may point elsewhere); default WEB_ROOT. */
  webRoot?: string;
};
