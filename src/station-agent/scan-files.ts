import { createHash } from 'node:crypto';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { MEDIA_TYPES, sniffFormat } from '../pipeline/image-probe.js';

/**
 * Scan files as the service takes them: a single image as it is, a page of a multi-page TIFF losslessly as PNG,
 * a PDF or multi-page TIFF as a whole document, or some pages of a PDF as a smaller PDF. Every body is built the
 * same way each time from the same file, so a body resent after a crash has the same bytes, which the service
 * recognises and stores nothing new.
 */

/** A file that cannot be sent at all (not what its name says, unreadable): its packet fails with this reason. */
export class UnusableScan extends Error {}

export type UploadBody = { data: Buffer; contentType: string; sha256: string };

export const sha256Of = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const body = (data: Buffer, contentType: string): UploadBody => ({
  data,
  contentType,
  sha256: sha256Of(data),
});

/** A single image, sent exactly as the scanner wrote it; the format is read from the bytes, as the service does. */
export function imageBody(data: Buffer, file: string): UploadBody {
  const format = sniffFormat(data);
  if (!format) throw new UnusableScan(`${file} is not a JPEG, PNG, TIFF or WebP image`);
  return body(data, MEDIA_TYPES[format]);
}

/** Pages of a TIFF (1 for an ordinary one). */
export async function tiffPageCount(data: Buffer, file: string): Promise<number> {
  try {
    return (await sharp(data, { limitInputPixels: false }).metadata()).pages ?? 1;
  } catch (error) {
    throw new UnusableScan(`${file} cannot be read as a TIFF (${(error as Error).message})`);
  }
}

/** One page of a multi-page TIFF as a lossless PNG, with the page's resolution kept (the PDF sizes pages by it). */
export async function tiffPageBody(data: Buffer, page: number, file: string): Promise<UploadBody> {
  try {
    const image = sharp(data, { page, limitInputPixels: false });
    const { density } = await image.metadata();
    const png = await (density ? image.withMetadata({ density }) : image)
      .png({ compressionLevel: 6 })
      .toBuffer();
    return body(png, MEDIA_TYPES.png);
  } catch (error) {
    throw new UnusableScan(`page ${page + 1} of ${file} cannot be read (${(error as Error).message})`);
  }
}

async function loadPdf(data: Buffer, file: string): Promise<PDFDocument> {
  try {
    return await PDFDocument.load(data, { ignoreEncryption: true, updateMetadata: false });
  } catch (error) {
    throw new UnusableScan(`${file} cannot be read as a PDF (${(error as Error).message})`);
  }
}

export async function pdfPageCount(data: Buffer, file: string): Promise<number> {
  return (await loadPdf(data, file)).getPageCount();
}

/**
 * A PDF of some pages of another (0-based), for a batch PDF cut by separator sheets. The pages are copied as
 * objects (their images are not decoded or re-encoded), and nothing time-dependent is written, so the same pages
 * always make the same bytes.
 */
export async function pdfSubsetBody(data: Buffer, pages: number[], file: string): Promise<UploadBody> {
  const source = await loadPdf(data, file);
  const subset = await PDFDocument.create({ updateMetadata: false });
  for (const page of await subset.copyPages(source, pages)) subset.addPage(page);
  return body(Buffer.from(await subset.save({ useObjectStreams: false })), 'application/pdf');
}

export const documentBody = (data: Buffer, contentType: 'application/pdf' | 'image/tiff') =>
  body(data, contentType);

/**
 * Limits for reading PDF pages on the station only to look for separator sheets: generous, since the service
 * applies its own (and refuses with a reason the packet's failure then shows).
 */
const STATION_READ_LIMITS = {
  maxPages: 10_000,
  page: { maxPixels: 400_000_000, maxDecodedBytes: 2 ** 31 - 1, minSidePx: 1, maxAspect: 1_000 },
};

/**
 * Each page of a PDF as an image, decoded the way the service splits documents (pipeline/document.ts), so the
 * separator sheets the agent finds are the pages the service would see. Loaded on first use: pdf.js is only
 * needed for PDFs in the batch folder.
 */
export async function pdfPageImages(data: Buffer, file: string): Promise<Buffer[]> {
  const { splitDocument } = await import('../pipeline/document.js');
  try {
    return (await splitDocument(data, 'pdf', STATION_READ_LIMITS)).map((page) => page.image);
  } catch (error) {
    throw new UnusableScan(`${file} cannot be read as a PDF (${(error as Error).message})`);
  }
}
