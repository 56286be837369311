import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOBS } from '../../src/domain/jobs.js';
import { originalPageKey } from '../../src/storage/object-keys.js';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import { makePage } from '../helpers/images.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack } from '../helpers/stack.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let stack: TestStack;
const api = apiClient(() => stack.app);

beforeAll(async () => {
  stack = await startTestStack('intake');
});
afterAll(async () => {
  await stack?.close();
});

const pagesQueue = () => stack.infra.jobs.queues.get('pages')!;
/** The id of the job of the run that page n's record waits for (which must hold these bytes). */
async function jobIdFor(packetId: string, n: number, bytes: Buffer) {
  const page = await stack.infra.repositories.packets.getPage(packetId, n);
  expect(page?.sha256).toBe(sha256(bytes));
  return JOBS.processPage.jobId({ packetId, n, run: page!.run });
}

describe('admin', () => {
  it('creates a station, returns its token once, and lists stations without tokens', async () => {
    const created = await api.createStation('Window 3');
    expect(created.id).toMatch(/^st_/);
    expect(created.token).toMatch(/^sta_[A-Za-z0-9_-]{43}$/);
    const list = await api.json('GET', '/v1/stations', TEST_ADMIN_TOKEN);
    expect(list.statusCode).toBe(200);
    const stations = list.json() as Array<Record<string, unknown>>;
    expect(stations.find((s) => s.id === created.id)).toMatchObject({ name: 'Window 3' });
    expect(JSON.stringify(stations)).not.toContain(created.token);
  });

  it('creates registrars who start away, and lists them with their status', async () => {
    const created = await api.createRegistrar(['land', 'business']);
    const list = (await api.json('GET', '/v1/registrars', TEST_ADMIN_TOKEN)).json() as Array<
      Record<string, unknown>
    >;
    expect(list.find((r) => r.id === created.id)).toMatchObject({
      status: 'away',
      services: ['business', 'land'],
    });
  });

  it('verifies an empty assignment protocol', async () => {
    const response = await api.json('GET', '/v1/audit/verify', TEST_ADMIN_TOKEN);
    expect(response.json()).toMatchObject({ ok: true, entries: 0 });
  });
});

describe('station intake', () => {
  it('opens a packet with an unguessable tracking code that the public route understands', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token, { ticket: 'Б-042', service: 'land' });
    expect(packet).toMatchObject({ status: 'open' });
    expect(packet.trackingCode).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    const tracked = await api.json(
      'GET',
      `/v1/track/${packet.trackingCode.toLowerCase().replaceAll('-', '')}`,
    );
    expect(tracked.statusCode).toBe(200);
    expect(tracked.json()).toEqual({ status: 'received' });
  });

  it('stores the original bytes in S3, records the page and enqueues its job before answering 201', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await makePage('png');
    const response = await api.uploadPage(station.token, packet.id, 1, page);
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ n: 1, sha256: sha256(page), bytes: page.length });

    const stored = await stack.infra.store.get(originalPageKey(packet.id, 1, sha256(page)));
    expect(stored.equals(page)).toBe(true);
    const job = await pagesQueue().getJob(await jobIdFor(packet.id, 1, page));
    expect(job?.data).toEqual({
      packetId: packet.id,
      n: 1,
      sha256: sha256(page),
      originalKey: originalPageKey(packet.id, 1, sha256(page)),
      run: 1,
      retryUntil: expect.any(Number),
    });
    const view = (await api.getPacket(station.token, packet.id)).json();
    expect(view.pages).toEqual([
      expect.objectContaining({
        n: 1,
        status: 'stored',
        sha256: sha256(page),
        format: 'png',
        width: 400,
        height: 560,
      }),
    ]);
  });

  it('answers 200 to the same bytes again without a second job (idempotent retry)', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await makePage('jpeg');
    expect((await api.uploadPage(station.token, packet.id, 2, page, 'image/jpeg')).statusCode).toBe(201);
    const countBefore = await pagesQueue().count();
    const retry = await api.uploadPage(station.token, packet.id, 2, page, 'image/jpeg');
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ n: 2, sha256: sha256(page), bytes: page.length });
    expect(await pagesQueue().count()).toBe(countBefore);
  });

  it('replaces a page with different bytes while open (rescan), keeping the first original in S3', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const first = await makePage('png', { seed: 1 });
    const rescan = await makePage('png', { seed: 2 });
    await api.uploadPage(station.token, packet.id, 1, first);
    const response = await api.uploadPage(station.token, packet.id, 1, rescan);
    expect(response.statusCode).toBe(201);
    const view = (await api.getPacket(station.token, packet.id)).json();
    expect(view.pages).toHaveLength(1);
    expect(view.pages[0].sha256).toBe(sha256(rescan));
    expect(await pagesQueue().getJob(await jobIdFor(packet.id, 1, rescan))).toBeDefined();
    expect(await stack.infra.store.stat(originalPageKey(packet.id, 1, sha256(first)))).toEqual({
      size: first.length,
    });
  });

  it('accepts JPEG, PNG, TIFF and WebP by their bytes', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const formats = ['jpeg', 'png', 'tiff', 'webp'] as const;
    for (const [i, format] of formats.entries()) {
      const response = await api.uploadPage(
        station.token,
        packet.id,
        i + 1,
        await makePage(format),
        `image/${format}`,
      );
      expect(response.statusCode, format).toBe(201);
    }
    const view = (await api.getPacket(station.token, packet.id)).json();
    expect(view.pages.map((p: { format: string }) => p.format)).toEqual([...formats]);
  });

  it('deletes a page while open', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    await api.uploadPage(station.token, packet.id, 1, await makePage('png'));
    expect((await api.json('DELETE', `/v1/packets/${packet.id}/pages/1`, station.token)).statusCode).toBe(
      204,
    );
    const again = await api.json('DELETE', `/v1/packets/${packet.id}/pages/1`, station.token);
    expect(again.statusCode).toBe(404);
    expect((await api.getPacket(station.token, packet.id)).json().pages).toEqual([]);
  });

  describe('submit', () => {
    it('answers 409 naming the missing pages and keeps the packet open', async () => {
      const station = await api.createStation();
      const packet = await api.createPacket(station.token);
      await api.uploadPage(station.token, packet.id, 1, await makePage('png', { seed: 1 }));
      await api.uploadPage(station.token, packet.id, 3, await makePage('png', { seed: 3 }));
      const response = await api.submit(station.token, packet.id, 4);
      expect(response.statusCode).toBe(409);
      expect(response.json().error).toMatchObject({ code: 'pages_missing', missing: [2, 4] });
      expect(response.json().error.message).toContain('missing pages 2, 4');
      expect((await api.getPacket(station.token, packet.id)).json().status).toBe('open');
    });

    it('answers 409 when pages beyond N were uploaded', async () => {
      const station = await api.createStation();
      const packet = await api.createPacket(station.token);
      await api.uploadPage(station.token, packet.id, 1, await makePage('png', { seed: 1 }));
      await api.uploadPage(station.token, packet.id, 2, await makePage('png', { seed: 2 }));
      const response = await api.submit(station.token, packet.id, 1);
      expect(response.statusCode).toBe(409);
      expect(response.json().error).toMatchObject({ code: 'pages_missing', missing: [], extra: [2] });
    });

    it('seals a complete packet; afterwards pages cannot change and a retried submit answers the same', async () => {
      const station = await api.createStation();
      const packet = await api.createPacket(station.token);
      const page1 = await makePage('png', { seed: 1 });
      await api.uploadPage(station.token, packet.id, 1, page1);
      await api.uploadPage(station.token, packet.id, 2, await makePage('png', { seed: 2 }));
      const response = await api.submit(station.token, packet.id, 2);
      expect(response.statusCode).toBe(202);
      expect(response.json()).toEqual({ id: packet.id, status: 'submitted' });
      expect((await api.submit(station.token, packet.id, 2)).statusCode).toBe(202);
      const different = await api.submit(station.token, packet.id, 3);
      expect(different.statusCode).toBe(409);
      expect(errorCodeOf(different)).toBe('packet_not_open');

      const late = await api.uploadPage(station.token, packet.id, 1, await makePage('png', { seed: 9 }));
      expect(late.statusCode).toBe(409);
      expect(errorCodeOf(late)).toBe('packet_not_open');
      expect((await api.uploadPage(station.token, packet.id, 1, page1)).statusCode).toBe(200);
      expect((await api.json('DELETE', `/v1/packets/${packet.id}/pages/2`, station.token)).statusCode).toBe(
        409,
      );
      const view = (await api.getPacket(station.token, packet.id)).json();
      expect(view).toMatchObject({ status: 'submitted', pageCount: 2 });
      expect(view.pages.map((p: { sha256: string }) => p.sha256)[0]).toBe(sha256(page1));
    });
  });

  it('shows the admin the owning station; the station view has no station or registrar fields', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const asStation = (await api.getPacket(station.token, packet.id)).json();
    const asAdmin = (await api.getPacket(TEST_ADMIN_TOKEN, packet.id)).json();
    expect(asStation.stationId).toBeUndefined();
    expect(asAdmin.stationId).toBe(station.id);
  });
});

describe('ops', () => {
  it('reports liveness, readiness of Redis and S3, and Prometheus metrics', async () => {
    expect((await api.json('GET', '/health/live')).json()).toEqual({ status: 'ok' });
    const ready = await api.json('GET', '/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok', checks: { redis: 'ok', s3: 'ok' } });
    const metrics = await api.json('GET', '/metrics');
    expect(metrics.body).toContain('pages_uploaded_total{outcome="created"}');
    expect(metrics.body).toContain('http_request_duration_seconds_bucket');
  });

  it('serves an OpenAPI document generated from the route schemas', async () => {
    const doc = (await api.json('GET', '/docs/json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/packets/{id}/pages/{n}',
        '/v1/packets/{id}/submit',
        '/v1/track/{trackingCode}',
      ]),
    );
    expect(doc.paths['/v1/packets'].post.requestBody.content['application/json'].schema.required).toEqual([
      'ticket',
      'service',
    ]);
  });

  it('guards the queue dashboard with the admin token (Bearer or Basic password)', async () => {
    expect((await api.json('GET', '/admin/queues')).statusCode).toBe(401);
    const station = await api.createStation();
    expect((await api.json('GET', '/admin/queues', station.token)).statusCode).toBe(401);
    const basic = Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64');
    const page = await stack.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: `Basic ${basic}` },
    });
    expect(page.statusCode).toBe(200);
    const queues = await api.json('GET', '/admin/queues/api/queues', TEST_ADMIN_TOKEN);
    expect(queues.json().queues.map((q: { name: string }) => q.name)).toContain('pages');
  });
});

describe('restart', () => {
  it('brings packet state back from Redis and S3 after the API process restarts', async () => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const page = await makePage('webp');
    await api.uploadPage(station.token, packet.id, 1, page, 'image/webp');
    const before = (await api.getPacket(station.token, packet.id)).json();

    await stack.restart();

    const after = await api.getPacket(station.token, packet.id);
    expect(after.statusCode).toBe(200);
    expect(after.json()).toEqual(before);
    expect((await stack.infra.store.get(originalPageKey(packet.id, 1, sha256(page)))).equals(page)).toBe(
      true,
    );
    expect((await api.uploadPage(station.token, packet.id, 2, await makePage('png'))).statusCode).toBe(201);
    expect((await api.submit(station.token, packet.id, 2)).statusCode).toBe(202);
  });
});
