import sharp from 'sharp';

/** Longest side of a page thumbnail in the station's grid: sharp on a 2× screen at the grid's tile size. */
export const THUMBNAIL_MAX_SIDE = 320;

/**
 * A small upright JPEG of a processed page: the stored scan (kept as scanned) shrunk first, then turned by the
 * degrees the PDF turns it, so the station sees what the registrar will see.
 */
export async function pageThumbnail(image: Buffer, turnDeg: number): Promise<Buffer> {
  // Shrinking before turning: JPEG shrink-on-load makes the first step cheap, and the turn then moves few pixels.
  const small = await sharp(image)
    .resize({ width: THUMBNAIL_MAX_SIDE * 2, height: THUMBNAIL_MAX_SIDE * 2, fit: 'inside' })
    .toBuffer();
  return sharp(small)
    .rotate(turnDeg, { background: '#ffffff' })
    .resize({ width: THUMBNAIL_MAX_SIDE, height: THUMBNAIL_MAX_SIDE, fit: 'inside' })
    .jpeg({ quality: 70, mozjpeg: true })
    .toBuffer();
}
