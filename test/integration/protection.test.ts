import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import { makePage } from '../helpers/images.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack, useTestStack } from '../helpers/stack.js';

describe('rate limiting of uploads, per token', () => {
  const held = useTestStack('ratelimit', { RATE_LIMIT_UPLOADS_PER_MINUTE: '3' });
  const api = apiClient(() => held.stack.app);

  it('answers 429 with Retry-After past the limit, and leaves other stations alone', async () => {
    const a = await api.createStation('A');
    const b = await api.createStation('B');
    const packetA = await api.createPacket(a.token);
    const packetB = await api.createPacket(b.token);
    const page = await makePage('png');
    for (let n = 1; n <= 3; n++)
      expect((await api.uploadPage(a.token, packetA.id, n, page)).statusCode).toBe(201);
    const limited = await api.uploadPage(a.token, packetA.id, 4, page);
    expect(limited.statusCode).toBe(429);
    expect(errorCodeOf(limited)).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await api.uploadPage(b.token, packetB.id, 1, page)).statusCode).toBe(201);
    // Reading is not limited, and nothing was recorded for the refused upload.
    const view = (await api.getPacket(a.token, packetA.id)).json();
    expect(view.pages.map((p: { n: number }) => p.n)).toEqual([1, 2, 3]);
  });
});

describe('under pressure', () => {
  let stack: TestStack;
  const api = apiClient(() => stack.app);
  beforeAll(async () => {
    // A heap limit no process can meet: every request meets the pressure valve, deterministically.
    stack = await startTestStack('pressure', { PRESSURE_MAX_HEAP_BYTES: '1' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 503 overloaded with Retry-After instead of doing the work', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the first heap sample
    const response = await api.json('GET', '/v1/stations', TEST_ADMIN_TOKEN);
    expect(response.statusCode).toBe(503);
    expect(errorCodeOf(response)).toBe('overloaded');
    expect(response.headers['retry-after']).toBe('5');
  });
});

describe('security headers', () => {
  const held = useTestStack('headers');
  const api = apiClient(() => held.stack.app);

  it.each(['/docs/static/index.html', '/v1/track/AAAA-BBBB-CCCC-DDDD', '/health/live'])(
    '%s carries them',
    async (url) => {
      const response = await api.json('GET', url);
      expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(response.headers['strict-transport-security']).toBeDefined();
    },
  );
});

describe('assets over plain http', () => {
  const plain = useTestStack('csp-http');
  const secure = useTestStack('csp-https', { SESSION_COOKIE_SECURE: 'true' });

  it('are upgraded to https only where the office serves https', async () => {
    const policy = async (held: typeof plain) =>
      String(
        (await apiClient(() => held.stack.app).json('GET', '/health/live')).headers[
          'content-security-policy'
        ],
      );
    expect(await policy(plain)).not.toContain('upgrade-insecure-requests');
    expect(await policy(secure)).toContain('upgrade-insecure-requests');
  });
});

describe('requests without a valid token, per client address', () => {
  const held = useTestStack('anonymous', { RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '5' });
  const api = apiClient(() => held.stack.app);

  it('answers 429 with Retry-After past the limit, while a valid token keeps working', async () => {
    const station = await api.createStation();
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await api.json('GET', '/v1/stations', `bad_${'x'.repeat(30)}`)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const limited = await api.json('GET', '/v1/packets/pk_AAAAAAAAAAAAAAAAAAAAAA');
    expect(limited.statusCode).toBe(429);
    expect(errorCodeOf(limited)).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await api.createPacket(station.token)).status).toBe('open');
    // Public lookups count against the same address.
    expect((await api.json('GET', '/v1/track/AAAA-BBBB-CCCC-DDDD')).statusCode).toBe(429);
  });
});
