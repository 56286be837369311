import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/infra/embedded-s3.js';
import { createLogger } from '../../src/infra/logger.js';
import { connectRedis, type SpawnedRedis, spawnRedisServer } from '../../src/infra/redis.js';
import { buildApiRole } from '../../src/roles/api.js';
import { type Infrastructure, openInfrastructure } from '../../src/roles/infrastructure.js';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import { makePage } from '../helpers/images.js';
import { testEnv, uniquePrefix } from '../helpers/stack.js';

const REDIS_COMMAND_TIMEOUT_MS = 1000;

/** This file owns its Redis and S3 servers, so it can stop and restart them. */
let dataDir: string;
let redis: SpawnedRedis;
let s3: EmbeddedS3;
let infra: Infrastructure;
let app: FastifyInstance;
const api = apiClient(() => app);

async function waitUntilReady(timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await api.json('GET', '/health/ready')).statusCode === 200) return;
    await sleep(100);
  }
  throw new Error('service did not become ready again');
}

async function timed<T>(action: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await action();
  return { result, ms: performance.now() - started };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-unavailable-'));
  redis = await spawnRedisServer(path.join(dataDir, 'redis'));
  s3 = await startEmbeddedS3(dataDir);
  const config = loadConfig({
    ...testEnv(s3, uniquePrefix('unavailable'), dataDir),
    REDIS_URL: redis.url,
    REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS),
  });
  infra = await openInfrastructure(config, createLogger(config.logLevel));
  app = await buildApiRole(infra);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await infra?.shutdown.shutdown();
  await s3?.close();
  await redis?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('when Redis goes away', () => {
  it('answers 503 quickly, and recovers by itself with accepted data intact when Redis returns', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    expect((await api.uploadPage(station.token, packet.id, 1, await makePage('png'))).statusCode).toBe(201);
    // A crash right after the acknowledgement: appendfsync always put the page record on disk before the 201.
    await redis.stop('SIGKILL');
    const { result: create, ms } = await timed(() =>
      api.json('POST', '/v1/packets', station.token, { ticket: 'A-2', service: 'land' }),
    );
    expect(create.statusCode).toBe(503);
    expect(errorCodeOf(create)).toBe('unavailable');
    expect(create.headers['retry-after']).toBeDefined();
    expect(ms).toBeLessThan(3000);
    const upload = await api.uploadPage(station.token, packet.id, 2, await makePage('png', { seed: 2 }));
    expect(upload.statusCode).toBe(503);
    const ready = await api.json('GET', '/health/ready');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.s3).toBe('ok');
    expect(ready.json().checks.redis).not.toBe('ok');

    redis = await spawnRedisServer(path.join(dataDir, 'redis'), redis.port);
    await waitUntilReady();
    const view = await api.getPacket(station.token, packet.id);
    expect(view.statusCode).toBe(200);
    expect(view.json().pages).toHaveLength(1);
    expect(
      (await api.uploadPage(station.token, packet.id, 2, await makePage('png', { seed: 2 }))).statusCode,
    ).toBe(201);
  });
});

describe('when Redis hangs (the process stopped, its connections open)', () => {
  it('answers 503 at the command deadline instead of holding requests, and recovers', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await makePage('png');
    redis.process.kill('SIGSTOP');
    try {
      const { result: view, ms } = await timed(() => api.getPacket(station.token, packet.id));
      expect(view.statusCode).toBe(503);
      expect(errorCodeOf(view)).toBe('unavailable');
      expect(ms).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 1500);
      // Uploads pass the per-token rate limit (counted in Redis) before the token lookup: one deadline, not two.
      const { result: upload, ms: uploadMs } = await timed(() =>
        api.uploadPage(station.token, packet.id, 1, page),
      );
      expect(upload.statusCode).toBe(503);
      expect(errorCodeOf(upload)).toBe('unavailable');
      expect(uploadMs).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS * 1.75);
      const { result: ready, ms: readyMs } = await timed(() => api.json('GET', '/health/ready'));
      expect(ready.statusCode).toBe(503);
      expect(readyMs).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 1500);
    } finally {
      redis.process.kill('SIGCONT');
    }
    await waitUntilReady();
    expect((await api.getPacket(station.token, packet.id)).statusCode).toBe(200);
  });
});

describe('when Redis is full (maxmemory reached, noeviction)', () => {
  it('answers 503 to writes, keeps what it had, and accepts the page once there is room', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await makePage('png');
    const admin = await connectRedis(redis.url, 'command');
    try {
      await admin.config('SET', 'maxmemory', '1');
      const upload = await api.uploadPage(station.token, packet.id, 1, page);
      expect(upload.statusCode).toBe(503);
      expect(errorCodeOf(upload)).toBe('unavailable');
      expect(upload.headers['retry-after']).toBeDefined();
      // Reads still work: the packet is there, without the page that was refused.
      expect((await api.getPacket(station.token, packet.id)).json().pages).toEqual([]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
    expect((await api.uploadPage(station.token, packet.id, 1, page)).statusCode).toBe(201);
  });
});

describe('when S3 goes away', () => {
  it('answers 503 to uploads without recording the page, and accepts it once S3 is back', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await makePage('png');
    const port = s3.port;
    await s3.close();

    const { result: upload, ms } = await timed(() => api.uploadPage(station.token, packet.id, 1, page));
    expect(upload.statusCode).toBe(503);
    expect(errorCodeOf(upload)).toBe('unavailable');
    expect(ms).toBeLessThan(3000);
    expect((await api.getPacket(station.token, packet.id)).json().pages).toEqual([]);
    expect((await api.json('GET', '/health/ready')).statusCode).toBe(503);

    s3 = await startEmbeddedS3(dataDir, port);
    await waitUntilReady();
    expect((await api.uploadPage(station.token, packet.id, 1, page)).statusCode).toBe(201);
  });
});
