/**
 * Every object key is built here. Keys are deterministic (a retry overwrites instead of duplicating) and made only
 * of validated ids, page numbers and hex digests, so no user input becomes a path.
 */
export const originalPageKey = (packetId: string, n: number, sha256: string) =>
  `packets/${packetId}/pages/${n}/original-${sha256}`;
