/**
 * The offline auditor: checks an exported protocol (GET /v1/audit/export) with nothing but the file and,
 * preferably, the office certificate as the office publishes it.
 * Usage: npm run audit -- <export.json> [--certificate office.pem|office.der] [--json]
 *        (in production: node dist/cli/audit.js …)
 * Exit code 0 only when every check holds; 1 when one fails; 2 on bad usage or an unreadable file.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  checkExclusions,
  type ProtocolExport,
  verifyCheckpoints,
  verifyDraws,
} from '../domain/audit-trail.js';
import { fairnessOf } from '../domain/fairness.js';
import { verifyChain } from '../domain/protocol.js';

type Check = { name: string; ok: boolean; detail: string };

async function certificateFrom(file: string): Promise<Buffer> {
  return new X509Certificate(await readFile(file)).raw;
}

async function auditExport(exported: ProtocolExport, pinned?: Buffer) {
  const certificate = Buffer.from(exported.certificate, 'base64');
  const trust = { deployment: exported.deployment, certificate: pinned ?? certificate };
  const checks: Check[] = [];
  const fail = (brokenAt: number, reason: string) => `entry ${brokenAt}: ${reason}`;

  checks.push({
    name: 'office certificate',
    ok: pinned === undefined || pinned.equals(certificate),
    detail:
      pinned === undefined
        ? `taken from the export (${new X509Certificate(certificate).subject.replaceAll('\n', ', ')}); pass --certificate to check it against the one the office publishes`
        : pinned.equals(certificate)
          ? 'the export names the certificate given'
          : 'the export names another certificate than the one given',
  });
  const chain = verifyChain(exported.entries);
  checks.push({
    name: 'hash chain',
    ok: chain.ok,
    detail: chain.ok
      ? `${chain.entries} entries, head ${chain.head.hash}`
      : fail(chain.brokenAt, chain.reason),
  });
  const signed = verifyCheckpoints(exported.entries, exported.checkpoints, trust);
  checks.push({
    name: 'signed checkpoints (RFC 9162)',
    ok: signed.ok && signed.checkpoints > 0,
    detail: signed.ok
      ? signed.checkpoints > 0
        ? `${signed.checkpoints} checkpoints hold; the largest covers entries 1–${signed.coveredEntries}${signed.coveredEntries < exported.entries.length ? `; entries ${signed.coveredEntries + 1}–${exported.entries.length} are newer than any checkpoint` : ''}`
        : 'no checkpoint in the export: nothing vouches for the entries'
      : fail(signed.brokenAt, signed.reason),
  });
  const draws = verifyDraws(
    exported.entries,
    new Map(exported.epochs.map(({ epoch, ...published }) => [epoch, published])),
    trust,
    exported.checkpoints,
  );
  checks.push({
    name: 'draws recomputed from revealed epoch secrets',
    ok: draws.ok,
    detail: draws.ok
      ? `${draws.verified} recomputed; ${draws.pending} of an epoch not over yet; ${draws.uncommitted} of an epoch not announced in advance; ${draws.beacons} mixed in a verified drand round`
      : fail(draws.brokenAt, draws.reason),
  });
  const exclusions = checkExclusions(exported.entries);
  checks.push({
    name: 'eligibility and exclusions replayed from earlier entries',
    ok: exclusions.ok,
    detail: exclusions.ok
      ? `every eligible registrar could be drawn; ${exclusions.justified} exclusions shown by earlier entries; ${exclusions.notInLog} of registrars not seen yet (created away)`
      : fail(exclusions.brokenAt, exclusions.reason),
  });
  return { ok: checks.every((check) => check.ok), checks, fairness: fairnessOf(exported.entries) };
}

const usage = 'usage: audit <export.json> [--certificate office.pem|office.der] [--json]';

const parseCommandLine = () =>
  parseArgs({
    options: { certificate: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine();
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  const [file, ...rest] = parsed.positionals;
  if (!file || rest.length > 0) {
    console.error(usage);
    return 2;
  }
  let exported: ProtocolExport;
  let pinned: Buffer | undefined;
  try {
    exported = JSON.parse(await readFile(file, 'utf8')) as ProtocolExport;
    if (exported.format !== 'scan-office-protocol-export/1')
      throw new Error(`not a protocol export: ${file}`);
    if (parsed.values.certificate) pinned = await certificateFrom(parsed.values.certificate);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const report = await auditExport(exported, pinned);
  if (parsed.values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const lines = [
      `Protocol of ${exported.deployment}, exported ${exported.exportedAt}: ${exported.entries.length} entries`,
      '',
      ...report.checks.map((check) => `${check.ok ? 'OK  ' : 'FAIL'}  ${check.name}: ${check.detail}`),
      '',
      'Fairness (received vs expected from the pools each registrar was in; p of the chi-square test):',
      ...report.fairness.services.flatMap((service) => [
        `  ${service.service}: ${service.draws} draws, p = ${service.pValue === null ? '—' : service.pValue.toFixed(3)}`,
        ...service.registrars.map(
          (row) =>
            `    ${row.registrarId}: ${row.received} received, ${row.expected.toFixed(1)} expected (95 %: ${row.low.toFixed(1)}–${row.high.toFixed(1)})`,
        ),
      ]),
      '',
      report.ok ? 'Everything holds.' : 'Something does NOT hold: see FAIL above.',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.ok ? 0 : 1;
}

process.exitCode = await main();
