import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../src/domain/errors.js';
import { startEmbeddedS3 } from '../../src/infra/embedded-s3.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import { reconcilerOf } from '../../src/roles/dispatcher.js';
import { originalPageKey } from '../../src/storage/object-keys.js';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import { dispatcherFor, freeRegistrars, readyPacket } from '../helpers/dispatch.js';
import { makePage } from '../helpers/images.js';
import { startTestPool, startTestWorkers } from '../helpers/ocr-pool.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack, useTestStack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

/**
 * One regression test per way a packet was found stranded (issue: no packet is ever stranded). Each of these left
 * a citizen's packet stuck with no error and no way out on the code before the fix.
 */

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A stack whose worker role reads with a pool the test shares, so each describe pays for OCR workers once. */
function withWorkers(label: string, env: Record<string, string> = {}) {
  const held = {} as { stack: TestStack; pool: TesseractPool };
  beforeAll(async () => {
    held.stack = await startTestStack(label, env);
    held.pool = await startTestPool({ workers: 1 });
    await startTestWorkers(held.stack.infra, held.pool);
  });
  afterAll(async () => {
    await held.stack?.close();
    await held.pool?.close();
  });
  return held;
}

const statusOf = async (stack: TestStack, packetId: string) =>
  (await stack.infra.repositories.packets.get(packetId))?.status;

describe('1. a rescan back to the first sheet', () => {
  const held = withWorkers('stranded-rescan');
  const api = apiClient(() => held.stack.app);

  it('X, then Y, then X again as page 1: the page is processed again and the packet becomes ready', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const x = await makePage('png', { seed: 1 });
    const y = await makePage('png', { seed: 2 });
    const pageStatus = async () => (await api.getPacket(station.token, packet.id)).json().pages[0]?.status;
    expect((await api.uploadPage(station.token, packet.id, 1, x)).statusCode).toBe(201);
    await until('X done', async () => (await pageStatus()) === 'done');
    expect((await api.uploadPage(station.token, packet.id, 1, y)).statusCode).toBe(201);
    expect((await api.uploadPage(station.token, packet.id, 1, x)).statusCode).toBe(201);
    expect((await api.submit(station.token, packet.id, 1)).statusCode).toBe(202);
    await until('packet ready', async () => (await statusOf(held.stack, packet.id)) === 'ready', 90_000);
    const [page] = await held.stack.infra.repositories.packets.listPages(packet.id);
    expect(page).toMatchObject({ sha256: sha256(x), status: 'done', run: 3 });
  });

  it('delete, then the same bytes again: processed again', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const x = await makePage('png', { seed: 3 });
    const pageStatus = async () => (await api.getPacket(station.token, packet.id)).json().pages[0]?.status;
    await api.uploadPage(station.token, packet.id, 1, x);
    await until('done', async () => (await pageStatus()) === 'done');
    expect((await api.json('DELETE', `/v1/packets/${packet.id}/pages/1`, station.token)).statusCode).toBe(
      204,
    );
    expect((await api.uploadPage(station.token, packet.id, 1, x)).statusCode).toBe(201);
    await until('done again', async () => (await pageStatus()) === 'done');
    expect((await held.stack.infra.repositories.packets.getPage(packet.id, 1))!.run).toBe(2);
  });
});

describe('2. images that cannot be a scanned sheet', () => {
  const held = useTestStack('stranded-implausible');
  const api = apiClient(() => held.stack.app);

  it.each([
    [1, 200_000],
    [200_000, 1],
    [150, 150],
    [4000, 300],
  ])(
    'a %i × %i image is refused at the door with 422 implausible_page, and nothing is stored',
    async (width, height) => {
      const station = await api.createStation();
      const packet = await api.createPacket(station.token);
      const image = await sharp({ create: { width, height, channels: 3, background: '#fff' } })
        .png()
        .toBuffer();
      const response = await api.uploadPage(station.token, packet.id, 1, image);
      expect(response.statusCode).toBe(422);
      expect(errorCodeOf(response)).toBe('implausible_page');
      expect(response.json().error.message).toContain(`${width}×${height}`);
      expect(await held.stack.infra.store.stat(originalPageKey(packet.id, 1, sha256(image)))).toBeUndefined();
      expect((await api.getPacket(station.token, packet.id)).json().pages).toEqual([]);
    },
  );

  it('bounds decoding by bytes: a 16-bit RGBA page over MAX_PAGE_DECODED_BYTES is refused', async () => {
    const small = await startTestStack('stranded-decoded', {
      MAX_PAGE_DECODED_BYTES: String(4 * 1024 * 1024),
    });
    try {
      const smallApi = apiClient(() => small.app);
      const station = await smallApi.createStation();
      const packet = await smallApi.createPacket(station.token);
      // 1000 × 1000 × 4 bands × 2 bytes = 8 MB decoded, from a file of a few KB; 8-bit grey of that size passes.
      const deep = await sharp({ create: { width: 1000, height: 1000, channels: 4, background: '#fff' } })
        .png({ palette: false })
        .toColourspace('rgb16')
        .toBuffer();
      const grey = await sharp({ create: { width: 1000, height: 1000, channels: 3, background: '#fff' } })
        .toColourspace('b-w')
        .png()
        .toBuffer();
      const refused = await smallApi.uploadPage(station.token, packet.id, 1, deep);
      expect(refused.statusCode).toBe(422);
      expect(errorCodeOf(refused)).toBe('image_too_large');
      expect((await smallApi.uploadPage(station.token, packet.id, 1, grey)).statusCode).toBe(201);
    } finally {
      await small.close();
    }
  });
});

/** A one-page packet whose page is done, submitted the moment S3 stops: its bundling meets the outage. */
async function submittedWithS3Away(stack: TestStack, seed: number) {
  const api = apiClient(() => stack.app);
  const station = await api.createStation();
  const packet = await api.createPacket(station.token);
  await api.uploadPage(station.token, packet.id, 1, await makePage('png', { seed }));
  await until(
    'page done',
    async () => (await api.getPacket(station.token, packet.id)).json().pages[0].status === 'done',
  );
  const port = stack.s3.port;
  await stack.s3.close();
  expect((await api.submit(station.token, packet.id, 1)).statusCode).toBe(202);
  const restartS3 = async () => {
    stack.s3 = await startEmbeddedS3(stack.dataDir, port);
  };
  return { station, packet, restartS3 };
}

describe('3a. S3 down longer than the old retries (32 s: 5 attempts took 30 s) while a packet is bundled', () => {
  const held = withWorkers('stranded-s3-long');
  const _api = apiClient(() => held.stack.app);

  it('is retried with backoff inside the retry window and becomes ready by itself', async () => {
    const { stack } = held;
    const { packet, restartS3 } = await submittedWithS3Away(stack, 4);
    await sleep(32_000);
    expect(await statusOf(stack, packet.id)).not.toBe('failed');
    await restartS3();
    await until('packet ready', async () => (await statusOf(stack, packet.id)) === 'ready', 60_000);
  }, 120_000);
});

describe('3b. S3 down longer than the retry window', () => {
  const held = withWorkers('stranded-window', { JOB_RETRY_WINDOW_S: '4' });
  const api = apiClient(() => held.stack.app);

  it('fails the packet saying an administrator can retry; his retry bundles it and assigns nobody', async () => {
    const { stack } = held;
    const { station, packet, restartS3 } = await submittedWithS3Away(stack, 5);
    const failed = await until('packet failed', async () => {
      const view = (await api.getPacket(TEST_ADMIN_TOKEN, packet.id)).json();
      return view.status === 'failed' ? view : undefined;
    });
    expect(failed.failure).toMatch(/could not be made.*an administrator can retry/);
    await restartS3();

    const notFailed = await api.json('POST', `/v1/packets/${packet.id}/retry`, station.token);
    expect(notFailed.statusCode).toBe(403);
    const retried = await api.json('POST', `/v1/packets/${packet.id}/retry`, TEST_ADMIN_TOKEN);
    expect(retried.statusCode).toBe(202);
    expect(retried.json()).toEqual({ id: packet.id, status: 'submitted', requeuedPages: [] });
    await until('packet ready', async () => (await statusOf(stack, packet.id)) === 'ready');
    const again = await api.json('POST', `/v1/packets/${packet.id}/retry`, TEST_ADMIN_TOKEN);
    expect(again.statusCode).toBe(409);
    expect(errorCodeOf(again)).toBe('not_retryable');
    expect(await stack.infra.repositories.protocol.entries()).toEqual([]);
  });
});

describe('4. races and leftovers', () => {
  const held = useTestStack('stranded-races', { RECONCILE_SECONDS: '1' });
  const api = apiClient(() => held.stack.app);

  it('an administrator removing a registrar while a dispatcher draws him never leaves him holding a packet', async () => {
    const { infra } = held.stack;
    const { packets, registrars } = infra.repositories;
    const [registrarId] = await freeRegistrars(infra, 1, ['race']);
    const packet = await readyPacket(infra, 'race');
    // Stage the race: the draw lands between the administrator's read of the registrar (free, no packet) and
    // his write, as it can when the dispatcher runs in another process.
    const read = registrars.get.bind(registrars);
    let staged = false;
    registrars.get = async (id) => {
      const seen = await read(id);
      if (!staged && id === registrarId) {
        staged = true;
        expect(await dispatcherFor(infra).dispatchAll()).toBe(1);
      }
      return seen;
    };
    try {
      const removal = await api.json('DELETE', `/v1/registrars/${registrarId}`, TEST_ADMIN_TOKEN, {
        reason: 'left the office',
      });
      expect(removal.statusCode).toBe(204);
    } finally {
      registrars.get = read;
    }
    expect(staged).toBe(true);
    expect((await registrars.get(registrarId!))!.status).toBe('removed');
    const after = (await packets.get(packet.id))!;
    expect(after).toMatchObject({ status: 'ready' });
    expect(after.registrarId).toBeUndefined();
    const [draw, release] = (await infra.repositories.protocol.entries()).filter(
      (entry) => entry.type !== 'status',
    );
    expect(draw).toMatchObject({ type: 'draw', chosen: registrarId });
    expect(release).toMatchObject({ type: 'release', registrarId, reason: 'removed' });
  });

  it('and left to race freely, 30 times, never does either', async () => {
    const { infra } = held.stack;
    const holding: string[] = [];
    for (let round = 0; round < 30; round++) {
      const service = `race-${round}`;
      const [registrarId] = await freeRegistrars(infra, 1, [service]);
      const packet = await readyPacket(infra, service);
      const [removal] = await Promise.all([
        api.json('DELETE', `/v1/registrars/${registrarId}`, TEST_ADMIN_TOKEN, { reason: 'left the office' }),
        dispatcherFor(infra).dispatchAll(),
      ]);
      expect(removal.statusCode).toBe(204);
      const after = (await infra.repositories.packets.get(packet.id))!;
      if (after.status === 'assigned') holding.push(`${packet.id} → ${after.registrarId}`);
    }
    expect(holding).toEqual([]);
  });

  it('a page whose job could not be queued after it was stored is queued by the reconciler', async () => {
    const { infra } = held.stack;
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await makePage('png', { seed: 6 });
    const enqueue = infra.jobs.enqueue.bind(infra.jobs);
    infra.jobs.enqueue = async () => {
      throw new DependencyUnavailableError('redis', new Error('the queue is away'));
    };
    const refused = await api.uploadPage(station.token, packet.id, 1, page);
    infra.jobs.enqueue = enqueue;
    expect(refused.statusCode).toBe(503);
    const record = (await infra.repositories.packets.getPage(packet.id, 1))!;
    expect(record.status).toBe('stored');
    const pagesQueue = infra.jobs.queues.get('pages')!;
    expect(await pagesQueue.count()).toBe(0);

    await sleep(1100); // the reconciler's grace: an upload between its record and its enqueue
    const repairs = await reconcilerOf(infra).reconcileOnce();
    expect(repairs).toContainEqual(expect.objectContaining({ packetId: packet.id, kind: 'page_requeued' }));
    expect(await pagesQueue.count()).toBe(1);
    const view = (await api.getPacket(TEST_ADMIN_TOKEN, packet.id)).json();
    expect(view.repairs).toEqual([expect.objectContaining({ kind: 'page_requeued' })]);
    const metrics = await infra.metrics.reconciled.get();
    expect(metrics.values).toContainEqual(
      expect.objectContaining({ labels: { kind: 'page_requeued' }, value: 1 }),
    );
  });
});
