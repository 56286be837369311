import sharp from 'sharp';
import { type RawImage, sharpOf, toRaw } from './raw-image.js';

/** The image can never be read: retrying will not help, the station must rescan. */
export class UnreadableImageError extends Error {
  override name = 'UnreadableImageError';
}

export type NormalizedPage = {
  /** Upright per EXIF, full resolution, greyscale: what analysis and OCR see. */
  grey: RawImage;
  /** Full-resolution RGB, only when the page carries colour (stamps, signatures); otherwise undefined. */
  colour: RawImage | undefined;
  dpi: number;
  /** True when the scan gave no resolution and 300 dpi was assumed. */
  dpiAssumed: boolean;
};

const DEFAULT_DPI = 300;
/** A pixel counts as coloured when its channels differ this much (0–255): blue ink, red stamps. */
const CHROMA_THRESHOLD = 48;
/** Share of coloured pixels (on a thumbnail) above which the page keeps its colour. */
const COLOUR_SHARE = 0.0005;

async function hasColour(pipeline: sharp.Sharp): Promise<boolean> {
  const { data, info } = await pipeline
    .clone()
    .resize({ width: 400, withoutEnlargement: true })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels < 3) return false;
  let coloured = 0;
  for (let i = 0; i < data.length; i += info.channels) {
    const r = data[i]!;
    const g = data[i + 1]!;
    const b = data[i + 2]!;
    if (Math.max(r, g, b) - Math.min(r, g, b) > CHROMA_THRESHOLD) coloured++;
  }
  return coloured / (data.length / info.channels) > COLOUR_SHARE;
}

/**
 * Decodes the scan (JPEG, PNG, TIFF, WebP), applies EXIF orientation, keeps the DPI (300 when absent), and returns
 * a greyscale working copy plus the colour image when the page has colour.
 *
 * Decoding is the costly part, so it is planned per format, as measured on 300 dpi pages with one libvips thread:
 * - a greyscale file cannot carry colour: one decode, no colour check;
 * - PNG: inflating is the slow part and libvips cannot shrink while decoding it, so decode once to RGB and derive the
 *   rest from those pixels (615 → ~420 ms for an RGBA page);
 * - JPEG, TIFF, WebP: the colour check, the grey copy and the colour copy each run their own decode. libvips shrinks
 *   JPEG and WebP while decoding the thumbnail, and TIFF strips decode cheaply, so this beats sharing one RGB decode
 *   (JPEG 137 vs 328 ms, TIFF 192 vs 252 ms).
 */
export async function normalizePage(
  original: Buffer,
  options: { maxPixels: number },
): Promise<NormalizedPage> {
  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(original, { limitInputPixels: options.maxPixels }).metadata();
  } catch (error) {
    throw new UnreadableImageError(`cannot read the image header: ${(error as Error).message}`);
  }
  try {
    // 'warning' also rejects JPEGs whose scan data ends early but carry an end marker: libjpeg would fill the
    // rest of the page with grey, and a registrar must never receive half a page.
    const decoded = sharp(original, { limitInputPixels: options.maxPixels, failOn: 'warning' })
      .rotate()
      .flatten({ background: '#ffffff' });
    const { grey, colour } = await decodePixels(decoded, metadata);
    // libvips reports 72 dpi when a file says nothing (72 is also the EXIF default); no scanner makes readable
    // pages at such a resolution, so anything under 100 dpi counts as "not given".
    const density =
      metadata.density && metadata.density >= 100 && metadata.density <= 2400 ? metadata.density : undefined;
    return { grey, colour, dpi: density ?? DEFAULT_DPI, dpiAssumed: density === undefined };
  } catch (error) {
    throw new UnreadableImageError(`cannot decode the image: ${(error as Error).message}`);
  }
}

async function decodePixels(
  decoded: sharp.Sharp,
  metadata: sharp.Metadata,
): Promise<{ grey: RawImage; colour: RawImage | undefined }> {
  const greyFile = (metadata.channels ?? 3) <= 2;
  if (greyFile) return { grey: await toRaw(decoded, 1), colour: undefined };
  if (metadata.format === 'png') {
    const rgb = await toRaw(decoded, 3);
    return { grey: await toRaw(sharpOf(rgb), 1), colour: (await hasColour(sharpOf(rgb))) ? rgb : undefined };
  }
  const colour = (await hasColour(decoded)) ? await toRaw(decoded.clone(), 3) : undefined;
  return { grey: await toRaw(decoded.clone(), 1), colour };
}
