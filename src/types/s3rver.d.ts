declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  type S3rverOptions = {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    resetOnClose?: boolean;
    configureBuckets?: { name: string }[];
    /** PEM key and certificate: s3rver then serves HTTPS. */
    key?: string | Buffer;
    cert?: string | Buffer;
  };

  /** An object on its way into the store: its bytes whole or as the request streams them. */
  export type StoredObject = {
    bucket: string;
    key: string;
    content: Buffer | AsyncIterable<Buffer>;
    metadata: Record<string, string>;
  };

  /** s3rver's files on disk (lib/stores/filesystem.js), as far as the embedded server replaces its writing. */
  export type FilesystemStore = {
    getResourcePath(bucket: string, key: string, resource: 'object' | 'object.md5' | 'metadata.json'): string;
    putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
    putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
  };

  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** Set once `run` resolves. */
    httpServer?: Server;
    store: FilesystemStore;
  }
}
