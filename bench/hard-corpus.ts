/**
 * The hard corpus of bench:pipeline: generated forms, Ukrainian dense with Latin, and two-column pages (hardSpecFor),
 * and a real two-column scan (the LinnSequencer leaflet, exact transcription) turned and skewed.
 */
import { fileURLToPath } from 'node:url';
import { generatePage } from '../fixtures/page-generator.js';
import { pdfPageImage } from '../fixtures/pdf-tools.js';
import { readSampleText, SAMPLES_DIR, TWO_COLUMN_SAMPLE, turnedBilevelScan } from '../fixtures/samples.js';
import { hardSpecFor, mean, type PageTexts, round, type ScannedPage, textFigures } from './compare.js';

export const HARD_KINDS = ['form', 'mixed', 'two-column', 'real-two-column'] as const;
export type HardKind = (typeof HARD_KINDS)[number];
export type HardPage = ScannedPage & { kind: HardKind; label: string };

/** The real page as scanned, quarter-turned, and skewed both ways (clockwise degrees, as sharp turns). */
const REAL_VARIANTS = [
  { label: '0°', angle: 0 },
  { label: '90°', angle: 90 },
  { label: '180°', angle: 180 },
  { label: '270°', angle: 270 },
  { label: '+7°', angle: 7 },
  { label: '−12°', angle: -12 },
] as const;

/** The real two-column page in each variant, as an office scanner stores bilevel pages: CCITT G4 TIFF at 300 dpi. */
async function realTwoColumnPages(): Promise<HardPage[]> {
  const scan = await pdfPageImage(fileURLToPath(new URL(TWO_COLUMN_SAMPLE.file, SAMPLES_DIR)));
  const text = await readSampleText(TWO_COLUMN_SAMPLE.truthFile);
  return Promise.all(
    REAL_VARIANTS.map(async ({ label, angle }) => ({
      kind: 'real-two-column' as const,
      label,
      bytes: await turnedBilevelScan(scan, angle, TWO_COLUMN_SAMPLE.dpi),
      truth: { text, dpi: TWO_COLUMN_SAMPLE.dpi },
    })),
  );
}

/** `generated` pages of the hard mix, then the real two-column variants. */
export async function hardCorpus(generated: number, seed: number): Promise<HardPage[]> {
  const pages = await Promise.all(
    Array.from({ length: generated }, async (_, i): Promise<HardPage> => {
      const spec = hardSpecFor(i, seed);
      const page = await generatePage(spec);
      return {
        kind: page.truth.kind as HardKind,
        label: `${spec.pointSize} pt, ${spec.dpi} dpi, ${spec.rotation}° + ${spec.skewDeg}°, ${spec.format}`,
        bytes: page.bytes,
        truth: page.truth,
      };
    }),
  );
  return [...pages, ...(await realTwoColumnPages())];
}

/**
 * What one tool made of each page: its texts, the PDF bytes each page cost (null: the page failed) and how faithfully
 * the PDF shows the scan (embeddedImageSsim; null where not comparable).
 */
export type ToolResult = { texts: PageTexts[]; pdfBytes: Array<number | null>; ssim: Array<number | null> };

/** textFigures for one tool on some of the pages, with the PDF bytes per page it made of them. */
function toolFigures(pages: ScannedPage[], indices: number[], result: ToolResult) {
  const bytes = indices.flatMap((i) => result.pdfBytes[i] ?? []);
  const ssims = indices.flatMap((i) => result.ssim[i] ?? []);
  return {
    ...textFigures(
      indices.map((i) => pages[i]!.truth.text),
      indices.map((i) => result.texts[i] ?? null),
    ),
    pdfBytesPerPage: Math.round(mean(bytes)),
    imageSsim: { mean: ssims.length > 0 ? round(mean(ssims), 4) : null, comparablePages: ssims.length },
  };
}

/**
 * Pages, mean CER and word F1 of the OCR text, mean reading-order CER of the PDF text layer (plain and -layout), PDF
 * bytes per page: ours and OCRmyPDF's (null when it is not installed), on the same pages.
 */
export function figuresOf(
  pages: ScannedPage[],
  indices: number[],
  ours: ToolResult,
  theirs: ToolResult | null,
) {
  return {
    pages: indices.length,
    ours: toolFigures(pages, indices, ours),
    ocrmypdf: theirs && toolFigures(pages, indices, theirs),
  };
}

/** figuresOf per kind and overall; the two-column pages, generated and real, also one by one. */
export function hardFigures(pages: HardPage[], ours: ToolResult, theirs: ToolResult | null) {
  const indicesOf = (kind: HardKind) => pages.flatMap((page, i) => (page.kind === kind ? [i] : []));
  const kinds = HARD_KINDS.filter((kind) => indicesOf(kind).length > 0);
  const onePage = (result: ToolResult, i: number) => {
    const { cer, readingOrderCer } = textFigures([pages[i]!.truth.text], [result.texts[i] ?? null]);
    return { cer, readingOrderCer };
  };
  const pageByPage = (kind: HardKind) =>
    indicesOf(kind).map((i) => ({
      page: pages[i]!.label,
      ours: onePage(ours, i),
      ocrmypdf: theirs && onePage(theirs, i),
    }));
  return {
    kinds: Object.fromEntries(kinds.map((kind) => [kind, figuresOf(pages, indicesOf(kind), ours, theirs)])),
    overall: figuresOf(
      pages,
      pages.map((_, i) => i),
      ours,
      theirs,
    ),
    twoColumnPages: pageByPage('two-column'),
    realTwoColumnVariants: pageByPage('real-two-column'),
  };
}
