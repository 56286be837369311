import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generatePage } from '../../fixtures/page-generator.js';
import type { Infrastructure } from '../../src/roles/infrastructure.js';
import { PacketJournal } from '../../src/station-agent/journal-store.js';
import { apiClient } from '../helpers/api-client.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import {
  type AgentEvent,
  type AgentProcess,
  killStationAgents,
  STATION_AGENT_MAIN,
  startStationAgent,
} from '../helpers/station-agent.js';

const run = promisify(execFile);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

type Receipt = {
  packet: string;
  ticket: string;
  service: string;
  packetId: string;
  trackingCode: string;
  submittedAt: string;
  pages: Array<{ n: number; sha256: string; bytes: number; file: string; filePage?: number }>;
  documents: Array<{ file: string; sha256: string; pages: number[] }>;
  batch?: { separators: Array<{ file: string; text: string }> };
};
type PacketSummary = { id: string; ticket: string; service: string; status: string; pageCount: number };

/**
 * The station agent as a station PC runs it: its own process, killed and restarted, against the real API (and
 * its Redis and S3) listening on a port. The in-process app lets the test count what the service stored, across
 * restarts of the service too.
 */
describe('the station agent', () => {
  let stack: TestStack;
  let port: number | undefined;
  /** Every infrastructure the stack had: the metrics of a restarted service start from zero. */
  const infrastructures = new Set<Infrastructure>();
  const api = apiClient(() => stack.app);
  let pages: Buffer[];
  let workDir: string;

  const listen = async () => {
    await stack.app.listen({ host: '127.0.0.1', port: port ?? 0 });
    port ??= (stack.app.server.address() as { port: number }).port;
    infrastructures.add(stack.infra);
  };

  /** What the service's page and document uploads came to, summed over every instance of the service so far. */
  async function uploads() {
    const totals = { created: 0, unchanged: 0, rejected: 0, documentsAdded: 0 };
    for (const infra of infrastructures) {
      for (const { labels, value } of (await infra.metrics.pagesUploaded.get()).values) {
        if (labels.outcome === 'created' || labels.outcome === 'replaced') totals.created += value;
        if (labels.outcome === 'unchanged') totals.unchanged += value;
        if (labels.outcome === 'rejected') totals.rejected += value;
      }
      const documents = (infra.metrics as { documentsUploaded?: typeof infra.metrics.pagesUploaded })
        .documentsUploaded;
      for (const { labels, value } of documents ? (await documents.get()).values : [])
        if (labels.outcome === 'added') totals.documentsAdded += value;
    }
    return totals;
  }

  /** A station of its own per test, so that its packet list is the test's packets only. */
  async function newStation(name: string) {
    const station = await api.createStation(name);
    const hotFolder = await mkdtemp(path.join(workDir, 'hot-'));
    const tokenFile = path.join(workDir, `${station.id}.token`);
    await writeFile(tokenFile, `${station.token}\n`);
    const packets = async () =>
      ((await api.json('GET', '/v1/packets', station.token)).json() as PacketSummary[]).sort((a, b) =>
        a.ticket.localeCompare(b.ticket),
      );
    return { station, hotFolder, tokenFile, packets };
  }

  const agentArgs = (hotFolder: string, tokenFile: string, extra: string[] = []) => [
    '--url',
    `http://127.0.0.1:${port}`,
    '--token-file',
    tokenFile,
    '--watch',
    hotFolder,
    '--settle',
    '1',
    '--idle',
    '3',
    '--max-backoff',
    '2',
    ...extra,
  ];

  const readReceipt = async (hotFolder: string, name: string): Promise<Receipt> =>
    JSON.parse(await readFile(path.join(hotFolder, 'done', name, 'receipt.json'), 'utf8'));

  async function writePacket(dir: string, files: Record<string, Buffer>, ready = true) {
    await mkdir(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(dir, name), bytes);
    if (ready) await writeFile(path.join(dir, 'READY'), '');
  }

  /** Writes a file in pieces, as a scanner does, pausing between them for less than the settle time. */
  async function writeSlowly(file: string, bytes: Buffer, pieces: number, pauseMs: number) {
    const size = Math.ceil(bytes.length / pieces);
    await writeFile(file, bytes.subarray(0, size));
    for (let offset = size; offset < bytes.length; offset += size) {
      await sleep(pauseMs);
      await writeFile(file, bytes.subarray(offset, offset + size), { flag: 'a' });
    }
  }

  /** A separator sheet from the agent's own command, as an office prints it. */
  async function printSeparator(file: string, args: string[]): Promise<Buffer> {
    await run(process.execPath, ['--import', 'tsx', STATION_AGENT_MAIN, 'separator', ...args, '--out', file]);
    return readFile(file);
  }

  async function finish(agent: AgentProcess) {
    expect(await agent.stop('SIGTERM')).toBe(0);
  }

  beforeAll(async () => {
    stack = await startTestStack('station-agent');
    await listen();
    for (const slug of ['land-registration', 'building-permit']) await api.addService(slug);
    workDir = await mkdtemp(path.join(os.tmpdir(), 'station-agent-test-'));
    // Eight different scanned pages (200 dpi JPEG, A4), reused across packets.
    pages = await Promise.all(
      Array.from(
        { length: 8 },
        async (_, i) => (await generatePage({ dpi: 200, paragraphs: { from: i, count: 1 } })).bytes,
      ),
    );
  }, 120_000);

  afterEach(killStationAgents);

  afterAll(async () => {
    await stack?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('sends loose images and a separator batch exactly once each, though killed in the middle of the second packet', async () => {
    const { hotFolder, tokenFile, packets } = await newStation('Front desk A');
    const before = await uploads();
    // Separator sheets from the agent's own command, into the batch folder in stream order.
    const batch = path.join(hotFolder, 'batch');
    await mkdir(batch, { recursive: true });
    const sheets = path.join(workDir, `sheets-${path.basename(hotFolder)}`);
    await mkdir(sheets);
    const namedSheet = await printSeparator(path.join(sheets, 'b7.png'), [
      '--ticket',
      'B-7',
      '--service',
      'building-permit',
    ]);
    const plainSheet = await printSeparator(path.join(sheets, 'plain.png'), []);

    const args = agentArgs(hotFolder, tokenFile, [
      '--batch-service',
      'land-registration',
      '--batch-ticket-prefix',
      'Q-',
    ]);
    let agent = startStationAgent(args);
    // Killed the moment the second page of packet 2 is acknowledged and journaled: in the middle of packet 2.
    const twoPagesSent = (event: AgentEvent) =>
      event.event === 'page_sent' && event.packet === 'A-002__land-registration' && event.sent === 2;
    agent.signalOn(twoPagesSent, 'SIGKILL');
    await agent.waitForEvent((event) => event.event === 'started', 'start');

    // Packet 1: READY is there while scan10 is still being written; it must wait for the whole file.
    const first = path.join(hotFolder, 'A-001__land-registration');
    await writePacket(first, { 'scan2.jpg': pages[1]!, 'scan1.jpg': pages[0]! });
    await writeSlowly(path.join(first, 'scan10.jpg'), pages[2]!, 4, 500);
    await agent.waitForEvent(
      (event) => event.event === 'packet_ready' && event.packet === 'A-001__land-registration',
      'packet 1 ready',
    );

    // Packet 2 (five pages) and the batch, after packet 1 was taken, so that packet 2 is sent second.
    await writePacket(path.join(hotFolder, 'A-002__land-registration'), {
      'p1.jpg': pages[3]!,
      'p2.jpg': pages[4]!,
      'p3.jpg': pages[5]!,
      'p4.jpg': pages[6]!,
      'p5.jpg': pages[7]!,
    });
    await writeFile(path.join(batch, '0001.png'), namedSheet);
    await writeFile(path.join(batch, '0002.jpg'), pages[0]!);
    await writeFile(path.join(batch, '0003.jpg'), pages[1]!);
    await writeFile(path.join(batch, '0004.png'), plainSheet);
    await writeFile(path.join(batch, '0005.jpg'), pages[2]!);

    await agent.waitForEvent(twoPagesSent, 'two pages of packet 2 sent');
    await agent.exitCode;

    agent = startStationAgent(args);
    const resumed = await agent.waitForEvent((event) => event.event === 'resuming', 'resuming');
    expect(resumed.packet).toBe('A-002__land-registration');
    for (const name of ['A-002__land-registration', 'B-7__building-permit', 'Q-001__land-registration'])
      await agent.waitForEvent(
        (event) => event.event === 'packet_done' && event.packet === name,
        `${name} done`,
        90_000,
      );
    await finish(agent);

    // One packet per ticket on the service, each submitted once with all its pages.
    expect(
      (await packets()).map(({ ticket, service, status, pageCount }) => ({
        ticket,
        service,
        status,
        pageCount,
      })),
    ).toEqual([
      { ticket: 'A-001', service: 'land-registration', status: 'submitted', pageCount: 3 },
      { ticket: 'A-002', service: 'land-registration', status: 'submitted', pageCount: 5 },
      { ticket: 'B-7', service: 'building-permit', status: 'submitted', pageCount: 2 },
      { ticket: 'Q-001', service: 'land-registration', status: 'submitted', pageCount: 1 },
    ]);
    // No page stored twice: 11 pages, 11 pages created. A resend of the one page that may have been in flight at
    // the kill is answered 200 (same bytes) and stores nothing.
    const after = await uploads();
    expect(after.created - before.created).toBe(11);
    expect(after.unchanged - before.unchanged).toBeLessThanOrEqual(1);
    expect(after.rejected - before.rejected).toBe(0);

    // Receipts next to the moved scans; pages in file-name order with the digests of the whole files.
    expect((await readdir(path.join(hotFolder, 'done'))).sort()).toEqual([
      'A-001__land-registration',
      'A-002__land-registration',
      'B-7__building-permit',
      'Q-001__land-registration',
    ]);
    const receipt1 = await readReceipt(hotFolder, 'A-001__land-registration');
    expect(receipt1.pages.map(({ n, file, sha256: digest }) => [n, file, digest])).toEqual([
      [1, 'scan1.jpg', sha256(pages[0]!)],
      [2, 'scan2.jpg', sha256(pages[1]!)],
      [3, 'scan10.jpg', sha256(pages[2]!)],
    ]);
    expect(receipt1.trackingCode).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
    const receipt2 = await readReceipt(hotFolder, 'A-002__land-registration');
    expect(receipt2.pages.map((page) => page.sha256)).toEqual(pages.slice(3, 8).map(sha256));
    expect(receipt2.submittedAt).toBeTruthy();
    const b7 = await readReceipt(hotFolder, 'B-7__building-permit');
    expect(b7.pages.map((page) => page.sha256)).toEqual([sha256(pages[0]!), sha256(pages[1]!)]);
    expect(b7.batch?.separators.map((separator) => separator.file)).toEqual(['0001.png']);
    expect((await readdir(path.join(hotFolder, 'done', 'B-7__building-permit'))).sort()).toEqual([
      '0001.png',
      '0002.jpg',
      '0003.jpg',
      'receipt.json',
      'station-journal.jsonl',
    ]);
    const q1 = await readReceipt(hotFolder, 'Q-001__land-registration');
    expect(q1.pages.map((page) => page.sha256)).toEqual([sha256(pages[2]!)]);
    // Nothing left behind: no packet folder, no batch file, no journal in progress.
    expect((await readdir(hotFolder)).sort()).toEqual(['.scan-office', 'batch', 'done']);
    expect(await readdir(batch)).toEqual([]);
    expect(await readdir(path.join(hotFolder, '.scan-office', 'journal'))).toEqual([]);
  }, 240_000);

  it('sends PDFs and multi-page TIFFs as documents, once, though killed right after the packet was opened', async () => {
    const { hotFolder, tokenFile, packets } = await newStation('Front desk B');
    const before = await uploads();
    const pdfOf = async (images: Array<{ bytes: Buffer; png?: boolean }>) => {
      const pdf = await PDFDocument.create();
      for (const { bytes, png } of images) {
        const image = png ? await pdf.embedPng(bytes) : await pdf.embedJpg(bytes);
        pdf.addPage([595, 842]).drawImage(image, { x: 0, y: 0, width: 595, height: 842 });
      }
      return Buffer.from(await pdf.save());
    };
    const pdfBytes = await pdfOf(pages.slice(0, 3).map((bytes) => ({ bytes })));
    const tiffBytes = await sharp(pages.slice(3, 5), { join: { animated: true } })
      .greyscale()
      .tiff({ compression: 'lzw' })
      .toBuffer();
    // A batch scanned into one PDF, separator sheets included: sheet, 2 pages, plain sheet, 1 page.
    const sheets = await mkdtemp(path.join(workDir, 'sheets-'));
    const b20Sheet = await printSeparator(path.join(sheets, 'b20.png'), [
      '--ticket',
      'B-20',
      '--service',
      'land-registration',
    ]);
    const plainSheet = await printSeparator(path.join(sheets, 'plain.png'), []);
    const batchPdf = await pdfOf([
      { bytes: b20Sheet, png: true },
      { bytes: pages[5]! },
      { bytes: pages[6]! },
      { bytes: plainSheet, png: true },
      { bytes: pages[7]! },
    ]);

    const args = agentArgs(hotFolder, tokenFile, [
      '--batch-service',
      'building-permit',
      '--batch-ticket-prefix',
      'R-',
    ]);
    let agent = startStationAgent(args);
    const opened = (event: AgentEvent) =>
      event.event === 'packet_created' && event.packet === 'A-010__land-registration';
    agent.signalOn(opened, 'SIGKILL');
    await writePacket(path.join(hotFolder, 'A-010__land-registration'), { 'application.pdf': pdfBytes });
    await agent.waitForEvent(opened, 'PDF packet opened');
    await agent.exitCode;

    agent = startStationAgent(args);
    const done = (name: string) =>
      agent.waitForEvent((event) => event.event === 'packet_done' && event.packet === name, `${name} done`);
    await done('A-010__land-registration');
    await writePacket(path.join(hotFolder, 'A-011__land-registration'), { 'scan.tif': tiffBytes });
    await done('A-011__land-registration');
    await writeFile(path.join(hotFolder, 'batch', 'batch-0001.pdf'), batchPdf);
    await done('B-20__land-registration');
    await done('R-001__building-permit');
    await finish(agent);

    expect(
      (await packets()).map(({ ticket, service, pageCount }) => ({ ticket, service, pageCount })),
    ).toEqual([
      { ticket: 'A-010', service: 'land-registration', pageCount: 3 },
      { ticket: 'A-011', service: 'land-registration', pageCount: 2 },
      { ticket: 'B-20', service: 'land-registration', pageCount: 2 },
      { ticket: 'R-001', service: 'building-permit', pageCount: 1 },
    ]);
    expect((await packets()).every((packet) => packet.status === 'submitted')).toBe(true);
    // Four documents, each stored once, and no page sent on its own.
    const after = await uploads();
    expect(after.documentsAdded - before.documentsAdded).toBe(4);
    expect(after.created - before.created).toBe(0);

    const receipt = await readReceipt(hotFolder, 'A-010__land-registration');
    expect(receipt.documents).toEqual([
      { file: 'application.pdf', sha256: sha256(pdfBytes), bytes: pdfBytes.length, pages: [1, 2, 3] },
    ]);
    expect(receipt.pages.map(({ n, filePage }) => [n, filePage])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect((await readReceipt(hotFolder, 'A-011__land-registration')).documents[0]?.sha256).toBe(
      sha256(tiffBytes),
    );
    // The batch PDF went as two smaller PDFs, without its separator pages; the file itself moved with the last one.
    const b20 = await readReceipt(hotFolder, 'B-20__land-registration');
    expect(b20.pages.map(({ n, file, filePage }) => [n, file, filePage])).toEqual([
      [1, 'batch-0001.pdf', 2],
      [2, 'batch-0001.pdf', 3],
    ]);
    expect(
      (await readReceipt(hotFolder, 'R-001__building-permit')).pages.map((page) => page.filePage),
    ).toEqual([5]);
    expect(await readdir(path.join(hotFolder, 'done', 'B-20__land-registration'))).not.toContain(
      'batch-0001.pdf',
    );
    expect(await readdir(path.join(hotFolder, 'done', 'R-001__building-permit'))).toContain('batch-0001.pdf');
    expect(await readdir(path.join(hotFolder, 'batch'))).toEqual([]);
  }, 180_000);

  it('waits through a 20-second service outage in the middle of an upload and then finishes the packet', async () => {
    const { hotFolder, tokenFile, packets } = await newStation('Front desk C');
    const before = await uploads();
    const agent = startStationAgent(agentArgs(hotFolder, tokenFile));
    await writePacket(
      path.join(hotFolder, 'A-020__land-registration'),
      Object.fromEntries(pages.slice(0, 6).map((page, i) => [`scan${i + 1}.jpg`, page])),
    );
    await agent.waitForEvent(
      (event) =>
        event.event === 'page_sent' && event.packet === 'A-020__land-registration' && event.sent === 2,
      'two pages sent',
    );
    // The service goes away (HTTP, Redis and S3 clients closed; Redis and S3 data stay) and comes back 20 s later.
    await stack.infra.shutdown.shutdown();
    const outageStarted = Date.now();
    await agent.waitForEvent((event) => event.event === 'waiting_for_service', 'the agent waiting');
    await sleep(Math.max(0, 20_000 - (Date.now() - outageStarted)));
    const waitsDuringOutage = agent.events.filter((event) => event.event === 'waiting_for_service').length;
    expect(agent.events.some((event) => event.event === 'packet_failed')).toBe(false);
    await stack.restart();
    await listen();

    await agent.waitForEvent(
      (event) => event.event === 'packet_done' && event.packet === 'A-020__land-registration',
      'packet done after the outage',
    );
    await finish(agent);
    expect(waitsDuringOutage).toBeGreaterThanOrEqual(5);
    expect(agent.events.some((event) => event.event === 'service_back')).toBe(true);
    expect((await packets()).map(({ ticket, status, pageCount }) => ({ ticket, status, pageCount }))).toEqual(
      [{ ticket: 'A-020', status: 'submitted', pageCount: 6 }],
    );
    const after = await uploads();
    expect(after.created - before.created).toBe(6);
    const receipt = await readReceipt(hotFolder, 'A-020__land-registration');
    expect(receipt.pages.map((page) => page.sha256)).toEqual(pages.slice(0, 6).map(sha256));
  }, 180_000);

  it('takes over the packet a crash left between opening it and journaling its id, instead of opening another', async () => {
    const { station, hotFolder, tokenFile, packets } = await newStation('Front desk D');
    // The state a power cut leaves: the journal says "creating", the service has the packet, its id is lost.
    const folder = 'A-030__land-registration';
    await writePacket(path.join(hotFolder, folder), { 'scan1.jpg': pages[0]!, 'scan2.jpg': pages[1]! });
    const journal = await PacketJournal.create(path.join(hotFolder, '.scan-office', 'journal'), {
      name: folder,
      ticket: 'A-030',
      service: 'land-registration',
      source: { kind: 'folder', folder },
      items: [
        { kind: 'image', file: 'scan1.jpg' },
        { kind: 'image', file: 'scan2.jpg' },
      ],
      trigger: 'READY',
    });
    await journal.append({ t: 'creating', at: new Date().toISOString() });
    const lost = await api.createPacket(station.token, { ticket: 'A-030', service: 'land-registration' });

    const agent = startStationAgent(agentArgs(hotFolder, tokenFile));
    const created = await agent.waitForEvent(
      (event) => event.event === 'packet_created',
      'packet taken over',
    );
    expect(created).toMatchObject({ packetId: lost.id, adopted: true });
    await agent.waitForEvent((event) => event.event === 'packet_done', 'packet done');
    await finish(agent);
    expect((await packets()).map(({ id, pageCount }) => ({ id, pageCount }))).toEqual([
      { id: lost.id, pageCount: 2 },
    ]);
    expect((await readReceipt(hotFolder, folder)).trackingCode).toBe(lost.trackingCode);
  }, 60_000);
});
