import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ObjectStore } from '../../../src/storage/object-store.js';

/** An object store in memory, for rules tested without S3. */
export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, { body: Buffer; contentType: string }>();

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    this.objects.set(key, { body: Buffer.from(body), contentType });
  }

  async putFile(key: string, file: string, contentType: string): Promise<void> {
    await this.put(key, await readFile(file), contentType);
  }

  async get(key: string): Promise<Buffer> {
    const object = this.objects.get(key);
    if (!object) throw new Error(`no object ${key}`);
    return object.body;
  }

  async getStream(key: string): Promise<Readable> {
    return Readable.from([await this.get(key)]);
  }

  async stat(key: string): Promise<{ size: number } | undefined> {
    const object = this.objects.get(key);
    return object ? { size: object.body.length } : undefined;
  }

  async remove(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async ping(): Promise<void> {}
}
