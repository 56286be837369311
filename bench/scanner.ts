/**
 * npm run bench:scanner [-- --runs 3 --settle 3]
 *
 * A scanner's batch from the moment its file lands in the hot folder to the packet being `ready` (OCR done, signed
 * PDF stored). The service runs as its own processes from dist/ (api, worker, dispatcher; the local Redis, s3rver as
 * its own process); the station agent runs from dist/ as on a station PC, with its default settle time. Each run is
 * a new packet of 10 distinct 300 dpi pages, written into a packet folder with READY, in two forms a scanner writes:
 * a PDF of grey JPEG pages, and a black-and-white CCITT G4 multi-page TIFF. Same-run anchor: the same kind of pages
 * uploaded one by one straight to `PUT …/pages/:n` and submitted by this script (no agent, no document splitting).
 * Prints JSON: per form, the median and spread of each step (agent noticed the packet, document acknowledged,
 * submitted, ready), all in seconds from the file landing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { ensureService, httpCaller } from '../fixtures/http-caller.js';
import { generatePage } from '../fixtures/page-generator.js';
import { startServiceProcesses } from './processes.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    settle: { type: 'string', default: '3' },
  },
});
const RUNS = Number(args.runs);
const PAGES = 10;
const ROOT = path.resolve(import.meta.dirname, '..');
const ADMIN_TOKEN = `adm_bench_${'s'.repeat(40)}`;
const SERVICE = 'office';

const round = (value: number) => Math.round(value * 100) / 100;
const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: round(sorted[Math.floor(sorted.length / 2)]!),
    min: round(sorted[0]!),
    max: round(sorted.at(-1)!),
  };
};

/** Ten distinct pages per run (no page repeats across runs, so nothing is served from an earlier run's work). */
const pagesOf = (run: number) =>
  Promise.all(
    Array.from({ length: PAGES }, (_, i) =>
      generatePage({
        dpi: 300,
        format: 'png',
        paragraphs: { from: run * PAGES + i, count: 4 },
        skewDeg: ((i % 5) - 2) * 0.7,
        noise: 6,
        seed: run * 100 + i,
      }),
    ),
  );

async function jpegPdf(pages: Buffer[]): Promise<Buffer> {
  const pdf = await PDFDocument.create();
  for (const page of pages) {
    const jpeg = await sharp(page).greyscale().jpeg({ quality: 80 }).toBuffer();
    const image = await pdf.embedJpg(jpeg);
    // A4 in points: the 2481×3507 image is 300 dpi on it.
    pdf.addPage([595.28, 841.89]).drawImage(image, { x: 0, y: 0, width: 595.28, height: 841.89 });
  }
  return Buffer.from(await pdf.save());
}

async function g4Tiff(pages: Buffer[]): Promise<Buffer> {
  const raws = await Promise.all(
    pages.map((page) =>
      sharp(page).greyscale().threshold(160).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true }),
    ),
  );
  const { width, height } = raws[0]!.info;
  return sharp(Buffer.concat(raws.map((raw) => raw.data)), {
    raw: { width, height: height * raws.length, channels: 1, pageHeight: height } as never,
  })
    .toColourspace('b-w')
    .tiff({ compression: 'ccittfax4', bitdepth: 1, xres: 300 / 25.4, yres: 300 / 25.4 })
    .toBuffer();
}

type AgentEvent = { event: string; packet?: string; packetId?: string; time: string };

function startAgent(url: string, tokenFile: string, hotFolder: string) {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(ROOT, 'dist/station-agent/main.js'),
      ...['--url', url, '--token-file', tokenFile, '--watch', hotFolder],
      ...['--settle', String(args.settle), '--idle', '0', '--json'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const events: Array<AgentEvent & { at: number }> = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) events.push({ ...(JSON.parse(line) as AgentEvent), at: performance.now() });
  });
  return {
    events,
    async until(match: (event: AgentEvent) => boolean, what: string) {
      const deadline = Date.now() + 600_000;
      for (;;) {
        const found = events.find(match);
        if (found) return found;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`agent: no ${what}`);
        await sleep(20);
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function main() {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'bench-scanner-'));
  const cleanups: Array<() => unknown> = [];
  try {
    const service = await startServiceProcesses(workDir, 'scanner', { ADMIN_TOKEN });
    cleanups.push(service.stop);
    const { url } = service;
    const call = httpCaller(url);
    await ensureService(url, ADMIN_TOKEN, SERVICE);
    const station = await call('POST', '/v1/stations', ADMIN_TOKEN, { name: 'Bench scanner' });
    const tokenFile = path.join(workDir, 'station.token');
    await writeFile(tokenFile, station.token);
    const hotFolder = path.join(workDir, 'hot');
    await mkdir(hotFolder);

    const waitReady = async (packetId: string) => {
      for (;;) {
        const packet = await call('GET', `/v1/packets/${packetId}`, station.token);
        if (packet.status === 'ready' || packet.status === 'assigned') return performance.now();
        if (packet.status === 'failed') throw new Error(`packet ${packetId} failed`);
        await sleep(100);
      }
    };

    const agent = startAgent(url, tokenFile, hotFolder);
    cleanups.push(() => agent.stop());
    await agent.until((event) => event.event === 'started', 'start');

    type Timeline = Record<string, number>;
    const timelines: Record<string, Timeline[]> = { jpegPdf: [], g4Tiff: [], pagesDirect: [] };
    const documentBytes: Record<string, number[]> = { jpegPdf: [], g4Tiff: [] };
    for (let run = 0; run < RUNS; run++) {
      const pages = (await pagesOf(run)).map((page) => page.bytes);
      for (const [form, make, file] of [
        ['jpegPdf', jpegPdf, 'scan.pdf'],
        ['g4Tiff', g4Tiff, 'scan.tif'],
      ] as const) {
        const document = await make(pages);
        documentBytes[form]!.push(document.length);
        const name = `R${run}-${form}__${SERVICE}`;
        const folder = path.join(hotFolder, name);
        await mkdir(folder);
        await writeFile(path.join(folder, file), document);
        const landed = performance.now();
        await writeFile(path.join(folder, 'READY'), '');
        const seen = (kind: string) => agent.until((e) => e.event === kind && e.packet === name, kind);
        const submitted = await seen('packet_submitted');
        const ready = await waitReady(submitted.packetId!);
        const at = (kind: string) =>
          agent.events.find((e) => e.event === kind && e.packet === name)!.at - landed;
        timelines[form]!.push({
          noticed: at('packet_ready') / 1000,
          documentAcknowledged: at('document_sent') / 1000,
          submitted: at('packet_submitted') / 1000,
          ready: (ready - landed) / 1000,
        });
      }
      // The anchor: this run's pages as the PDF's JPEGs, uploaded one by one and submitted straight away.
      const jpegs = await Promise.all(
        pages.map((page) => sharp(page).greyscale().jpeg({ quality: 80 }).toBuffer()),
      );
      const started = performance.now();
      const packet = await call('POST', '/v1/packets', station.token, {
        ticket: `D-${run}`,
        service: SERVICE,
      });
      for (const [i, jpeg] of jpegs.entries())
        await call('PUT', `/v1/packets/${packet.id}/pages/${i + 1}`, station.token, jpeg, 'image/jpeg');
      await call('POST', `/v1/packets/${packet.id}/submit`, station.token, { pages: PAGES });
      const submitted = performance.now();
      const ready = await waitReady(packet.id);
      timelines.pagesDirect!.push({
        submitted: (submitted - started) / 1000,
        ready: (ready - started) / 1000,
      });
    }

    const summary = Object.fromEntries(
      Object.entries(timelines).map(([form, runs]) => [
        form,
        {
          ...Object.fromEntries(
            Object.keys(runs[0]!).map((step) => [
              `${step}S`,
              spread(runs.map((timeline) => timeline[step]!)),
            ]),
          ),
          ...(documentBytes[form] ? { documentMB: spread(documentBytes[form]!.map((b) => b / 1e6)) } : {}),
        },
      ]),
    );
    console.log(
      JSON.stringify(
        {
          bench: 'scanner',
          pages: PAGES,
          runs: RUNS,
          settleS: Number(args.settle),
          cpus: os.cpus().length,
          cpu: os.cpus()[0]?.model,
          node: process.version,
          ...summary,
        },
        null,
        2,
      ),
    );
  } finally {
    // The agent first, then the service, then what it stored into.
    for (const cleanup of cleanups.reverse()) await cleanup();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
