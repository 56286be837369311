import sharp from 'sharp';

/**
 * libvips keeps recent operations and their pixels for reuse; a worker never reads the same image twice, so in a
 * worker the cache only holds memory, which a long packet's bundle needs (docs/BENCHMARKS.md, "Bundle job memory").
 */
export function dropImageCache(): void {
  sharp.cache(false);
}
