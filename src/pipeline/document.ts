import { createRequire } from 'node:module';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { createCanvas } from '@napi-rs/canvas';
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFNumber, PDFRawStream, PDFRef, PDFStream } from 'pdf-lib';
import * as pdfjs from 'pdfjs-dist/legacy/build/pdf.mjs';
import sharp from 'sharp';
import type { DocumentRejection } from '../domain/outcome.js';
import { decodedBytesOf, implausibility, type PageLimits } from './image-probe.js';
import { setPngDensity } from './raw-image.js';

/**
 * Scanner documents (a multi-page PDF or TIFF per batch) split into page images the page pipeline takes as if each
 * had been uploaded alone. The scanner's pixels are kept: a PDF page that is one JPEG passes that JPEG through
 * untouched; a page that is one image in another codec (JBIG2, CCITT G4, Flate) is decoded losslessly by pdf.js and
 * written as PNG; only a page with vector or text content (born digital) is rendered, at 300 dpi. TIFF pages are
 * decoded by libvips (CCITT G4, LZW, Deflate, JPEG, strips or tiles) and written as PNG. Nothing in a PDF runs:
 * documents carrying JavaScript or other actions are refused, and pdf.js is used without eval or scripting.
 */

export type DocumentKind = 'pdf' | 'tiff';
export const DOCUMENT_MEDIA_TYPES: Record<DocumentKind, string> = {
  pdf: 'application/pdf',
  tiff: 'image/tiff',
};

export type DocumentLimits = { maxPages: number; page: PageLimits };

export type DocumentPage = {
  /** 1-based position in the document. */
  index: number;
  image: Buffer;
  format: 'jpeg' | 'png';
  /** The resolution the document gives the page (its size on paper), for the page pipeline. */
  dpi: number;
  /** How the image was obtained: its own JPEG, its own pixels decoded losslessly, or rendered. */
  origin: 'embedded-jpeg' | 'embedded-lossless' | 'rendered' | 'tiff';
};

export class DocumentRejected extends Error {
  override name = 'DocumentRejected';
  constructor(readonly rejection: DocumentRejection) {
    super(rejection.message);
  }
}

const refuse = (status: DocumentRejection['status'], code: DocumentRejection['code'], message: string) =>
  new DocumentRejected({ status, code, message });

/** Identifies a PDF or TIFF by its first bytes. */
export function sniffDocument(bytes: Buffer): DocumentKind | undefined {
  if (bytes.subarray(0, 1024).includes(Buffer.from('%PDF-', 'latin1'))) return 'pdf';
  const head = bytes.subarray(0, 4).toString('hex');
  if (head === '49492a00' || head === '4d4d002a') return 'tiff';
  return undefined;
}

/** Splits a document into page images, or throws DocumentRejected naming the first page that cannot be used. */
export async function splitDocument(bytes: Buffer, kind: DocumentKind, limits: DocumentLimits) {
  if (bytes.length === 0) throw refuse(400, 'empty_body', 'The request body is empty; send the document');
  if (sniffDocument(bytes) !== kind)
    throw refuse(415, 'media_type_mismatch', `The body is not a ${kind.toUpperCase()} document`);
  return kind === 'pdf' ? splitPdf(bytes, limits) : splitTiff(bytes, limits);
}

// ---------------------------------------------------------------------------------------------------------------
// TIFF

async function splitTiff(bytes: Buffer, limits: DocumentLimits): Promise<DocumentPage[]> {
  let pageCount: number;
  try {
    pageCount = (await sharp(bytes, { limitInputPixels: false }).metadata()).pages ?? 1;
  } catch (error) {
    throw refuse(422, 'corrupt_document', `The TIFF cannot be read: ${(error as Error).message}`);
  }
  checkPageCount(pageCount, limits);
  return eachPage(pageCount, async (index) => {
    const page = index - 1;
    const metadata = await sharp(bytes, { page, limitInputPixels: false }).metadata();
    checkPagePixels(index, pageCount, metadata.width ?? 0, metadata.height ?? 0, limits.page);
    if (decodedBytesOf(metadata) > limits.page.maxDecodedBytes)
      throw pageRefusal(
        index,
        pageCount,
        'decoded_too_large',
        'decoded, it would exceed MAX_PAGE_DECODED_BYTES',
      );
    const dpi = plausibleDpi(metadata.density) ?? DEFAULT_DPI;
    const decoded = sharp(bytes, { page, limitInputPixels: limits.page.maxPixels, failOn: 'warning' });
    const grey = metadata.channels === 1 || metadata.space === 'b-w' || metadata.space === 'grey16';
    const image = await losslessPng(await rawPixels(decoded.flatten({ background: '#ffffff' }), grey), dpi);
    return { index, image, format: 'png', dpi, origin: 'tiff' };
  });
}

/** Decodes pages 1…count in turn; any page's failure is the document's, naming that page. */
async function eachPage(count: number, decode: (index: number) => Promise<DocumentPage>) {
  const pages: DocumentPage[] = [];
  for (let index = 1; index <= count; index++) {
    try {
      pages.push(await decode(index));
    } catch (error) {
      if (error instanceof DocumentRejected) throw error;
      throw pageRefusal(index, count, 'corrupt_document', `cannot be decoded (${(error as Error).message})`);
    }
  }
  return pages;
}

// ---------------------------------------------------------------------------------------------------------------
// PDF

const DEFAULT_DPI = 300;
const RENDER_DPI = 300;
const PDFJS_ROOT = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
/** A page counts as "one scanned image" when its only image covers at least this share of each page side. */
const FULL_PAGE_SHARE = 0.9;

/** Operators that only set up the page and paint nothing of their own. */
const NEUTRAL_OPS = new Set<number>([
  pdfjs.OPS.save,
  pdfjs.OPS.restore,
  pdfjs.OPS.transform,
  pdfjs.OPS.dependency,
  pdfjs.OPS.setGState,
  pdfjs.OPS.setRenderingIntent,
  pdfjs.OPS.setFlatness,
  pdfjs.OPS.beginMarkedContent,
  pdfjs.OPS.beginMarkedContentProps,
  pdfjs.OPS.endMarkedContent,
  pdfjs.OPS.markPoint,
  pdfjs.OPS.markPointProps,
  pdfjs.OPS.beginCompat,
  pdfjs.OPS.endCompat,
]);
const IMAGE_OPS = new Set<number>([pdfjs.OPS.paintImageXObject, pdfjs.OPS.paintInlineImageXObject]);

/** Keys that make a PDF act (JavaScript, launch, form submission, rich media, XFA): such files are refused. */
const ACTIVE_KEYS = ['JS', 'JavaScript', 'AA', 'Launch', 'SubmitForm', 'ImportData', 'RichMedia', 'XFA'];
const ACTIVE_ACTIONS = new Set([
  'JavaScript',
  'Launch',
  'SubmitForm',
  'ImportData',
  'Rendition',
  'RichMediaExecute',
]);

const pageRefusal = (index: number, pages: number, code: DocumentRejection['code'], reason: string) =>
  new DocumentRejected({
    status: 422,
    code,
    message: `Page ${index} of ${pages} ${reason}; no page of this document was added`,
    page: index,
  });

function checkPageCount(pages: number, limits: DocumentLimits): void {
  if (pages === 0) throw refuse(422, 'corrupt_document', 'The document has no pages');
  if (pages > limits.maxPages)
    throw refuse(
      422,
      'too_many_pages',
      `The document has ${pages} pages; a packet takes at most ${limits.maxPages}`,
    );
}

function checkPagePixels(
  index: number,
  pages: number,
  width: number,
  height: number,
  limits: PageLimits,
): void {
  if (width * height > limits.maxPixels)
    throw pageRefusal(index, pages, 'page_too_large', `is ${width}×${height} pixels, over MAX_PAGE_PIXELS`);
  const implausible = implausibility(width, height, limits);
  if (implausible)
    throw pageRefusal(index, pages, 'implausible_page', `cannot be a scanned sheet (${implausible})`);
}

const plausibleDpi = (dpi: number | undefined) =>
  dpi !== undefined && dpi >= 50 && dpi <= 2400 ? Math.round(dpi) : undefined;

type RawPixels = { data: Buffer; width: number; height: number; channels: 1 | 3 };

/** A PNG of the pixels as decoded, greyscale or colour as they are (black and white as grey 0 and 255). */
async function losslessPng(pixels: RawPixels, dpi: number): Promise<Buffer> {
  const { data, width, height, channels } = pixels;
  const encoded = await sharp(data, { raw: { width, height, channels } })
    .png({ compressionLevel: 6 })
    .toBuffer();
  return setPngDensity(encoded, dpi);
}

/** Decodes with libvips to 8-bit grey (one band) or sRGB samples. */
async function rawPixels(image: sharp.Sharp, grey: boolean): Promise<RawPixels> {
  const { data, info } = await (grey ? image.toColourspace('b-w') : image.toColourspace('srgb').removeAlpha())
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels === 1 ? 1 : 3 };
}

const nameOf = (value: unknown) => (value instanceof PDFName ? value.decodeText() : undefined);

/** Refuses encrypted files, files that can act, and compressed objects that decode to more than a page may. */
function inspectPdf(pdf: PDFDocument, limits: DocumentLimits): void {
  if (pdf.isEncrypted)
    throw refuse(422, 'encrypted_document', 'The PDF is encrypted; scan or export it without a password');
  for (const [ref, object] of pdf.context.enumerateIndirectObjects()) {
    const dict = object instanceof PDFDict ? object : object instanceof PDFStream ? object.dict : undefined;
    if (!dict) continue;
    const active =
      ACTIVE_KEYS.find((key) => dict.has(PDFName.of(key))) ??
      (ACTIVE_ACTIONS.has(nameOf(dict.get(PDFName.of('S'))) ?? '')
        ? nameOf(dict.get(PDFName.of('S')))
        : undefined);
    if (active)
      throw refuse(
        422,
        'active_content',
        `The PDF carries active content (${active} in object ${ref.toString()}); such files are not accepted`,
      );
    if (object instanceof PDFRawStream && filtersOf(dict).includes('FlateDecode')) {
      try {
        inflateSync(object.contents, { maxOutputLength: limits.page.maxDecodedBytes });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
          throw refuse(
            422,
            'decoded_too_large',
            `Object ${ref.toString()} decodes to more than MAX_PAGE_DECODED_BYTES`,
          );
        // Damaged streams are left to pdf.js, which names the page that needs them.
      }
    }
    if (nameOf(dict.get(PDFName.of('Subtype'))) === 'Image') {
      const width = numberOf(dict.get(PDFName.of('Width')));
      const height = numberOf(dict.get(PDFName.of('Height')));
      if (width * height > limits.page.maxPixels)
        throw refuse(
          422,
          'page_too_large',
          `An image of the PDF is ${width}×${height} pixels, over MAX_PAGE_PIXELS`,
        );
    }
  }
}

const numberOf = (value: unknown) => (value instanceof PDFNumber ? value.asNumber() : 0);

function filtersOf(dict: PDFDict): string[] {
  const filter = dict.get(PDFName.of('Filter'));
  if (filter instanceof PDFArray) return filter.asArray().flatMap((item) => nameOf(item) ?? []);
  const single = nameOf(filter);
  return single ? [single] : [];
}

/** The JPEG bytes of an image XObject when they can stand for the page as they are: plain grey or RGB, 8 bits. */
function passableJpeg(pdf: PDFDocument, ref: string | undefined): Buffer | undefined {
  const match = ref?.match(/^(\d+)R(\d*)$/);
  if (!match) return undefined;
  const object = pdf.context.lookup(PDFRef.of(Number(match[1]), Number(match[2] || 0)));
  if (!(object instanceof PDFRawStream)) return undefined;
  const { dict } = object;
  const filters = filtersOf(dict);
  if (filters.length !== 1 || filters[0] !== 'DCTDecode') return undefined;
  if (['Decode', 'SMask', 'Mask'].some((key) => dict.has(PDFName.of(key)))) return undefined;
  if (numberOf(dict.get(PDFName.of('BitsPerComponent'))) !== 8) return undefined;
  const space = pdf.context.lookup(dict.get(PDFName.of('ColorSpace')));
  const spaceName = nameOf(space);
  const iccComponents = (() => {
    if (!(space instanceof PDFArray) || nameOf(space.get(0)) !== 'ICCBased') return 0;
    const profile = pdf.context.lookup(space.get(1));
    return profile instanceof PDFStream ? numberOf(profile.dict.get(PDFName.of('N'))) : 0;
  })();
  const plain =
    spaceName === 'DeviceGray' || spaceName === 'DeviceRGB' || iccComponents === 1 || iccComponents === 3;
  return plain ? Buffer.from(object.contents) : undefined;
}

type Matrix = [number, number, number, number, number, number];
const multiply = (m: Matrix, n: Matrix): Matrix => [
  m[0] * n[0] + m[2] * n[1],
  m[1] * n[0] + m[3] * n[1],
  m[0] * n[2] + m[2] * n[3],
  m[1] * n[2] + m[3] * n[3],
  m[0] * n[4] + m[2] * n[5] + m[4],
  m[1] * n[4] + m[3] * n[5] + m[5],
];

type PageImage = { objectId: string; width: number; height: number; matrix: Matrix };

/** The page's one image and where it is drawn, when painting that image is all the page does. */
function soleImage(operators: { fnArray: number[]; argsArray: unknown[][] }): PageImage | undefined {
  let matrix: Matrix = [1, 0, 0, 1, 0, 0];
  const stack: Matrix[] = [];
  let found: PageImage | undefined;
  for (const [i, op] of operators.fnArray.entries()) {
    const args = operators.argsArray[i] ?? [];
    if (op === pdfjs.OPS.save) stack.push(matrix);
    else if (op === pdfjs.OPS.restore) matrix = stack.pop() ?? matrix;
    else if (op === pdfjs.OPS.transform) matrix = multiply(matrix, args as Matrix);
    else if (IMAGE_OPS.has(op)) {
      if (found || op !== pdfjs.OPS.paintImageXObject) return undefined;
      found = { objectId: args[0] as string, width: args[1] as number, height: args[2] as number, matrix };
    } else if (!NEUTRAL_OPS.has(op)) return undefined;
  }
  return found;
}

type DecodedImage = {
  width: number;
  height: number;
  kind: number;
  data?: Uint8Array | Uint8ClampedArray;
  ref?: string;
};

/** pdf.js's decoded pixels as raw 8-bit samples: 1-bit data (1 = white) unpacked, RGBA flattened on white. */
function rawOf(image: DecodedImage): { data: Buffer; channels: 1 | 3 } {
  const { width, height, kind } = image;
  const source = image.data!;
  if (kind === pdfjs.ImageKind.GRAYSCALE_1BPP) {
    const rowBytes = Math.ceil(width / 8);
    const data = Buffer.alloc(width * height);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        data[y * width + x] = (source[y * rowBytes + (x >> 3)]! >> (7 - (x & 7))) & 1 ? 255 : 0;
    return { data, channels: 1 };
  }
  if (kind === pdfjs.ImageKind.RGB_24BPP) return { data: Buffer.from(source), channels: 3 };
  const data = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const alpha = source[p * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(source[p * 4 + c]! * alpha + 255 * (1 - alpha));
  }
  return { data, channels: 3 };
}

/** RGB that is grey in every pixel keeps one channel: the same pixels, a third of the bytes. */
function greyIfNeutral(data: Buffer, channels: 1 | 3): { data: Buffer; channels: 1 | 3 } {
  if (channels === 1) return { data, channels };
  for (let i = 0; i < data.length; i += 3)
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return { data, channels };
  const grey = Buffer.alloc(data.length / 3);
  for (let p = 0; p < grey.length; p++) grey[p] = data[p * 3]!;
  return { data: grey, channels: 1 };
}

async function splitPdf(bytes: Buffer, limits: DocumentLimits): Promise<DocumentPage[]> {
  let pdf: PDFDocument;
  try {
    pdf = await PDFDocument.load(bytes, { ignoreEncryption: true, updateMetadata: false });
  } catch (error) {
    throw refuse(422, 'corrupt_document', `The PDF cannot be read: ${(error as Error).message}`);
  }
  inspectPdf(pdf, limits);
  const pageCount = pdf.getPageCount();
  checkPageCount(pageCount, limits);

  let document: pdfjs.PDFDocumentProxy;
  try {
    document = await pdfjs.getDocument({
      data: new Uint8Array(bytes),
      isEvalSupported: false,
      isOffscreenCanvasSupported: false,
      enableXfa: false,
      disableFontFace: true,
      useSystemFonts: false,
      standardFontDataUrl: `${PDFJS_ROOT}/standard_fonts/`,
      cMapUrl: `${PDFJS_ROOT}/cmaps/`,
      cMapPacked: true,
      stopAtErrors: true,
      verbosity: 0,
    }).promise;
  } catch (error) {
    throw refuse(422, 'corrupt_document', `The PDF cannot be read: ${(error as Error).message}`);
  }
  try {
    return await eachPage(pageCount, (index) => pdfPage(document, pdf, index, pageCount, limits));
  } finally {
    await document.destroy();
  }
}

async function pdfPage(
  document: pdfjs.PDFDocumentProxy,
  pdf: PDFDocument,
  index: number,
  pageCount: number,
  limits: DocumentLimits,
): Promise<DocumentPage> {
  const page = await document.getPage(index);
  try {
    const [x0, y0, x1, y1] = page.view as [number, number, number, number];
    const pageWidth = Math.abs(x1 - x0);
    const pageHeight = Math.abs(y1 - y0);
    const image = soleImage(await page.getOperatorList());
    if (image) {
      const [a, b, c, d] = image.matrix;
      const drawnWidth = Math.hypot(a, b);
      const drawnHeight = Math.hypot(c, d);
      // Turned a quarter: the image's width runs along the page's height.
      const across = Math.abs(b) > Math.abs(a);
      const fillsPage =
        (across ? drawnWidth / pageHeight : drawnWidth / pageWidth) >= FULL_PAGE_SHARE &&
        (across ? drawnHeight / pageWidth : drawnHeight / pageHeight) >= FULL_PAGE_SHARE;
      if (fillsPage && a * d - b * c !== 0) {
        checkPagePixels(index, pageCount, image.width, image.height, limits.page);
        const dpi = plausibleDpi((image.width * 72) / drawnWidth) ?? DEFAULT_DPI;
        const decoded = (await new Promise((resolve) =>
          page.objs.get(image.objectId, resolve),
        )) as DecodedImage;
        const jpeg = passableJpeg(pdf, decoded.ref);
        if (jpeg) {
          const metadata = await sharp(jpeg).metadata();
          if (metadata.width === image.width && metadata.height === image.height) {
            // Decoded strictly, every coefficient read (shrink-on-load skips only the inverse DCT): a JPEG cut
            // short must fail here, not after its pages were added.
            await sharp(jpeg, { failOn: 'warning', limitInputPixels: limits.page.maxPixels })
              .resize({
                width: Math.max(1, Math.floor(image.width / 8)),
                fastShrinkOnLoad: true,
                kernel: 'nearest',
              })
              .raw()
              .toBuffer();
            return { index, image: jpeg, format: 'jpeg', dpi, origin: 'embedded-jpeg' };
          }
        }
        if (decoded.data) {
          const raw = rawOf(decoded);
          const png = await losslessPng(
            { ...greyIfNeutral(raw.data, raw.channels), width: decoded.width, height: decoded.height },
            dpi,
          );
          return { index, image: png, format: 'png', dpi, origin: 'embedded-lossless' };
        }
      }
    }
    return await renderPage(page, index, pageCount, limits);
  } finally {
    page.cleanup();
  }
}

/** A page with text or drawings of its own (born digital), rendered at 300 dpi on white. */
async function renderPage(
  page: pdfjs.PDFPageProxy,
  index: number,
  pageCount: number,
  limits: DocumentLimits,
): Promise<DocumentPage> {
  const viewport = page.getViewport({ scale: RENDER_DPI / 72 });
  const width = Math.round(viewport.width);
  const height = Math.round(viewport.height);
  checkPagePixels(index, pageCount, width, height, limits.page);
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  await page.render({ canvasContext: context as never, canvas: canvas as never, viewport }).promise;
  const rgba = Buffer.from(context.getImageData(0, 0, width, height).data.buffer);
  const rgb = await sharp(rgba, { raw: { width, height, channels: 4 } })
    .removeAlpha()
    .raw()
    .toBuffer();
  const image = await losslessPng({ ...greyIfNeutral(rgb, 3), width, height }, RENDER_DPI);
  return { index, image, format: 'png', dpi: RENDER_DPI, origin: 'rendered' };
}
