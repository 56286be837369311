import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { AssignmentRepository } from '../repositories/assignment-repository.js';
import type { PacketRepository } from '../repositories/packet-repository.js';
import type { PrincipalRepository } from '../repositories/principal-repository.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { JobQueue } from '../workers/jobs.js';
import type { PacketProgress } from '../workers/packet-progress.js';

/** Everything the HTTP layer needs, passed in so tests can build the app against their own Redis and S3. */
export type AppDeps = {
  config: Config;
  log: Logger;
  redis: Redis;
  store: ObjectStore;
  packets: PacketRepository;
  principals: PrincipalRepository;
  jobs: JobQueue;
  progress: PacketProgress;
  assignments: AssignmentRepository;
  /** Shown on the admin queue dashboard. */
  queues: Queue[];
  metrics: Metrics;
  adminToken: string;
};
