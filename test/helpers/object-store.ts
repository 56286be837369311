import type { ObjectStore } from '../../src/storage/object-store.js';

/** The same store with its file upload replaced: for bundle runs whose upload fails or waits. */
export const withPutFile = (store: ObjectStore, putFile: ObjectStore['putFile']): ObjectStore => ({
  get: (key) => store.get(key),
  getStream: (key) => store.getStream(key),
  stat: (key) => store.stat(key),
  remove: (key) => store.remove(key),
  ping: () => store.ping(),
  put: (key, body, contentType, digest) => store.put(key, body, contentType, digest),
  putFile,
});
