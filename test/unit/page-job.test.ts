import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { GENEROUS_PAGE_LIMITS } from '../../fixtures/page-limits.js';
import { PermanentJobFailure } from '../../src/domain/jobs.js';
import type { Packet, Page } from '../../src/domain/types.js';
import { createLogger } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import type { OcrResult } from '../../src/pipeline/ocr.js';
import { PacketProgress, pageJobOf } from '../../src/services/packet-progress.js';
import { PageProcessing } from '../../src/services/page-processing.js';
import { ocrResultKey, originalPageKey, processedPageKey } from '../../src/storage/object-keys.js';
import { MemoryJobQueue } from './fakes/memory-jobs.js';
import { MemoryPacketRecords } from './fakes/memory-packets.js';
import { MemoryObjectStore } from './fakes/memory-store.js';

const log = createLogger('silent');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const PACKET_ID = 'pk_AAAAAAAAAAAAAAAAAAAAAA';

const confidentOcr = {
  async recognize(): Promise<OcrResult> {
    return { text: 'слово', confidence: 93, lines: [] };
  },
};
const noOrientation = { detect: async () => undefined };

const packetWith = (status: Packet['status'], pageCount?: number): Packet => ({
  id: PACKET_ID,
  ticket: 'A-1',
  service: 'land',
  stationId: 'st_x',
  status,
  trackingCode: 'AAAA-AAAA-AAAA-AAAA',
  createdAt: '2026-01-01T00:00:00.000Z',
  ...(pageCount === undefined ? {} : { pageCount }),
});

const storedPage = (n: number, bytes: Buffer): Page => ({
  n,
  status: 'stored',
  sha256: sha256(bytes),
  bytes: bytes.length,
  format: 'png',
  width: 800,
  height: 1100,
  originalKey: originalPageKey(PACKET_ID, n, sha256(bytes)),
  storedAt: '2026-01-01T00:00:00.000Z',
  run: 1,
  queuedAt: new Date().toISOString(),
  runAt: new Date().toISOString(),
});

let records: MemoryPacketRecords;
let store: MemoryObjectStore;
let jobs: MemoryJobQueue;
let metrics: ReturnType<typeof createMetrics>;
let white: Buffer;

const progressOf = () => new PacketProgress({ packets: records, jobs, metrics, log, retryWindowMs: 60_000 });

function processing() {
  const progress = progressOf();
  return new PageProcessing({
    packets: records,
    store,
    engines: { ocr: confidentOcr, orientation: noOrientation },
    metrics,
    progress,
    log,
    options: { limits: GENEROUS_PAGE_LIMITS, jpegQuality: 70 },
  });
}

const payloadOf = (page: Page) => pageJobOf(PACKET_ID, page, 60_000);

const counted = async (outcome: string) =>
  (await metrics.pagesProcessed.get()).values.find((value) => value.labels.outcome === outcome)?.value ?? 0;

beforeEach(async () => {
  records = new MemoryPacketRecords();
  store = new MemoryObjectStore();
  jobs = new MemoryJobQueue();
  metrics = createMetrics();
  white ??= await sharp({ create: { width: 800, height: 1100, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
});

describe('the page job', () => {
  it('stores the processed image and OCR under keys of the original’s hash and marks the page done', async () => {
    const page = storedPage(1, white);
    records.add(packetWith('open'), [page]);
    await store.put(page.originalKey, white, 'image/png');
    expect(await processing().process(payloadOf(page))).toBe('done');
    const [recorded] = await records.listPages(PACKET_ID);
    // A white page is black and white: it is kept as a lossless 1-bit PNG.
    expect(recorded).toMatchObject({
      status: 'done',
      processing: { blank: true, dpi: 300, imageFormat: 'png' },
    });
    expect(await store.stat(processedPageKey(PACKET_ID, 1, page.sha256, 'png'))).toBeDefined();
    expect(await store.stat(ocrResultKey(PACKET_ID, 1, page.sha256))).toBeDefined();
    expect(await counted('done')).toBe(1);
  });

  it('runs twice safely: the second run changes nothing and counts nothing', async () => {
    const page = storedPage(1, white);
    records.add(packetWith('open'), [page]);
    await store.put(page.originalKey, white, 'image/png');
    const pages = processing();
    await pages.process(payloadOf(page));
    const [before] = await records.listPages(PACKET_ID);
    expect(await pages.process(payloadOf(page))).toBe('skipped_done');
    expect(await records.listPages(PACKET_ID)).toEqual([before]);
    expect(await counted('done')).toBe(1);
  });

  it('skips work for an upload that was replaced before it ran', async () => {
    const old = storedPage(1, white);
    const rescan = { ...storedPage(1, Buffer.concat([white, Buffer.from('x')])), run: 2 };
    records.add(packetWith('open'), [rescan]);
    expect(await processing().process(payloadOf(old))).toBe('skipped_stale');
    expect((await records.listPages(PACKET_ID))[0]!.status).toBe('stored');
  });

  it('fails an unreadable scan for good, says why, and fails the submitted packet naming the page', async () => {
    const good = storedPage(1, white);
    const broken = Buffer.concat([white.subarray(0, 200), Buffer.from('IEND')]);
    const bad = { ...storedPage(2, broken), format: 'png' as const };
    records.add(packetWith('submitted', 2), [{ ...good, status: 'done' }, bad]);
    await store.put(bad.originalKey, broken, 'image/png');
    await expect(processing().process(payloadOf(bad))).rejects.toBeInstanceOf(PermanentJobFailure);
    const pages = await records.listPages(PACKET_ID);
    expect(pages[1]).toMatchObject({ status: 'failed', failure: expect.stringMatching(/rescan page 2/) });
    expect(await records.get(PACKET_ID)).toMatchObject({ status: 'failed', rescanPages: [2] });
    expect(await counted('failed')).toBe(1);
  });

  it('fails a page that cannot be a sheet for good, though stored before the intake limits held', async () => {
    const strip = await sharp({ create: { width: 100, height: 2000, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    const page = storedPage(1, strip);
    records.add(packetWith('open'), [page]);
    await store.put(page.originalKey, strip, 'image/png');
    await expect(processing().process(payloadOf(page))).rejects.toBeInstanceOf(PermanentJobFailure);
    expect((await records.listPages(PACKET_ID))[0]).toMatchObject({
      status: 'failed',
      failure: expect.stringMatching(/100×2000 pixels.*cannot be a scanned sheet.*rescan page 1/),
    });
  });

  it('after the last retry, fails the page with the error, unless the job already recorded a permanent failure', async () => {
    const page = storedPage(1, white);
    records.add(packetWith('submitted', 1), [{ ...page, status: 'processing' }]);
    const pages = processing();
    await pages.giveUp(payloadOf(page), { message: 'S3 timed out', attempts: 5, permanent: true });
    expect((await records.listPages(PACKET_ID))[0]!.status).toBe('processing');
    await pages.giveUp(payloadOf(page), { message: 'S3 timed out', attempts: 5, permanent: false });
    expect((await records.listPages(PACKET_ID))[0]).toMatchObject({
      status: 'failed',
      failure: expect.stringMatching(/kept failing for 1 minutes \(S3 timed out\)/),
    });
    expect(await records.get(PACKET_ID)).toMatchObject({ status: 'failed', rescanPages: [1] });
  });
});

describe('packet progress', () => {
  it('queues the bundle once all pages of a submitted packet are done, once per set of uploads', async () => {
    const pages = [storedPage(1, white), storedPage(2, Buffer.from('two'))].map((page) => ({
      ...page,
      status: 'done' as const,
    }));
    records.add(packetWith('submitted', 2), pages);
    const progress = progressOf();
    await progress.advance(PACKET_ID);
    await progress.advance(PACKET_ID);
    expect(jobs.named('bundlePacket')).toHaveLength(1);
  });

  it('waits while a page is still in work, and ignores packets that are not submitted', async () => {
    records.add(packetWith('submitted', 2), [
      { ...storedPage(1, white), status: 'done' },
      { ...storedPage(2, Buffer.from('two')), status: 'processing' },
    ]);
    const progress = progressOf();
    await progress.advance(PACKET_ID);
    records.add(packetWith('open'), [{ ...storedPage(1, white), status: 'done' }]);
    await progress.advance(PACKET_ID);
    expect(jobs.jobs.size).toBe(0);
    expect((await records.get(PACKET_ID))!.status).toBe('open');
  });
});
