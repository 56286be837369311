import sharp from 'sharp';
import type { ImageRejection } from '../domain/outcome.js';
import type { ImageFormat } from '../domain/types.js';

export type ImageProbe = { format: ImageFormat; width: number; height: number; density?: number };

export const MEDIA_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  tiff: 'image/tiff',
  webp: 'image/webp',
};

const startsWith = (bytes: Buffer, signature: number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((byte, i) => bytes[offset + i] === byte);

/** Identifies the format from the file's magic number; the Content-Type header is only a claim. */
export function sniffFormat(bytes: Buffer): ImageFormat | undefined {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return 'tiff';
  if (startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8))
    return 'webp';
  return undefined;
}

/**
 * Cheap end-of-file checks that catch the usual truncation (an interrupted scan or upload) without decoding the
 * whole image on the request path. TIFF has no trailer, so it is decoded in full instead.
 */
function looksComplete(format: ImageFormat, bytes: Buffer): boolean {
  switch (format) {
    case 'jpeg': {
      // Some scanners pad after the End Of Image marker; accept a short tail.
      const tail = bytes.subarray(Math.max(0, bytes.length - 512));
      return tail.includes(Buffer.from([0xff, 0xd9]));
    }
    case 'png':
      return bytes.subarray(bytes.length - 12).includes(Buffer.from('IEND', 'latin1'));
    case 'webp':
      return bytes.readUInt32LE(4) + 8 <= bytes.length;
    case 'tiff':
      return true;
  }
}

/** What a page image may cost and look like (MAX_PAGE_PIXELS, MAX_PAGE_DECODED_BYTES, MIN_PAGE_SIDE_PX, MAX_PAGE_ASPECT). */
export type PageLimits = {
  maxPixels: number;
  maxDecodedBytes: number;
  minSidePx: number;
  maxAspect: number;
};

const BYTES_PER_SAMPLE: Record<string, number> = {
  uchar: 1,
  char: 1,
  ushort: 2,
  short: 2,
  uint: 4,
  int: 4,
  float: 4,
  complex: 8,
  double: 8,
  dpcomplex: 16,
};

/** What decoding the image costs in memory: width × height × bands × bytes per sample. */
export const decodedBytesOf = (metadata: sharp.Metadata) =>
  (metadata.width ?? 0) *
  (metadata.height ?? 0) *
  (metadata.channels ?? 3) *
  (BYTES_PER_SAMPLE[metadata.depth ?? 'uchar'] ?? 8);

/** Why an image of this size cannot be a scanned sheet, or undefined when it can. */
export function implausibility(width: number, height: number, limits: PageLimits): string | undefined {
  const shorter = Math.min(width, height);
  const longer = Math.max(width, height);
  if (shorter < limits.minSidePx)
    return `The image is ${width}×${height} pixels: its shorter side is under ${limits.minSidePx} px, so it cannot be a scanned sheet`;
  if (longer / shorter > limits.maxAspect)
    return `The image is ${width}×${height} pixels: its sides are further apart than 1:${limits.maxAspect}, so it cannot be a scanned sheet`;
  return undefined;
}

const reject = (status: ImageRejection['status'], code: ImageRejection['code'], message: string) => ({
  ok: false as const,
  rejection: { status, code, message },
});

/**
 * Decides whether an upload is a single page image we can process: by its bytes (magic number, a real header decode
 * with sharp, decompression-bomb limits on pixels and decoded bytes, the shape of a sheet, a truncation check), not
 * by what the client claims.
 */
export async function probeImage(
  bytes: Buffer,
  options: { declaredMediaType?: string; limits: PageLimits },
): Promise<{ ok: true; image: ImageProbe } | { ok: false; rejection: ImageRejection }> {
  const { limits } = options;
  if (bytes.length === 0) return reject(400, 'empty_body', 'The request body is empty; send the page image');
  const format = sniffFormat(bytes);
  if (!format) {
    return reject(415, 'unsupported_media_type', 'The body is not a JPEG, PNG, TIFF or WebP image');
  }
  const declared = options.declaredMediaType?.split(';')[0]?.trim().toLowerCase();
  if (declared && declared !== MEDIA_TYPES[format]) {
    return reject(
      415,
      'media_type_mismatch',
      `Content-Type says ${declared} but the body is ${MEDIA_TYPES[format]}`,
    );
  }

  let metadata: sharp.Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    return reject(422, 'corrupt_image', `The ${format.toUpperCase()} header cannot be decoded`);
  }
  const { width, height } = metadata;
  if (!width || !height) return reject(422, 'corrupt_image', 'The image has no dimensions');
  if (width * height > limits.maxPixels) {
    return reject(
      422,
      'image_too_large',
      `The image is ${width}×${height} pixels; the limit is ${limits.maxPixels} pixels per page`,
    );
  }
  if ((metadata.pages ?? 1) > 1) {
    return reject(
      422,
      'multi_page_image',
      `The image holds ${metadata.pages} pages; upload one page per request`,
    );
  }
  const decodedBytes = decodedBytesOf(metadata);
  if (decodedBytes > limits.maxDecodedBytes) {
    return reject(
      422,
      'image_too_large',
      `Decoded, the image takes ${decodedBytes} bytes (${metadata.channels} bands of ${metadata.depth}); the limit is ${limits.maxDecodedBytes}`,
    );
  }
  const implausible = implausibility(width, height, limits);
  if (implausible) return reject(422, 'implausible_page', implausible);
  if (!looksComplete(format, bytes))
    return reject(422, 'corrupt_image', `The ${format.toUpperCase()} file is truncated`);
  if (format === 'tiff') {
    try {
      await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'truncated' }).raw().toBuffer();
    } catch {
      return reject(422, 'corrupt_image', 'The TIFF image data cannot be decoded');
    }
  }
  return {
    ok: true,
    image: { format, width, height, ...(metadata.density ? { density: metadata.density } : {}) },
  };
}
