/** Shared by the benchmarks: statistics, a bounded parallel map, the scanned-page mix, and the tools we compare with. */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { ssim } from 'ssim.js';
import type { GeneratedPage, PageSpec } from '../fixtures/page-generator.js';
import { pdfJsPageText, pdfPageImage, pdfPageText } from '../fixtures/pdf-tools.js';
import { seededRandom } from '../fixtures/random.js';
import { characterErrorRate, wordF1 } from '../fixtures/text-metrics.js';
import { packagedDataDir } from '../src/ocr/tesseract-pool.js';

const run = promisify(execFile);

export const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
export const mean = (values: number[]) =>
  values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
export const round = (value: number, digits = 3) => Number(value.toFixed(digits));

/** Runs `work` over `items` with at most `limit` in flight; returns results in order. */
export async function mapLimit<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}

export const which = async (command: string) => {
  try {
    await run('which', [command]);
    return true;
  } catch {
    return false;
  }
};

export function specFor(index: number, seed: number): PageSpec {
  // A fixed, varied mix: every fourth page turned, skews spread over ±15°, all three formats and fonts.
  const rotations = [0, 0, 0, 90, 0, 0, 0, 180, 0, 0, 0, 270] as const;
  const fonts = ['DejaVu Serif', 'PT Serif', 'DejaVu Sans'] as const;
  const formats = ['jpeg', 'jpeg', 'png', 'tiff'] as const;
  const skew = round((((index + seed) * 7.31) % 30) - 15, 2);
  return {
    dpi: index % 3 === 0 ? 200 : 300,
    font: fonts[index % fonts.length]!,
    paragraphs: { from: (index * 5 + seed) % 12, count: 4 },
    rotation: rotations[index % rotations.length]!,
    skewDeg: skew,
    noise: 8 + (index % 3) * 4,
    blur: 0.4,
    format: formats[index % formats.length]!,
    seed: seed * 1000 + index,
  };
}

/**
 * The hard mix: forms, Ukrainian dense with Latin, two columns, in turn; 8–13 pt, 200 and 300 dpi alternating, every
 * other page turned 90/180/270°, skew anywhere in ±15°, noise σ 6–16, blur 0.3–0.8, all fonts and formats.
 */
export function hardSpecFor(index: number, seed: number): PageSpec {
  const random = seededRandom(seed * 7919 + index);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const kind = (['form', 'mixed', 'two-column'] as const)[index % 3]!;
  return {
    kind,
    dpi: index % 2 === 0 ? 200 : 300,
    font: pick(['DejaVu Serif', 'PT Serif', 'DejaVu Sans'] as const),
    pointSize: 8 + Math.floor(random() * 6),
    paragraphs: { from: Math.floor(random() * 12), count: kind === 'two-column' ? 10 : 6 },
    rotation: ([0, 90, 0, 180, 0, 270] as const)[(index + Math.floor(index / 6)) % 6]!,
    skewDeg: round(random() * 30 - 15, 2),
    noise: 6 + Math.floor(random() * 11),
    blur: round(0.3 + random() * 0.5, 2),
    format: pick(['jpeg', 'jpeg', 'png', 'tiff'] as const),
    seed: seed * 1000 + index,
  };
}

/**
 * Native tesseract needs plain traineddata; ours ships gzipped in npm. Unpacks the exact models our OCR reads
 * (best_int), so the native run can use the same model: Debian's tesseract-ocr-ukr/eng are tessdata_fast, a smaller
 * network (ukr LSTM 413 KB vs 953 KB) that reads faster.
 */
async function unpackOurModels(dir: string): Promise<string> {
  const folder = path.join(dir, 'tessdata-best_int');
  await mkdir(folder, { recursive: true });
  for (const language of ['ukr', 'eng']) {
    const packed = await readFile(
      path.join(packagedDataDir(language, 'best_int'), `${language}.traineddata.gz`),
    );
    await writeFile(path.join(folder, `${language}.traineddata`), gunzipSync(packed));
  }
  return folder;
}

/** OCR-only with the native CLI, one process per core, on `images`; once with our model, once with Debian's. */
export async function nativeTesseract(dir: string, images: Buffer[], truths: GeneratedPage[]) {
  if (!(await which('tesseract'))) return { available: false as const };
  const files = await Promise.all(
    images.map(async (image, i) => {
      const file = path.join(dir, `native-${i}.img`);
      await writeFile(file, image);
      return file;
    }),
  );
  const readAll = async (modelArgs: string[]) => {
    const started = performance.now();
    const texts = await mapLimit(files, os.availableParallelism(), async (file) => {
      const { stdout } = await run(
        'tesseract',
        [file, 'stdout', ...modelArgs, '-l', 'ukr+eng', '--psm', '3'],
        {
          env: { ...process.env, OMP_THREAD_LIMIT: '1' },
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      return stdout;
    });
    const seconds = (performance.now() - started) / 1000;
    const cers = texts.map((text, i) => characterErrorRate(text, truths[i]!.truth.text));
    return {
      pagesPerMinute: round((images.length / seconds) * 60, 1),
      secondsPerPagePerCore: round((seconds * os.availableParallelism()) / images.length, 2),
      meanCer: round(mean(cers), 4),
    };
  };
  return {
    available: true as const,
    sameModel: await readAll(['--tessdata-dir', await unpackOurModels(dir)]),
    debianFastModel: await readAll([]),
  };
}

/** Our speed per core over native's for each model (≥ 1: we are at least as fast per core), or null without it. */
export function speedOverNativePerCore(
  native: Awaited<ReturnType<typeof nativeTesseract>>,
  ourSecondsPerPagePerCore: number,
) {
  if (!native.available) return null;
  return {
    sameModel: round(native.sameModel.secondsPerPagePerCore / ourSecondsPerPagePerCore, 2),
    debianFastModel: round(native.debianFastModel.secondsPerPagePerCore / ourSecondsPerPagePerCore, 2),
  };
}

/** A scan to read and the exact text printed on it. */
export type ScannedPage = { bytes: Buffer; truth: { text: string; dpi: number } };

/**
 * What a registrar's viewer gets from a page: the OCR engine's own text, and the PDF's text layer as poppler's
 * pdftotext reads it, plain (reading order) and with -layout, and as pdf.js reads it (the desk's viewer: the order
 * the content stream draws it). Null for a page that failed.
 */
export type PageTexts = { ocr: string; plain: string; layout: string; pdfjs: string } | null;

/** The texts of one page of a PDF file, as pdftotext and pdf.js read them. */
export async function pdfTexts(
  file: string,
  page: number,
): Promise<{ plain: string; layout: string; pdfjs: string }> {
  return {
    plain: await pdfPageText(file, page),
    layout: await pdfPageText(file, page, { layout: true }),
    pdfjs: await pdfJsPageText(file, page),
  };
}

/** Greyscale pixels as ssim.js takes them (RGBA). */
async function ssimImage(image: sharp.Sharp, crop?: { width: number; height: number }) {
  const cropped = crop ? image.extract({ left: 0, top: 0, ...crop }) : image;
  const { data, info } = await cropped
    .toColourspace('b-w')
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), ...info };
}

/**
 * How faithfully a PDF shows a scan: SSIM (greyscale, full resolution, Weber's fast variant) of the image the page
 * embeds against the upload, both as decoded. Null where the tool resampled the scan (OCRmyPDF's --deskew redraws a
 * skewed page), as the pixels no longer line up; an image padded beyond the scan (our G4 tiles) is compared on the
 * scan's area.
 */
export async function embeddedImageSsim(file: string, page: number, upload: Buffer): Promise<number | null> {
  const original = sharp(upload);
  const { width = 0, height = 0 } = await original.metadata();
  const embedded = sharp(await pdfPageImage(file, page));
  const size = await embedded.metadata();
  if ((size.width ?? 0) < width || (size.height ?? 0) < height) return null;
  if ((size.width ?? 0) - width >= 16 || (size.height ?? 0) - height >= 16) return null;
  const { mssim } = ssim(await ssimImage(original), await ssimImage(embedded, { width, height }), {
    ssim: 'weber',
    downsample: false,
  });
  return mssim;
}

export type OcrmypdfRun = {
  seconds: number;
  texts: PageTexts[];
  pdfBytes: Array<number | null>;
  ssim: Array<number | null>;
};

/**
 * OCRmyPDF on each page, one process per core, timed on its own: `--deskew --rotate-pages -O1 -l ukr+eng --image-dpi
 * <dpi>` (-O1 is its default), with its OCR text as `--sidecar`; then its PDFs' text layers. Null when OCRmyPDF or
 * pdftotext is not installed.
 */
export async function runOcrmypdf(
  dir: string,
  pages: ScannedPage[],
  name = 'ocrmypdf',
): Promise<OcrmypdfRun | null> {
  if (!(await which('ocrmypdf')) || !(await which('pdftotext'))) return null;
  const files = (i: number) => ({
    input: path.join(dir, `${name}-${i}.img`),
    output: path.join(dir, `${name}-${i}.pdf`),
    sidecar: path.join(dir, `${name}-${i}.txt`),
  });
  const started = performance.now();
  const succeeded = await mapLimit(pages, os.availableParallelism(), async (page, i) => {
    const { input, output, sidecar } = files(i);
    await writeFile(input, page.bytes);
    try {
      await run(
        'ocrmypdf',
        [
          '--deskew',
          '--rotate-pages',
          '-O1',
          '-l',
          'ukr+eng',
          '--jobs',
          '1',
          '--image-dpi',
          String(page.truth.dpi),
          '--output-type',
          'pdf',
          '--sidecar',
          sidecar,
          input,
          output,
        ],
        { env: { ...process.env, OMP_THREAD_LIMIT: '1' } },
      );
      return true;
    } catch {
      return false;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const outputs = await mapLimit(pages, os.availableParallelism(), async (page, i) => {
    if (!succeeded[i]) return { texts: null, bytes: null, ssim: null };
    const { output, sidecar } = files(i);
    const texts = { ocr: await readFile(sidecar, 'utf8'), ...(await pdfTexts(output, 1)) };
    const ssim = await embeddedImageSsim(output, 1, page.bytes);
    return { texts, bytes: (await readFile(output)).length, ssim };
  });
  return {
    seconds,
    texts: outputs.map((o) => o.texts),
    pdfBytes: outputs.map((o) => o.bytes),
    ssim: outputs.map((o) => o.ssim),
  };
}

/** The figures the benchmarks have always printed for OCRmyPDF; CER on its PDF's text as `pdftotext -layout` gives it. */
export function ocrmypdfSummary(outcome: OcrmypdfRun | null, truths: ScannedPage[]) {
  if (!outcome) return { available: false as const };
  const cers = truths.map((page, i) => characterErrorRate(outcome.texts[i]?.layout ?? '', page.truth.text));
  const bytes = outcome.pdfBytes.filter((b) => b !== null);
  return {
    available: true as const,
    pagesPerMinute: round((truths.length / outcome.seconds) * 60, 1),
    meanCer: round(mean(cers), 4),
    failedPages: truths.length - bytes.length,
    meanPdfBytesPerPage: Math.round(mean(bytes)),
  };
}

export async function ocrmypdf(dir: string, truths: ScannedPage[]) {
  return ocrmypdfSummary(await runOcrmypdf(dir, truths), truths);
}

/**
 * Accuracy of one tool on a set of pages, means over the pages (a failed page counts as nothing read: CER 1, F1 0).
 * `cer` and `wordF1` judge the OCR engine's own text; `readingOrderCer` the whole text of the PDF's text layer in
 * the order pdftotext gives it, plain and -layout, and in the order pdf.js gives it.
 */
export function textFigures(truths: string[], texts: PageTexts[]) {
  const scores = truths.map((truth, i) => {
    const page = texts[i] ?? { ocr: '', plain: '', layout: '', pdfjs: '' };
    return {
      cer: characterErrorRate(page.ocr, truth),
      wordF1: wordF1(page.ocr, truth).f1,
      plain: characterErrorRate(page.plain, truth),
      layout: characterErrorRate(page.layout, truth),
      pdfjs: characterErrorRate(page.pdfjs, truth),
    };
  });
  const meanOf = (key: keyof (typeof scores)[number]) => round(mean(scores.map((score) => score[key])), 4);
  return {
    pages: truths.length,
    failedPages: texts.filter((t) => t === null).length,
    cer: meanOf('cer'),
    wordF1: meanOf('wordF1'),
    readingOrderCer: { plain: meanOf('plain'), layout: meanOf('layout'), pdfjs: meanOf('pdfjs') },
  };
}
