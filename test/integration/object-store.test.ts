// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createHash, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../src/domain/errors.js';
import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3 } from '../../src/infra/embedded-s3.js';
import { MinioObjectStore, type MinioStoreOptions } from '../../src/storage/minio-store.js';

/** A self-signed certificate for 127.0.0.1, so s3rver can serve HTTPS as MinIO behind TLS would. */
async function loopbackCertificate(): Promise<{ key: string; cert: string }> {
  x509.cryptoProvider.set(webcrypto as never);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    name: 'CN=127.0.0.1',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: algorithm,
    keys: keys as never,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  return {
    key: KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: certificate.toString('pem'),
  };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let dataDir: string;
const stops: Array<() => Promise<void>> = [];
const storeOptions: Record<'http' | 'https', MinioStoreOptions> = {} as never;
const stores: Record<'http' | 'https', MinioObjectStore> = {} as never;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'object-store-'));
  const plain = await startEmbeddedS3(path.join(dataDir, 'plain'));
  stops.push(plain.close);

  const { key, cert } = await loopbackCertificate();
  const tls = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: path.join(dataDir, 'tls'),
    silent: true,
    key,
    cert,
  });
  const tlsAddress = await tls.run();
  stops.push(() => tls.close());
  // The minio client uses Node's global HTTPS agent; trust the test certificate there (this file's worker only).
  https.globalAgent.options.ca = [cert];

  const common = { ...EMBEDDED_S3_CREDENTIALS, region: 'us-east-1', bucket: 'store-test', timeoutMs: 5000 };
  storeOptions.http = { ...common, endPoint: plain.host, port: plain.port, useSsl: false };
  storeOptions.https = { ...common, endPoint: '127.0.0.1', port: tlsAddress.port, useSsl: true };
  stores.http = new MinioObjectStore(storeOptions.http);
  stores.https = new MinioObjectStore(storeOptions.https);
  await Promise.all(Object.values(stores).map((store) => store.ensureBucket()));
});

afterAll(async () => {
  for (const stop of stops) await stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe.each(['http', 'https'] as const)('MinioObjectStore over %s', (transport) => {
  it('stores a page byte for byte, with or without the caller’s SHA-256', async () => {
    const store = stores[transport];
    const page = randomBytes(1_300_000);
    await store.put('pages/with-digest.jpg', page, 'image/jpeg', sha256(page));
    await store.put('pages/without-digest.jpg', page, 'image/jpeg');
    for (const key of ['pages/with-digest.jpg', 'pages/without-digest.jpg']) {
      expect((await store.get(key)).equals(page)).toBe(true);
      expect(await store.stat(key)).toEqual({ size: page.length });
    }
  });

  it('stores a file streamed from disk, byte for byte', async () => {
    const store = stores[transport];
    const pdf = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(dataDir, `${transport}.pdf`);
    await writeFile(file, pdf);
    await store.putFile('packets/from-file.pdf', file, 'application/pdf', sha256(pdf));
    expect((await store.get('packets/from-file.pdf')).equals(pdf)).toBe(true);
  });

  it('overwrites an object under the same key and stores an empty body', async () => {
    const store = stores[transport];
    await store.put('pages/again.json', Buffer.from('{"first":true}'), 'application/json');
    await store.put('pages/again.json', Buffer.from('{"second":true}'), 'application/json');
    expect((await store.get('pages/again.json')).toString()).toBe('{"second":true}');
    await store.put('pages/empty.bin', Buffer.alloc(0), 'application/octet-stream');
    expect(await store.stat('pages/empty.bin')).toEqual({ size: 0 });
  });

  it('reports a missing object as undefined and removes objects', async () => {
    const store = stores[transport];
    expect(await store.stat('pages/never-stored.jpg')).toBeUndefined();
    await store.put('pages/to-remove.jpg', Buffer.from('x'), 'image/jpeg');
    await store.remove('pages/to-remove.jpg');
    expect(await store.stat('pages/to-remove.jpg')).toBeUndefined();
  });
});

describe('a large object', () => {
  it('moves in more time than the per-call deadline, and streams back', async () => {
    // 64 MB takes s3rver ~0.3 s each way; the 200 ms deadline is for answering, not for moving the bytes.
    const store = new MinioObjectStore({ ...storeOptions.http, timeoutMs: 200 });
    const pdf = randomBytes(64 * 1024 * 1024);
    const started = performance.now();
    await store.put('packets/big.pdf', pdf, 'application/pdf');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.getStream('packets/big.pdf')) chunks.push(chunk as Buffer);
    expect(performance.now() - started).toBeGreaterThan(200);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(pdf));
  });
});

describe('the embedded S3 server', () => {
  it('gives a reader the whole old object or the whole new one while a new one is written, never a part', async () => {
    const store = stores.http;
    const [first, second] = [randomBytes(24 * 1024 * 1024), randomBytes(24 * 1024 * 1024)];
    const seen = { absent: 0, first: 0, second: 0, partial: 0 };
    const readWhile = async (writing: Promise<void>) => {
      let written = false;
      void writing.then(() => (written = true));
      while (!written) {
        const found = await store.get('packets/racing.bin').catch(() => undefined);
        const digest = found && sha256(found);
        if (!found) seen.absent++;
        else if (digest === sha256(first)) seen.first++;
        else if (digest === sha256(second)) seen.second++;
        else seen.partial++;
      }
      await writing;
    };
    await readWhile(store.put('packets/racing.bin', first, 'application/octet-stream'));
    await readWhile(store.put('packets/racing.bin', second, 'application/octet-stream'));
    expect(seen.partial, JSON.stringify(seen)).toBe(0);
    expect((await store.get('packets/racing.bin')).equals(second)).toBe(true);
  });
});

/** A TCP server that takes what it is sent and answers only with `reply` (nothing by default), then goes silent. */
async function silentS3(reply = '') {
  const open = new Set<net.Socket>();
  let closed = 0;
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.once('data', () => socket.write(reply));
    socket.on('close', () => {
      open.delete(socket);
      closed++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const store = new MinioObjectStore({
    ...EMBEDDED_S3_CREDENTIALS,
    region: 'us-east-1',
    bucket: 'store-test',
    timeoutMs: 300,
    endPoint: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    useSsl: false,
  });
  return {
    store,
    open,
    closed: () => closed,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('an S3 that stops sending in the middle of an object', () => {
  it('fails the stream once it has been silent past the deadline', async () => {
    const s3 = await silentS3('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n%PDF-1.7 the first bytes');
    try {
      const stream = await s3.store.getStream('packets/stalled.pdf');
      const started = performance.now();
      await expect(stream.toArray()).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await s3.close();
    }
  });
});

describe('an S3 that accepts connections and never answers', () => {
  it('fails each call at the deadline and closes its connection, so abandoned pages are not held', async () => {
    const { store, open, closed, close } = await silentS3();
    try {
      const page = randomBytes(1_300_000);
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        await expect(store.put(`pages/${i}.jpg`, page, 'image/jpeg')).rejects.toBeInstanceOf(
          DependencyUnavailableError,
        );
        expect(performance.now() - started).toBeLessThan(2000);
      }
      await expect(store.get('pages/0.jpg')).rejects.toBeInstanceOf(DependencyUnavailableError);
      await expect(store.getStream('packets/x.pdf')).rejects.toBeInstanceOf(DependencyUnavailableError);
      // The client gave up on every request: its sockets close, and with them the page buffers they held.
      const deadline = Date.now() + 5000;
      while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(open.size).toBe(0);
      expect(closed()).toBeGreaterThanOrEqual(5);
    } finally {
      await close();
    }
  });
});

describe('a packet PDF upload that meets one 503', () => {
  it('is sent again whole, from the file, and stored exactly', async () => {
    // In front of the S3 server: the first PUT is answered 503 SlowDown after its body was read, as S3 does.
    let refused = 0;
    const target = storeOptions.http;
    const proxy = http.createServer((request, response) => {
      if (request.method === 'PUT' && refused === 0) {
        refused++;
        request.resume();
        request.on('end', () => response.writeHead(503).end('<Error><Code>SlowDown</Code></Error>'));
        return;
      }
      const forwarded = http.request(
        {
          host: target.endPoint,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      request.pipe(forwarded);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as net.AddressInfo;
      const store = new MinioObjectStore({ ...target, endPoint: '127.0.0.1', port });
      const body = randomBytes(3 * 1024 * 1024);
      const file = path.join(dataDir, 'once-refused.pdf');
      await writeFile(file, body);
      await store.putFile('packets/pk_503/packet.pdf', file, 'application/pdf', sha256(body));
      expect(refused).toBe(1);
      expect((await stores.http.get('packets/pk_503/packet.pdf')).equals(body)).toBe(true);
    } finally {
      proxy.close();
    }
  });
});
