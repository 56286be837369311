/**
 * npm run bench:bundle [-- --pages 500 --sizes 50,100]
 *
 * The bundle job's time and memory by packet size. A handful of distinct 300 dpi pages as the page worker stores them
 * (JPEG at the service's quality, bilevel PNG) and their OCR JSON go into an S3 server running as its own process
 * (s3rver, as MinIO would be), reused round-robin as the packet's pages. Each packet size is bundled by the real
 * `Bundling.bundle` (records in memory; S3, PDF, signature, self-check and upload real) in a fresh process, so that
 * its peak RSS is its own: sampled every 50 ms and the kernel's maxRSS. Prints one JSON document.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { processedPacketOf, type StoredPage, storeProcessedPages } from '../fixtures/processed-packet.js';
import type { PacketPdf } from '../src/domain/types.js';
import { EMBEDDED_S3_CREDENTIALS } from '../src/infra/embedded-s3.js';
import { dropImageCache } from '../src/infra/image-memory.js';
import { createLogger } from '../src/infra/logger.js';
import { createMetrics } from '../src/infra/metrics.js';
import { loadSigningIdentity, type SigningSource } from '../src/infra/signing-identity.js';
import { PDF_FONT_FILE } from '../src/pipeline/packet-pdf.js';
import { Bundling } from '../src/services/bundling.js';
import { type PacketProgress, pagesDigestOf } from '../src/services/packet-progress.js';
import { MinioObjectStore } from '../src/storage/minio-store.js';
import { startS3Process } from './processes.js';

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '500' },
    sizes: { type: 'string', default: '50,100' },
    child: { type: 'string' },
  },
});

const DISTINCT_PAGES = { jpegPages: 6, bilevelPages: 2, dpi: 300, jpegQuality: 70, paragraphs: 8 } as const;
const SAMPLE_MS = 50;
/** As the Docker image runs the worker, unless the caller sets its own. */
const MALLOC_ARENA_MAX = process.env.MALLOC_ARENA_MAX ?? '2';

/** What a child needs to bundle: where S3 is, the distinct pages stored there, the signing identity's folder. */
type Setup = { port: number; dataDir: string; pages: StoredPage[] };

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const signingSource = (dataDir: string): SigningSource => ({
  kind: 'generated',
  dataDir,
  office: 'Bench office',
});
const storeAt = (port: number) =>
  new MinioObjectStore({
    endPoint: '127.0.0.1',
    port,
    useSsl: false,
    ...EMBEDDED_S3_CREDENTIALS,
    region: 'us-east-1',
    bucket: 'bench',
    timeoutMs: 30_000,
  });

/** In a process of its own: bundles one packet of `pageCount` pages and reports time, size and memory. */
async function bundleOnce(setup: Setup, pageCount: number) {
  const { packet, pages } = processedPacketOf('pk_bench', setup.pages, pageCount);
  let recorded: PacketPdf | undefined;
  const bundling = new Bundling({
    packets: {
      get: async () => packet,
      listPages: async () => pages,
      listDocuments: async () => [],
      transition: async () => 'ok',
      markReady: async (_id, _readyAt, pdf) => {
        recorded = pdf;
        return 'ok';
      },
    },
    progress: {} as PacketProgress,
    store: storeAt(setup.port),
    identity: await loadSigningIdentity(signingSource(setup.dataDir), createLogger('silent')),
    font: await readFile(PDF_FONT_FILE),
    office: { name: 'Bench office', location: 'Bench' },
    metrics: createMetrics(),
    log: createLogger('silent'),
  });
  const rssBeforeMb = mb(process.memoryUsage().rss);
  let sampledPeak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
  }, SAMPLE_MS);
  const started = performance.now();
  const outcome = await bundling.bundle({
    packetId: packet.id,
    pagesDigest: pagesDigestOf(pages),
    run: 0,
    retryUntil: Date.now() + 3_600_000,
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  if (outcome !== 'ready' || !recorded) throw new Error(`the bundle job answered ${outcome}`);
  return {
    pages: pageCount,
    seconds: Math.round(seconds * 10) / 10,
    pdfBytes: recorded.bytes,
    pdfBytesPerPage: Math.round(recorded.bytes / pageCount),
    rssBeforeMb,
    peakRssSampledMb: mb(Math.max(sampledPeak, process.memoryUsage().rss)),
    peakRssKernelMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function runChild(setupFile: string, pageCount: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--child', setupFile, '--pages', String(pageCount)],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MALLOC_ARENA_MAX } },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(output))
        : reject(new Error(`bundling ${pageCount} pages: exit ${code}`)),
    );
  });
}

async function main() {
  const pageCount = Number(args.pages);
  if (args.child) {
    // As the worker role runs it.
    dropImageCache();
    const setup = JSON.parse(await readFile(args.child, 'utf8')) as Setup;
    process.stdout.write(JSON.stringify(await bundleOnce(setup, pageCount)));
    return;
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-bundle-'));
  const s3 = await startS3Process(dataDir);
  try {
    await loadSigningIdentity(signingSource(dataDir), createLogger('silent'));
    const store = storeAt(s3.port);
    await store.ensureBucket();
    const setup: Setup = { port: s3.port, dataDir, pages: await storeProcessedPages(store, DISTINCT_PAGES) };
    const setupFile = path.join(dataDir, 'setup.json');
    await writeFile(setupFile, JSON.stringify(setup));
    const sizes = [...new Set([...args.sizes.split(',').map(Number), pageCount])].sort((a, b) => a - b);
    const runs = [];
    // One after the other: each child has both cores to itself.
    for (const size of sizes) runs.push(await runChild(setupFile, size));
    const jpegs = setup.pages.filter((page) => page.imageFormat === 'jpeg');
    const report = {
      benchmark: 'bundle',
      machine: { cpus: os.availableParallelism(), node: process.version },
      config: {
        distinctPages: DISTINCT_PAGES,
        meanJpegBytes: Math.round(jpegs.reduce((sum, page) => sum + page.bytes, 0) / jpegs.length),
        bilevelPngBytes: setup.pages.filter((page) => page.imageFormat === 'png').map((page) => page.bytes),
        rssSampleMs: SAMPLE_MS,
        mallocArenaMax: MALLOC_ARENA_MAX,
      },
      runs,
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    s3.child.kill('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
