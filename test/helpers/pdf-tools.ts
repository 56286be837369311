import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { PdfPageInput } from '../../src/pipeline/packet-pdf.js';
import type { ProcessedPage } from '../../src/pipeline/process-page.js';

const run = promisify(execFile);

/** A page straight from processPage as the PDF takes it (the bundle worker reads the same fields back from S3). */
export const pdfPageOf = (page: ProcessedPage): PdfPageInput => ({
  jpeg: page.image,
  dpi: page.summary.dpi,
  width: page.summary.width,
  height: page.summary.height,
  turnDeg: page.summary.imageTurnDeg,
  lines: page.ocr.lines,
});

/** The text of one PDF page as poppler's pdftotext reads it (what search and copy in a viewer give). */
export async function pdfPageText(file: string, page: number): Promise<string> {
  const { stdout } = await run('pdftotext', [
    '-f',
    String(page),
    '-l',
    String(page),
    '-enc',
    'UTF-8',
    file,
    '-',
  ]);
  return stdout;
}

export type PdfWord = { text: string; x: number; y: number };

/** The words of one PDF page with their centres in points from the top left, as poppler's `pdftotext -bbox` reads them. */
export async function pdfPageWords(file: string, page: number): Promise<PdfWord[]> {
  const { stdout } = await run('pdftotext', ['-f', String(page), '-l', String(page), '-bbox', file, '-']);
  const words: PdfWord[] = [];
  for (const match of stdout.matchAll(
    /<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<\/word>/g,
  )) {
    const [xMin, yMin, xMax, yMax] = match.slice(1, 5).map(Number) as [number, number, number, number];
    words.push({ text: match[5]!, x: (xMin + xMax) / 2, y: (yMin + yMax) / 2 });
  }
  return words;
}

/** One PDF page rendered by poppler as a greyscale PNG at `dpi`, the way a viewer shows it. */
export async function renderPdfPage(file: string, page: number, dpi: number): Promise<Buffer> {
  const { stdout } = await run(
    'pdftoppm',
    ['-f', String(page), '-l', String(page), '-r', String(dpi), '-gray', '-png', '-singlefile', file],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}
