import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import S3rver from 's3rver';

/** s3rver's fixed credentials; the embedded server only listens on loopback. */
export const EMBEDDED_S3_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' } as const;

export type EmbeddedS3 = { host: string; port: number; close(): Promise<void> };

/** Starts an in-process S3-protocol server with its files under `<dataDir>/s3`. Port 0 picks a free port. */
export async function startEmbeddedS3(dataDir: string, port = 0): Promise<EmbeddedS3> {
  const directory = path.join(dataDir, 's3');
  await mkdir(directory, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port, directory, silent: true });
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
