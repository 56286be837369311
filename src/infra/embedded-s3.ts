import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import S3rver, { type FilesystemStore, type StoredObject } from 's3rver';

/** s3rver's fixed credentials; the embedded server only listens on loopback. */
export const EMBEDDED_S3_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' } as const;

export type EmbeddedS3 = { host: string; port: number; close(): Promise<void> };

/** Starts an in-process S3-protocol server with its files under `<dataDir>/s3`. Port 0 picks a free port. */
export async function startEmbeddedS3(dataDir: string, port = 0): Promise<EmbeddedS3> {
  const directory = path.join(dataDir, 's3');
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port, directory, silent: true });
  writeObjectsWhole(server.store);
  const address = await server.run();
  return {
    host: '127.0.0.1',
    port: address.port,
    // Without dropping the connections, close waits for every keep-alive client (a worker's S3 client) to go.
    close: async () => {
      const closed = server.close();
      server.httpServer?.closeAllConnections();
      await closed;
    },
  };
}

/**
 * s3rver writes an object and its metadata in place and answers the PUT before the bytes are on disk: a read
 * meanwhile gets part of the object (a protocol mirror entry that does not parse, a page cut short) or of its
 * metadata (an error). Here the files are written aside, the object's flushed to disk, and renamed into place,
 * metadata first, so a reader gets the whole old object or the whole new one, and a PUT is answered only once its
 * bytes are stored.
 */
function writeObjectsWhole(store: FilesystemStore): void {
  store.putObject = async (object: StoredObject) => {
    const { bucket, key } = object;
    const objectPath = store.getResourcePath(bucket, key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    // Beside the object, under names s3rver's listing passes over (only `…._S3rver_object` files are objects).
    const partial = `.${randomUUID()}.partial`;
    const [asideKey, aside] = [`${key}${partial}`, `${objectPath}${partial}`];
    const md5 = createHash('md5');
    let size = 0;
    const file = await open(aside, 'w');
    try {
      for await (const chunk of Buffer.isBuffer(object.content) ? [object.content] : object.content) {
        md5.update(chunk);
        size += chunk.length;
        await file.write(chunk);
      }
      await file.sync();
    } catch (error) {
      await rm(aside, { force: true });
      throw error;
    } finally {
      await file.close();
    }
    const digest = md5.digest('hex');
    await store.putMetadata(bucket, asideKey, object.metadata, digest);
    for (const resource of ['object.md5', 'metadata.json'] as const)
      await rename(
        store.getResourcePath(bucket, asideKey, resource),
        store.getResourcePath(bucket, key, resource),
      );
    await rename(aside, objectPath);
    return { size, md5: digest };
  };
}
