import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processedPacketOf, type StoredPage, storeProcessedPages } from '../../fixtures/processed-packet.js';
import type { PacketPdf } from '../../src/domain/types.js';
import { EMBEDDED_S3_CREDENTIALS, type EmbeddedS3, startEmbeddedS3 } from '../../src/infra/embedded-s3.js';
import { createLogger } from '../../src/infra/logger.js';
import { createMetrics } from '../../src/infra/metrics.js';
import { loadSigningIdentity } from '../../src/infra/signing-identity.js';
import { PDF_FONT_FILE } from '../../src/pipeline/packet-pdf.js';
import {
  type SigningIdentity,
  verifyPdfSignature,
  verifyPdfSignatureFile,
} from '../../src/pipeline/pades.js';
import { Bundling, removeStaleBundleFiles } from '../../src/services/bundling.js';
import { type PacketProgress, pagesDigestOf } from '../../src/services/packet-progress.js';
import { MinioObjectStore } from '../../src/storage/minio-store.js';
import { packetPdfKey } from '../../src/storage/object-keys.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { withPutFile } from '../helpers/object-store.js';
import { expectPadesBaselineB } from '../helpers/pades.js';
import { MemoryPacketRecords } from '../unit/fakes/memory-packets.js';

const run = promisify(execFile);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const hasCommand = (command: string) =>
  run('which', [command]).then(
    () => true,
    () => false,
  );

let dir: string;
let s3: EmbeddedS3;
let store: MinioObjectStore;
let stored: StoredPage[];
let identity: SigningIdentity;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-pdf-file-'));
  s3 = await startEmbeddedS3(dir);
  store = new MinioObjectStore({
    endPoint: s3.host,
    port: s3.port,
    useSsl: false,
    ...EMBEDDED_S3_CREDENTIALS,
    region: 'us-east-1',
    bucket: 'pdf-file-test',
    timeoutMs: 5000,
  });
  await store.ensureBucket();
  stored = await storeProcessedPages(store, {
    jpegPages: 3,
    bilevelPages: 1,
    dpi: 200,
    jpegQuality: 70,
    paragraphs: 3,
  });
  identity = await loadSigningIdentity(
    { kind: 'generated', dataDir: dir, office: 'Test office' },
    createLogger('silent'),
  );
});
afterAll(async () => {
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the bundle job for a packet of `pageCount` stored pages, with its temporary files in a folder of their own
 * (TMPDIR), and returns the packet's records and that folder.
 */
async function bundle(id: string, pageCount: number, through: ObjectStore = store) {
  const records = Object.assign(new MemoryPacketRecords(), { listDocuments: async () => [] });
  const { packet, pages } = processedPacketOf(id, stored, pageCount);
  records.add(packet, pages);
  const bundling = new Bundling({
    packets: records,
    progress: {} as PacketProgress,
    store: through,
    identity,
    font: await readFile(PDF_FONT_FILE),
    office: { name: 'Test office', location: 'Kyiv' },
    metrics: createMetrics(),
    log: createLogger('silent'),
  });
  const tmp = path.join(dir, `tmp-${id}`);
  await mkdir(tmp);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const payload = {
      packetId: id,
      pagesDigest: pagesDigestOf(pages),
      run: 0,
      retryUntil: Date.now() + 60_000,
    };
    return { outcome: await bundling.bundle(payload), records, pages, tmp };
  } finally {
    process.env.TMPDIR = previous;
  }
}

describe('a packet bundled through a file', () => {
  const PAGES = 10;
  let pdf: PacketPdf;
  let file: string;
  let tmp: string;
  let pageWords: string[][];

  beforeAll(async () => {
    const result = await bundle('pk_file', PAGES);
    expect(result.outcome).toBe('ready');
    pdf = (await result.records.get('pk_file'))!.pdf!;
    tmp = result.tmp;
    pageWords = result.pages.map(
      (page) => stored.find((s) => s.processedKey === page.processing!.processedKey)!.words,
    );
    file = path.join(dir, 'packet.pdf');
    await pipeline(await store.getStream(pdf.key), createWriteStream(file));
  }, 60_000);

  it('is stored under its digest, with the digest and size the packet records', async () => {
    const bytes = await readFile(file);
    expect(pdf).toEqual({
      key: packetPdfKey('pk_file', sha256(bytes)),
      sha256: sha256(bytes),
      bytes: bytes.length,
      pages: PAGES,
    });
  });

  it('leaves no temporary file behind', async () => {
    expect(await readdir(tmp)).toEqual([]);
  });

  it('carries a PAdES B-B signature that our verifier accepts, from the file and in memory', async () => {
    const fromFile = await verifyPdfSignatureFile(file);
    expectPadesBaselineB(fromFile);
    expect(await verifyPdfSignature(await readFile(file))).toEqual(fromFile);
  });

  it('is valid and covers the whole document for pdfsig (poppler), and well formed for qpdf', async () => {
    if (!(await hasCommand('pdfsig'))) return expect.fail('pdfsig missing: .ci/run installs poppler-utils');
    const { stdout } = await run('pdfsig', [file]).catch((error: { stdout: string }) => ({
      stdout: error.stdout,
    }));
    expect(stdout).toContain('Signature is Valid.');
    expect(stdout).toContain('Total document signed');
    if (!(await hasCommand('qpdf'))) return expect.fail('qpdf missing: .ci/run installs it');
    const check = await run('qpdf', ['--check', file]);
    expect(check.stdout).toContain('No syntax or stream encoding errors found');
  });

  it('has every page with its scan and its text for poppler', async () => {
    const info = (await run('pdfinfo', [file])).stdout;
    expect(info).toMatch(new RegExp(`^Pages:\\s+${PAGES}$`, 'm'));
    // page num type width height color comp bpc enc …, one row per image after two header lines.
    const images = (await run('pdfimages', ['-list', file])).stdout
      .trim()
      .split('\n')
      .slice(2)
      .map((row) => row.trim().split(/\s+/));
    expect(images.map((row) => Number(row[0]))).toEqual(Array.from({ length: PAGES }, (_, i) => i + 1));
    for (const [i, row] of images.entries()) {
      const bilevel = stored[i % stored.length]!.imageFormat === 'png';
      expect(bilevel ? [row[5], row[7]] : [row[8]], `page ${i + 1}`).toEqual(
        bilevel ? ['gray', '1'] : ['jpeg'],
      );
    }
    for (const [i, words] of pageWords.entries()) {
      const { stdout } = await run('pdftotext', [
        '-f',
        `${i + 1}`,
        '-l',
        `${i + 1}`,
        '-enc',
        'UTF-8',
        file,
        '-',
      ]);
      expect(stdout.split(/\s+/).filter(Boolean).slice(0, 20), `page ${i + 1}`).toEqual(words.slice(0, 20));
    }
  });

  it('fails verification when any byte changes: in either signed range or in the signature itself', async () => {
    const size = pdf.bytes;
    const tampered = path.join(dir, 'tampered.pdf');
    await pipeline(await store.getStream(pdf.key), createWriteStream(tampered));
    const text = (await readFile(tampered)).toString('latin1');
    const [, gapStart, gapEnd] = text.match(/\/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)/)!.map(Number) as number[];
    const cmsHexDigits = text.slice(gapStart! + 1, gapEnd! - 1).replace(/(00)+$/, '').length;
    const positions = [
      // Spread over the whole file: page images, content, manifest, signature dictionary, xref, trailer.
      ...Array.from({ length: 200 }, (_, i) => Math.floor((i * (size - 1)) / 199)),
      // The byte range's own digits, and every ninth hex digit of the CMS.
      ...Array.from({ length: 12 }, (_, i) => text.indexOf('/ByteRange') + 12 + i),
      ...Array.from({ length: Math.floor(cmsHexDigits / 9) }, (_, i) => gapStart! + 1 + i * 9),
    ];
    const handle = await open(tampered, 'r+');
    try {
      const byte = Buffer.alloc(1);
      for (const position of positions) {
        await handle.read(byte, 0, 1, position);
        const original = byte[0]!;
        byte[0] = original ^ 0x01;
        await handle.write(byte, 0, 1, position);
        expect((await verifyPdfSignatureFile(tampered)).valid, `byte ${position} of ${size}`).toBe(false);
        byte[0] = original;
        await handle.write(byte, 0, 1, position);
      }
    } finally {
      await handle.close();
    }
    expect(positions.length).toBeGreaterThan(400);
    expect((await verifyPdfSignatureFile(tampered)).valid).toBe(true);
  }, 60_000);
});

describe('a bundle run whose upload fails', () => {
  it('fails and removes its temporary file', async () => {
    const failing = withPutFile(store, async () => {
      throw new Error('S3 went away');
    });
    const tmp = path.join(dir, 'tmp-pk_failing');
    await expect(bundle('pk_failing', 3, failing)).rejects.toThrow('S3 went away');
    expect(await readdir(tmp)).toEqual([]);
  });
});

describe('files a killed bundle run left behind', () => {
  it('are removed at worker start, and a run still going keeps its own', async () => {
    const tmp = path.join(dir, 'tmp-stale');
    await mkdir(tmp);
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const killed = await mkdtemp(path.join(tmp, 'scan-bundle-'));
      await writeFile(path.join(killed, 'packet.pdf'), 'half a PDF');
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      await utimes(killed, twoHoursAgo, twoHoursAgo);
      const running = await mkdtemp(path.join(tmp, 'scan-bundle-'));
      const unrelated = await mkdtemp(path.join(tmp, 'other-'));
      await utimes(unrelated, twoHoursAgo, twoHoursAgo);
      await removeStaleBundleFiles(createLogger('silent'));
      expect((await readdir(tmp)).sort()).toEqual([path.basename(unrelated), path.basename(running)].sort());
    } finally {
      process.env.TMPDIR = saved;
    }
  });
});
