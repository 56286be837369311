import { crc32 } from 'node:zlib';
import sharp from 'sharp';

/** Decoded pixels, kept raw between stages so each page is decoded once. */
export type RawImage = { data: Buffer; width: number; height: number; channels: 1 | 3 };

export const sharpOf = (image: RawImage) =>
  sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });

/** Runs a pipeline to raw pixels with exactly `channels` (sharp would otherwise promote greyscale to sRGB). */
export async function toRaw(pipeline: sharp.Sharp, channels: 1 | 3): Promise<RawImage> {
  const { data, info } = await pipeline
    .toColourspace(channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`expected ${channels} channels, got ${info.channels}`);
  return { data, width: info.width, height: info.height, channels };
}

/** An angle in degrees brought into [0, 360). */
export const normalizedDegrees = (angleDeg: number) => ((angleDeg % 360) + 360) % 360;

/** The size of an image once turned by `angleDeg`: a quarter turn swaps the sides, a skew keeps the paper format. */
export function turnedSize(image: { width: number; height: number }, angleDeg: number) {
  const swapped = Math.round(normalizedDegrees(angleDeg) / 90) % 2 === 1;
  return swapped
    ? { width: image.height, height: image.width }
    : { width: image.width, height: image.height };
}

/**
 * Rotates by any angle (clockwise, degrees) in one resampling, fills with white, and crops back to the page's own
 * size (width and height swap for quarter turns), so a deskewed page keeps its paper format.
 */
export async function rotatePage(image: RawImage, angleDeg: number): Promise<RawImage> {
  const normalized = normalizedDegrees(angleDeg);
  if (normalized === 0) return image;
  const quarter = Math.round(normalized / 90) % 4;
  const { width, height } = turnedSize(image, normalized);
  const background = image.channels === 1 ? { r: 255, g: 255, b: 255 } : '#ffffff';
  if (Math.abs(normalized - quarter * 90) < 1e-9)
    return toRaw(sharpOf(image).rotate(quarter * 90), image.channels);
  const rotated = await toRaw(sharpOf(image).rotate(normalized, { background }), image.channels);
  return toRaw(
    sharpOf(rotated).extract({
      left: Math.max(0, Math.floor((rotated.width - width) / 2)),
      top: Math.max(0, Math.floor((rotated.height - height) / 2)),
      width: Math.min(width, rotated.width),
      height: Math.min(height, rotated.height),
    }),
    image.channels,
  );
}

/** JPEG (greyscale or sRGB as the pixels are) carrying `dpi` in its JFIF header. */
export async function encodeJpeg(image: RawImage, dpi: number, quality: number): Promise<Buffer> {
  // libjpeg-turbo with optimised Huffman tables: mozjpeg saves ~10% more bytes but costs ~5× the time.
  const jpeg = await sharpOf(image)
    .toColourspace(image.channels === 1 ? 'b-w' : 'srgb')
    .jpeg({ quality, optimiseCoding: true })
    .toBuffer();
  return setJfifDensity(jpeg, dpi);
}

/** Whether an ICC profile says it is sRGB (its description, ASCII in v2 profiles, UTF-16 in v4 ones). */
const isSrgbProfile = (icc: Buffer) =>
  icc.includes('sRGB', 0, 'latin1') || icc.includes(Buffer.from('\0s\0R\0G\0B', 'latin1'));

/** Start-of-frame markers a PDF's DCTDecode reads: baseline, extended sequential and progressive Huffman JPEG. */
const PDF_JPEG_FRAMES = new Set([0xc0, 0xc1, 0xc2]);
/** Segments a kept JPEG keeps before its scan data: JFIF (APP0) and Adobe's colour transform flag (APP14). */
const KEPT_SEGMENTS = new Set([0xe0, 0xee]);
const START_OF_SCAN = 0xda;

/**
 * The scanner's JPEG as a PDF can embed it and show the same pixels, or undefined: a Huffman-coded 8-bit greyscale
 * or colour frame (not CMYK, 12-bit or arithmetic-coded), upright without an EXIF turn, in sRGB or without a profile
 * (a PDF shows DeviceRGB; another profile would shift the colours). What it carries besides the picture (EXIF with
 * a phone's GPS position or serial number, XMP, comments, the profile) is left out: the signed PDF is handed on.
 */
export async function embeddableJpeg(bytes: Buffer): Promise<Buffer | undefined> {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  const kept: Buffer[] = [bytes.subarray(0, 2)];
  let frameFits = false;
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    if (marker === START_OF_SCAN) {
      if (!frameFits) return undefined;
      const { orientation, icc } = await sharp(bytes).metadata();
      if ((orientation ?? 1) !== 1 || (icc && !isSrgbProfile(icc))) return undefined;
      return Buffer.concat([...kept, bytes.subarray(at)]);
    }
    const end = at + 2 + bytes.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      const precision = bytes[at + 4];
      const components = bytes[at + 9];
      frameFits = PDF_JPEG_FRAMES.has(marker) && precision === 8 && (components === 1 || components === 3);
    }
    const metadata = (marker >= 0xe1 && marker <= 0xef && !KEPT_SEGMENTS.has(marker)) || marker === 0xfe;
    if (!metadata) kept.push(bytes.subarray(at, end));
    at = end;
  }
  return undefined;
}

/** Binary PGM: the cheapest lossless container tesseract (leptonica) reads; no compression work at all. */
export function encodePgm(image: RawImage): Buffer {
  if (image.channels !== 1) throw new Error('PGM needs a greyscale image');
  return Buffer.concat([Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, 'latin1'), image.data]);
}

/**
 * Writes the resolution into the JFIF header (inserting one after SOI when the encoder wrote none). sharp's
 * withMetadata() would also embed an sRGB profile, which turns a greyscale JPEG into a colour one.
 */
export function setJfifDensity(jpeg: Buffer, dpi: number): Buffer {
  const app0 = Buffer.alloc(18);
  app0.writeUInt16BE(0xffe0, 0);
  app0.writeUInt16BE(16, 2);
  app0.write('JFIF\0', 4, 'latin1');
  app0.writeUInt16BE(0x0101, 9); // version 1.01
  app0[11] = 1; // units: dots per inch
  app0.writeUInt16BE(dpi, 12);
  app0.writeUInt16BE(dpi, 14);
  const hasJfif = jpeg[2] === 0xff && jpeg[3] === 0xe0 && jpeg.toString('latin1', 6, 11) === 'JFIF\0';
  const rest = hasJfif ? jpeg.subarray(4 + jpeg.readUInt16BE(4)) : jpeg.subarray(2);
  return Buffer.concat([jpeg.subarray(0, 2), app0, rest]);
}

/**
 * Writes the resolution into a PNG as a pHYs chunk right after IHDR (replacing one the encoder wrote). sharp's
 * withMetadata() would also attach an sRGB profile and turn a greyscale PNG into a colour one.
 */
export function setPngDensity(png: Buffer, dpi: number): Buffer {
  const pixelsPerMetre = Math.round(dpi / 0.0254);
  const body = Buffer.alloc(13);
  body.write('pHYs', 0, 'latin1');
  body.writeUInt32BE(pixelsPerMetre, 4);
  body.writeUInt32BE(pixelsPerMetre, 8);
  body[12] = 1; // unit: the metre
  const chunk = Buffer.alloc(21);
  chunk.writeUInt32BE(9, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), 17);
  const afterHeader = 8 + 8 + 13 + 4; // signature, IHDR length and type, IHDR data, CRC
  const chunks: Buffer[] = [png.subarray(0, afterHeader), chunk];
  for (let at = afterHeader; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const end = at + 12 + length;
    if (png.toString('latin1', at + 4, at + 8) !== 'pHYs') chunks.push(png.subarray(at, end));
    at = end;
  }
  return Buffer.concat(chunks);
}

/** Whether every pixel of a greyscale image is pure black or pure white: a bilevel scan. */
export const isBilevel = (image: RawImage) =>
  image.channels === 1 && image.data.every((value) => value === 0 || value === 255);

/**
 * A bilevel page as a greyscale PNG carrying `dpi`: lossless, and far smaller than a JPEG of it. Not a 1-bit
 * palette PNG: libvips gets there only through colour quantisation, 15 times slower (docs/BENCHMARKS.md).
 */
export async function encodeBilevelPng(image: RawImage, dpi: number): Promise<Buffer> {
  const png = await sharpOf(image).png({ compressionLevel: 6 }).toBuffer();
  return setPngDensity(png, dpi);
}
