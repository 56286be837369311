import type { ScanKind } from './folder-rules.js';
import type { PlannedItem } from './journal.js';

/**
 * Which uploads a packet's scans become. Pure: the caller has read each file's kind and page count.
 *
 * - an image is one page, sent as it is;
 * - a multi-page TIFF goes whole to the documents endpoint (the service keeps the scanner's file for the chain
 *   of custody); when the service has no such endpoint, or only some of its pages belong to this packet (a batch
 *   cut by a separator inside it), its pages go one by one as lossless PNG;
 * - a PDF goes whole to the documents endpoint, or, when only some of its pages belong to this packet, as a PDF
 *   of those pages; a service without the endpoint cannot take PDFs at all.
 */

export type ScanRun = {
  file: string;
  kind: ScanKind;
  /** Pages the file has. */
  pageCount: number;
  /** 0-based pages of the file in this packet, in order; all of them in a packet folder. */
  pages: number[];
};

export type PlanOutcome = { ok: true; items: PlannedItem[] } | { ok: false; reason: string };

const NO_DOCUMENTS =
  'the service does not take PDF documents (it has no POST /v1/packets/:id/documents); scan to images or TIFF, or update the service';

export function planUploads(runs: ScanRun[], takesDocuments: boolean): PlanOutcome {
  const items: PlannedItem[] = [];
  for (const run of runs) {
    const whole = run.pages.length === run.pageCount && run.pages.every((page, i) => page === i);
    switch (run.kind) {
      case 'image':
        items.push({ kind: 'image', file: run.file });
        break;
      case 'tiff':
        if (run.pageCount === 1) items.push({ kind: 'image', file: run.file });
        else if (whole && takesDocuments)
          items.push({ kind: 'document', file: run.file, mediaType: 'image/tiff', pages: run.pageCount });
        else for (const page of run.pages) items.push({ kind: 'tiff-page', file: run.file, page });
        break;
      case 'pdf':
        if (!takesDocuments) return { ok: false, reason: `${run.file}: ${NO_DOCUMENTS}` };
        items.push(
          whole
            ? { kind: 'document', file: run.file, mediaType: 'application/pdf', pages: run.pageCount }
            : {
                kind: 'document',
                file: run.file,
                mediaType: 'application/pdf',
                pages: run.pages.length,
                subset: run.pages,
              },
        );
        break;
    }
  }
  return { ok: true, items };
}

/** Consecutive pages of the same file, as runs (a batch packet's pages in stream order). */
export function runsOf<P extends { file: string; page: number }>(
  pages: P[],
  factsOf: (file: string) => { kind: ScanKind; pageCount: number },
): ScanRun[] {
  const runs: ScanRun[] = [];
  for (const { file, page } of pages) {
    const last = runs.at(-1);
    if (last?.file === file) last.pages.push(page);
    else runs.push({ file, ...factsOf(file), pages: [page] });
  }
  return runs;
}
