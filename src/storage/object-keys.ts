/**
 * Every object key is built here. Keys are deterministic (a retry overwrites instead of duplicating) and made only
 * of validated ids, page numbers and hex digests, so no user input becomes a path.
 */
export const originalPageKey = (packetId: string, n: number, sha256: string) =>
  `packets/${packetId}/pages/${n}/original-${sha256}`;

/** Outputs are keyed by the original's hash: a retry overwrites them, a rescan gets its own. */
export const processedPageKey = (packetId: string, n: number, sha256: string) =>
  `packets/${packetId}/pages/${n}/processed-${sha256}.jpg`;
/** One signed PDF per packet; a retried bundle replaces it in one atomic PUT. */
export const packetPdfKey = (packetId: string) => `packets/${packetId}/packet.pdf`;
export const ocrResultKey = (packetId: string, n: number, sha256: string) =>
  `packets/${packetId}/pages/${n}/ocr-${sha256}.json`;

/** The S3 mirror of the assignment protocol: one object per entry, zero-padded so keys sort by sequence. */
export const protocolEntryKey = (seq: number) => `protocol/${String(seq).padStart(10, '0')}.json`;
