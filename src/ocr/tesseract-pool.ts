import { mkdir, symlink, unlink } from 'node:fs/promises';
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

/** `best_int` is the LSTM-only integer model tesseract.js uses by default; `standard` is the legacy-capable one. */
export type OcrModel = 'best_int' | 'standard';

export type TesseractPoolOptions = {
  languages: string[];
  model: OcrModel;
  pageSegmentationMode: number;
  workers: number;
  /** Replace a worker after this many pages: the WASM heap never shrinks and v7 still leaks. */
  recyclePages: number;
  log: Logger;
};

const require = createRequire(import.meta.url);
const MODEL_FOLDERS: Record<OcrModel, string> = { best_int: '4.0.0_best_int', standard: '4.0.0' };

/** The folder of one language's traineddata inside its `@tesseract.js-data/<lang>` npm package. */
function packagedDataDir(language: string, model: OcrModel): string {
  const packageJson = require.resolve(`@tesseract.js-data/${language}/package.json`);
  return path.join(path.dirname(packageJson), MODEL_FOLDERS[model]);
}

/**
 * tesseract.js reads all languages of one worker from one folder, while npm puts each language in its own
 * package. Link them into one folder; nothing is ever downloaded.
 */
async function languageFolder(languages: string[], model: OcrModel): Promise<string> {
  const folder = path.join(os.tmpdir(), `scan-office-tessdata-${process.pid}`, model);
  await mkdir(folder, { recursive: true });
  for (const language of languages) {
    const file = `${language}.traineddata.gz`;
    const link = path.join(folder, file);
    await unlink(link).catch(() => {});
    await symlink(path.join(packagedDataDir(language, model), file), link);
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
  for (const block of page.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines) {
        const words = line.words
          .filter((word) => word.text.trim() !== '')
          .map((word) => ({ text: word.text, bbox: box(word.bbox), confidence: word.confidence }));
        if (words.length > 0) lines.push({ words, bbox: box(line.bbox) });
      }
    }
  }
  return { text: page.text, lines, confidence: page.confidence };
}

type Slot = { worker: Worker; pages: number; dpi: number | undefined };

/** A fixed set of reused tesseract.js workers (each in its own thread), plus one legacy worker for orientation. */
export class TesseractPool implements OcrEngine, OrientationDetector {
  private readonly idle: Slot[] = [];
  private readonly waiting: Array<(slot: Slot) => void> = [];
  private closed = false;
  private orientationDpi: number | undefined;

  private constructor(
    private readonly options: TesseractPoolOptions,
    private readonly dataFolder: string,
    private readonly orientationWorker: Worker,
  ) {}

  static async start(options: TesseractPoolOptions): Promise<TesseractPool> {
    const dataFolder = await languageFolder(options.languages, options.model);
    const orientationWorker = await createWorker('osd', OEM.TESSERACT_ONLY, {
      langPath: packagedDataDir('osd', 'standard'),
      gzip: true,
      cacheMethod: 'none',
      legacyCore: true,
      legacyLang: true,
    });
    const pool = new TesseractPool(options, dataFolder, orientationWorker);
    const slots = await Promise.all(Array.from({ length: options.workers }, () => pool.newSlot()));
    pool.idle.push(...slots);
    return pool;
  }

  private async newSlot(): Promise<Slot> {
    const worker = await createWorker(this.options.languages, OEM.LSTM_ONLY, {
      langPath: this.dataFolder,
      gzip: true,
      cacheMethod: 'none',
    });
    await worker.setParameters({ tessedit_pageseg_mode: String(this.options.pageSegmentationMode) as never });
    return { worker, pages: 0, dpi: undefined };
  }

  private acquire(): Promise<Slot> {
    if (this.closed) return Promise.reject(new Error('OCR pool is closed'));
    const slot = this.idle.pop();
    return slot ? Promise.resolve(slot) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private async release(slot: Slot): Promise<void> {
    let next = slot;
    if (slot.pages >= this.options.recyclePages && !this.closed) {
      this.options.log.info({ pages: slot.pages }, 'recycling OCR worker');
      await slot.worker.terminate();
      next = await this.newSlot();
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter(next);
    else this.idle.push(next);
  }

  async recognize(input: OcrInput): Promise<OcrResult> {
    const slot = await this.acquire();
    try {
      if (slot.dpi !== input.dpi) {
        // Tell tesseract the real resolution; PGM carries none and its guess skews its size heuristics.
        await slot.worker.setParameters({ user_defined_dpi: String(input.dpi) });
        slot.dpi = input.dpi;
      }
      const { data } = await slot.worker.recognize(input.pgm, {}, { text: true, blocks: true });
      slot.pages++;
      return toOcrResult(data);
    } finally {
      await this.release(slot);
    }
  }

  async detect(input: OcrInput): Promise<OrientationGuess | undefined> {
    try {
      if (this.orientationDpi !== input.dpi) {
        await this.orientationWorker.setParameters({ user_defined_dpi: String(input.dpi) });
        this.orientationDpi = input.dpi;
      }
      const { data } = await this.orientationWorker.detect(input.pgm);
      if (data.orientation_degrees === null || data.orientation_confidence === null) return undefined;
      return {
        degrees: data.orientation_degrees as OrientationGuess['degrees'],
        confidence: data.orientation_confidence,
      };
    } catch (error) {
      // OSD fails on pages with almost no text; that is "cannot tell", not an error of the page.
      this.options.log.debug({ err: error }, 'orientation detection gave no answer');
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.idle.splice(0);
    await Promise.all([...slots.map((slot) => slot.worker.terminate()), this.orientationWorker.terminate()]);
  }
}
