/** Shared by the benchmarks: statistics, a bounded parallel map, the scanned-page mix, and the tools we compare with. */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { GeneratedPage, PageSpec } from '../fixtures/page-generator.js';
import { characterErrorRate } from '../fixtures/text-metrics.js';
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

export async function ocrmypdf(dir: string, truths: GeneratedPage[]) {
  if (!(await which('ocrmypdf')) || !(await which('pdftotext'))) return { available: false as const };
  const started = performance.now();
  const outcomes = await mapLimit(truths, os.availableParallelism(), async (page, i) => {
    const input = path.join(dir, `ocrmypdf-${i}.img`);
    const output = path.join(dir, `ocrmypdf-${i}.pdf`);
    await writeFile(input, page.bytes);
    try {
      await run(
        'ocrmypdf',
        [
          '--deskew',
          '--rotate-pages',
          '-l',
          'ukr+eng',
          '--jobs',
          '1',
          '--image-dpi',
          String(page.truth.dpi),
          '--output-type',
          'pdf',
          input,
          output,
        ],
        { env: { ...process.env, OMP_THREAD_LIMIT: '1' } },
      );
      const { stdout } = await run('pdftotext', ['-layout', output, '-']);
      return { text: stdout, bytes: (await readFile(output)).length, failed: false };
    } catch {
      return { text: '', bytes: 0, failed: true };
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const cers = outcomes.map((o, i) => characterErrorRate(o.text, truths[i]!.truth.text));
  return {
    available: true as const,
    pagesPerMinute: round((truths.length / seconds) * 60, 1),
    meanCer: round(mean(cers), 4),
    failedPages: outcomes.filter((o) => o.failed).length,
    meanPdfBytesPerPage: Math.round(mean(outcomes.filter((o) => !o.failed).map((o) => o.bytes))),
  };
}
