import sharp from 'sharp';

/** A small synthetic page: white with dark bars, enough structure to be a real image of the given format. */
export async function makePage(
  format: 'jpeg' | 'png' | 'tiff' | 'webp',
  options: { width?: number; height?: number; seed?: number } = {},
): Promise<Buffer> {
  const width = options.width ?? 400;
  const height = options.height ?? 560;
  const seed = options.seed ?? 1;
  const bars = Array.from({ length: 12 }, (_, i) => {
    const y = 30 + i * 40;
    const w = 120 + ((seed * 37 + i * 53) % 220);
    return `<rect x="30" y="${y}" width="${w}" height="14" fill="#222"/>`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${bars}</svg>`;
  return sharp(Buffer.from(svg)).toFormat(format).toBuffer();
}

/** A JPEG with a valid header and end marker but its scan data cut: it passes intake and cannot be decoded. */
export async function unreadableJpeg(): Promise<Buffer> {
  const white = await sharp({ create: { width: 800, height: 1100, channels: 3, background: '#fff' } })
    .jpeg()
    .toBuffer();
  return Buffer.concat([white.subarray(0, Math.floor(white.length / 2)), Buffer.from([0xff, 0xd9])]);
}
