import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from './http-error.js';

export type ReceivedFile = { file: string; sha256: string; bytes: number; discard: () => Promise<void> };

/**
 * Streams a request body to a temporary file, hashing it on the way and stopping at `maxBytes` (413), so a large
 * scanner document is never held whole in the HTTP layer. The caller discards the file when done with it.
 */
export async function receiveToFile(body: Readable, maxBytes: number): Promise<ReceivedFile> {
  const file = path.join(os.tmpdir(), `scan-office-upload-${randomBytes(8).toString('hex')}`);
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes)
        return done(new AppError(413, 'payload_too_large', `The document is larger than ${maxBytes} bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const discard = () => rm(file, { force: true });
  try {
    await pipeline(body, meter, createWriteStream(file));
  } catch (error) {
    await discard();
    throw error;
  }
  return { file, sha256: hash.digest('hex'), bytes, discard };
}
