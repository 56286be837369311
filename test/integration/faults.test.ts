import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { JOBS } from '../../src/domain/jobs.js';
import { verifyChain } from '../../src/domain/protocol.js';
import { startEmbeddedS3 } from '../../src/infra/embedded-s3.js';
import { createLogger } from '../../src/infra/logger.js';
import { type SpawnedRedis, spawnRedisServer } from '../../src/infra/redis.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import { startDispatcherRole } from '../../src/roles/dispatcher.js';
import { apiClient } from '../helpers/api-client.js';
import { dispatcherFor, freeRegistrars, readyPacket } from '../helpers/dispatch.js';
import { startTestPool, startTestWorkers } from '../helpers/ocr-pool.js';
import { type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack, testEnv, useTestStack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

const _log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/** Object keys s3rver keeps under a packet (it stores each object as `<key>._S3rver_object`). */
async function storedObjects(stack: TestStack, packetId: string): Promise<string[]> {
  const root = path.join(stack.dataDir, 's3', 'test-bucket', 'packets', packetId);
  const entries = await readdir(root, { recursive: true });
  return entries.filter((entry) => entry.endsWith('._S3rver_object')).sort();
}

describe('a worker process killed in the middle of OCR, again and again', () => {
  const held = useTestStack('fault-worker');
  const api = apiClient(() => held.stack.app);

  it('ends with every page done exactly once, with no duplicate objects, after a new worker starts', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const pages = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        generatePage({ dpi: 200, skewDeg: i * 2 - 3, paragraphs: { from: i * 2, count: 2 } }),
      ),
    );
    for (const [i, page] of pages.entries())
      await api.uploadPage(station.token, packet.id, i + 1, page.bytes, 'image/jpeg');

    const env = testEnv(held.stack.s3, held.stack.prefix, held.stack.dataDir, {
      ROLE: 'worker',
      OCR_CONCURRENCY: '1',
      METRICS_PORT: '0',
      // Short locks, so work held by a killed worker comes back in seconds, not a minute.
      JOB_LOCK_MS: '3000',
      JOB_STALLED_CHECK_MS: '1000',
    });
    const statuses = async () =>
      (await api.getPacket(station.token, packet.id))
        .json()
        .pages.map((p: { status: string }) => p.status) as string[];
    let kills = 0;
    for (let round = 0; round < 3; round++) {
      const worker: ServiceProcess = startServiceProcess(env);
      await until('a page in processing', async () => (await statuses()).includes('processing'));
      worker.child.kill('SIGKILL');
      await worker.exitCode;
      kills++;
    }
    const survivor = startServiceProcess(env);
    try {
      await until(
        'all pages done',
        async () => (await statuses()).every((status) => status === 'done'),
        120_000,
      );
    } finally {
      expect(await survivor.stop('SIGTERM')).toBe(0);
    }
    expect(kills).toBe(3);
    const counts = await held.stack.infra.jobs.queues
      .get('pages')!
      .getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
    expect(counts).toMatchObject({ completed: 4, failed: 0, waiting: 0, active: 0, delayed: 0 });
    // Per page: the original, the processed image, the OCR result and the thumbnail, at their fixed keys; nothing
    // twice.
    const objects = await storedObjects(held.stack, packet.id);
    expect(objects).toHaveLength(16);
    for (let n = 1; n <= 4; n++)
      expect(objects.filter((key) => key.startsWith(`pages/${n}/`))).toHaveLength(4);
  }, 240_000);
});

describe('the same page’s job stalled twice (its worker killed twice in the middle of OCR)', () => {
  let stack: TestStack;
  const api = apiClient(() => stack.app);
  beforeAll(async () => {
    stack = await startTestStack('fault-stalled-twice', { RECONCILE_SECONDS: '1' });
    await startDispatcherRole(stack.infra);
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is failed by BullMQ’s stalled limit, and the reconciler queues the page again: it ends done', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await generatePage({ dpi: 300, paragraphs: { from: 3, count: 4 } });
    await api.uploadPage(station.token, packet.id, 1, page.bytes, 'image/jpeg');
    const run1 = { packetId: packet.id, n: 1, run: 1 };
    const job = () => stack.infra.jobs.queues.get('pages')!.getJob(JOBS.processPage.jobId(run1));
    const env = testEnv(stack.s3, stack.prefix, stack.dataDir, {
      ROLE: 'worker',
      OCR_CONCURRENCY: '1',
      METRICS_PORT: '0',
      JOB_LOCK_MS: '3000',
      JOB_STALLED_CHECK_MS: '1000',
    });
    let killedAt = 0;
    for (let round = 0; round < 2; round++) {
      const worker = startServiceProcess(env);
      // This run's job is being worked on again: active, and picked up after the last kill.
      await until('the page’s job active in this worker', async () => {
        const current = await job();
        return (await current?.getState()) === 'active' && (current?.processedOn ?? 0) > killedAt;
      });
      worker.child.kill('SIGKILL');
      await worker.exitCode;
      killedAt = Date.now();
    }
    const survivor = startServiceProcess(env);
    try {
      await until(
        'run 1 failed by the stalled limit',
        async () => (await (await job())?.getState()) === 'failed',
      );
      const done = await until(
        'page done',
        async () => {
          const record = await stack.infra.repositories.packets.getPage(packet.id, 1);
          return record?.status === 'done' ? record : undefined;
        },
        90_000,
      );
      expect(done.run).toBeGreaterThan(1);
      const view = (await api.getPacket(TEST_ADMIN_TOKEN, packet.id)).json();
      expect(view.repairs).toContainEqual(expect.objectContaining({ kind: 'page_requeued' }));
    } finally {
      expect(await survivor.stop('SIGTERM')).toBe(0);
    }
  }, 180_000);
});

describe('S3 unavailable while a packet is bundled', () => {
  let stack: TestStack;
  let pool: TesseractPool;
  const api = apiClient(() => stack.app);
  beforeAll(async () => {
    stack = await startTestStack('fault-s3');
    pool = await startTestPool({ workers: 1 });
    await startTestWorkers(stack.infra, pool);
  });
  afterAll(async () => {
    await stack?.close();
    await pool?.close();
  });

  it('retries with backoff and completes once S3 is back (~10 s later)', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    await api.uploadPage(station.token, packet.id, 1, (await generatePage({ dpi: 200 })).bytes, 'image/jpeg');
    await until(
      'page done',
      async () => (await api.getPacket(station.token, packet.id)).json().pages[0].status === 'done',
    );

    const port = stack.s3.port;
    await stack.s3.close();
    const outageStarted = Date.now();
    expect((await api.submit(station.token, packet.id, 1)).statusCode).toBe(202);
    await until(
      'a failed bundle attempt',
      async () => {
        const jobs = await stack.infra.jobs.queues.get('packets')!.getJobs(['delayed', 'waiting', 'active']);
        return jobs.some((job) => job.attemptsMade > 0);
      },
      30_000,
    );
    await sleep(Math.max(0, 10_000 - (Date.now() - outageStarted)));
    stack.s3 = await startEmbeddedS3(stack.dataDir, port);

    const ready = await until(
      'packet ready',
      async () => {
        const view = (await api.getPacket(station.token, packet.id)).json();
        return view.status === 'ready' ? view : undefined;
      },
      60_000,
    );
    expect(ready.status).toBe('ready');
    const [job] = await stack.infra.jobs.queues.get('packets')!.getJobs(['completed']);
    expect(job!.attemptsMade).toBeGreaterThan(1);
  }, 120_000);
});

describe('Redis killed and restarted while pages are processed', () => {
  let redis: SpawnedRedis;
  let redisDir: string;
  let stack: TestStack;
  let pool: TesseractPool;
  const api = apiClient(() => stack.app);
  beforeAll(async () => {
    redisDir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-redis-restart-'));
    redis = await spawnRedisServer(redisDir);
    stack = await startTestStack('fault-redis', { REDIS_URL: redis.url });
    pool = await startTestPool({ workers: 1 });
    await startTestWorkers(stack.infra, pool);
  });
  afterAll(async () => {
    await stack?.close().catch(() => {});
    await pool?.close();
    await redis?.stop();
    await rm(redisDir, { recursive: true, force: true });
  });

  it('loses no accepted page or packet; the API and the queue resume by themselves', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const pages = await Promise.all(
      [0, 1, 2].map((i) => generatePage({ dpi: 200, paragraphs: { from: i + 4, count: 2 } })),
    );
    for (const [i, page] of pages.entries())
      await api.uploadPage(station.token, packet.id, i + 1, page.bytes, 'image/jpeg');
    // A crash right after the last acknowledgement: appendfsync always put every acknowledged write on disk.
    await redis.stop('SIGKILL');
    await sleep(1000);
    redis = await spawnRedisServer(redisDir, redis.port);
    await until(
      'the API is ready again',
      async () => (await api.json('GET', '/health/ready')).statusCode === 200,
      30_000,
    );

    const view = await until(
      'all three pages done',
      async () => {
        const current = (await api.getPacket(station.token, packet.id)).json();
        return current.pages?.length === 3 &&
          current.pages.every((p: { status: string }) => p.status === 'done')
          ? current
          : undefined;
      },
      120_000,
    );
    expect(view.pages.map((p: { n: number }) => p.n)).toEqual([1, 2, 3]);
    expect((await api.submit(station.token, packet.id, 3)).statusCode).toBe(202);
  }, 180_000);
});

describe('a dispatcher that dies between draw and assignment', () => {
  const held = useTestStack('fault-dispatch');

  it('loses nothing: another dispatcher assigns the packet once, and the chain verifies', async () => {
    const { infra } = held.stack;
    await freeRegistrars(infra, 3, ['fault']);
    const packet = await readyPacket(infra, 'fault');
    // This dispatcher draws, then "dies" at the moment it would commit the assignment.
    const doomed = dispatcherFor(infra);
    const { packets } = infra.repositories;
    const realAssign = packets.assign.bind(packets);
    packets.assign = async () => {
      throw new Error('process killed between draw and assignment');
    };
    await expect(doomed.dispatchAll()).rejects.toThrow('killed');
    packets.assign = realAssign;
    expect((await infra.repositories.packets.get(packet.id))!.status).toBe('ready');
    expect((await infra.repositories.protocol.entries()).filter((entry) => entry.type !== 'status')).toEqual(
      [],
    );

    expect(await dispatcherFor(infra).dispatchAll()).toBe(1);
    const assigned = (await infra.repositories.packets.get(packet.id))!;
    expect(assigned.status).toBe('assigned');
    const entries = await infra.repositories.protocol.entries();
    expect(entries.filter((entry) => entry.type === 'draw' && entry.packetId === packet.id)).toHaveLength(1);
    expect(verifyChain(entries).ok).toBe(true);
  });

  it('survives dispatcher processes being SIGKILLed while 40 packets are drawn and decided', async () => {
    const { infra } = held.stack;
    const registrars = await freeRegistrars(infra, 4, ['fault-loop']);
    const packets = await Promise.all(Array.from({ length: 40 }, () => readyPacket(infra, 'fault-loop')));
    const env = testEnv(held.stack.s3, held.stack.prefix, held.stack.dataDir, {
      ROLE: 'dispatcher',
      METRICS_PORT: '0',
      DISPATCH_SWEEP_SECONDS: '1',
    });
    let dispatcher = startServiceProcess(env);
    let decided = 0;
    let kills = 0;
    const deadline = Date.now() + 120_000;
    while (decided < packets.length && Date.now() < deadline) {
      for (const id of registrars) {
        const registrar = (await infra.repositories.registrars.get(id))!;
        if (!registrar.packetId) continue;
        const held = (await infra.repositories.packets.get(registrar.packetId))!;
        if (
          (await infra.repositories.packets.decide(held.id, id, held.drawSeq!, 'approved', '')).outcome ===
          'ok'
        )
          decided++;
      }
      // Kill the dispatcher after every 8 decisions (several may land in one pass, so compare, not modulo).
      if (decided >= (kills + 1) * 8 && decided < packets.length) {
        dispatcher.child.kill('SIGKILL');
        await dispatcher.exitCode;
        kills++;
        dispatcher = startServiceProcess(env);
      }
      await sleep(20);
    }
    // A graceful stop needs a process that got as far as installing its signal handlers.
    await dispatcher.waitFor(/Scan office is running/);
    expect(await dispatcher.stop('SIGTERM')).toBe(0);
    expect(decided).toBe(40);
    expect(kills).toBeGreaterThanOrEqual(3);
    const entries = await infra.repositories.protocol.entries();
    expect(verifyChain(entries).ok).toBe(true);
    const draws = entries.flatMap((entry) =>
      entry.type === 'draw' && packets.some((p) => p.id === entry.packetId) ? [entry] : [],
    );
    expect(draws).toHaveLength(40);
    expect(new Set(draws.map((draw) => draw.packetId)).size).toBe(40);
  }, 180_000);
});

describe('the API process restarted during a multi-page upload', () => {
  const held = useTestStack('fault-api');

  it('the station retries and ends with a complete packet', async () => {
    const api = apiClient(() => held.stack.app);
    const station = await api.createStation();
    await api.addService('land');
    const env = testEnv(held.stack.s3, held.stack.prefix, held.stack.dataDir, { ROLE: 'api', PORT: '0' });
    const pages = await Promise.all(
      [1, 2, 3, 4].map((n) => generatePage({ dpi: 200, paragraphs: { from: n, count: 1 } })),
    );
    const upload = (base: string, packetId: string, n: number) =>
      fetch(`${base}/v1/packets/${packetId}/pages/${n}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${station.token}`, 'content-type': 'image/jpeg' },
        body: pages[n - 1]!.bytes,
      });

    let service = startServiceProcess(env);
    let [, base] = await service.waitFor(/API\s+(http:\/\/\S+)\/v1/);
    const created = await fetch(`${base}/v1/packets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${station.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ticket: 'R-1', service: 'land' }),
    });
    const packet = (await created.json()) as { id: string };
    expect((await upload(base!, packet.id, 1)).status).toBe(201);
    expect((await upload(base!, packet.id, 2)).status).toBe(201);
    // Page 3 is on the wire when the process dies.
    const inFlight = upload(base!, packet.id, 3).then(
      (response) => response.status,
      () => 'connection lost',
    );
    service.child.kill('SIGKILL');
    await service.exitCode;
    const firstAttempt = await inFlight;

    service = startServiceProcess(env);
    [, base] = await service.waitFor(/API\s+(http:\/\/\S+)\/v1/);
    // The station's retry: 201 if the first attempt never landed, 200 if it did.
    expect([200, 201]).toContain((await upload(base!, packet.id, 3)).status);
    expect((await upload(base!, packet.id, 4)).status).toBe(201);
    const submit = await fetch(`${base}/v1/packets/${packet.id}/submit`, {
      method: 'POST',
      headers: { authorization: `Bearer ${station.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pages: 4 }),
    });
    expect(submit.status).toBe(202);
    expect(await service.stop('SIGTERM')).toBe(0);
    const view = (await api.getPacket(station.token, packet.id)).json();
    expect(view.pages.map((p: { n: number }) => p.n)).toEqual([1, 2, 3, 4]);
    expect(['connection lost', 201]).toContain(firstAttempt);
  }, 120_000);
});
