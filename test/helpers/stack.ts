import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, inject } from 'vitest';
import { deletePrefix } from '../../fixtures/redis-cleanup.js';
import { loadConfig } from '../../src/config.js';
import { EMBEDDED_S3_CREDENTIALS, type EmbeddedS3, startEmbeddedS3 } from '../../src/infra/embedded-s3.js';
import { createLogger } from '../../src/infra/logger.js';
import { buildApiRole } from '../../src/roles/api.js';
import { type Infrastructure, openInfrastructure } from '../../src/roles/infrastructure.js';

export const TEST_ADMIN_TOKEN = `adm_${'t'.repeat(43)}`;

export type TestStack = {
  app: FastifyInstance;
  infra: Infrastructure;
  s3: EmbeddedS3;
  prefix: string;
  dataDir: string;
  /** Stops the app and the infrastructure only (Redis data and S3 stay), as when an API process restarts. */
  restart(): Promise<void>;
  close(): Promise<void>;
};

export const uniquePrefix = (label: string) => `t-${label}-${randomBytes(4).toString('hex')}`;

export function testEnv(
  s3: EmbeddedS3,
  prefix: string,
  dataDir: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    S3_ENDPOINT: s3.host,
    S3_PORT: String(s3.port),
    S3_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.accessKey,
    S3_SECRET_KEY: EMBEDDED_S3_CREDENTIALS.secretKey,
    S3_BUCKET: 'test-bucket',
    S3_TIMEOUT_MS: '1500',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    DATA_DIR: dataDir,
    // Temporary files too (the OCR pool's traineddata folder): a process a test SIGKILLs cannot remove its own, and
    // the stack's data directory is removed after the test.
    TMPDIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...extra,
  };
}

/** A real stack for one test file: real Redis (shared, own prefix), a real S3-protocol server, the real app. */
export async function startTestStack(
  label: string,
  extraEnv: Record<string, string> = {},
): Promise<TestStack> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `scan-test-${label}-`));
  const s3 = await startEmbeddedS3(dataDir);
  const prefix = uniquePrefix(label);
  const config = loadConfig(testEnv(s3, prefix, dataDir, extraEnv));
  const start = async () => {
    const infra = await openInfrastructure(config, createLogger(config.logLevel));
    const app = await buildApiRole(infra);
    await app.ready();
    return { infra, app };
  };
  const stack = { ...(await start()), s3, prefix, dataDir } as TestStack;
  // Closes the app too: the API role registered it with the infrastructure's shutdown.
  const stop = () => stack.infra.shutdown.shutdown();
  stack.restart = async () => {
    await stop();
    Object.assign(stack, await start());
  };
  stack.close = async () => {
    await stop();
    // A test may have restarted the S3 server; close the one running now.
    await stack.s3.close();
    await deletePrefix(inject('redisUrl'), prefix);
    await rm(dataDir, { recursive: true, force: true });
  };
  return stack;
}

/** A fresh stack for the describe (or file) that calls it: started before its tests, closed after them. */
export function useTestStack(label: string, extraEnv: Record<string, string> = {}): { stack: TestStack } {
  const held = {} as { stack: TestStack };
  beforeAll(async () => {
    held.stack = await startTestStack(label, extraEnv);
  });
  afterAll(async () => {
    await held.stack?.close();
  });
  return held;
}
