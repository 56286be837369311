/**
 * npm run demo [-- --url http://127.0.0.1:8080 --pages 3]
 *
 * Runs one packet through the whole office against a running service (npm start): creates a station and three
 * registrars, scans and uploads generated Ukrainian pages, waits for the random draw, downloads the signed PDF as
 * the registrar it was drawn for, verifies its signature, records a decision, and prints the protocol entries.
 * The admin token comes from ADMIN_TOKEN or ./data/admin-token (where npm start keeps a generated one).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ensureService, httpCaller, httpRequester } from '../fixtures/http-caller.js';
import { generatePage } from '../fixtures/page-generator.js';
import { verifyPdfSignature } from '../src/pipeline/pades.js';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8080' },
    pages: { type: 'string', default: '3' },
  },
});
const base = args.url!.replace(/\/$/, '');
const pageCount = Number(args.pages);
const started = performance.now();

const elapsed = () => `${((performance.now() - started) / 1000).toFixed(2)}s`.padStart(8);
const step = (message: string, detail?: unknown) =>
  console.log(`${elapsed()}  ${message}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}`);

// A service of its own: the draw picks among every free registrar of the packet's service, so registrars left free
// by an earlier run (or real ones) would otherwise be drawn, and the demo would wait for an assignment it never sees.
const service = `land-registration-${randomBytes(3).toString('hex')}`;

const call = httpCaller(base);
const request = httpRequester(base);

async function main() {
  const adminToken = process.env.ADMIN_TOKEN ?? (await readFile('data/admin-token', 'utf8')).trim();
  step(`service at ${base}:`, await call('GET', '/health/ready', undefined));

  await ensureService(base, adminToken, service);
  const station = await call('POST', '/v1/stations', adminToken, { name: 'Demo front desk' });
  step('station created', { id: station.id });
  const registrars: Array<{ id: string; name: string; token: string }> = [];
  for (const name of ['Оксана', 'Тарас', 'Ірина']) {
    const registrar = await call('POST', '/v1/registrars', adminToken, {
      name,
      services: [service],
    });
    await call('PUT', '/v1/registrar/status', registrar.token, { status: 'free' });
    registrars.push(registrar);
  }
  step(
    'three registrars created and free',
    registrars.map((r) => r.id),
  );

  const packet = await call('POST', '/v1/packets', station.token, {
    ticket: 'А-042',
    service,
  });
  step('packet opened; citizen’s tracking code', packet.trackingCode);
  for (let n = 1; n <= pageCount; n++) {
    const page = await generatePage({
      dpi: 200,
      skewDeg: n * 2.5 - 4,
      rotation: n === 2 ? 180 : 0,
      paragraphs: { from: n * 3, count: 3 },
    });
    const stored = await call(
      'PUT',
      `/v1/packets/${packet.id}/pages/${n}`,
      station.token,
      page.bytes,
      'image/jpeg',
    );
    step(`page ${n} stored`, { sha256: `${stored.sha256.slice(0, 16)}…`, bytes: stored.bytes });
  }
  const submittedAt = performance.now();
  step(
    'submitted',
    await call('POST', `/v1/packets/${packet.id}/submit`, station.token, { pages: pageCount }),
  );

  let holder: { id: string; name: string; token: string } | undefined;
  let assignment: { packetId: string; pdf: { sha256: string } } | undefined;
  for (let attempt = 0; attempt < 120 && !assignment; attempt++) {
    const answers = await Promise.all(
      registrars.map(async (registrar) => ({
        registrar,
        body: await call('GET', '/v1/registrar/assignment?wait=1', registrar.token),
      })),
    );
    const found = answers.find((answer) => answer.body?.packetId === packet.id);
    if (found) ({ registrar: holder, body: assignment } = found);
  }
  if (!holder || !assignment) throw new Error('the packet was not assigned within two minutes');
  const submitToAssigned = ((performance.now() - submittedAt) / 1000).toFixed(2);
  step(`drawn for registrar ${holder.name} (${holder.id}); submit→assigned ${submitToAssigned}s`);
  step(
    'what the station sees',
    await call('GET', `/v1/packets/${packet.id}`, station.token).then(
      (p: { status: string; pages: Array<{ status: string }> }) => ({
        status: p.status,
        pages: p.pages.map((page: { status: string }) => page.status),
      }),
    ),
  );

  const pdf = Buffer.from(
    await (await request('GET', `/v1/registrar/packets/${packet.id}/pdf`, holder.token)).arrayBuffer(),
  );
  const verification = await verifyPdfSignature(pdf);
  step(`PDF downloaded (${pdf.length} bytes); signature`, verification);
  if (!verification.valid) throw new Error('the packet PDF does not verify');
  const text = await call('GET', `/v1/registrar/packets/${packet.id}/pages/1/text`, holder.token);
  step(`page 1 text (confidence ${text.confidence})`, `${text.text.slice(0, 80).replaceAll('\n', ' ')}…`);

  step(
    'decision',
    await call('POST', `/v1/registrar/packets/${packet.id}/decision`, holder.token, {
      outcome: 'approved',
      note: 'Документи повні.',
    }),
  );
  step('citizen’s tracking page', await call('GET', `/v1/track/${packet.trackingCode}`, undefined));

  const protocol = await call('GET', '/v1/audit/assignments?limit=1000', adminToken);
  for (const entry of protocol.entries.filter((e: { packetId: string }) => e.packetId === packet.id)) {
    step(`protocol #${entry.seq} ${entry.type}`, entry);
  }
  step('protocol chain', await call('GET', '/v1/audit/verify', adminToken));
  console.log(
    JSON.stringify({
      packetId: packet.id,
      pages: pageCount,
      submitToAssignedSeconds: Number(submitToAssigned),
      pdfBytes: pdf.length,
      signatureValid: verification.valid,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
