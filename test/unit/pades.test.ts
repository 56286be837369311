import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { loadSigningIdentity } from '../../src/infra/signing-identity.js';
import { addSignaturePlaceholder, signPdf, verifyPdfSignature } from '../../src/pipeline/pades.js';

/** V8's longest string is 2^29 - 24 characters; a PDF past that cannot be read as one string. */
const LONGEST_STRING = 2 ** 29 - 24;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-pades-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a packet PDF larger than the longest string', () => {
  it('is signed and verifies, and one changed byte in its body is still found', async () => {
    const identity = await loadSigningIdentity(
      { kind: 'generated', dataDir: dir, office: 'Office' },
      createLogger('silent'),
    );
    const pdf = await PDFDocument.create();
    pdf.addPage([200, 200]);
    // The bulk of a 500-page packet, as one uncompressed stream: the size is what matters here.
    pdf.context.register(pdf.context.stream(new Uint8Array(LONGEST_STRING + 4 * 1024 * 1024).fill(0x41)));
    addSignaturePlaceholder(pdf, {
      reason: 'r',
      name: 'n',
      location: 'l',
      contactInfo: 'c',
      signingTime: new Date(),
    });
    const signed = await signPdf(await pdf.save({ useObjectStreams: false }), identity);
    expect(signed.length).toBeGreaterThan(LONGEST_STRING);

    expect(await verifyPdfSignature(signed)).toMatchObject({ valid: true, coversWholeFile: true });
    signed[Math.floor(signed.length / 2)] = 0x42;
    expect(await verifyPdfSignature(signed)).toMatchObject({ valid: false });
  }, 120_000);
});
