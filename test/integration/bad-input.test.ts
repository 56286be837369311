import { createHash } from 'node:crypto';
import net from 'node:net';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalPageKey } from '../../src/storage/object-keys.js';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import { makePage } from '../helpers/images.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack } from '../helpers/stack.js';

const MAX_PAGE_BYTES = 600_000;
const MAX_PAGE_PIXELS = 4_000_000;

let stack: TestStack;
const api = apiClient(() => stack.app);
let station: { id: string; token: string };
let packetId: string;
let acceptedPage: Buffer;

/** A valid PNG whose header claims the given size: a decompression bomb as far as the header is concerned. */
function pngClaiming(width: number, height: number, base: Buffer): Buffer {
  const png = Buffer.from(base);
  // IHDR starts at byte 8: length(4) "IHDR"(4) width(4) height(4) ... crc(4) over type+data (17 bytes).
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

async function multiPageTiff(pages: number): Promise<Buffer> {
  const width = 8;
  const height = 8;
  return sharp(Buffer.alloc(width * height * pages, 255), {
    raw: { width, height: height * pages, channels: 1, pageHeight: height },
  })
    .tiff({ compression: 'deflate' })
    .toBuffer();
}

beforeAll(async () => {
  stack = await startTestStack('bad-input', {
    MAX_PAGE_BYTES: String(MAX_PAGE_BYTES),
    MAX_PAGE_PIXELS: String(MAX_PAGE_PIXELS),
    REQUEST_TIMEOUT_MS: '1500',
  });
  station = await api.createStation();
  packetId = (await api.createPacket(station.token)).id;
  acceptedPage = await makePage('png');
  expect((await api.uploadPage(station.token, packetId, 1, acceptedPage)).statusCode).toBe(201);
});
afterAll(async () => {
  await stack?.close();
});

type UploadCase = {
  name: string;
  n?: number | string;
  contentType?: string;
  body: () => Promise<Buffer | string> | Buffer | string;
  status: number;
  code: string;
};

const uploadCases: UploadCase[] = [
  { name: 'zero bytes', body: () => Buffer.alloc(0), status: 400, code: 'empty_body' },
  {
    name: 'random bytes labelled PNG',
    body: () => Buffer.from('not an image at all, just text'),
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'SVG labelled PNG',
    body: () => '<svg xmlns="http://www.w3.org/2000/svg"/>',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'HTML labelled JPEG',
    contentType: 'image/jpeg',
    body: () => '<html><body>hi</body></html>',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'a PDF labelled PNG',
    body: () => '%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'a PDF as application/pdf',
    contentType: 'application/pdf',
    body: () => '%PDF-1.7\n',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'an SVG as image/svg+xml',
    contentType: 'image/svg+xml',
    body: () => '<svg/>',
    status: 415,
    code: 'unsupported_media_type',
  },
  { name: 'JPEG bytes labelled PNG', body: () => makePage('jpeg'), status: 415, code: 'media_type_mismatch' },
  {
    name: 'truncated JPEG',
    contentType: 'image/jpeg',
    body: async () => (await makePage('jpeg')).subarray(0, 1500),
    status: 422,
    code: 'corrupt_image',
  },
  {
    name: 'truncated PNG',
    body: async () => (await makePage('png')).subarray(0, 400),
    status: 422,
    code: 'corrupt_image',
  },
  {
    name: 'truncated TIFF',
    contentType: 'image/tiff',
    body: async () => (await makePage('tiff')).subarray(0, 2000),
    status: 422,
    code: 'corrupt_image',
  },
  {
    name: 'truncated WebP',
    contentType: 'image/webp',
    body: async () => (await makePage('webp')).subarray(0, 200),
    status: 422,
    code: 'corrupt_image',
  },
  {
    name: 'PNG magic then garbage',
    body: () =>
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]),
    status: 422,
    code: 'corrupt_image',
  },
  {
    name: 'PNG claiming 50 000 × 50 000 pixels',
    body: async () => pngClaiming(50_000, 50_000, await makePage('png')),
    status: 422,
    code: 'image_too_large',
  },
  {
    name: 'image just over MAX_PAGE_PIXELS',
    body: () =>
      sharp({ create: { width: 2001, height: 2000, channels: 3, background: '#fff' } })
        .png()
        .toBuffer(),
    status: 422,
    code: 'image_too_large',
  },
  {
    name: 'TIFF with 2 000 pages',
    contentType: 'image/tiff',
    body: () => multiPageTiff(2000),
    status: 422,
    code: 'multi_page_image',
  },
  {
    name: 'body just over MAX_PAGE_BYTES',
    body: () => Buffer.alloc(MAX_PAGE_BYTES + 1, 1),
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'page 0', n: 0, body: () => makePage('png'), status: 400, code: 'invalid_request' },
  { name: 'page -1', n: -1, body: () => makePage('png'), status: 400, code: 'invalid_request' },
  { name: 'page 501', n: 501, body: () => makePage('png'), status: 400, code: 'invalid_request' },
  { name: 'page 1e9', n: '1e9', body: () => makePage('png'), status: 400, code: 'invalid_request' },
  { name: 'page 1.5', n: '1.5', body: () => makePage('png'), status: 400, code: 'invalid_request' },
  { name: 'page "abc"', n: 'abc', body: () => makePage('png'), status: 400, code: 'invalid_request' },
];

describe('bad uploads get a clear 4xx and change nothing', () => {
  it.each(uploadCases)('$name → $status $code', async ({ n, contentType, body, status, code }) => {
    const before = (await api.getPacket(station.token, packetId)).json();
    const response = await api.uploadPage(station.token, packetId, n ?? 1, await body(), contentType);
    expect(response.statusCode).toBe(status);
    expect(errorCodeOf(response)).toBe(code);
    expect((await api.getPacket(station.token, packetId)).json()).toEqual(before);
    const original = await stack.infra.store.get(
      originalPageKey(packetId, 1, createHash('sha256').update(acceptedPage).digest('hex')),
    );
    expect(original.equals(acceptedPage)).toBe(true);
  });

  it('accepts a page just under MAX_PAGE_BYTES', async () => {
    // Noise compresses badly, so a PNG of random pixels lands close to the byte limit.
    const side = Math.floor(Math.sqrt((MAX_PAGE_BYTES * 0.9) / 3));
    const noise = Buffer.alloc(side * side * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    const png = await sharp(noise, { raw: { width: side, height: side, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    expect(png.length).toBeLessThan(MAX_PAGE_BYTES);
    expect(png.length).toBeGreaterThan(MAX_PAGE_BYTES * 0.8);
    expect((await api.uploadPage(station.token, packetId, 2, png)).statusCode).toBe(201);
  });
});

describe('bad JSON and ids', () => {
  const cases: Array<{
    name: string;
    method: 'POST' | 'GET' | 'PUT';
    url: () => string;
    token?: () => string;
    raw?: string;
    payload?: unknown;
    status: number;
    code: string;
  }> = [
    {
      name: 'malformed JSON',
      method: 'POST',
      url: () => '/v1/packets',
      raw: '{"ticket": "A-1",',
      status: 400,
      code: 'invalid_json',
    },
    {
      name: 'huge JSON',
      method: 'POST',
      url: () => '/v1/packets',
      raw: JSON.stringify({ ticket: 'x'.repeat(100_000) }),
      status: 413,
      code: 'payload_too_large',
    },
    {
      name: 'wrong types',
      method: 'POST',
      url: () => '/v1/packets',
      payload: { ticket: 17, service: ['land'] },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'unknown fields',
      method: 'POST',
      url: () => '/v1/packets',
      payload: { ticket: 'A-1', service: 'land', registrar: 'rg_x' },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: '../ in ticket',
      method: 'POST',
      url: () => '/v1/packets',
      payload: { ticket: '../../etc/passwd', service: 'land' },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'service not a slug',
      method: 'POST',
      url: () => '/v1/packets',
      payload: { ticket: 'A-1', service: 'Land Registry' },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'submit pages 0',
      method: 'POST',
      url: () => `/v1/packets/${packetId}/submit`,
      payload: { pages: 0 },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'submit pages "2"',
      method: 'POST',
      url: () => `/v1/packets/${packetId}/submit`,
      payload: { pages: '2' },
      status: 400,
      code: 'invalid_request',
    },
    {
      name: '../ as packet id',
      method: 'GET',
      url: () => '/v1/packets/..%2F..%2Fetc',
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'unicode packet id',
      method: 'GET',
      url: () => `/v1/packets/${encodeURIComponent('пакет')}`,
      status: 400,
      code: 'invalid_request',
    },
    {
      name: 'unknown, well-formed packet id',
      method: 'GET',
      url: () => `/v1/packets/pk_${'A'.repeat(22)}`,
      status: 404,
      code: 'not_found',
    },
    {
      name: 'upload into an unknown packet',
      method: 'PUT',
      url: () => `/v1/packets/pk_${'B'.repeat(22)}/pages/1`,
      status: 404,
      code: 'not_found',
    },
    {
      name: 'unknown tracking code',
      method: 'GET',
      url: () => '/v1/track/AAAA-BBBB-CCCC-DDDD',
      token: () => '',
      status: 404,
      code: 'not_found',
    },
    {
      name: 'tracking code with ../',
      method: 'GET',
      url: () => '/v1/track/..%2F..%2Fetc%2Fpass',
      token: () => '',
      status: 404,
      code: 'not_found',
    },
    { name: 'unknown route', method: 'GET', url: () => '/v1/nothing-here', status: 404, code: 'not_found' },
    {
      name: 'broken percent-encoding in the path',
      method: 'GET',
      url: () => '/v1/packets/pk_%E0%A4%A',
      status: 400,
      code: 'invalid_url',
    },
    {
      name: 'an over-long packet id',
      method: 'GET',
      url: () => `/v1/packets/pk_${'A'.repeat(400)}`,
      status: 414,
      code: 'uri_too_long',
    },
  ];

  it.each(cases)('$name → $status $code', async ({ method, url, token, raw, payload, status, code }) => {
    const auth = token ? token() : station.token;
    const isUpload = method === 'PUT';
    const body = isUpload
      ? await makePage('png')
      : (raw ?? (payload === undefined ? undefined : JSON.stringify(payload)));
    const response = await stack.app.inject({
      method,
      url: url(),
      headers: {
        ...(auth ? { authorization: `Bearer ${auth}` } : {}),
        ...(body === undefined ? {} : { 'content-type': isUpload ? 'image/png' : 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: body }),
    });
    expect(response.statusCode).toBe(status);
    expect(errorCodeOf(response)).toBe(code);
  });

  it('names the offending field in a validation error', async () => {
    const response = await api.json('POST', '/v1/packets', station.token, {
      ticket: 'A-1',
      service: 'Bad Slug',
    });
    expect(response.json().error.message).toContain('service');
  });
});

describe('the service stays healthy', () => {
  it('is ready after all of the above, and the queue holds one job per accepted page', async () => {
    expect((await api.json('GET', '/health/ready')).statusCode).toBe(200);
    const jobs = await stack.infra.jobs.queues
      .get('pages')!
      .getJobs(['waiting', 'delayed', 'active', 'failed']);
    expect(jobs.filter((job) => job.data.packetId === packetId)).toHaveLength(2);
    expect((await api.json('GET', '/v1/stations', TEST_ADMIN_TOKEN)).statusCode).toBe(200);
  });
});

describe('on a real socket', () => {
  let base: { host: string; port: number };
  beforeAll(async () => {
    await stack.app.listen({ host: '127.0.0.1', port: 0 });
    const address = stack.app.server.address() as net.AddressInfo;
    base = { host: '127.0.0.1', port: address.port };
  });

  /** Sends a raw HTTP/1.1 request and returns the status line's code (or 'closed'). */
  function rawRequest(head: string, bodyChunks: Buffer[], pauseMs = 0): Promise<number | 'closed'> {
    return new Promise((resolve) => {
      const socket = net.connect(base.port, base.host, async () => {
        socket.write(head);
        for (const chunk of bodyChunks) {
          if (socket.destroyed) break;
          socket.write(chunk);
          if (pauseMs) await new Promise((wait) => setTimeout(wait, pauseMs));
        }
      });
      let response = '';
      socket.on('data', (data) => {
        response += data.toString('latin1');
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        const code = response.match(/^HTTP\/1\.1 (\d{3})/)?.[1];
        resolve(code ? Number(code) : 'closed');
      });
    });
  }

  const uploadHead = (n: number, extra: string) =>
    `PUT /v1/packets/${packetId}/pages/${n} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${station.token}\r\nContent-Type: image/png\r\nConnection: close\r\n${extra}\r\n`;
  const chunked = (data: Buffer) =>
    Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);

  /** Sends only a request head and returns the status the server answers before any body, or 'no answer'. */
  function statusBeforeBody(head: string, timeoutMs: number): Promise<number | 'no answer'> {
    return new Promise((resolve) => {
      const socket = net.connect(base.port, base.host, () => socket.write(head));
      const timer = setTimeout(() => {
        socket.destroy();
        resolve('no answer');
      }, timeoutMs);
      socket.on('data', (data) => {
        const code = data.toString('latin1').match(/^HTTP\/1\.1 (\d{3})/)?.[1];
        if (!code) return;
        clearTimeout(timer);
        socket.destroy();
        resolve(Number(code));
      });
      socket.on('error', () => {});
    });
  }

  it('refuses an upload with a wrong token before reading its body', async () => {
    const head = `PUT /v1/packets/${packetId}/pages/9 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${'x'.repeat(40)}\r\nContent-Type: image/png\r\nContent-Length: ${MAX_PAGE_BYTES - 1}\r\n\r\n`;
    expect(await statusBeforeBody(head, 2000)).toBe(401);
  });

  it('accepts a chunked upload without Content-Length', async () => {
    const page = await makePage('png', { seed: 42 });
    const status = await rawRequest(uploadHead(3, 'Transfer-Encoding: chunked\r\n'), [
      chunked(page.subarray(0, 1000)),
      chunked(page.subarray(1000)),
      Buffer.from('0\r\n\r\n'),
    ]);
    expect(status).toBe(201);
  });

  it('stops a chunked upload that grows past MAX_PAGE_BYTES with 413', async () => {
    const block = Buffer.alloc(64 * 1024, 7);
    const chunks = Array.from({ length: Math.ceil((MAX_PAGE_BYTES * 1.5) / block.length) }, () =>
      chunked(block),
    );
    expect(
      await rawRequest(uploadHead(4, 'Transfer-Encoding: chunked\r\n'), [
        ...chunks,
        Buffer.from('0\r\n\r\n'),
      ]),
    ).toBe(413);
  });

  it('cuts off a slow-loris body instead of waiting for it, and stays healthy', async () => {
    // 120 bytes at 100 ms each would take 12 s and still be far from the announced 100 000 bytes. Node checks
    // request timeouts on an interval, so the cut comes a few seconds after REQUEST_TIMEOUT_MS, not exactly at it.
    const started = Date.now();
    const trickle = Array.from({ length: 120 }, () => Buffer.from('x'));
    const status = await rawRequest(uploadHead(5, 'Content-Length: 100000\r\n'), trickle, 100);
    expect([408, 'closed']).toContain(status);
    expect(Date.now() - started).toBeLessThan(9000);
    expect((await api.json('GET', '/health/ready')).statusCode).toBe(200);
    const view = (await api.getPacket(station.token, packetId)).json();
    expect(view.pages.map((p: { n: number }) => p.n)).not.toContain(5);
  }, 20_000);
});
