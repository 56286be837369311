import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { TestProject } from 'vitest/node';
import { redisAnswers, type SpawnedRedis, spawnRedisServer } from '../../src/infra/redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * Tests run against a real Redis: TEST_REDIS_URL, else the local default, else a redis-server we spawn on a free
 * port (and stop afterwards). Every test uses its own key prefix, so a shared Redis is safe.
 */
export default async function setup(project: TestProject) {
  // The browser tests load the pages the API serves from dist/web: build them from the current sources.
  await build({
    configFile: fileURLToPath(new URL('../../vite.config.ts', import.meta.url)),
    logLevel: 'warn',
  });
  const candidate = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  let spawned: SpawnedRedis | undefined;
  let dir: string | undefined;
  if (!(await redisAnswers(candidate))) {
    if (process.env.TEST_REDIS_URL) throw new Error(`TEST_REDIS_URL ${candidate} does not answer`);
    dir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-redis-'));
    spawned = await spawnRedisServer(dir);
  }
  project.provide('redisUrl', spawned?.url ?? candidate);
  return async () => {
    await spawned?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  };
}
