import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createWorker, OEM, type Page, type Worker } from 'tesseract.js';
import type { Logger } from '../infra/logger.js';
import type {
  BoundingBox,
  OcrEngine,
  OcrInput,
  OcrLine,
  OcrResult,
  OrientationDetector,
  OrientationGuess,
} from '../pipeline/ocr.js';
import { OcrTimeoutError, WorkerLeases } from './worker-leases.js';

/** `best_int` is the LSTM-only integer model tesseract.js uses by default; `standard` is the legacy-capable one. */
export type OcrModel = 'best_int' | 'standard';

export type TesseractPoolOptions = {
  languages: string[];
  model: OcrModel;
  pageSegmentationMode: number;
  workers: number;
  /** Replace a worker after this many pages: the WASM heap never shrinks and v7 still leaks. */
  recyclePages: number;
  /** Deadline of one call, the wait for a free worker included; a worker past it is replaced. */
  timeoutMs: number;
  log: Logger;
};

const require = createRequire(import.meta.url);
const MODEL_FOLDERS: Record<OcrModel, string> = { best_int: '4.0.0_best_int', standard: '4.0.0' };

/** The folder of one language's traineddata inside its `@tesseract.js-data/<lang>` npm package. */
export function packagedDataDir(language: string, model: OcrModel): string {
  const packageJson = require.resolve(`@tesseract.js-data/${language}/package.json`);
  return path.join(path.dirname(packageJson), MODEL_FOLDERS[model]);
}

/**
 * tesseract.js reads all languages of one worker from one folder, while npm puts each language in its own
 * package. Link them into a folder of this pool's own (removed on close); nothing is ever downloaded.
 */
async function languageFolder(languages: string[], model: OcrModel): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), `scan-office-tessdata-${model}-`));
  for (const language of languages) {
    const file = `${language}.traineddata.gz`;
    await symlink(path.join(packagedDataDir(language, model), file), path.join(folder, file));
  }
  return folder;
}

const box = (b: { x0: number; y0: number; x1: number; y1: number }): BoundingBox => ({
  x0: b.x0,
  y0: b.y0,
  x1: b.x1,
  y1: b.y1,
});

function toOcrResult(page: Page): OcrResult {
  const lines: OcrLine[] = [];
  const paragraphs = (page.blocks ?? []).flatMap((block) => block.paragraphs);
  for (const [paragraph, { lines: paragraphLines }] of paragraphs.entries()) {
    for (const line of paragraphLines) {
      const words = line.words
        .filter((word) => word.text.trim() !== '')
        .map((word) => ({ text: word.text, bbox: box(word.bbox), confidence: word.confidence }));
      if (words.length === 0) continue;
      lines.push({
        words,
        bbox: box(line.bbox),
        // Tesseract reports an empty baseline (all zeros) for a line it could not fit one to.
        ...(line.baseline.x1 > line.baseline.x0 ? { baseline: box(line.baseline) } : {}),
        rowHeight: line.rowAttributes.rowHeight,
        paragraph,
      });
    }
  }
  return { text: page.text, lines, confidence: page.confidence };
}

/**
 * OSD classifies up to 5× this many characters (tesseract's default 50) before it answers. Measured on 80 generated
 * pages (8–14 pt, 200/300 dpi, 1–4 paragraphs, all four turns): 20 takes 114 ms per page instead of 198, every page
 * still ends the right way up, and the weakest confidence among pages that needed turning fell from 7.3 to 5.3,
 * well above the 2 a flip needs. On very small print (16 pages of 7–8 pt at 200 dpi) OSD alone misses 4 instead of
 * 3; the OCR-confidence check in processPage turns those.
 */
const OSD_CHARACTERS = 20;
/** tesseract's PSM_SINGLE_COLUMN: one column of text of variable sizes, no column finding. */
const SINGLE_COLUMN = 4;

/** A tesseract.js worker (its own thread) and the resolution last set on it. */
/** `stopped` once the lease terminated the worker (its call outlived the deadline). */
type Slot = { worker: Worker; dpi: number | undefined; pageSegmentation?: number; stopped?: boolean };

/**
 * A job sent to a terminated tesseract.js worker never settles and leaves an unhandled rejection behind, so a call
 * whose deadline passed while it awaited an earlier step goes no further.
 */
function ensureRunning(slot: Slot): void {
  if (slot.stopped) throw new OcrTimeoutError('the worker was stopped after its deadline');
}

/**
 * tesseract's page segmentation mode for one call: the pool's own (columns found) unless the caller asks for one column
 * of text (PSM 4, SINGLE_COLUMN), which keeps a list's numbers on their lines.
 */
async function setPageSegmentation(slot: Slot, mode: number): Promise<void> {
  if (slot.pageSegmentation !== mode) {
    await slot.worker.setParameters({ tessedit_pageseg_mode: String(mode) as never });
    slot.pageSegmentation = mode;
  }
  ensureRunning(slot);
}

/** Tells tesseract the real resolution (PGM carries none and its guess skews its size heuristics). */
async function setDpi(slot: Slot, dpi: number): Promise<void> {
  if (slot.dpi !== dpi) {
    await slot.worker.setParameters({ user_defined_dpi: String(dpi) });
    slot.dpi = dpi;
  }
  ensureRunning(slot);
}

/**
 * Reused tesseract.js workers, each in its own thread: LSTM workers for OCR and as many legacy workers for
 * orientation. One orientation worker per OCR worker, because with a single shared one the pages in flight queued
 * for it and left a core idle (measured with two pages in flight: 2.65 → 2.35 s per page per core).
 */
export class TesseractPool implements OcrEngine, OrientationDetector {
  private constructor(
    private readonly log: Logger,
    /** Where this pool's workers (and their replacements) read the traineddata; removed on close. */
    readonly dataFolder: string,
    private readonly ocr: WorkerLeases<Slot>,
    private readonly orientation: WorkerLeases<Slot>,
    private readonly pageSegmentationMode: number,
  ) {}

  static async start(options: TesseractPoolOptions): Promise<TesseractPool> {
    const dataFolder = await languageFolder(options.languages, options.model);
    const common = {
      stop: (slot: Slot) => {
        slot.stopped = true;
        return slot.worker.terminate();
      },
      timeoutMs: options.timeoutMs,
      log: options.log,
    };
    const orientation = await WorkerLeases.open(options.workers, {
      ...common,
      start: newOrientationSlot,
      // OSD workers read only the small analysis copy; they are replaced when they hang, not recycled.
      recycleAfter: Number.POSITIVE_INFINITY,
      what: 'orientation detection',
    });
    const ocr = await WorkerLeases.open(options.workers, {
      ...common,
      start: () => newOcrSlot(options, dataFolder),
      recycleAfter: options.recyclePages,
      what: 'OCR',
    });
    return new TesseractPool(options.log, dataFolder, ocr, orientation, options.pageSegmentationMode);
  }

  recognize(input: OcrInput): Promise<OcrResult> {
    return this.ocr.run(async (slot) => {
      await setDpi(slot, input.dpi);
      await setPageSegmentation(slot, input.singleColumn ? SINGLE_COLUMN : this.pageSegmentationMode);
      const { data } = await slot.worker.recognize(input.pgm, {}, { text: true, blocks: true });
      return toOcrResult(data);
    });
  }

  async detect(input: OcrInput): Promise<OrientationGuess | undefined> {
    try {
      return await this.orientation.run(async (slot) => {
        await setDpi(slot, input.dpi);
        const { data } = await slot.worker.detect(input.pgm);
        if (data.orientation_degrees === null || data.orientation_confidence === null) return undefined;
        return {
          degrees: data.orientation_degrees as OrientationGuess['degrees'],
          confidence: data.orientation_confidence,
        };
      });
    } catch (error) {
      // OSD fails on pages with almost no text, and may time out: "cannot tell", not an error of the page; the OCR
      // confidence check still catches an upside-down page.
      this.log.debug({ err: error }, 'orientation detection gave no answer');
      return undefined;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.ocr.close(), this.orientation.close()]);
    await rm(this.dataFolder, { recursive: true, force: true });
  }
}

async function newOrientationSlot(): Promise<Slot> {
  const worker = await createWorker('osd', OEM.TESSERACT_ONLY, {
    langPath: packagedDataDir('osd', 'standard'),
    gzip: true,
    cacheMethod: 'none',
    legacyCore: true,
    legacyLang: true,
  });
  await worker.setParameters({ min_characters_to_try: String(OSD_CHARACTERS) } as never);
  return { worker, dpi: undefined };
}

async function newOcrSlot(options: TesseractPoolOptions, dataFolder: string): Promise<Slot> {
  const worker = await createWorker(options.languages, OEM.LSTM_ONLY, {
    langPath: dataFolder,
    gzip: true,
    cacheMethod: 'none',
  });
  await worker.setParameters({ tessedit_pageseg_mode: String(options.pageSegmentationMode) as never });
  return { worker, dpi: undefined, pageSegmentation: options.pageSegmentationMode };
}
