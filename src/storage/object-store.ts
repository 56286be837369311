import type { Readable } from 'node:stream';

/** What the service needs from object storage; the minio implementation talks to MinIO or any S3 server. */
export interface ObjectStore {
  /** `sha256`: the body's hex SHA-256 when the caller already has it, so the store need not hash it again. */
  put(key: string, body: Buffer, contentType: string, sha256?: string): Promise<void>;
  /** A file streamed from disk, for objects too large to hold in memory (packet PDFs); `sha256`: its hex SHA-256. */
  putFile(key: string, file: string, contentType: string, sha256: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  /** The object as a stream, for large ones (packet PDFs): resolves once S3 answers; the body fails if S3 stalls. */
  getStream(key: string): Promise<Readable>;
  /** `undefined` when the object does not exist. */
  stat(key: string): Promise<{ size: number } | undefined>;
  remove(key: string): Promise<void>;
  /** Throws when the store cannot be reached or the bucket is missing. */
  ping(): Promise<void>;
}
