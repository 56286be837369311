import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { characterErrorRate } from '../../fixtures/text-metrics.js';
import { JOBS } from '../../src/domain/jobs.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import type { OcrResult } from '../../src/pipeline/ocr.js';
import type { WorkerRole } from '../../src/roles/worker.js';
import { ocrResultKey, originalPageKey, processedPageKey } from '../../src/storage/object-keys.js';
import { apiClient } from '../helpers/api-client.js';
import { unreadableJpeg } from '../helpers/images.js';
import { startTestPool, startTestWorkers } from '../helpers/ocr-pool.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let pool: TesseractPool;
let workers: WorkerRole;
const api = apiClient(() => stack.app);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function waitForPage(
  token: string,
  packetId: string,
  n: number,
  statuses = ['done', 'failed'],
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const page = (await api.getPacket(token, packetId)).json().pages.find((p: { n: number }) => p.n === n);
    if (page && statuses.includes(page.status)) return page;
    if (Date.now() > deadline) throw new Error(`page ${n} did not reach ${statuses} (is ${page?.status})`);
    await sleep(200);
  }
}

/** The job of page 1's first run for these bytes, as intake queued it. */
const runOnePayload = (packetId: string, bytes: Buffer) => ({
  packetId,
  n: 1,
  sha256: sha256(bytes),
  originalKey: originalPageKey(packetId, 1, sha256(bytes)),
  run: 1,
  retryUntil: Date.now() + 60_000,
});

const processedCount = async () =>
  (await stack.infra.metrics.pagesProcessed.get()).values.find((v) => v.labels.outcome === 'done')?.value ??
  0;

beforeAll(async () => {
  stack = await startTestStack('page-worker');
  pool = await startTestPool();
  workers = await startTestWorkers(stack.infra, pool);
});
afterAll(async () => {
  await stack?.close();
  await pool?.close();
});

describe('page worker', () => {
  it('processes uploaded pages while the station keeps scanning, and stores image and OCR under fixed keys', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const pages = await Promise.all([
      generatePage({ dpi: 200, skewDeg: 8.2, rotation: 180, paragraphs: { from: 2, count: 3 } }),
      generatePage({
        dpi: 300,
        skewDeg: -3.1,
        stamp: true,
        format: 'png',
        paragraphs: { from: 6, count: 2 },
      }),
    ]);
    expect(
      (await api.uploadPage(station.token, packet.id, 1, pages[0]!.bytes, 'image/jpeg')).statusCode,
    ).toBe(201);
    expect((await api.uploadPage(station.token, packet.id, 2, pages[1]!.bytes, 'image/png')).statusCode).toBe(
      201,
    );

    const first = await waitForPage(station.token, packet.id, 1);
    const second = await waitForPage(station.token, packet.id, 2);
    expect(first.status).toBe('done');
    expect(first.processing).toMatchObject({ orientation: 180, blank: false, colour: false, dpi: 200 });
    expect(Math.abs(first.processing.skewDeg - 8.2)).toBeLessThanOrEqual(0.1);
    expect(second.processing).toMatchObject({ orientation: 0, colour: true, dpi: 300 });
    for (const stage of ['normalize', 'deskew', 'orientation', 'rotate', 'ocr', 'encode']) {
      expect(first.processing.ms[stage]).toBeGreaterThanOrEqual(0);
    }

    const image = await stack.infra.store.get(processedPageKey(packet.id, 1, sha256(pages[0]!.bytes)));
    expect(sha256(image)).toBe(first.processing.processedSha256);
    expect((await sharp(image).metadata()).format).toBe('jpeg');
    const ocr = JSON.parse(
      (await stack.infra.store.get(ocrResultKey(packet.id, 1, sha256(pages[0]!.bytes)))).toString('utf8'),
    ) as OcrResult;
    expect(characterErrorRate(ocr.text, pages[0]!.truth.text)).toBeLessThanOrEqual(0.03);
    expect(ocr.confidence).toBe(first.processing.ocrConfidence);
  });

  it('is idempotent: running a finished job again changes nothing and counts nothing', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await generatePage({ dpi: 200, paragraphs: { from: 9, count: 1 } });
    await api.uploadPage(station.token, packet.id, 1, page.bytes, 'image/jpeg');
    const done = await waitForPage(station.token, packet.id, 1);
    const counted = await processedCount();

    expect(await workers.pages.process(runOnePayload(packet.id, page.bytes))).toBe('skipped_done');
    expect(await processedCount()).toBe(counted);
    expect((await waitForPage(station.token, packet.id, 1)).processing).toEqual(done.processing);
  });

  it('skips the job of a page that was rescanned before it ran', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const old = await generatePage({ dpi: 200, paragraphs: { from: 1, count: 1 } });
    const rescan = await generatePage({ dpi: 200, paragraphs: { from: 3, count: 1 } });
    await api.uploadPage(station.token, packet.id, 1, old.bytes, 'image/jpeg');
    await api.uploadPage(station.token, packet.id, 1, rescan.bytes, 'image/jpeg');
    expect(await workers.pages.process(runOnePayload(packet.id, old.bytes))).toBe('skipped_stale');
    const page = await waitForPage(station.token, packet.id, 1);
    expect(page.sha256).toBe(sha256(rescan.bytes));
    expect(page.status).toBe('done');
  });

  it('fails an unreadable page once, without retries, and tells the station to rescan it', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const broken = await unreadableJpeg();
    expect((await api.uploadPage(station.token, packet.id, 1, broken, 'image/jpeg')).statusCode).toBe(201);

    const page = await waitForPage(station.token, packet.id, 1);
    expect(page.status).toBe('failed');
    expect(page.failure).toMatch(/cannot be read.*rescan page 1/);
    const job = await stack.infra.jobs.queues
      .get('pages')!
      .getJob(JOBS.processPage.jobId({ packetId: packet.id, n: 1, run: 1 }));
    expect(job?.attemptsMade).toBe(1);
    expect(await job?.getState()).toBe('failed');
  });
});
