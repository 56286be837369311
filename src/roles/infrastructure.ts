import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { resolveAdminToken } from '../infra/admin-token.js';
import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3 } from '../infra/embedded-s3.js';
import type { Logger } from '../infra/logger.js';
import { createMetrics, type Metrics, observeQueueDepth } from '../infra/metrics.js';
import { connectRedis, redactUrl, redisAnswers, spawnRedisServer } from '../infra/redis.js';
import { ShutdownRegistry } from '../infra/shutdown.js';
import { loadSigningIdentity } from '../infra/signing-identity.js';
import type { SigningIdentity } from '../pipeline/pades.js';
import { createRepositories, type Repositories } from '../repositories/index.js';
import { Checkpoints } from '../services/checkpoints.js';
import { PacketProgress } from '../services/packet-progress.js';
import { ProtocolMirror } from '../services/protocol-mirror.js';
import { RandomnessEpochs } from '../services/randomness-epochs.js';
import { MinioObjectStore } from '../storage/minio-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { BullJobQueue } from '../workers/queues.js';

/** Calls `load` the first time only; a failed load is tried again next time. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}

/** A start-up problem a person can fix; main prints the message and exits without a stack trace. */
export class StartupError extends Error {}

/** What every role stands on: Redis and S3 (reached or started), the repositories, job producers and metrics. */
export type Infrastructure = {
  config: Config;
  log: Logger;
  shutdown: ShutdownRegistry;
  redisUrl: string;
  /** The fail-fast connection every request and producer uses. */
  redis: Redis;
  store: ObjectStore;
  repositories: Repositories;
  jobs: BullJobQueue;
  metrics: Metrics;
  adminToken: { token: string; source: 'env' | 'file' | 'generated' };
  /** The office's signing key and certificate (packet PDFs, protocol checkpoints), loaded once when first asked. */
  signingIdentity: () => Promise<SigningIdentity>;
  /** How a person reaches what we started, for the start-up banner. */
  endpoints: { redis: string; s3: string };
};

async function resolveRedis(config: Config, log: Logger, shutdown: ShutdownRegistry) {
  if (await redisAnswers(config.redis.url))
    return { url: config.redis.url, description: redactUrl(config.redis.url) };
  if (config.redis.explicit) {
    throw new StartupError(
      `Redis at ${redactUrl(config.redis.url)} (REDIS_URL) does not answer. Start it or fix REDIS_URL.`,
    );
  }
  const dir = path.join(config.dataDir, 'redis');
  try {
    const spawned = await spawnRedisServer(dir);
    shutdown.register('servers', 'redis-server', () => spawned.stop());
    log.info(
      { port: spawned.port, dir },
      'no Redis at the default URL: started a private redis-server with AOF',
    );
    return { url: spawned.url, description: `${spawned.url} (spawned, data in ${dir})` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StartupError(
        'No Redis answers at redis://127.0.0.1:6379 and no redis-server binary is on PATH. ' +
          'Install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL.',
      );
    }
    throw error;
  }
}

async function resolveObjectStore(config: Config, log: Logger, shutdown: ShutdownRegistry) {
  const { s3 } = config;
  if (s3.endpoint) {
    const store = new MinioObjectStore({
      endPoint: s3.endpoint,
      port: s3.port,
      useSsl: s3.useSsl,
      accessKey: s3.accessKey!,
      secretKey: s3.secretKey!,
      region: s3.region,
      bucket: s3.bucket,
      timeoutMs: s3.timeoutMs,
    });
    const scheme = s3.useSsl ? 'https' : 'http';
    return {
      store,
      description: `${scheme}://${s3.endpoint}${s3.port ? `:${s3.port}` : ''} bucket ${s3.bucket}`,
    };
  }
  const embedded = await startEmbeddedS3(config.dataDir, s3.port ?? 0);
  shutdown.register('servers', 'embedded-s3', () => embedded.close());
  log.info({ port: embedded.port }, 'S3_ENDPOINT not set: started the embedded S3 server');
  const store = new MinioObjectStore({
    endPoint: embedded.host,
    port: embedded.port,
    useSsl: false,
    ...EMBEDDED_S3_CREDENTIALS,
    region: s3.region,
    bucket: s3.bucket,
    timeoutMs: s3.timeoutMs,
  });
  return {
    store,
    description: `http://${embedded.host}:${embedded.port} bucket ${s3.bucket} (embedded, data in ${path.join(config.dataDir, 's3')})`,
  };
}

/** Connects to (or starts) Redis and S3 and builds the shared pieces every role uses. */
export async function openInfrastructure(config: Config, log: Logger): Promise<Infrastructure> {
  const shutdown = new ShutdownRegistry(log);
  try {
    const redisTarget = await resolveRedis(config, log, shutdown);
    const { store, description: s3Description } = await resolveObjectStore(config, log, shutdown);
    try {
      await store.ensureBucket();
    } catch (error) {
      throw new StartupError(
        `Object storage ${s3Description} does not answer: ${(error as Error).cause ?? error}`,
      );
    }
    const adminToken = await resolveAdminToken(config.adminToken, config.dataDir);

    const redis = await connectRedis(redisTarget.url, 'command', {
      commandTimeoutMs: config.redis.commandTimeoutMs,
    });
    shutdown.register('clients', 'redis', () => redis.quit());
    const jobs = new BullJobQueue(redis, config.redis.prefix);
    shutdown.register('work', 'queues', () => jobs.close());
    const metrics = createMetrics();
    observeQueueDepth(metrics, [...jobs.queues.values()]);
    return {
      config,
      log,
      shutdown,
      redisUrl: redisTarget.url,
      redis,
      store,
      repositories: createRepositories(redis, config.redis.prefix),
      jobs,
      metrics,
      adminToken,
      signingIdentity: once(() => loadSigningIdentity(config.signing, log)),
      endpoints: { redis: redisTarget.description, s3: s3Description },
    };
  } catch (error) {
    await shutdown.shutdown();
    throw error;
  }
}

/** What happens next to a packet: every role that moves packets on builds it the same way. */
export const packetProgressOf = (infra: Infrastructure) =>
  new PacketProgress({
    packets: infra.repositories.packets,
    jobs: infra.jobs,
    metrics: infra.metrics,
    log: infra.log.child({ component: 'packet-progress' }),
    retryWindowMs: infra.config.jobs.retryWindowMs,
  });

/** The protocol's S3 mirror, in the deployment's own folder of the bucket. */
const protocolMirrorOf = (infra: Infrastructure) =>
  new ProtocolMirror({
    protocol: infra.repositories.protocol,
    store: infra.store,
    deployment: infra.config.redis.prefix,
    metrics: infra.metrics,
    log: infra.log.child({ component: 'protocol-mirror' }),
  });

/** Signed checkpoints over the protocol, with the office key, stored next to its mirror. */
const checkpointsOf = (infra: Infrastructure, epochs: RandomnessEpochs) =>
  new Checkpoints({
    protocol: infra.repositories.protocol,
    store: infra.store,
    deployment: infra.config.redis.prefix,
    identity: infra.signingIdentity,
    commitments: (now) => epochs.commitmentsFrom(now),
    policy: infra.config.checkpoints,
    log: infra.log.child({ component: 'checkpoints' }),
  });

/** The draws' randomness epochs: secrets committed ahead with the office key, revealed after. */
const randomnessEpochsOf = (infra: Infrastructure) =>
  new RandomnessEpochs({
    protocol: infra.repositories.protocol,
    store: infra.store,
    deployment: infra.config.redis.prefix,
    epochSeconds: infra.config.dispatch.epochSeconds,
    identity: infra.signingIdentity,
    log: infra.log.child({ component: 'randomness-epochs' }),
  });

/** What makes the protocol checkable from outside: its mirror, its signed checkpoints, its randomness epochs. */
export const protocolTrailOf = (infra: Infrastructure) => {
  const epochs = randomnessEpochsOf(infra);
  return { mirror: protocolMirrorOf(infra), checkpoints: checkpointsOf(infra, epochs), epochs };
};
