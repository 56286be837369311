import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import { readyPacket } from '../helpers/dispatch.js';
import { startTestPool, startTestWorkers } from '../helpers/ocr-pool.js';
import { TEST_ADMIN_TOKEN, useTestStack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

/**
 * What the station and admin pages stand on, through HTTP against the real stack: the service catalogue, page
 * order, thumbnails, the citizen's receipt, a station's list of packets, retiring a station, the office now.
 */

type PageRow = { n: number; sha256: string; status: string; warnings: string[]; processing?: unknown };

describe('the service catalogue', () => {
  const held = useTestStack('catalogue');
  const api = apiClient(() => held.stack.app);

  it('is kept by the administrator and read by everyone signed in', async () => {
    const names = { uk: 'Реєстрація землі', en: 'Land registration' };
    const created = await api.json('POST', '/v1/services', TEST_ADMIN_TOKEN, { slug: 'land', names });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ slug: 'land', names });
    const again = await api.json('POST', '/v1/services', TEST_ADMIN_TOKEN, { slug: 'land', names });
    expect(again.statusCode).toBe(409);
    expect(errorCodeOf(again)).toBe('service_exists');
    const station = await api.createStation();
    const listed = await api.json('GET', '/v1/services', station.token);
    expect(listed.json()).toEqual([expect.objectContaining({ slug: 'land', names })]);
    const badSlug = await api.json('POST', '/v1/services', TEST_ADMIN_TOKEN, { slug: 'Land!', names });
    expect(badSlug.statusCode).toBe(400);
  });

  it('refuses packets and registrars for a service it does not have (422 unknown_service)', async () => {
    const station = await api.createStation();
    const packet = await api.json('POST', '/v1/packets', station.token, { ticket: 'A-1', service: 'lnad' });
    expect(packet.statusCode).toBe(422);
    expect(errorCodeOf(packet)).toBe('unknown_service');
    expect(packet.json().error.services).toEqual(['lnad']);
    await api.addService('tax');
    const registrar = await api.json('POST', '/v1/registrars', TEST_ADMIN_TOKEN, {
      name: 'R',
      services: ['tax', 'txa', 'lnad'],
    });
    expect(registrar.statusCode).toBe(422);
    expect(registrar.json().error.services).toEqual(['lnad', 'txa']);
    expect((await api.json('GET', '/v1/registrars', TEST_ADMIN_TOKEN)).json()).toEqual([]);
  });
});

describe('a station building a packet', () => {
  const held = useTestStack('station-pages', { PUBLIC_BASE_URL: 'https://cnap.example.gov.ua/' });
  const api = apiClient(() => held.stack.app);
  let pool: TesseractPool;
  beforeAll(async () => {
    pool = await startTestPool();
    await startTestWorkers(held.stack.infra, pool);
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
  });

  const pagesOf = async (token: string, packetId: string) =>
    ((await api.getPacket(token, packetId)).json() as { pages: PageRow[] }).pages;

  it('reorders pages in one step, processes each under its new number, and shows them upright', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const scans = await Promise.all(
      [0, 90, 0].map(
        async (rotation, i) =>
          (
            await generatePage({
              dpi: 200,
              rotation: rotation as 0 | 90,
              paragraphs: { from: i, count: 1 },
              format: 'jpeg',
            })
          ).bytes,
      ),
    );
    const shas: string[] = [];
    for (const [i, scan] of scans.entries()) {
      const upload = await api.uploadPage(station.token, packet.id, i + 1, scan, 'image/jpeg');
      expect(upload.statusCode).toBe(201);
      shas.push(upload.json().sha256);
    }
    // At once, while pages wait or are being read: page 3 first, then 1, then 2.
    const order = [3, 1, 2].map((n) => ({ n, sha256: shas[n - 1]! }));
    const url = `/v1/packets/${packet.id}/pages/order`;
    const moved = await api.json('POST', url, station.token, { order });
    expect(moved.statusCode).toBe(200);
    expect((moved.json().pages as PageRow[]).map((page) => page.sha256)).toEqual([shas[2], shas[0], shas[1]]);
    // The same request again finds its order in place; an order made from an older view moves nothing.
    expect((await api.json('POST', url, station.token, { order })).statusCode).toBe(200);
    const stale = await api.json('POST', url, station.token, { order: order.slice(0, 2) });
    expect(stale.statusCode).toBe(409);
    expect(errorCodeOf(stale)).toBe('pages_changed');
    expect(stale.json().error.pages.map((page: PageRow) => page.sha256)).toEqual([shas[2], shas[0], shas[1]]);

    const done = await until('all three pages processed', async () => {
      const pages = await pagesOf(station.token, packet.id);
      return pages.every((page) => page.status === 'done') && pages;
    });
    expect(done.map((page) => [page.n, page.sha256])).toEqual([
      [1, shas[2]],
      [2, shas[0]],
      [3, shas[1]],
    ]);
    for (const page of done) expect(page.warnings).toEqual([]);

    // Page 3 is the scan turned 90°: its thumbnail is upright (portrait), like the others.
    for (const n of [1, 2, 3]) {
      const thumbnail = await api.json('GET', `/v1/packets/${packet.id}/pages/${n}/thumbnail`, station.token);
      expect(thumbnail.statusCode).toBe(200);
      expect(thumbnail.headers['content-type']).toBe('image/jpeg');
      const { width, height, format } = await sharp(thumbnail.rawPayload).metadata();
      expect(format).toBe('jpeg');
      expect(Math.max(width, height)).toBeLessThanOrEqual(320);
      expect(height).toBeGreaterThan(width * 1.3);
      const unchanged = await held.stack.app.inject({
        method: 'GET',
        url: `/v1/packets/${packet.id}/pages/${n}/thumbnail`,
        headers: {
          authorization: `Bearer ${station.token}`,
          'if-none-match': thumbnail.headers.etag as string,
        },
      });
      expect(unchanged.statusCode).toBe(304);
    }
    const other = await api.createStation('Other desk');
    const foreign = await api.json('GET', `/v1/packets/${packet.id}/pages/1/thumbnail`, other.token);
    expect(foreign.statusCode).toBe(404);
  });

  it('gives the citizen a receipt once the packet is submitted, linking to the public status page', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token, { ticket: 'Б-204', service: 'land' });
    const scan = (await generatePage({ dpi: 200, format: 'jpeg' })).bytes;
    expect((await api.uploadPage(station.token, packet.id, 1, scan, 'image/jpeg')).statusCode).toBe(201);
    const early = await api.json('GET', `/v1/packets/${packet.id}/receipt`, station.token);
    expect(early.statusCode).toBe(409);
    expect(errorCodeOf(early)).toBe('not_submitted');
    expect((await api.submit(station.token, packet.id, 1)).statusCode).toBe(202);
    const receipt = await api.json('GET', `/v1/packets/${packet.id}/receipt`, station.token);
    expect(receipt.statusCode).toBe(200);
    expect(receipt.json()).toMatchObject({
      ticket: 'Б-204',
      service: { slug: 'land' },
      pageCount: 1,
      trackingCode: packet.trackingCode,
      trackingUrl: `https://cnap.example.gov.ua/track/${packet.trackingCode}`,
    });
    expect(receipt.body).not.toMatch(/registrar|rg_/);
  });

  it('lists a station’s own packets newest first; an administrator finds one by tracking code', async () => {
    const a = await api.createStation('A');
    const b = await api.createStation('B');
    const first = await api.createPacket(a.token, { ticket: 'A-1', service: 'land' });
    const second = await api.createPacket(a.token, { ticket: 'A-2', service: 'land' });
    const ofB = await api.createPacket(b.token, { ticket: 'B-1', service: 'land' });
    const listed = (await api.json('GET', '/v1/packets', a.token)).json() as Array<{ id: string }>;
    expect(listed.map((packet) => packet.id)).toEqual([second.id, first.id]);
    const code = ofB.trackingCode.toLowerCase().replaceAll('-', ' ');
    const query = `/v1/packets?trackingCode=${encodeURIComponent(code)}`;
    expect((await api.json('GET', query, TEST_ADMIN_TOKEN)).json()).toEqual([
      expect.objectContaining({ id: ofB.id, ticket: 'B-1' }),
    ]);
    expect((await api.json('GET', query, a.token)).json()).toEqual([]);
  });

  it('retires a station: its token stops working and it leaves the list', async () => {
    const station = await api.createStation('Retired');
    expect((await api.json('GET', '/v1/packets', station.token)).statusCode).toBe(200);
    const removed = await api.json('DELETE', `/v1/stations/${station.id}`, TEST_ADMIN_TOKEN);
    expect(removed.statusCode).toBe(204);
    expect((await api.json('GET', '/v1/packets', station.token)).statusCode).toBe(401);
    const stations = (await api.json('GET', '/v1/stations', TEST_ADMIN_TOKEN)).json() as Array<{
      id: string;
    }>;
    expect(stations.map((s) => s.id)).not.toContain(station.id);
    expect((await api.json('DELETE', `/v1/stations/${station.id}`, TEST_ADMIN_TOKEN)).statusCode).toBe(404);
  });
});

describe('the office now', () => {
  const held = useTestStack('office-now', { DISPATCH_MIN_POOL: '2' });
  const api = apiClient(() => held.stack.app);

  it('shows per service who is free, busy or away, and which packets wait starved', async () => {
    await api.json('POST', '/v1/services', TEST_ADMIN_TOKEN, {
      slug: 'land',
      names: { uk: 'Земля', en: 'Land' },
    });
    const { registrars } = held.stack.infra.repositories;
    const free = await api.createRegistrar(['land']);
    await api.createRegistrar(['land']);
    await registrars.setStatus(free.id, 'free');
    const waiting = await readyPacket(held.stack.infra, 'land');

    const office = (await api.json('GET', '/v1/office', TEST_ADMIN_TOKEN)).json();
    expect(office.minPool).toBe(2);
    const land = office.services.find((service: { slug: string }) => service.slug === 'land');
    expect(land).toMatchObject({ names: { uk: 'Земля', en: 'Land' }, free: 1, busy: 0, away: 1 });
    expect(land.waiting).toEqual([
      expect.objectContaining({ packetId: waiting.id, eligible: 1, starved: true }),
    ]);
    expect(office.queues.map((queue: { name: string }) => queue.name).sort()).toEqual(
      expect.arrayContaining([expect.any(String)]),
    );
  });
});
