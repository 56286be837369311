import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocrResultKey, pageThumbnailKey } from '../../src/storage/object-keys.js';
import { apiClient } from '../helpers/api-client.js';
import { dispatcherFor, readyPacket } from '../helpers/dispatch.js';
import { makePage } from '../helpers/images.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack } from '../helpers/stack.js';

/**
 * Every route the API documents × every kind of caller → the expected status. The route list comes from the
 * OpenAPI document, so a new route without a row here fails this test instead of shipping unchecked.
 */
const CALLERS = ['none', 'bad', 'admin', 'stationA', 'stationB', 'registrarX', 'registrarY'] as const;
type Caller = (typeof CALLERS)[number];
type Prepared = { url: string; body?: unknown; image?: boolean | string; registrarX?: string };
type Row = {
  route: string;
  prepare: () => Promise<Prepared>;
  allowed: Partial<Record<Caller, number>>;
  public?: boolean;
};

let stack: TestStack;
const api = apiClient(() => stack.app);
const tokens = {} as Record<Exclude<Caller, 'none' | 'registrarX'>, string>;

/** A station-A packet with page 1 stored, open; `sha256` is page 1's. */
async function openPacketOfA() {
  const packet = await api.createPacket(tokens.stationA);
  const upload = await api.uploadPage(
    tokens.stationA,
    packet.id,
    1,
    await makePage('png', { seed: Math.floor(Math.random() * 1e6) }),
  );
  return { ...packet, sha256: (upload.json() as { sha256: string }).sha256 };
}

/** A station-A packet whose page 1 is processed, with its thumbnail in storage. */
async function processedPacketOfA() {
  const packet = await openPacketOfA();
  const thumbnailKey = pageThumbnailKey(packet.id, 1, packet.sha256);
  await stack.infra.store.put(thumbnailKey, await makePage('jpeg'), 'image/jpeg');
  const pagesKey = `${stack.prefix}:packet:${packet.id}:pages`;
  const page = JSON.parse((await stack.infra.redis.hget(pagesKey, '1'))!);
  const processing = {
    thumbnailKey,
    processedSha256: 'd'.repeat(64),
    blank: false,
    ocrConfidence: 90,
    skewDeg: 0,
  };
  await stack.infra.redis.hset(pagesKey, '1', JSON.stringify({ ...page, status: 'done', processing }));
  return packet;
}

/** A ready packet drawn for a fresh registrar X (his own service), with its PDF and page-1 OCR in storage. */
async function assignedPacket() {
  const service = `svc-${randomBytes(3).toString('hex')}`;
  const { infra } = stack;
  const x = await infra.repositories.registrars.create('X', [service]);
  await infra.repositories.registrars.setStatus(x.registrar.id, 'free');
  const packet = await readyPacket(infra, service);
  await infra.store.put(
    packet.pdfKey,
    Buffer.from('%PDF-1.7 fixture'.padEnd(packet.pdfBytes)),
    'application/pdf',
  );
  const sha = 'c'.repeat(64);
  const ocrKey = ocrResultKey(packet.id, 1, sha);
  await infra.store.put(
    ocrKey,
    Buffer.from(JSON.stringify({ text: 'текст', lines: [], confidence: 90 })),
    'application/json',
  );
  const processing = {
    processedKey: 'x',
    ocrKey,
    processedSha256: sha,
    processedBytes: 1,
    orientation: 0,
    skewDeg: 0,
    blank: false,
    ocrConfidence: 90,
    dpi: 300,
    colour: false,
    width: 1,
    height: 1,
    ms: {},
    finishedAt: '',
  };
  await infra.redis.hset(
    `${stack.prefix}:packet:${packet.id}:pages`,
    '1',
    JSON.stringify({ n: 1, status: 'done', sha256: sha, processing }),
  );
  await dispatcherFor(infra).dispatchAll();
  expect((await infra.repositories.packets.get(packet.id))!.registrarId).toBe(x.registrar.id);
  return { packetId: packet.id, registrarX: x.token };
}

const freshRegistrarId = async () =>
  (await stack.infra.repositories.registrars.create('Z', ['z'])).registrar.id;
const at = (url: string) => async (): Promise<Prepared> => ({ url });
const everyone = (status: number) => Object.fromEntries(CALLERS.map((caller) => [caller, status]));
const deny = { none: 401, bad: 401 } as const;

const rows: Row[] = [
  { route: 'GET /health/live', prepare: at('/health/live'), allowed: {}, public: true },
  { route: 'GET /health/ready', prepare: at('/health/ready'), allowed: {}, public: true },
  { route: 'GET /metrics', prepare: at('/metrics'), allowed: {}, public: true },
  {
    route: 'GET /v1/track/{trackingCode}',
    prepare: async () => ({ url: `/v1/track/${(await api.createPacket(tokens.stationA)).trackingCode}` }),
    allowed: {},
    public: true,
  },
  {
    route: 'POST /v1/stations',
    prepare: async () => ({ url: '/v1/stations', body: { name: 'S' } }),
    allowed: { admin: 201 },
  },
  { route: 'GET /v1/stations', prepare: at('/v1/stations'), allowed: { admin: 200 } },
  {
    route: 'DELETE /v1/stations/{id}',
    prepare: async () => ({ url: `/v1/stations/${(await api.createStation('Gone')).id}` }),
    allowed: { admin: 204 },
  },
  {
    route: 'POST /v1/services',
    prepare: async () => ({
      url: '/v1/services',
      body: { slug: `svc-${randomBytes(4).toString('hex')}`, names: { uk: 'Послуга', en: 'Service' } },
    }),
    allowed: { admin: 201 },
  },
  {
    route: 'GET /v1/services',
    prepare: at('/v1/services'),
    allowed: { admin: 200, stationA: 200, stationB: 200, registrarX: 200, registrarY: 200 },
  },
  { route: 'GET /v1/office', prepare: at('/v1/office'), allowed: { admin: 200 } },
  {
    route: 'POST /v1/registrars',
    prepare: async () => ({ url: '/v1/registrars', body: { name: 'R', services: ['land'] } }),
    allowed: { admin: 201 },
  },
  { route: 'GET /v1/registrars', prepare: at('/v1/registrars'), allowed: { admin: 200 } },
  {
    route: 'PUT /v1/registrars/{id}/status',
    prepare: async () => ({
      url: `/v1/registrars/${await freshRegistrarId()}/status`,
      body: { status: 'away', reason: 'on leave' },
    }),
    allowed: { admin: 200 },
  },
  {
    route: 'DELETE /v1/registrars/{id}',
    prepare: async () => ({
      url: `/v1/registrars/${await freshRegistrarId()}`,
      body: { reason: 'left the office' },
    }),
    allowed: { admin: 204 },
  },
  { route: 'GET /v1/audit/assignments', prepare: at('/v1/audit/assignments'), allowed: { admin: 200 } },
  { route: 'GET /v1/audit/verify', prepare: at('/v1/audit/verify'), allowed: { admin: 200 } },
  { route: 'GET /v1/audit/fairness', prepare: at('/v1/audit/fairness'), allowed: { admin: 200 } },
  { route: 'GET /v1/audit/anomalies', prepare: at('/v1/audit/anomalies'), allowed: { admin: 200 } },
  // This stack draws nobody: an admin gets past the door and finds no checkpoint, and no such entry (404).
  { route: 'GET /v1/audit/checkpoint', prepare: at('/v1/audit/checkpoint'), allowed: { admin: 404 } },
  { route: 'GET /v1/audit/proof/{seq}', prepare: at('/v1/audit/proof/100000'), allowed: { admin: 404 } },
  { route: 'GET /v1/audit/export', prepare: at('/v1/audit/export'), allowed: { admin: 200 } },
  { route: 'GET /v1/audit/epoch/{epoch}', prepare: at('/v1/audit/epoch/1'), allowed: { admin: 404 } },
  {
    route: 'GET /v1/audit/consistency',
    prepare: at('/v1/audit/consistency?from=1&to=2'),
    allowed: { admin: 404 },
  },
  {
    route: 'POST /v1/packets/{id}/retry',
    prepare: async () => {
      const packet = await api.createPacket(tokens.stationA);
      await stack.infra.redis.hset(`${stack.prefix}:packet:${packet.id}`, 'status', 'failed');
      return { url: `/v1/packets/${packet.id}/retry` };
    },
    allowed: { admin: 202 },
  },
  {
    route: 'POST /v1/packets',
    prepare: async () => ({ url: '/v1/packets', body: { ticket: 'A-1', service: 'land' } }),
    allowed: { stationA: 201, stationB: 201 },
  },
  {
    route: 'GET /v1/packets',
    prepare: at('/v1/packets'),
    allowed: { admin: 200, stationA: 200, stationB: 200 },
  },
  {
    route: 'POST /v1/packets/{id}/pages/order',
    prepare: async () => {
      const packet = await openPacketOfA();
      return {
        url: `/v1/packets/${packet.id}/pages/order`,
        body: { order: [{ n: 1, sha256: packet.sha256 }] },
      };
    },
    allowed: { stationA: 200, stationB: 404 },
  },
  {
    route: 'GET /v1/packets/{id}/pages/{n}/thumbnail',
    prepare: async () => ({ url: `/v1/packets/${(await processedPacketOfA()).id}/pages/1/thumbnail` }),
    allowed: { stationA: 200, stationB: 404 },
  },
  {
    route: 'GET /v1/packets/{id}/receipt',
    prepare: async () => {
      const packet = await openPacketOfA();
      expect((await api.submit(tokens.stationA, packet.id, 1)).statusCode).toBe(202);
      return { url: `/v1/packets/${packet.id}/receipt` };
    },
    allowed: { stationA: 200, stationB: 404 },
  },
  {
    route: 'GET /v1/packets/{id}',
    prepare: async () => ({ url: `/v1/packets/${(await openPacketOfA()).id}` }),
    allowed: { admin: 200, stationA: 200, stationB: 404 },
  },
  {
    route: 'PUT /v1/packets/{id}/pages/{n}',
    prepare: async () => ({
      url: `/v1/packets/${(await openPacketOfA()).id}/pages/2`,
      body: await makePage('png'),
      image: true,
    }),
    allowed: { stationA: 201, stationB: 404 },
  },
  {
    route: 'POST /v1/packets/{id}/documents',
    prepare: async () => ({
      url: `/v1/packets/${(await openPacketOfA()).id}/documents`,
      body: await sharp(await makePage('png', { seed: Math.floor(Math.random() * 1e6) }))
        .tiff()
        .toBuffer(),
      image: 'image/tiff',
    }),
    allowed: { stationA: 201, stationB: 404 },
  },
  {
    route: 'DELETE /v1/packets/{id}/pages/{n}',
    prepare: async () => ({ url: `/v1/packets/${(await openPacketOfA()).id}/pages/1` }),
    allowed: { stationA: 204, stationB: 404 },
  },
  {
    route: 'POST /v1/packets/{id}/submit',
    prepare: async () => ({ url: `/v1/packets/${(await openPacketOfA()).id}/submit`, body: { pages: 1 } }),
    allowed: { stationA: 202, stationB: 404 },
  },
  {
    // Browsers' sessions live in a cookie; a bearer token neither opens nor names one.
    route: 'GET /v1/session',
    prepare: at('/v1/session'),
    allowed: everyone(204),
  },
  {
    route: 'POST /v1/session',
    prepare: async () => ({ url: '/v1/session', body: { token: `reg_${'z'.repeat(43)}` } }),
    allowed: everyone(401),
  },
  { route: 'DELETE /v1/session', prepare: at('/v1/session'), allowed: everyone(401) },
  {
    route: 'GET /v1/registrar/me',
    prepare: at('/v1/registrar/me'),
    allowed: { registrarX: 200, registrarY: 200 },
  },
  {
    route: 'GET /v1/registrar/packets/{id}',
    prepare: async () => {
      const { packetId, registrarX } = await assignedPacket();
      return { url: `/v1/registrar/packets/${packetId}`, registrarX };
    },
    allowed: { registrarX: 200, registrarY: 404 },
  },
  {
    route: 'GET /v1/registrar/packets/{id}/signature',
    prepare: async () => {
      const { packetId, registrarX } = await assignedPacket();
      return { url: `/v1/registrar/packets/${packetId}/signature`, registrarX };
    },
    allowed: { registrarX: 200, registrarY: 404 },
  },
  {
    route: 'PUT /v1/registrar/status',
    prepare: async () => ({
      ...(await assignedPacket()),
      url: '/v1/registrar/status',
      body: { status: 'free' },
    }),
    allowed: { registrarX: 200, registrarY: 200 },
  },
  {
    route: 'GET /v1/registrar/assignment',
    prepare: async () => ({ ...(await assignedPacket()), url: '/v1/registrar/assignment' }),
    allowed: { registrarX: 200, registrarY: 204 },
  },
  {
    route: 'GET /v1/registrar/packets/{id}/pdf',
    prepare: async () => {
      const { packetId, registrarX } = await assignedPacket();
      return { url: `/v1/registrar/packets/${packetId}/pdf`, registrarX };
    },
    allowed: { registrarX: 200, registrarY: 404 },
  },
  {
    route: 'GET /v1/registrar/packets/{id}/pages/{n}/text',
    prepare: async () => {
      const { packetId, registrarX } = await assignedPacket();
      return { url: `/v1/registrar/packets/${packetId}/pages/1/text`, registrarX };
    },
    allowed: { registrarX: 200, registrarY: 404 },
  },
  {
    route: 'POST /v1/registrar/packets/{id}/decision',
    prepare: async () => {
      const { packetId, registrarX } = await assignedPacket();
      return { url: `/v1/registrar/packets/${packetId}/decision`, body: { outcome: 'approved' }, registrarX };
    },
    allowed: { registrarX: 200, registrarY: 404 },
  },
  {
    route: 'POST /v1/registrar/packets/{id}/recuse',
    prepare: async () => {
      const { packetId, registrarX } = await assignedPacket();
      return {
        url: `/v1/registrar/packets/${packetId}/recuse`,
        body: { reason: 'conflict of interest' },
        registrarX,
      };
    },
    allowed: { registrarX: 202, registrarY: 404 },
  },
];

const expected = (row: Row, caller: Caller) =>
  row.allowed[caller] ?? (row.public ? 200 : caller === 'none' || caller === 'bad' ? deny[caller] : 403);

beforeAll(async () => {
  // Every route is called without a valid token too: more than the per-address limit allows in a minute.
  stack = await startTestStack('matrix', { RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '10000' });
  tokens.admin = TEST_ADMIN_TOKEN;
  tokens.bad = `sta_${'x'.repeat(43)}`;
  tokens.stationA = (await api.createStation('A')).token;
  tokens.stationB = (await api.createStation('B')).token;
  await api.addService('land');
  tokens.registrarY = (await stack.infra.repositories.registrars.create('Y', ['land'])).token;
});
afterAll(async () => {
  await stack?.close();
});

describe('access matrix', () => {
  it('has a row for every route in the API document', async () => {
    const doc = (await api.json('GET', '/docs/json')).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.filter((route) => !rows.some((row) => row.route === route))).toEqual([]);
    expect(rows.filter((row) => !documented.includes(row.route)).map((row) => row.route)).toEqual([]);
  });

  it.each(
    rows.flatMap((row) =>
      CALLERS.map((caller) => ({
        row,
        caller,
        label: `${row.route} as ${caller}`,
        status: expected(row, caller),
      })),
    ),
  )('$label → $status', async ({ row, caller, status }) => {
    const prepared = await row.prepare();
    const token =
      caller === 'none'
        ? undefined
        : caller === 'registrarX'
          ? (prepared.registrarX ?? tokens.registrarY)
          : tokens[caller];
    const [method] = row.route.split(' ') as ['GET' | 'POST' | 'PUT' | 'DELETE'];
    const response = await stack.app.inject({
      method,
      url: prepared.url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(prepared.body === undefined
          ? {}
          : {
              'content-type':
                typeof prepared.image === 'string'
                  ? prepared.image
                  : prepared.image
                    ? 'image/png'
                    : 'application/json',
            }),
      },
      ...(prepared.body === undefined
        ? {}
        : { payload: prepared.image ? (prepared.body as Buffer) : JSON.stringify(prepared.body) }),
    });
    expect(response.statusCode, response.body.slice(0, 200)).toBe(status);
    if (caller.startsWith('station') || caller === 'none' || caller === 'bad') {
      // Stations and the public never learn who holds a packet.
      expect(response.body).not.toMatch(/"registrarId"/);
    }
  });
});
