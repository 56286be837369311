/**
 * npm run bench:pipeline [-- --pages 12 --concurrency 2 --seed 1]
 *
 * Generates Ukrainian pages with exact ground truth (skew ±15°, some turned 90/180/270°, noise, blur, JPEG/PNG/TIFF),
 * runs the full page pipeline on them with the configured OCR concurrency, and prints one JSON document: pages/min,
 * ms per stage, CER and word accuracy, deskew error, orientation accuracy, peak RSS. When the native `tesseract` CLI
 * or `ocrmypdf` are installed, they run on the same pages in the same run, one process per core.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { generatePage } from '../fixtures/page-generator.js';
import { GENEROUS_PAGE_LIMITS } from '../fixtures/page-limits.js';
import { pdfPageOf } from '../fixtures/pdf-tools.js';
import { characterErrorRate, wordAccuracy } from '../fixtures/text-metrics.js';
import { createLogger } from '../src/infra/logger.js';
import { loadSigningIdentity } from '../src/infra/signing-identity.js';
import { TesseractPool } from '../src/ocr/tesseract-pool.js';
import { buildPacketPdf, PDF_FONT_FILE } from '../src/pipeline/packet-pdf.js';
import { signPdf } from '../src/pipeline/pades.js';
import { type ProcessedPage, processPage } from '../src/pipeline/process-page.js';
import { encodeJpeg, rotatePage, toRaw } from '../src/pipeline/raw-image.js';
import {
  mapLimit,
  mean,
  nativeTesseract,
  ocrmypdf,
  percentile,
  round,
  specFor,
  speedOverNativePerCore,
} from './compare.js';

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '12' },
    concurrency: { type: 'string', default: String(os.availableParallelism()) },
    seed: { type: 'string', default: '1' },
  },
});
const pageCount = Number(args.pages);
const concurrency = Number(args.concurrency);

const PAGES_PER_PACKET = 4;
/** The worker's default JPEG quality (PAGE_JPEG_QUALITY) and a pixel limit no bench page comes near. */
const PROCESS_OPTIONS = { limits: GENEROUS_PAGE_LIMITS, jpegQuality: 70 };

/** Builds and signs packets of PAGES_PER_PACKET processed pages, as the bundle job does (without S3). */
async function bundlePackets(processed: ProcessedPage[], dir: string) {
  const identity = await loadSigningIdentity(
    { kind: 'generated', dataDir: dir, office: 'Bench office' },
    createLogger('silent'),
  );
  const font = await readFile(PDF_FONT_FILE);
  const timings: number[] = [];
  let bytes = 0;
  for (let start = 0; start < processed.length; start += PAGES_PER_PACKET) {
    const pages = processed.slice(start, start + PAGES_PER_PACKET);
    const started = performance.now();
    const unsigned = await buildPacketPdf({
      title: 'bench',
      subject: 'bench',
      producer: 'Scan office',
      createdAt: new Date(),
      manifest: { pages: pages.length },
      font,
      pages: pages.map(pdfPageOf),
      signature: {
        reason: 'bench',
        name: 'Bench office',
        location: 'here',
        contactInfo: 'bench',
        signingTime: new Date(),
      },
    });
    const signed = await signPdf(unsigned, identity);
    timings.push(performance.now() - started);
    bytes += signed.length;
  }
  return {
    packets: timings.length,
    pagesPerPacket: PAGES_PER_PACKET,
    msPerPacket: { median: Math.round(percentile(timings, 50)), p95: Math.round(percentile(timings, 95)) },
    pdfBytesPerPage: Math.round(bytes / processed.length),
  };
}

/**
 * Native tesseract reads the pages as the PDF shows them, upright and straight (it cannot deskew), at the quality the
 * pipeline stores them. Made outside the timed run.
 */
async function uprightJpeg(page: ProcessedPage): Promise<Buffer> {
  const upright = await rotatePage(await toRaw(sharp(page.image), 1), page.summary.imageTurnDeg);
  return encodeJpeg(upright, page.summary.dpi, PROCESS_OPTIONS.jpegQuality);
}

async function main() {
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
  const rssBefore = process.memoryUsage().rss;

  // One warm-up page so the first measured page does not pay for WASM compilation.
  await processPage(generated[0]!.bytes, { ocr: pool, orientation: pool }, PROCESS_OPTIONS);
  const started = performance.now();
  const processed = await mapLimit(generated, concurrency, (page) =>
    processPage(page.bytes, { ocr: pool, orientation: pool }, PROCESS_OPTIONS),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();

  const stages = Object.keys(processed[0]!.summary.ms) as Array<keyof ProcessedPage['summary']['ms']>;
  const cers = processed.map((p, i) => characterErrorRate(p.ocr.text, generated[i]!.truth.text));
  const deskewErrors = processed.map((p, i) => Math.abs(p.summary.skewDeg - generated[i]!.truth.skewDeg));
  const orientationRight = processed.filter(
    (p, i) => p.summary.orientation === (360 - generated[i]!.truth.rotation) % 360,
  );
  const totalMs = processed.map((p) => Object.values(p.summary.ms).reduce((a, b) => a + b, 0));

  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-pipeline-'));
  const bundle = await bundlePackets(processed, dir);
  const native = await nativeTesseract(dir, await Promise.all(processed.map(uprightJpeg)), generated);
  const ocrMyPdf = await ocrmypdf(dir, generated);
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
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      // One OCR and one orientation worker per lane.
      rssPerTesseractWorkerMb: Math.round(rssBefore / 1024 / 1024 / (2 * concurrency)),
    },
    bundleAndSign: bundle,
    nativeTesseractOcrOnly: native,
    ocrmypdf: ocrMyPdf,
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
