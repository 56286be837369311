/**
 * npm run bench:pipeline [-- --pages 12 --concurrency 2 --seed 1 --hard-pages 16 | --no-hard]
 *
 * Generates Ukrainian pages with exact ground truth (skew ±15°, some turned 90/180/270°, noise, blur, JPEG/PNG/TIFF),
 * runs the full page pipeline on them with the configured OCR concurrency, and prints one JSON document: pages/min,
 * ms per stage, CER and word accuracy, deskew error, orientation accuracy, peak RSS. When the native `tesseract` CLI
 * or `ocrmypdf` are installed, they run on the same pages in the same run, one process per core.
 *
 * Then, unless --no-hard, the hard corpus (bench/hard-corpus.ts): --hard-pages generated forms, mixed-script and
 * two-column pages, and a real two-column scan in six turns and skews. For it, and for the standard pages in
 * `standard`, the text a registrar's viewer gets is scored: the text layer of the signed packet PDF as pdftotext
 * reads it (plain and -layout) and as pdf.js reads it (the desk's viewer), against the truth in reading order;
 * OCRmyPDF's PDFs likewise. Needs poppler-utils.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { generatePage } from '../fixtures/page-generator.js';
import { GENEROUS_PAGE_LIMITS } from '../fixtures/page-limits.js';
import { pdfPageOf } from '../fixtures/pdf-tools.js';
import { characterErrorRate, wordAccuracy } from '../fixtures/text-metrics.js';
import { dropImageCache } from '../src/infra/image-memory.js';
import { createLogger } from '../src/infra/logger.js';
import { loadSigningIdentity } from '../src/infra/signing-identity.js';
import { loadHunspellLexicon } from '../src/ocr/hunspell-lexicon.js';
import { TesseractPool } from '../src/ocr/tesseract-pool.js';
import { PDF_FONT_FILE, writePacketPdf } from '../src/pipeline/packet-pdf.js';
import { type SigningIdentity, signPdfFile } from '../src/pipeline/pades.js';
import { type ProcessedPage, processPage } from '../src/pipeline/process-page.js';
import { encodeJpeg, rotatePage, toRaw } from '../src/pipeline/raw-image.js';
import {
  embeddedImageSsim,
  mapLimit,
  mean,
  nativeTesseract,
  ocrmypdfSummary,
  type PageTexts,
  pdfTexts,
  percentile,
  round,
  runOcrmypdf,
  type ScannedPage,
  specFor,
  speedOverNativePerCore,
  which,
} from './compare.js';
import {
  figuresOf,
  HARD_KINDS,
  type HardPage,
  hardCorpus,
  hardFigures,
  type ToolResult,
} from './hard-corpus.js';

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '12' },
    concurrency: { type: 'string', default: String(os.availableParallelism()) },
    seed: { type: 'string', default: '1' },
    'hard-pages': { type: 'string', default: '16' },
    hard: { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const pageCount = Number(args.pages);
const concurrency = Number(args.concurrency);
const hardPageCount = args.hard ? Number(args['hard-pages']) : 0;

const PAGES_PER_PACKET = 4;
/** The worker's default JPEG quality (PAGE_JPEG_QUALITY) and a pixel limit no bench page comes near. */
const PROCESS_OPTIONS = { limits: GENEROUS_PAGE_LIMITS, jpegQuality: 70 };

type SignedPacket = { pdf: Uint8Array; ms: number; indices: number[] };

/**
 * Builds and signs packets of PAGES_PER_PACKET processed pages, as the bundle job does (without S3): those of
 * `indices` in order, leaving out pages that failed.
 */
async function signPackets(
  processed: Array<ProcessedPage | null>,
  indices: number[],
  { identity, font, dir }: { identity: SigningIdentity; font: Uint8Array; dir: string },
): Promise<SignedPacket[]> {
  const present = indices.filter((i) => processed[i]);
  const packets: SignedPacket[] = [];
  for (let start = 0; start < present.length; start += PAGES_PER_PACKET) {
    const packetIndices = present.slice(start, start + PAGES_PER_PACKET);
    const started = performance.now();
    const file = path.join(dir, 'signing.pdf');
    const { placeholder } = await writePacketPdf(
      {
        title: 'bench',
        subject: 'bench',
        producer: 'Scan office',
        createdAt: new Date(),
        manifest: { pages: packetIndices.length },
        font,
        pages: packetIndices.map((i) => pdfPageOf(processed[i]!)),
        signature: {
          reason: 'bench',
          name: 'Bench office',
          location: 'here',
          contactInfo: 'bench',
          signingTime: new Date(),
        },
      },
      file,
    );
    await signPdfFile(file, placeholder!, identity);
    const pdf = await readFile(file);
    packets.push({ pdf, ms: performance.now() - started, indices: packetIndices });
  }
  return packets;
}

function bundleSummary(packets: SignedPacket[], pages: number) {
  const timings = packets.map((packet) => packet.ms);
  return {
    packets: packets.length,
    pagesPerPacket: PAGES_PER_PACKET,
    msPerPacket: { median: Math.round(percentile(timings, 50)), p95: Math.round(percentile(timings, 95)) },
    pdfBytesPerPage: Math.round(packets.reduce((sum, packet) => sum + packet.pdf.length, 0) / pages),
  };
}

/** Our texts of each page (OCR text; the signed packet's text layer as pdftotext reads it) and its share of bytes. */
async function ourResults(
  uploads: ScannedPage[],
  processed: Array<ProcessedPage | null>,
  packets: SignedPacket[],
  dir: string,
  name: string,
): Promise<ToolResult> {
  const texts: PageTexts[] = processed.map(() => null);
  const pdfBytes: Array<number | null> = processed.map(() => null);
  const ssim: Array<number | null> = processed.map(() => null);
  for (const [n, packet] of packets.entries()) {
    const file = path.join(dir, `${name}-packet-${n}.pdf`);
    await writeFile(file, packet.pdf);
    for (const [j, i] of packet.indices.entries()) {
      texts[i] = { ocr: processed[i]!.ocr.text, ...(await pdfTexts(file, j + 1)) };
      pdfBytes[i] = packet.pdf.length / packet.indices.length;
      ssim[i] = await embeddedImageSsim(file, j + 1, uploads[i]!.bytes);
    }
  }
  return { texts, pdfBytes, ssim };
}

/**
 * Native tesseract reads the pages as the PDF shows them, upright and straight (it cannot deskew), at the quality the
 * pipeline stores them. Made outside the timed run.
 */
async function uprightJpeg(page: ProcessedPage): Promise<Buffer> {
  const upright = await rotatePage(await toRaw(sharp(page.image), 1), page.summary.imageTurnDeg);
  return encodeJpeg(upright, page.summary.dpi, PROCESS_OPTIONS.jpegQuality);
}

/** Our pipeline on the hard pages (a page that throws counts as failed), and OCRmyPDF; their figures. */
async function hardSection(
  pages: HardPage[],
  ours: { processed: Array<ProcessedPage | null>; seconds: number },
  signing: { identity: SigningIdentity; font: Uint8Array; dir: string },
) {
  // Packets of one kind each, so bytes per page are the kind's own.
  const packets: SignedPacket[] = [];
  for (const kind of HARD_KINDS) {
    const indices = pages.flatMap((page, i) => (page.kind === kind ? [i] : []));
    packets.push(...(await signPackets(ours.processed, indices, signing)));
  }
  const theirs = await runOcrmypdf(signing.dir, pages, 'hard-ocrmypdf');
  return {
    config: { generatedPages: hardPageCount, realTwoColumnVariants: pages.length - hardPageCount },
    pagesPerMinute: {
      ours: round((pages.length / ours.seconds) * 60, 1),
      ocrmypdf: theirs && round((pages.length / theirs.seconds) * 60, 1),
    },
    ...hardFigures(pages, await ourResults(pages, ours.processed, packets, signing.dir, 'hard'), theirs),
  };
}

async function main() {
  // As the worker role runs it.
  dropImageCache();
  const seed = Number(args.seed);
  const generated = await Promise.all(
    Array.from({ length: pageCount }, (_, i) => generatePage(specFor(i, seed))),
  );
  const pool = await TesseractPool.start({
    languages: ['ukr', 'eng'],
    model: 'best_int',
    pageSegmentationMode: 3,
    workers: concurrency,
    recyclePages: 200,
    timeoutMs: 120_000,
    log: createLogger('warn'),
  });
  // The worker role's engines: the OCR pool and the dictionaries that correct its script mix-ups.
  const engines = { ocr: pool, orientation: pool, lexicon: await loadHunspellLexicon() };
  const rssBefore = process.memoryUsage().rss;

  // One warm-up page so the first measured page does not pay for WASM compilation.
  await processPage(generated[0]!.bytes, engines, PROCESS_OPTIONS);
  const started = performance.now();
  const processed = await mapLimit(generated, concurrency, (page) =>
    processPage(page.bytes, engines, PROCESS_OPTIONS),
  );
  const seconds = (performance.now() - started) / 1000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-pipeline-'));
  const identity = await loadSigningIdentity(
    { kind: 'generated', dataDir: dir, office: 'Bench office' },
    createLogger('silent'),
  );
  const font = await readFile(PDF_FONT_FILE);
  const allOf = (pages: unknown[]) => pages.map((_, i) => i);
  const packets = await signPackets(processed, allOf(processed), { identity, font, dir });
  const bundle = bundleSummary(packets, processed.length);
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);

  // The viewer's text needs poppler: pdftotext reads the PDFs, pdfimages decodes the real JBIG2 scan.
  const readsPdfs = (await which('pdftotext')) && (await which('pdfimages'));
  const hardPages = args.hard && readsPdfs ? await hardCorpus(hardPageCount, seed) : [];
  const hardStarted = performance.now();
  const hardProcessed = await mapLimit(hardPages, concurrency, (page) =>
    processPage(page.bytes, engines, PROCESS_OPTIONS).catch(() => null),
  );
  const hardSeconds = (performance.now() - hardStarted) / 1000;
  await pool.close();

  const stages = Object.keys(processed[0]!.summary.ms) as Array<keyof ProcessedPage['summary']['ms']>;
  const cers = processed.map((p, i) => characterErrorRate(p.ocr.text, generated[i]!.truth.text));
  const deskewErrors = processed.map((p, i) => Math.abs(p.summary.skewDeg - generated[i]!.truth.skewDeg));
  const orientationRight = processed.filter(
    (p, i) => p.summary.orientation === (360 - generated[i]!.truth.rotation) % 360,
  );
  const totalMs = processed.map((p) => Object.values(p.summary.ms).reduce((a, b) => a + b, 0));

  const native = await nativeTesseract(dir, await Promise.all(processed.map(uprightJpeg)), generated);
  const ocrmypdfRun = await runOcrmypdf(dir, generated);
  const ocrMyPdf = ocrmypdfSummary(ocrmypdfRun, generated);
  const withoutPoppler = {
    available: false as const,
    reason: 'poppler-utils (pdftotext, pdfimages) not installed',
  };
  const standard = readsPdfs
    ? figuresOf(
        generated,
        allOf(generated),
        await ourResults(generated, processed, packets, dir, 'standard'),
        ocrmypdfRun,
      )
    : withoutPoppler;
  const hard = !args.hard
    ? { skipped: '--no-hard' }
    : readsPdfs
      ? await hardSection(
          hardPages,
          { processed: hardProcessed, seconds: hardSeconds },
          { identity, font, dir },
        )
      : withoutPoppler;
  await rm(dir, { recursive: true, force: true });

  const pipelinePagesPerMinute = (pageCount / seconds) * 60;
  const report = {
    benchmark: 'pipeline',
    machine: { cpus: os.availableParallelism(), node: process.version },
    config: { pages: pageCount, concurrency, model: 'best_int', languages: 'ukr+eng', psm: 3, seed },
    pipeline: {
      pagesPerMinute: round(pipelinePagesPerMinute, 1),
      secondsPerPagePerCore: round((seconds * concurrency) / pageCount, 2),
      msPerStage: Object.fromEntries(
        stages.map((stage) => {
          const values = processed.map((p) => p.summary.ms[stage]);
          return [stage, { median: percentile(values, 50), p95: percentile(values, 95) }];
        }),
      ),
      msPerPage: { median: percentile(totalMs, 50), p95: percentile(totalMs, 95) },
      accuracy: {
        meanCer: round(mean(cers), 4),
        maxCer: round(Math.max(...cers), 4),
        meanWordAccuracy: round(
          mean(processed.map((p, i) => wordAccuracy(p.ocr.text, generated[i]!.truth.text))),
          4,
        ),
        deskewErrorDeg: {
          mean: round(mean(deskewErrors)),
          median: round(percentile(deskewErrors, 50)),
          max: round(Math.max(...deskewErrors)),
        },
        orientationAccuracy: round(orientationRight.length / pageCount, 3),
      },
      jpegBytesPerPage: Math.round(mean(processed.map((p) => p.image.length))),
      peakRssMb,
      // One OCR and one orientation worker per lane.
      rssPerTesseractWorkerMb: Math.round(rssBefore / 1024 / 1024 / (2 * concurrency)),
    },
    bundleAndSign: bundle,
    nativeTesseractOcrOnly: native,
    ocrmypdf: ocrMyPdf,
    standard,
    hard,
    ratios: {
      pipelineSpeedOverNativeOcrOnlyPerCore: speedOverNativePerCore(
        native,
        (seconds * concurrency) / pageCount,
      ),
      pipelineSpeedOverOcrmypdf: ocrMyPdf.available
        ? round(pipelinePagesPerMinute / ocrMyPdf.pagesPerMinute, 2)
        : null,
      pdfBytesPerPageOverOcrmypdf: ocrMyPdf.available
        ? round(bundle.pdfBytesPerPage / ocrMyPdf.meanPdfBytesPerPage, 2)
        : null,
    },
  };
  console.log(JSON.stringify(report, null, 2));
}

await main();
