import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { PDFDocument, PDFName, PDFString, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import { characterErrorRate } from '../../fixtures/text-metrics.js';
import type { TesseractPool } from '../../src/ocr/tesseract-pool.js';
import type { OcrResult } from '../../src/pipeline/ocr.js';
import { apiClient, errorCodeOf } from '../helpers/api-client.js';
import { startTestPool, startTestWorkers } from '../helpers/ocr-pool.js';
import { TEST_ADMIN_TOKEN, useTestStack } from '../helpers/stack.js';
import { until } from '../helpers/wait.js';

/**
 * Scanners' own files through the real service: multi-page PDFs and TIFFs become pages that keep the scanner's
 * pixels (checked against poppler's and libtiff's own decoding), are read by OCR, and are named in the signed
 * packet PDF's manifest; hostile documents are refused whole with a clear code and leave nothing behind.
 */

const run = promisify(execFile);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const SAMPLES = path.resolve(import.meta.dirname, '../../fixtures/samples');

type PageRow = {
  n: number;
  status: string;
  sha256: string;
  source?: { document: string; index: number };
  processing?: { imageFormat?: string; ocrConfidence: number | null; dpi: number };
};

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'scan-documents-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** The images embedded in a PDF as poppler's pdfimages writes them (`-j`: JPEGs as they are, the rest as PNG). */
async function embeddedImages(pdf: Buffer, name: string): Promise<Buffer[]> {
  const dir = await mkdtemp(path.join(scratch, `${name}-`));
  await writeFile(path.join(dir, 'in.pdf'), pdf);
  await run('pdfimages', ['-j', '-png', path.join(dir, 'in.pdf'), path.join(dir, 'img')]);
  const files = (await readdir(dir)).filter((file) => file.startsWith('img')).sort();
  return Promise.all(files.map((file) => readFile(path.join(dir, file))));
}

/** 8-bit grey pixels of an image, as libvips decodes it. */
const greyPixels = (image: Buffer) => sharp(image).toColourspace('b-w').raw().toBuffer();

/** A PDF of JPEG pages, each drawn over the whole page at its resolution, as scanners write colour and grey. */
async function jpegPdf(jpegs: Buffer[], dpi: number): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  for (const jpeg of jpegs) {
    const image = await pdf.embedJpg(jpeg);
    const page = pdf.addPage([(image.width * 72) / dpi, (image.height * 72) / dpi]);
    page.drawImage(image, { x: 0, y: 0, width: page.getWidth(), height: page.getHeight() });
  }
  return Buffer.from(await pdf.save());
}

/** A multi-page CCITT G4 TIFF of black-and-white pages, as office scanners write them. */
async function g4Tiff(pages: Buffer[], dpi: number): Promise<{ tiff: Buffer; pixels: Buffer[] }> {
  const raws = await Promise.all(
    pages.map((page) =>
      sharp(page).greyscale().threshold(160).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true }),
    ),
  );
  const { width, height } = raws[0]!.info;
  const tiff = await sharp(Buffer.concat(raws.map((raw) => raw.data)), {
    raw: { width, height: height * raws.length, channels: 1, pageHeight: height } as never,
  })
    .toColourspace('b-w')
    .tiff({ compression: 'ccittfax4', bitdepth: 1, xres: dpi / 25.4, yres: dpi / 25.4 })
    .toBuffer();
  return { tiff, pixels: raws.map((raw) => raw.data) };
}

describe('scanner documents', () => {
  const held = useTestStack('documents');
  const api = apiClient(() => held.stack.app);
  let pool: TesseractPool;
  let station: { token: string };
  beforeAll(async () => {
    pool = await startTestPool();
    await startTestWorkers(held.stack.infra, pool);
    station = await api.createStation();
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
  });

  const sendDocument = (packetId: string, body: Buffer, type: string, at?: number) =>
    held.stack.app.inject({
      method: 'POST',
      url: `/v1/packets/${packetId}/documents${at ? `?at=${at}` : ''}`,
      headers: { authorization: `Bearer ${station.token}`, 'content-type': type },
      payload: body,
    });
  const pagesOf = async (packetId: string) =>
    ((await api.getPacket(station.token, packetId)).json() as { pages: PageRow[] }).pages;
  const processed = async (packetId: string, count: number) =>
    until(
      `${count} pages processed`,
      async () => {
        const pages = await pagesOf(packetId);
        return pages.length === count && pages.every((page) => page.status === 'done') && pages;
      },
      180_000,
    );
  const storedObject = async (
    packetId: string,
    n: number,
    key: 'processedKey' | 'ocrKey' | 'originalKey',
  ) => {
    const page = (await held.stack.infra.repositories.packets.getPage(packetId, n))!;
    return held.stack.infra.store.get(key === 'originalKey' ? page.originalKey : page.processing![key]);
  };
  const ocrText = async (packetId: string, n: number) =>
    (JSON.parse((await storedObject(packetId, n, 'ocrKey')).toString()) as OcrResult).text;

  it('a PDF of JPEG pages: each JPEG passes through untouched, pages appended in order, idempotent', async () => {
    const generated = await Promise.all(
      [0, 3, 6].map((from) => generatePage({ dpi: 200, paragraphs: { from, count: 1 }, format: 'jpeg' })),
    );
    const pdf = await jpegPdf(
      generated.map((page) => page.bytes),
      200,
    );
    const packet = await api.createPacket(station.token);
    const loose = (await generatePage({ dpi: 200, paragraphs: { from: 9, count: 1 }, format: 'jpeg' })).bytes;
    expect((await api.uploadPage(station.token, packet.id, 1, loose, 'image/jpeg')).statusCode).toBe(201);

    const sent = await sendDocument(packet.id, pdf, 'application/pdf');
    expect(sent.statusCode, sent.body).toBe(201);
    const answer = sent.json();
    expect(answer.document).toEqual({ sha256: sha256(pdf), bytes: pdf.length, pages: 3 });
    expect(answer.pages.map((page: PageRow) => [page.n, page.sha256])).toEqual(
      generated.map((page, i) => [i + 2, sha256(page.bytes)]),
    );
    const again = await sendDocument(packet.id, pdf, 'application/pdf');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(answer);

    const pages = await processed(packet.id, 4);
    expect(pages.slice(1).map((page) => page.source)).toEqual(
      [1, 2, 3].map((index) => ({ document: sha256(pdf), index })),
    );
    expect(pages.slice(1).map((page) => page.processing!.dpi)).toEqual([200, 200, 200]);
    for (const [i, page] of generated.entries()) {
      // The page's original is the scanner's JPEG, byte for byte; OCR reads it.
      expect(sha256(await storedObject(packet.id, i + 2, 'originalKey'))).toBe(sha256(page.bytes));
      expect(characterErrorRate(await ocrText(packet.id, i + 2), page.truth.text)).toBeLessThan(0.03);
    }
    // The document itself is kept as received.
    const record = await held.stack.infra.repositories.packets.getDocument(packet.id, sha256(pdf));
    expect(sha256(await held.stack.infra.store.get(record!.key))).toBe(sha256(pdf));
  }, 240_000);

  it('real scanner PDFs (JBIG2, CCITT G4, JPEG) and a CCITT G4 TIFF keep their pixels; the manifest names them', async () => {
    const packet = await api.createPacket(station.token, { ticket: 'Д-5', service: 'land' });
    const sources: Array<{ name: string; body: Buffer; type: string }> = [];
    for (const name of ['jbig2.pdf', 'ccitt.pdf', 'c02-22.pdf'])
      sources.push({ name, body: await readFile(path.join(SAMPLES, name)), type: 'application/pdf' });
    const tiffPages = await Promise.all(
      [1, 4].map(
        async (from) =>
          (await generatePage({ dpi: 300, paragraphs: { from, count: 1 }, format: 'png' })).bytes,
      ),
    );
    const tiff = await g4Tiff(tiffPages, 300);
    sources.push({ name: 'g4.tif', body: tiff.tiff, type: 'image/tiff' });
    for (const source of sources) {
      const sent = await sendDocument(packet.id, source.body, source.type);
      expect(sent.statusCode, `${source.name}: ${sent.body}`).toBe(201);
    }
    const pages = await processed(packet.id, 5);

    // Bilevel pages: the processed image is exactly the embedded image's pixels (poppler decodes the reference).
    for (const [n, name] of [
      [1, 'jbig2.pdf'],
      [2, 'ccitt.pdf'],
    ] as const) {
      const [reference] = await embeddedImages(sources.find((s) => s.name === name)!.body, name);
      const mine = await storedObject(packet.id, n, 'processedKey');
      expect(pages[n - 1]!.processing!.imageFormat).toBe('png');
      expect((await greyPixels(mine)).equals(await greyPixels(reference!)), `${name} pixel-exact`).toBe(true);
      expect(await ocrText(packet.id, n)).toMatch(/LinnSequencer/i);
    }
    // The JPEG page: its original is the embedded JPEG, byte for byte (pdfimages -j writes it out as it is).
    const [embeddedJpeg] = await embeddedImages(sources[2]!.body, 'c02');
    expect(sha256(await storedObject(packet.id, 3, 'originalKey'))).toBe(sha256(embeddedJpeg!));
    expect(pages[2]!.processing!.dpi).toBe(150);
    expect(pages[2]!.processing!.ocrConfidence).toBeGreaterThan(60);
    // The G4 TIFF's pages, pixel-exact against libtiff's decoding of the file.
    for (const [i, pixels] of tiff.pixels.entries()) {
      const mine = await storedObject(packet.id, 4 + i, 'processedKey');
      expect((await greyPixels(mine)).equals(pixels), `TIFF page ${i + 1} pixel-exact`).toBe(true);
    }

    expect((await api.submit(station.token, packet.id, 5)).statusCode).toBe(202);
    const ready = await until('packet ready', async () => {
      const record = await held.stack.infra.repositories.packets.get(packet.id);
      return record?.pdf && record;
    });
    const dir = await mkdtemp(path.join(scratch, 'packet-'));
    const file = path.join(dir, 'packet.pdf');
    await writeFile(file, await held.stack.infra.store.get(ready.pdf!.key));
    await run('pdfdetach', ['-saveall', '-o', dir, file]);
    const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.documents.map((document: { sha256: string }) => document.sha256)).toEqual(
      expect.arrayContaining(sources.map((source) => sha256(source.body))),
    );
    expect(manifest.pages.map((page: { source: unknown }) => page.source)).toEqual([
      { document: sha256(sources[0]!.body), index: 1 },
      { document: sha256(sources[1]!.body), index: 1 },
      { document: sha256(sources[2]!.body), index: 1 },
      { document: sha256(tiff.tiff), index: 1 },
      { document: sha256(tiff.tiff), index: 2 },
    ]);
    // In the signed packet PDF the bilevel pages are still exactly the scanner's pixels (G4 pads them with white to
    // whole 16-pixel tiles).
    const [packetCcitt] = (await embeddedImages(await readFile(file), 'packet')).slice(1, 2);
    const [sourceCcitt] = await embeddedImages(sources[1]!.body, 'ccitt-again');
    const { width = 0, height = 0 } = await sharp(sourceCcitt!).metadata();
    const scanArea = await sharp(packetCcitt!).extract({ left: 0, top: 0, width, height }).toBuffer();
    expect((await greyPixels(scanArea)).equals(await greyPixels(sourceCcitt!))).toBe(true);
    const padded = await sharp(packetCcitt!).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(padded.info.width - width).toBeLessThan(16);
    expect(padded.info.height - height).toBeLessThan(16);
    const padding = [...padded.data].filter(
      (_, i) => i % padded.info.width >= width || Math.floor(i / padded.info.width) >= height,
    );
    expect(padding.every((value) => value === 255)).toBe(true);
  }, 300_000);

  it('a born-digital page is rendered at 300 dpi and read; ?at= inserts before the pages there', async () => {
    const born = await PDFDocument.create();
    const font = await born.embedFont(StandardFonts.Helvetica);
    const page = born.addPage([595, 842]);
    page.drawText('Application for land registration', { x: 60, y: 760, size: 18, font });
    page.drawText('Parcel number 3222486200 issued in Kyiv region', { x: 60, y: 720, size: 12, font });
    const pdf = Buffer.from(await born.save());
    const packet = await api.createPacket(station.token);
    const loose = (await generatePage({ dpi: 200, paragraphs: { from: 2, count: 1 }, format: 'jpeg' })).bytes;
    await api.uploadPage(station.token, packet.id, 1, loose, 'image/jpeg');
    const sent = await sendDocument(packet.id, pdf, 'application/pdf', 1);
    expect(sent.statusCode, sent.body).toBe(201);
    expect(sent.json().pages.map((row: PageRow) => row.n)).toEqual([1]);
    const pages = await processed(packet.id, 2);
    expect(pages[0]!.source).toEqual({ document: sha256(pdf), index: 1 });
    expect(pages[1]!.sha256).toBe(sha256(loose));
    expect(pages[0]!.processing!.dpi).toBe(300);
    expect(await ocrText(packet.id, 1)).toMatch(/land registration[\s\S]*3222486200/i);
  }, 180_000);
});

describe('hostile documents', () => {
  const held = useTestStack('documents-hostile', { MAX_PAGE_DECODED_BYTES: String(32 * 1024 * 1024) });
  const api = apiClient(() => held.stack.app);

  const refusedWhole = async (body: Buffer, type: string, status: number, code: string) => {
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const response = await held.stack.app.inject({
      method: 'POST',
      url: `/v1/packets/${packet.id}/documents`,
      headers: { authorization: `Bearer ${station.token}`, 'content-type': type },
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(status);
    expect(errorCodeOf(response)).toBe(code);
    // Nothing stored: no page, no object under the packet, and the service still takes a normal page.
    expect((await api.getPacket(station.token, packet.id)).json().pages).toEqual([]);
    expect(
      await held.stack.infra.store.stat(`packets/${packet.id}/documents/${sha256(body)}.pdf`),
    ).toBeUndefined();
    expect((await api.json('GET', '/health/ready')).statusCode).toBe(200);
    const page = (await generatePage({ dpi: 200, format: 'jpeg' })).bytes;
    expect((await api.uploadPage(station.token, packet.id, 1, page, 'image/jpeg')).statusCode).toBe(201);
    return response.json().error as { message: string; page?: number };
  };
  const onePagePdf = async (change: (pdf: PDFDocument) => void) => {
    const pdf = await PDFDocument.create();
    const jpeg = (await generatePage({ dpi: 200, format: 'jpeg' })).bytes;
    const image = await pdf.embedJpg(jpeg);
    pdf.addPage([595, 842]).drawImage(image, { x: 0, y: 0, width: 595, height: 842 });
    change(pdf);
    return Buffer.from(await pdf.save());
  };

  it('an encrypted PDF: 422 encrypted_document', async () => {
    const pdf = await onePagePdf((doc) => {
      const encrypt = doc.context.obj({ Filter: 'Standard', V: 2, R: 3, Length: 128, P: -4 });
      doc.context.trailerInfo.Encrypt = doc.context.register(encrypt);
    });
    await refusedWhole(pdf, 'application/pdf', 422, 'encrypted_document');
  });

  it('a PDF with JavaScript: 422 active_content, nothing run', async () => {
    const pdf = await onePagePdf((doc) => {
      const action = doc.context.obj({ S: 'JavaScript', JS: PDFString.of('app.alert("hello")') });
      doc.catalog.set(PDFName.of('OpenAction'), doc.context.register(action));
    });
    await refusedWhole(pdf, 'application/pdf', 422, 'active_content');
  });

  it('a truncated PDF: 422 corrupt_document', async () => {
    const pdf = await jpegPdf(
      await Promise.all(
        [0, 1].map(
          async (from) =>
            (await generatePage({ dpi: 200, paragraphs: { from, count: 1 }, format: 'jpeg' })).bytes,
        ),
      ),
      200,
    );
    await refusedWhole(
      pdf.subarray(0, Math.floor(pdf.length * 0.6)),
      'application/pdf',
      422,
      'corrupt_document',
    );
  });

  it('10 000 empty pages: 422 too_many_pages', async () => {
    const pdf = await PDFDocument.create();
    for (let i = 0; i < 10_000; i++) pdf.addPage([595, 842]);
    await refusedWhole(Buffer.from(await pdf.save()), 'application/pdf', 422, 'too_many_pages');
  });

  it('a Flate bomb (64 MiB of zeros in 64 KB): 422 decoded_too_large, bounded by decoded bytes', async () => {
    const pdf = await onePagePdf((doc) => {
      const zeros = deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
      doc.context.register(doc.context.stream(zeros, { Filter: 'FlateDecode' }));
    });
    expect(pdf.length).toBeLessThan(1024 * 1024);
    await refusedWhole(pdf, 'application/pdf', 422, 'decoded_too_large');
  });

  it('page 7 of 20 cannot be decoded: no page is added and the error names page 7', async () => {
    const pages = await Promise.all(
      Array.from(
        { length: 20 },
        async (_, i) =>
          (await generatePage({ dpi: 200, paragraphs: { from: i, count: 1 }, format: 'jpeg' })).bytes,
      ),
    );
    // Page 7's JPEG keeps its header and end marker but loses half its scan data.
    const broken = pages[6]!;
    pages[6] = Buffer.concat([broken.subarray(0, Math.floor(broken.length / 2)), Buffer.from([0xff, 0xd9])]);
    const error = await refusedWhole(await jpegPdf(pages, 200), 'application/pdf', 422, 'corrupt_document');
    expect(error.page).toBe(7);
    expect(error.message).toMatch(/Page 7 of 20/);
  });

  it('a body that is not what its type says, and a type that is neither PDF nor TIFF', async () => {
    const jpeg = (await generatePage({ dpi: 200, format: 'jpeg' })).bytes;
    await refusedWhole(jpeg, 'application/pdf', 415, 'media_type_mismatch');
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    const response = await held.stack.app.inject({
      method: 'POST',
      url: `/v1/packets/${packet.id}/documents`,
      headers: { authorization: `Bearer ${station.token}`, 'content-type': 'application/zip' },
      payload: jpeg,
    });
    expect(response.statusCode).toBe(415);
  });

  it('only stations send documents, and only to their own packets', async () => {
    const owner = await api.createStation();
    const other = await api.createStation();
    const packet = await api.createPacket(owner.token);
    const pdf = await onePagePdf(() => {});
    for (const [token, status] of [
      [other.token, 404],
      [TEST_ADMIN_TOKEN, 403],
    ] as const) {
      const response = await held.stack.app.inject({
        method: 'POST',
        url: `/v1/packets/${packet.id}/documents`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pdf' },
        payload: pdf,
      });
      expect(response.statusCode).toBe(status);
    }
  });
});
