import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';

/**
 * A document's bytes in memory or in a file, read a window or a chunk at a time: the checks and digests over a
 * packet PDF (hundreds of MB) then hold a few MB, wherever the document is.
 */
export type Bytes = {
  size: number;
  /** The bytes in [start, end), cut at the end of the document. */
  read(start: number, end: number): Promise<Buffer>;
};

/** Large enough that a file is read in few calls, small against the memory the bundle job may use. */
const CHUNK_BYTES = 1024 * 1024;

export const bytesOf = (buffer: Buffer): Bytes => ({
  size: buffer.length,
  read: async (start, end) => buffer.subarray(start, Math.min(end, buffer.length)),
});

/** Opens `file` (for reading, or with `r+` also for writing in place) for the time `use` runs. */
export async function withFile<T>(
  file: string,
  flags: 'r' | 'r+',
  use: (bytes: Bytes, handle: FileHandle) => Promise<T>,
): Promise<T> {
  const handle = await open(file, flags);
  try {
    const { size } = await handle.stat();
    const read = async (start: number, end: number) => {
      const length = Math.max(0, Math.min(end, size) - start);
      const buffer = Buffer.allocUnsafe(length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await handle.read(buffer, done, length - done, start + done);
        if (bytesRead === 0) throw new Error(`${file} ended at ${start + done} of ${size} bytes`);
        done += bytesRead;
      }
      return buffer;
    };
    return await use({ size, read }, handle);
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes` at `position`: a write may take only part of a buffer. */
export async function writeAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    done += (await handle.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
  }
}

/** SHA-256 over the byte ranges [start, end), in order, read a chunk at a time. */
export async function sha256Of(bytes: Bytes, ranges: Array<[number, number]>): Promise<Buffer> {
  const hash = createHash('sha256');
  for (const [start, end] of ranges) {
    for (let at = start; at < end; at += CHUNK_BYTES)
      hash.update(await bytes.read(at, Math.min(end, at + CHUNK_BYTES)));
  }
  return hash.digest();
}

export const sha256OfFile = (file: string): Promise<{ sha256: string; bytes: number }> =>
  withFile(file, 'r', async (bytes) => ({
    sha256: (await sha256Of(bytes, [[0, bytes.size]])).toString('hex'),
    bytes: bytes.size,
  }));

/**
 * The `window` bytes (latin1) from each occurrence of `keyword`, first to last, or last to first with `fromEnd`.
 * Each chunk is read `window` bytes longer, so an occurrence near its end still has its whole window.
 */
export async function* windowsAt(
  bytes: Bytes,
  keyword: string,
  window: number,
  fromEnd = false,
): AsyncGenerator<string> {
  const needle = Buffer.from(keyword, 'latin1');
  const lastChunk = Math.max(0, Math.floor((bytes.size - 1) / CHUNK_BYTES) * CHUNK_BYTES);
  for (
    let start = fromEnd ? lastChunk : 0;
    fromEnd ? start >= 0 : start < bytes.size;
    start += fromEnd ? -CHUNK_BYTES : CHUNK_BYTES
  ) {
    const chunk = await bytes.read(start, start + CHUNK_BYTES + window);
    // Occurrences that begin in the next chunk are that chunk's.
    const limit = Math.min(CHUNK_BYTES, chunk.length);
    if (fromEnd) {
      // lastIndexOf counts a negative offset from the end: stop at the chunk's start.
      for (
        let at = chunk.lastIndexOf(needle, limit - 1);
        at !== -1;
        at = at === 0 ? -1 : chunk.lastIndexOf(needle, at - 1)
      )
        yield chunk.toString('latin1', at, at + window);
    } else {
      for (let at = chunk.indexOf(needle); at !== -1 && at < limit; at = chunk.indexOf(needle, at + 1))
        yield chunk.toString('latin1', at, at + window);
    }
  }
}
