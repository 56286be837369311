import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import sharp from 'sharp';
import { createLogger } from '/work/main/src/infra/logger.js';
import { loadSigningIdentity } from '/work/main/src/infra/signing-identity.js';
import { buildPacketPdf } from '/work/main/src/pipeline/packet-pdf.js';
import { signPdf, verifyPdfSignature } from '/work/main/src/pipeline/pades.js';

const noise = () =>
  sharp(randomBytes(700 * 1000), { raw: { width: 1000, height: 700, channels: 1 } })
    .jpeg({ quality: 90 })
    .toBuffer();
const jpegs = await Promise.all([noise(), noise(), noise()]);
let hits = 0;
for (let round = 0; round < 10; round++) {
  await rm('/tmp/exp13', { recursive: true, force: true });
  const identity = await loadSigningIdentity(
    { kind: 'generated', dataDir: '/tmp/exp13', office: 'Test office' },
    createLogger('silent'),
  );
  const pdf = await signPdf(
    await buildPacketPdf({
      title: 'land · А-017',
      subject: 's',
      producer: 'Scan office',
      createdAt: new Date(),
      manifest: { a: 1 },
      font: await readFile('/work/main/node_modules/dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
      pages: jpegs.map((jpeg) => ({ jpeg, dpi: 200, width: 1000, height: 700, lines: [] })),
      signature: {
        reason: 'Packet sealed',
        name: 'Test office',
        location: 'Kyiv',
        contactInfo: 'Test office',
        signingTime: new Date(),
      },
    }),
    identity,
  );
  const m = [...pdf.toString('latin1').matchAll(/\/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)/g)].at(-1)!;
  const b = Number(m[1]);
  const c = Number(m[2]);
  const der = Buffer.from(pdf.toString('latin1', b + 1, c - 1), 'hex');
  const derLen = der.findLastIndex((x) => x !== 0) + 1;
  for (let i = 0; i < derLen * 2 + 200; i++) {
    const t = Buffer.from(pdf);
    t[b + 1 + i] ^= 1;
    const r = await verifyPdfSignature(t);
    if (r.valid) {
      hits++;
      console.log(
        'HIT round',
        round,
        'hex index',
        i,
        'der byte',
        i >> 1,
        'derLen',
        derLen,
        'ctx',
        der.subarray(Math.max(0, (i >> 1) - 10), (i >> 1) + 6).toString('hex'),
        'char',
        String.fromCharCode(pdf[b + 1 + i]),
        '->',
        String.fromCharCode(t[b + 1 + i]),
      );
    }
  }
  console.log('round', round, 'done, pdf', pdf.length, 'b', b, 'derLen', derLen);
}
console.log('hits', hits);
