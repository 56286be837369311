import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { loadSigningIdentity } from '../../src/infra/signing-identity.js';
import {
  addSignaturePlaceholder,
  signaturePlaceholderIn,
  signPdfFile,
  verifyPdfSignature,
} from '../../src/pipeline/pades.js';

const run = promisify(execFile);
const log = createLogger('silent');
let dir: string;

/** V8's longest string is 2^29 - 24 characters; a PDF past that cannot be read as one string. */
const LONGEST_STRING = 2 ** 29 - 24;

/**
 * A one-page PDF signed by `source` as the bundle job signs, in its file; `bulkBytes` adds one uncompressed stream of
 * that size (a big packet's bulk). Returned read back whole, for the in-memory verifier.
 */
async function signedBy(source: Parameters<typeof loadSigningIdentity>[0], bulkBytes = 0) {
  const identity = await loadSigningIdentity(source, log);
  const pdf = await PDFDocument.create();
  pdf.addPage([200, 200]);
  if (bulkBytes > 0) pdf.context.register(pdf.context.stream(new Uint8Array(bulkBytes).fill(0x41)));
  const dictionary = addSignaturePlaceholder(pdf, {
    reason: 'r',
    name: 'n',
    location: 'l',
    contactInfo: 'c',
    signingTime: new Date(),
  });
  const file = path.join(dir, `${randomUUID()}.pdf`);
  const bytes = await pdf.save({ useObjectStreams: false });
  const saved = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = saved.indexOf('<<', saved.indexOf(`\n${dictionary.objectNumber} 0 obj`));
  await writeFile(file, saved);
  await signPdfFile(file, signaturePlaceholderIn(pdf.context.lookup(dictionary)!, at), identity);
  try {
    return await readFile(file);
  } finally {
    await rm(file);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-signing-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('signing identity', () => {
  it('generates a development certificate once and reuses it', async () => {
    const first = await signedBy({ kind: 'generated', dataDir: dir, office: 'Office' });
    const second = await signedBy({ kind: 'generated', dataDir: dir, office: 'Office' });
    const [a, b] = [await verifyPdfSignature(first), await verifyPdfSignature(second)];
    expect(a).toMatchObject({ valid: true });
    expect(a.valid && a.signerSubject).toContain('development only');
    expect(a.valid && b.valid && a.signerSubject === b.signerSubject).toBe(true);
  });

  it('gives every process the same certificate when several start at once on a shared DATA_DIR', async () => {
    const shared = path.join(dir, 'shared');
    const identities = await Promise.all(
      Array.from({ length: 4 }, () =>
        loadSigningIdentity({ kind: 'generated', dataDir: shared, office: 'Office' }, log),
      ),
    );
    for (const identity of identities)
      expect(identity.certificates[0]!.equals(identities[0]!.certificates[0]!)).toBe(true);
  });

  it('reads PEM files', async () => {
    const signing = path.join(dir, 'signing');
    const pdf = await signedBy({
      kind: 'pem',
      keyFile: path.join(signing, 'key.pem'),
      certFile: path.join(signing, 'cert.pem'),
    });
    expect((await verifyPdfSignature(pdf)).valid).toBe(true);
  });

  it('reads a PKCS#12 file made by openssl 3 with its defaults (AES-256, PBKDF2), RSA-2048 here', async () => {
    const key = path.join(dir, 'rsa.key');
    const cert = path.join(dir, 'rsa.crt');
    const p12 = path.join(dir, 'office.p12');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '30',
      '-subj',
      '/CN=Office RSA test/O=Office',
    ]);
    await run('openssl', [
      'pkcs12',
      '-export',
      '-inkey',
      key,
      '-in',
      cert,
      '-out',
      p12,
      '-passout',
      'pass:s3cret',
    ]);
    const pdf = await signedBy({ kind: 'p12', file: p12, password: 's3cret' });
    const result = await verifyPdfSignature(pdf);
    expect(result).toMatchObject({ valid: true });
    expect(result.valid && result.signerSubject).toContain('Office RSA test');
    await expect(loadSigningIdentity({ kind: 'p12', file: p12, password: 'wrong' }, log)).rejects.toThrow();
  });
});

describe('a packet PDF larger than the longest string', () => {
  it('verifies, and one changed byte in its body is still found', async () => {
    const signed = await signedBy(
      { kind: 'generated', dataDir: dir, office: 'Office' },
      LONGEST_STRING + 4 * 1024 * 1024,
    );
    expect(signed.length).toBeGreaterThan(LONGEST_STRING);
    expect(await verifyPdfSignature(signed)).toMatchObject({ valid: true, coversWholeFile: true });
    signed[Math.floor(signed.length / 2)] = 0x42;
    expect(await verifyPdfSignature(signed)).toMatchObject({ valid: false });
  }, 120_000);
});
