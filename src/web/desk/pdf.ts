import {
  GlobalWorkerOptions,
  getDocument,
  type PDFDocumentProxy,
  type PDFPageProxy,
  PDFWorker,
  TextLayer,
} from 'pdfjs-dist';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';

// The worker is a file of this origin (the CSP allows no other); Vite emits it beside the page's scripts.
GlobalWorkerOptions.workerSrc = workerUrl;
/** Started with the page, so the worker has loaded by the time the packet's PDF is known. */
let worker: PDFWorker | undefined;
export const warmUpPdfWorker = () => {
  worker ??= new PDFWorker();
};

/** Opens the packet PDF with the session cookie; nothing is evaluated (the CSP has no 'unsafe-eval'). */
export function openPdf(url: string): Promise<PDFDocumentProxy> {
  warmUpPdfWorker();
  return getDocument({
    url,
    worker,
    withCredentials: true,
    isEvalSupported: false,
    enableXfa: false,
    // Our PDFs embed their one font, for the invisible text layer only: no font faces to install.
    disableFontFace: true,
    verbosity: 0,
  }).promise;
}

/**
 * Draws one page into `canvas` at `scale` and `rotation` (sharp on high-density screens) and lays its text layer
 * over it in `textHost`, so words can be found and selected where the scan shows them. When `signal` aborts (the
 * reader moved on) the drawing stops and nothing of it lands: the text layer is built aside and swapped in whole.
 * Resolves false when it was cancelled.
 */
export async function renderPage(
  page: PDFPageProxy,
  target: { canvas: HTMLCanvasElement; frame: HTMLElement; textHost?: HTMLElement },
  scale: number,
  rotation: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const viewport = page.getViewport({ scale, rotation });
  const ratio = globalThis.devicePixelRatio || 1;
  const { canvas, frame, textHost } = target;
  canvas.width = Math.floor(viewport.width * ratio);
  canvas.height = Math.floor(viewport.height * ratio);
  canvas.style.width = `${Math.floor(viewport.width)}px`;
  canvas.style.height = `${Math.floor(viewport.height)}px`;
  frame.style.width = `${Math.floor(viewport.width)}px`;
  frame.style.height = `${Math.floor(viewport.height)}px`;
  frame.style.setProperty('--scale-factor', String(scale));
  frame.style.setProperty('--total-scale-factor', String(scale));
  frame.style.setProperty('--scale-round-x', '1px');
  frame.style.setProperty('--scale-round-y', '1px');
  const drawing = page.render({
    canvas,
    viewport,
    transform: ratio === 1 ? undefined : [ratio, 0, 0, ratio, 0, 0],
  });
  const layer = document.createElement('div');
  layer.className = 'textLayer';
  const text = new TextLayer({ textContentSource: page.streamTextContent(), container: layer, viewport });
  const cancel = () => {
    drawing.cancel();
    text.cancel();
  };
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    await drawing.promise;
    if (textHost) await text.render();
  } catch (error) {
    if (signal?.aborted) return false;
    throw error;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
  if (signal?.aborted) return false;
  textHost?.replaceChildren(layer);
  return true;
}

/**
 * Marks each place `query` stands in the text layer (case-insensitive) with a highlight inside its span, so the mark
 * sits on the word where the scan shows it; returns how many it marked. Earlier marks are removed first.
 */
export function highlight(textLayer: HTMLElement, query: string): number {
  for (const mark of textLayer.querySelectorAll('span.highlight')) mark.replaceWith(mark.textContent ?? '');
  textLayer.normalize();
  const wanted = query.trim().toLocaleLowerCase();
  if (!wanted) return 0;
  let marked = 0;
  for (const span of textLayer.querySelectorAll('span')) {
    const text = span.textContent ?? '';
    const lower = text.toLocaleLowerCase();
    if (span.children.length > 0 || !lower.includes(wanted)) continue;
    const parts: Array<string | HTMLElement> = [];
    let from = 0;
    for (let at = lower.indexOf(wanted); at !== -1; at = lower.indexOf(wanted, from)) {
      const mark = document.createElement('span');
      mark.className = 'highlight';
      mark.textContent = text.slice(at, at + wanted.length);
      parts.push(text.slice(from, at), mark);
      from = at + wanted.length;
      marked++;
    }
    parts.push(text.slice(from));
    span.replaceChildren(...parts);
  }
  return marked;
}

/** Pages whose text holds `query`, with how often: the document's own search, over the invisible text layer. */
export async function search(
  pdf: PDFDocumentProxy,
  query: string,
): Promise<Array<{ n: number; hits: number }>> {
  const wanted = query.trim().toLocaleLowerCase();
  if (!wanted) return [];
  const found: Array<{ n: number; hits: number }> = [];
  for (let n = 1; n <= pdf.numPages; n++) {
    const content = await (await pdf.getPage(n)).getTextContent();
    const text = content.items
      .map((item) => ('str' in item ? item.str : ''))
      .join(' ')
      .toLocaleLowerCase();
    const hits = text.split(wanted).length - 1;
    if (hits > 0) found.push({ n, hits });
  }
  return found;
}
