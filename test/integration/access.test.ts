import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import { makePage } from '../helpers/images.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
const api = apiClient(() => stack.app);
const tokens = {} as Record<'admin' | 'stationA' | 'stationB' | 'registrar' | 'bad', string>;
let packetOfA: string;

beforeAll(async () => {
  stack = await startTestStack('access');
  tokens.admin = TEST_ADMIN_TOKEN;
  tokens.stationA = (await api.createStation('A')).token;
  tokens.stationB = (await api.createStation('B')).token;
  tokens.registrar = (await api.createRegistrar()).token;
  tokens.bad = `sta_${'x'.repeat(43)}`;
  packetOfA = (await api.createPacket(tokens.stationA)).id;
  await api.uploadPage(tokens.stationA, packetOfA, 1, await makePage('png'));
});
afterAll(async () => {
  await stack?.close();
});

type Who = 'none' | 'bad' | 'admin' | 'stationA' | 'stationB' | 'registrar';
type Route = {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: () => string;
  body?: () => Promise<unknown> | unknown;
  image?: boolean;
};

/** Expected status for each caller; anything not listed for a route is 401 (none, bad) or 403 (wrong role). */
const matrix: Array<{ route: Route; allowed: Partial<Record<Who, number>> }> = [
  {
    route: { method: 'POST', url: () => '/v1/stations', body: () => ({ name: 'S' }) },
    allowed: { admin: 201 },
  },
  { route: { method: 'GET', url: () => '/v1/stations' }, allowed: { admin: 200 } },
  {
    route: { method: 'POST', url: () => '/v1/registrars', body: () => ({ name: 'R', services: ['land'] }) },
    allowed: { admin: 201 },
  },
  { route: { method: 'GET', url: () => '/v1/registrars' }, allowed: { admin: 200 } },
  {
    route: { method: 'POST', url: () => '/v1/packets', body: () => ({ ticket: 'A-1', service: 'land' }) },
    allowed: { stationA: 201, stationB: 201 },
  },
  {
    route: { method: 'GET', url: () => `/v1/packets/${packetOfA}` },
    allowed: { admin: 200, stationA: 200, stationB: 404 },
  },
  {
    route: {
      method: 'PUT',
      url: () => `/v1/packets/${packetOfA}/pages/1`,
      body: () => makePage('png'),
      image: true,
    },
    allowed: { stationA: 200, stationB: 404 },
  },
  {
    route: { method: 'DELETE', url: () => `/v1/packets/${packetOfA}/pages/7` },
    allowed: { stationA: 404, stationB: 404 },
  },
  {
    route: { method: 'POST', url: () => `/v1/packets/${packetOfA}/submit`, body: () => ({ pages: 2 }) },
    allowed: { stationA: 409, stationB: 404 },
  },
  { route: { method: 'GET', url: () => '/v1/audit/assignments' }, allowed: { admin: 200 } },
  { route: { method: 'GET', url: () => '/v1/registrar/assignment' }, allowed: { registrar: 204 } },
  {
    route: { method: 'PUT', url: () => '/v1/registrar/status', body: () => ({ status: 'free' }) },
    allowed: { registrar: 200 },
  },
];

const callers: Who[] = ['none', 'bad', 'admin', 'stationA', 'stationB', 'registrar'];
const rows = matrix.flatMap(({ route, allowed }) =>
  callers.map((who) => ({
    label: `${route.method} ${route.url.toString().match(/'(.*?)'|`(.*?)`/)?.[0] ?? ''}`,
    who,
    route,
    expected: allowed[who] ?? (who === 'none' || who === 'bad' ? 401 : 403),
  })),
);

describe('access matrix', () => {
  it.each(rows)('$label as $who → $expected', async ({ who, route, expected }) => {
    const body = route.body ? await route.body() : undefined;
    const response = await stack.app.inject({
      method: route.method,
      url: route.url(),
      headers: {
        ...(who === 'none' ? {} : { authorization: `Bearer ${tokens[who]}` }),
        ...(body === undefined ? {} : { 'content-type': route.image ? 'image/png' : 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: route.image ? (body as Buffer) : JSON.stringify(body) }),
    });
    expect(response.statusCode).toBe(expected);
    if (expected >= 400) errorCodeOf(response);
  });

  it('rejects malformed Authorization headers with 401', async () => {
    for (const header of [
      'Bearer',
      'Basic abc',
      `Bearer ${TEST_ADMIN_TOKEN} extra`,
      `bearer ${TEST_ADMIN_TOKEN}`,
    ]) {
      const response = await stack.app.inject({
        method: 'GET',
        url: '/v1/stations',
        headers: { authorization: header },
      });
      expect(response.statusCode, header).toBe(401);
      expect(errorCodeOf(response)).toBe('unauthorized');
    }
  });

  it('stores tokens only as hashes', async () => {
    const created = await api.createStation('Hashed');
    const keys = await stack.infra.redis.keys(`${stack.prefix}:*`);
    const values = await Promise.all(
      keys.map(async (key) => {
        const type = await stack.infra.redis.type(key);
        if (type === 'string') return stack.infra.redis.get(key);
        if (type === 'hash') return JSON.stringify(await stack.infra.redis.hgetall(key));
        return '';
      }),
    );
    expect(values.join('\n')).not.toContain(created.token);
    expect(keys.join('\n')).not.toContain(created.token);
  });

  it('the public tracking route needs no token and reveals only a coarse status', async () => {
    const packet = await api.createPacket(tokens.stationA);
    const response = await stack.app.inject({ method: 'GET', url: `/v1/track/${packet.trackingCode}` });
    expect(response.json()).toEqual({ status: 'received' });
  });
});
