import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import * as Minio from 'minio';
import { DependencyUnavailableError } from '../domain/errors.js';
import type { ObjectStore } from './object-store.js';

export type MinioStoreOptions = {
  endPoint: string;
  port: number | undefined;
  useSsl: boolean;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  timeoutMs: number;
};

const isMissingObject = (error: unknown) =>
  error instanceof Minio.S3Error && (error.code === 'NotFound' || error.code === 'NoSuchKey');

/** S3 answers that mean "try again later"; anything else the server said is a real error. */
const RETRYABLE_S3_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout']);
const isUnavailability = (error: unknown) =>
  !(error instanceof Minio.S3Error) || RETRYABLE_S3_CODES.has(String(error.code));

/**
 * `call`'s deadline answers our caller on time but cannot stop the client's HTTP request: against an S3 that accepts
 * connections and never answers, every abandoned PUT would keep its socket and its page buffer for good. A request
 * whose socket stays silent past the deadline is destroyed, which fails it and frees both.
 */
function transportWithIdleTimeout(
  useSsl: boolean,
  timeoutMs: number,
): NonNullable<Minio.ClientOptions['transport']> {
  const base = useSsl ? https : http;
  const request = (options: http.RequestOptions, onResponse?: (response: http.IncomingMessage) => void) => {
    const outgoing = base.request(options, onResponse);
    outgoing.setTimeout(timeoutMs, () =>
      outgoing.destroy(new Error(`S3 connection silent for ${timeoutMs} ms`)),
    );
    return outgoing;
  };
  return { request: request as typeof http.request };
}

/**
 * A PUT's deadline grows with its body at this rate (10 MB/s): a 25 MB page gets 2.5 s more, a 600 MB packet PDF a
 * minute, so big objects are not cut off on a slow link, while a silent S3 still fails after S3_TIMEOUT_MS (above).
 */
const SLOWEST_TRANSFER_BYTES_PER_MS = 10_000;

export class MinioObjectStore implements ObjectStore {
  private readonly client: Minio.Client;
  /**
   * For bodies streamed from a file: the client retries a PUT on 408/429/5xx by sending the same body again, which
   * for a stream is one already read. This one does not retry; putFile tries again itself, with a fresh stream.
   */
  private readonly onceClient: Minio.Client;

  constructor(private readonly options: MinioStoreOptions) {
    const clientOptions = {
      endPoint: options.endPoint,
      ...(options.port === undefined ? {} : { port: options.port }),
      useSSL: options.useSsl,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: options.region,
      pathStyle: true,
      transport: transportWithIdleTimeout(options.useSsl, options.timeoutMs),
    };
    this.client = new Minio.Client(clientOptions);
    this.onceClient = new Minio.Client({ ...clientOptions, retryOptions: { disableRetry: true } });
  }

  /** Creates the bucket when it is missing (first start, fresh MinIO). */
  async ensureBucket(): Promise<void> {
    await this.call(async () => {
      if (!(await this.client.bucketExists(this.options.bucket))) {
        await this.client.makeBucket(this.options.bucket, this.options.region);
      }
    });
  }

  /**
   * One PUT with the body as it is. The client's putObject would turn the buffer into a stream and back (two 1 MB
   * copies) and hash it twice more, MD5 and SHA-256, whatever the transport needs: on the intake path that was a
   * fifth of the API's CPU. Plain HTTP signs the payload's SHA-256 (the server checks it), so the caller's digest
   * is reused; over TLS the payload goes unsigned and Content-MD5 lets the server check it, as putObject does.
   */
  put(key: string, body: Buffer, contentType: string, sha256?: string): Promise<void> {
    return this.upload(this.client, key, contentType, body.length, () => body, {
      md5: async () => createHash('md5').update(body).digest('base64'),
      sha256: () => sha256 ?? createHash('sha256').update(body).digest('hex'),
    });
  }

  /**
   * One PUT streamed from the file, as `put` does with a buffer (the client's fPutObject would upload a large file
   * in parts of 64 MB, each held in memory). Over TLS the file is read once more for its MD5.
   */
  async putFile(key: string, file: string, contentType: string, sha256: string): Promise<void> {
    const { size } = await stat(file);
    const attempt = () =>
      this.upload(this.onceClient, key, contentType, size, () => createReadStream(file), {
        md5: async () => {
          const md5 = createHash('md5');
          for await (const chunk of createReadStream(file)) md5.update(chunk as Buffer);
          return md5.digest('base64');
        },
        sha256: () => sha256,
      });
    // One more try, as the client does for buffers: a single 503 should not cost a whole packet's rebuild.
    return attempt().catch(attempt);
  }

  /** Each digest is computed only when the transport asks for it (see `put`). */
  private upload(
    client: Minio.Client,
    key: string,
    contentType: string,
    size: number,
    body: () => Buffer | Readable,
    digests: { md5: () => Promise<string>; sha256: () => string },
  ): Promise<void> {
    const sendingMs = size / SLOWEST_TRANSFER_BYTES_PER_MS;
    return this.call(async () => {
      const headers: Record<string, string> = { 'Content-Type': contentType, 'Content-Length': String(size) };
      if (this.options.useSsl) headers['Content-MD5'] = await digests.md5();
      const response = await client.makeRequestStreamAsync(
        { method: 'PUT', bucketName: this.options.bucket, objectName: key, headers },
        body(),
        this.options.useSsl ? '' : digests.sha256(),
        [200],
        '',
      );
      response.resume();
      await finished(response);
    }, this.options.timeoutMs + sendingMs);
  }

  get(key: string): Promise<Buffer> {
    return this.call(async () => {
      const stream = await this.client.getObject(this.options.bucket, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  /** The deadline covers S3's answer; the body then flows as fast as the reader takes it, failing on silence. */
  getStream(key: string): Promise<Readable> {
    return this.call(() => this.client.getObject(this.options.bucket, key));
  }

  stat(key: string): Promise<{ size: number } | undefined> {
    return this.call(async () => {
      try {
        const stat = await this.client.statObject(this.options.bucket, key);
        return { size: stat.size };
      } catch (error) {
        if (isMissingObject(error)) return undefined;
        throw error;
      }
    });
  }

  remove(key: string): Promise<void> {
    return this.call(() => this.client.removeObject(this.options.bucket, key));
  }

  ping(): Promise<void> {
    return this.call(async () => {
      if (!(await this.client.bucketExists(this.options.bucket))) {
        throw new Error(`bucket ${this.options.bucket} does not exist`);
      }
    });
  }

  /** Runs one S3 call with a hard deadline (a hanging S3 must become a quick 503, not a stuck request); transport failures and timeouts become DependencyUnavailableError. */
  private async call<T>(operation: () => Promise<T>, deadlineMs = this.options.timeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`S3 did not answer within ${Math.round(deadlineMs)} ms`)),
        deadlineMs,
      );
    });
    try {
      return await Promise.race([operation(), deadline]);
    } catch (error) {
      throw isUnavailability(error) ? new DependencyUnavailableError('s3', error) : error;
    } finally {
      clearTimeout(timer);
    }
  }
}
