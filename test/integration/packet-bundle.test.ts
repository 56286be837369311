import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { pdfPageText } from '../../fixtures/pdf-tools.js';
import { readSample, readSampleTruths, type SampleTruth } from '../../fixtures/samples.js';
import { characterErrorRate } from '../../fixtures/text-metrics.js';
import { connectRedis } from '../../src/infra/redis.js';
import { loadSigningIdentity } from '../../src/infra/signing-identity.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import type { OcrResult } from '../../src/pipeline/ocr.js';
import { PDF_FONT_FILE } from '../../src/pipeline/packet-pdf.js';
import { verifyPdfSignature } from '../../src/pipeline/pades.js';
import { packetProgressOf } from '../../src/roles/infrastructure.js';
import type { WorkerRole } from '../../src/roles/worker.js';
import { Bundling } from '../../src/services/bundling.js';
import { pagesDigestOf } from '../../src/services/packet-progress.js';
import { apiClient } from '../helpers/api-client.js';
import { dispatchLoopFor } from '../helpers/dispatch.js';
import { unreadableJpeg } from '../helpers/images.js';
import { withPutFile } from '../helpers/object-store.js';
import { startTestPool, startTestWorkers } from '../helpers/ocr-pool.js';
import { expectPadesBaselineB } from '../helpers/pades.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack } from '../helpers/stack.js';

const run = promisify(execFile);
let stack: TestStack;
let pool: TesseractPool;
let workers: WorkerRole;
let dir: string;
const api = apiClient(() => stack.app);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function waitForStatus(packetId: string, statuses: string[], timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const packet = (await api.getPacket(TEST_ADMIN_TOKEN, packetId)).json();
    if (statuses.includes(packet.status)) return packet;
    if (Date.now() > deadline) throw new Error(`packet stayed ${packet.status}`);
    await sleep(250);
  }
}

/** Where /Contents sits: the end of the first signed range and the start of the second. */
function byteRangeGap(pdf: Buffer): [number, number] {
  const match = [...pdf.toString('latin1').matchAll(/\/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)/g)].at(-1)!;
  return [Number(match[1]), Number(match[2])];
}

const hasCommand = async (command: string) =>
  run('which', [command]).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  stack = await startTestStack('bundle');
  dir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-bundle-'));
  pool = await startTestPool();
  workers = await startTestWorkers(stack.infra, pool);
});
afterAll(async () => {
  await stack?.close();
  await pool?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a submitted packet of the three shared samples', () => {
  let truths: SampleTruth[];
  let packetId: string;
  let pdf: Buffer;
  let pdfFile: string;

  beforeAll(async () => {
    truths = await readSampleTruths();
    const station = await api.createStation();
    packetId = (await api.createPacket(station.token, { ticket: 'А-017', service: 'land' })).id;
    for (const [i, truth] of truths.entries()) {
      const bytes = await readSample(truth.file);
      expect((await api.uploadPage(station.token, packetId, i + 1, bytes, 'image/jpeg')).statusCode).toBe(
        201,
      );
    }
    expect((await api.submit(station.token, packetId, truths.length)).statusCode).toBe(202);
    const packet = await waitForStatus(packetId, ['ready', 'failed']);
    expect(packet.status).toBe('ready');
    pdf = await stack.infra.store.get(packet.pdf.key);
    pdfFile = path.join(dir, 'packet.pdf');
    await writeFile(pdfFile, pdf);
  });

  it('reaches ready with the PDF’s key, SHA-256 and size recorded for the admin only', async () => {
    const asAdmin = (await api.getPacket(TEST_ADMIN_TOKEN, packetId)).json();
    expect(asAdmin.pdf).toEqual({
      key: `packets/${packetId}/packet-${sha256(pdf)}.pdf`,
      sha256: sha256(pdf),
      bytes: pdf.length,
      pages: 3,
    });
    expect(asAdmin.readyAt).toBeDefined();
    console.log(`packet PDF: ${pdf.length} bytes, ${Math.round(pdf.length / 3)} bytes per page`);
  });

  it('carries a PAdES B-B signature that our verifier accepts', async () => {
    expectPadesBaselineB(await verifyPdfSignature(pdf));
  });

  it('fails verification when any byte changes: in either signed range or in the signature itself', async () => {
    const [b, c] = byteRangeGap(pdf);
    const derHexChars =
      Buffer.from(pdf.toString('latin1', b + 1, c - 1), 'hex').findLastIndex((byte) => byte !== 0) * 2 + 2;
    const positions = [
      // Spread over the whole file: page images, text layer, manifest, signature dictionary, trailer.
      ...Array.from({ length: 300 }, (_, i) => Math.floor((i * (pdf.length - 1)) / 299)),
      // Every fifth hex digit of the CMS itself.
      ...Array.from({ length: Math.floor(derHexChars / 5) }, (_, i) => b + 1 + i * 5),
    ];
    for (const position of positions) {
      const tampered = Buffer.from(pdf);
      tampered[position] = tampered[position]! ^ 0x01;
      expect(
        (await verifyPdfSignature(tampered)).valid,
        `byte ${position} (contents ${b}..${c}, file ${pdf.length})`,
      ).toBe(false);
    }
    expect(positions.length).toBeGreaterThan(600);
    // Over 600 full verifications of a multi-megabyte file: 8 s alone, and two to three times that while the
    // other test file runs OCR on both cores, which is too close to the default 30 s.
  }, 120_000);

  it('is valid and covers the whole document for pdfsig (poppler)', async () => {
    if (!(await hasCommand('pdfsig'))) return expect.fail('pdfsig missing: .ci/run installs poppler-utils');
    const { stdout } = await run('pdfsig', [pdfFile]).catch((error: { stdout: string }) => ({
      stdout: error.stdout,
    }));
    console.log(stdout);
    expect(stdout).toContain('Signature is Valid.');
    expect(stdout).toContain('Total document signed');
    expect(stdout).toContain('ETSI.CAdES.detached');
  });

  it('shows signing-certificate-v2 and no signing-time to openssl cms', async () => {
    if (!(await hasCommand('openssl'))) return;
    const text = pdf.toString('latin1');
    const [b, c] = byteRangeGap(pdf);
    const padded = Buffer.from(text.slice(b + 1, c - 1), 'hex');
    // /Contents is zero-padded to the placeholder size; cut it to the DER object's own length.
    const lengthBytes = padded[1]! & 0x80 ? padded[1]! & 0x7f : 0;
    const length = lengthBytes ? padded.readUIntBE(2, lengthBytes) : padded[1]!;
    const signatureFile = path.join(dir, 'signature.der');
    await writeFile(signatureFile, padded.subarray(0, 2 + lengthBytes + length));
    const { stdout } = await run('openssl', [
      'cms',
      '-inform',
      'DER',
      '-in',
      signatureFile,
      '-cmsout',
      '-print',
    ]);
    expect(stdout).toMatch(/signingCertificateV2/);
    expect(stdout).not.toMatch(/signingTime/);
    expect(stdout).toMatch(/messageDigest/);
  });

  it('has a text layer that pdftotext reads within 0.5 points of the OCR’s own CER', async () => {
    const pages = (await api.getPacket(TEST_ADMIN_TOKEN, packetId)).json().pages;
    for (const [i, truth] of truths.entries()) {
      const stdout = await pdfPageText(pdfFile, i + 1);
      const record = await stack.infra.repositories.packets.getPage(packetId, i + 1);
      const ocr = JSON.parse(
        (await stack.infra.store.get(record!.processing!.ocrKey)).toString(),
      ) as OcrResult;
      const pdfCer = characterErrorRate(stdout, truth.text);
      const ocrCer = characterErrorRate(ocr.text, truth.text);
      console.log(
        `${truth.file}: OCR CER ${(ocrCer * 100).toFixed(2)}%, pdftotext CER ${(pdfCer * 100).toFixed(2)}%`,
      );
      expect(Math.abs(pdfCer - ocrCer)).toBeLessThanOrEqual(0.005);
      expect(pages[i].status).toBe('done');
    }
  });

  it('embeds a manifest with the SHA-256 of every original and processed page', async () => {
    await run('pdfdetach', ['-saveall', '-o', dir, pdfFile]);
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ packetId, ticket: 'А-017', service: 'land' });
    for (const [i, truth] of truths.entries()) {
      const original = await readSample(truth.file);
      expect(manifest.pages[i].original.sha256).toBe(sha256(original));
      const record = await stack.infra.repositories.packets.getPage(packetId, i + 1);
      expect(manifest.pages[i].processed.sha256).toBe(record!.processing!.processedSha256);
    }
  });

  it('does nothing when the bundle job runs again for a packet already ready', async () => {
    const pages = await stack.infra.repositories.packets.listPages(packetId);
    const payload = { packetId, pagesDigest: pagesDigestOf(pages), run: 0, retryUntil: Date.now() + 60_000 };
    expect(await workers.bundling.bundle(payload)).toBe('skipped');
    const packet = (await api.getPacket(TEST_ADMIN_TOKEN, packetId)).json();
    expect(packet.pdf.sha256).toBe(sha256(pdf));
  });
});

describe('two bundle runs of one packet at once (a stalled job picked up while its first run goes on)', () => {
  it('records the PDF that is stored: the run that loses never replaces the winner’s file', async () => {
    const { bundleWorker } = workers;
    await bundleWorker.pause();
    try {
      const station = await api.createStation();
      const packetId = (await api.createPacket(station.token)).id;
      const white = await sharp({ create: { width: 800, height: 1100, channels: 3, background: '#fff' } })
        .png()
        .toBuffer();
      await api.uploadPage(station.token, packetId, 1, white);
      expect((await api.submit(station.token, packetId, 1)).statusCode).toBe(202);
      let pages = await stack.infra.repositories.packets.listPages(packetId);
      for (const deadline = Date.now() + 60_000; pages[0]?.status !== 'done'; ) {
        if (Date.now() > deadline) throw new Error('the page was not processed');
        await sleep(250);
        pages = await stack.infra.repositories.packets.listPages(packetId);
      }
      const payload = {
        packetId,
        pagesDigest: pagesDigestOf(pages),
        run: 0,
        retryUntil: Date.now() + 60_000,
      };

      const first = workers.bundling.bundle(payload);
      // The second run stores its PDF only after the first has finished and marked the packet ready.
      const { store } = stack.infra;
      const lateStore = withPutFile(store, async (key, file, contentType, digest) => {
        await first;
        return store.putFile(key, file, contentType, digest);
      });
      const second = new Bundling({
        packets: stack.infra.repositories.packets,
        progress: packetProgressOf(stack.infra),
        store: lateStore,
        identity: await loadSigningIdentity(stack.infra.config.signing, stack.infra.log),
        font: await readFile(PDF_FONT_FILE),
        office: stack.infra.config.office,
        metrics: stack.infra.metrics,
        log: stack.infra.log,
      }).bundle(payload);
      expect((await Promise.all([first, second])).sort()).toEqual(['ready', 'skipped']);

      const recorded = (await api.getPacket(TEST_ADMIN_TOKEN, packetId)).json().pdf;
      const stored = await store.get(recorded.key);
      expect(sha256(stored)).toBe(recorded.sha256);
      expect((await verifyPdfSignature(stored)).valid).toBe(true);
    } finally {
      bundleWorker.resume();
    }
  });
});

describe('a packet with a page that cannot be read', () => {
  it('fails naming the page; the station rescans only that page, resubmits, and the packet becomes ready', async () => {
    const station = await api.createStation();
    const packetId = (await api.createPacket(station.token)).id;
    const good = await generatePage({ dpi: 200, paragraphs: { from: 2, count: 2 } });
    const broken = await unreadableJpeg();
    await api.uploadPage(station.token, packetId, 1, good.bytes, 'image/jpeg');
    await api.uploadPage(station.token, packetId, 2, broken, 'image/jpeg');
    expect((await api.submit(station.token, packetId, 2)).statusCode).toBe(202);

    const failed = await waitForStatus(packetId, ['failed', 'ready']);
    expect(failed.status).toBe('failed');
    expect(failed.rescanPages).toEqual([2]);
    expect(failed.failure).toMatch(/page 2: .*rescan page 2/);
    const stationView = (await api.getPacket(station.token, packetId)).json();
    expect(stationView.failure).toBe(failed.failure);

    const otherPage = await api.uploadPage(
      station.token,
      packetId,
      1,
      (await generatePage({ dpi: 200 })).bytes,
      'image/jpeg',
    );
    expect(otherPage.statusCode).toBe(409);
    const rescan = await generatePage({ dpi: 200, paragraphs: { from: 7, count: 2 } });
    expect((await api.uploadPage(station.token, packetId, 2, rescan.bytes, 'image/jpeg')).statusCode).toBe(
      201,
    );
    expect((await api.getPacket(station.token, packetId)).json().status).toBe('open');
    const stillOther = await api.uploadPage(
      station.token,
      packetId,
      1,
      (await generatePage({ dpi: 200 })).bytes,
      'image/jpeg',
    );
    expect(stillOther.statusCode).toBe(409);
    expect(stillOther.json().error.code).toBe('rescan_only');

    expect((await api.submit(station.token, packetId, 2)).statusCode).toBe(202);
    const ready = await waitForStatus(packetId, ['ready', 'failed']);
    expect(ready.status).toBe('ready');
    expect(ready.failure).toBeUndefined();
    const pdf = await stack.infra.store.get(ready.pdf.key);
    expect((await verifyPdfSignature(pdf)).valid).toBe(true);
  });
});

describe('end to end: scan, OCR, sign, draw, registrar decides', () => {
  it('assigns the packet to one of three free registrars, who downloads a valid PDF and decides', async () => {
    const blocking = await connectRedis(stack.infra.redisUrl, 'blocking');
    const dispatcher = dispatchLoopFor(stack.infra);
    const running = dispatcher.run(blocking);
    try {
      const registrars = [];
      await api.addService('e2e');
      for (const name of ['Оксана', 'Тарас', 'Ірина']) {
        const created = (
          await api.json('POST', '/v1/registrars', TEST_ADMIN_TOKEN, { name, services: ['e2e'] })
        ).json();
        expect(
          (await api.json('PUT', '/v1/registrar/status', created.token, { status: 'free' })).statusCode,
        ).toBe(200);
        registrars.push(created as { id: string; token: string });
      }
      const station = await api.createStation();
      const packet = await api.createPacket(station.token, { ticket: 'E-2E', service: 'e2e' });
      const pages = await Promise.all(
        [1, 2].map((n) => generatePage({ dpi: 200, skewDeg: n * 3, paragraphs: { from: n, count: 2 } })),
      );
      for (const [i, page] of pages.entries())
        await api.uploadPage(station.token, packet.id, i + 1, page.bytes, 'image/jpeg');
      expect((await api.submit(station.token, packet.id, 2)).statusCode).toBe(202);

      let holder: { id: string; token: string } | undefined;
      for (let attempt = 0; attempt < 60 && !holder; attempt++) {
        for (const registrar of registrars) {
          const answer = await api.json('GET', '/v1/registrar/assignment?wait=1', registrar.token);
          if (answer.statusCode === 200 && answer.json().packetId === packet.id) holder = registrar;
        }
      }
      expect(holder).toBeDefined();
      const others = registrars.filter((registrar) => registrar !== holder);
      for (const other of others) {
        expect(
          (await api.json('GET', `/v1/registrar/packets/${packet.id}/pdf`, other.token)).statusCode,
        ).toBe(404);
      }
      const download = await stack.app.inject({
        method: 'GET',
        url: `/v1/registrar/packets/${packet.id}/pdf`,
        headers: { authorization: `Bearer ${holder!.token}` },
      });
      expect(download.headers['content-type']).toBe('application/pdf');
      const pdf = download.rawPayload;
      expect(Number(download.headers['content-length'])).toBe(pdf.length);
      expect(sha256(pdf)).toBe(download.headers['x-content-sha256']);
      expect((await verifyPdfSignature(pdf)).valid).toBe(true);
      const text = (
        await api.json('GET', `/v1/registrar/packets/${packet.id}/pages/2/text`, holder!.token)
      ).json();
      expect(characterErrorRate(text.text, pages[1]!.truth.text)).toBeLessThanOrEqual(0.03);

      const decision = await api.json('POST', `/v1/registrar/packets/${packet.id}/decision`, holder!.token, {
        outcome: 'rejected',
      });
      expect(decision.json()).toMatchObject({ status: 'decided', outcome: 'rejected' });
      expect((await api.json('GET', `/v1/track/${packet.trackingCode}`)).json()).toEqual({
        status: 'decided',
        outcome: 'rejected',
      });
      const entries = (await api.json('GET', '/v1/audit/assignments?limit=1000', TEST_ADMIN_TOKEN)).json()
        .entries;
      const draw = entries.find(
        (entry: { type: string; packetId: string }) => entry.type === 'draw' && entry.packetId === packet.id,
      );
      expect(draw).toMatchObject({ chosen: holder!.id, reason: 'ready', pdfSha256: sha256(pdf) });
      expect(draw.eligible).toHaveLength(3);
      expect((await api.json('GET', '/v1/audit/verify', TEST_ADMIN_TOKEN)).json()).toMatchObject({
        ok: true,
      });
    } finally {
      dispatcher.stop();
      blocking.disconnect();
      await running;
    }
  });
});
