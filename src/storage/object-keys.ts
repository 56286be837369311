/**
 * Every object key is built here. Keys are deterministic (a retry overwrites instead of duplicating) and made only
 * of validated ids, page numbers and hex digests, so no user input becomes a path.
 */
export const originalPageKey = (packetId: string, n: number, sha256: string) =>
  `packets/${packetId}/pages/${n}/original-${sha256}`;

/** Outputs are keyed by the original's hash: a retry overwrites them, a rescan gets its own. */
export const processedPageKey = (
  packetId: string,
  n: number,
  sha256: string,
  format: 'jpeg' | 'png' = 'jpeg',
) => `packets/${packetId}/pages/${n}/processed-${sha256}.${format === 'png' ? 'png' : 'jpg'}`;

/** A scanner's document as received, and the page images taken from it (numbered by their place in it). */
export const documentKey = (packetId: string, sha256: string, kind: 'pdf' | 'tiff') =>
  `packets/${packetId}/documents/${sha256}.${kind === 'pdf' ? 'pdf' : 'tif'}`;
export const documentPageKey = (
  packetId: string,
  documentSha256: string,
  index: number,
  format: 'jpeg' | 'png',
) => `packets/${packetId}/documents/${documentSha256}/page-${index}.${format === 'png' ? 'png' : 'jpg'}`;
export const pageThumbnailKey = (packetId: string, n: number, sha256: string) =>
  `packets/${packetId}/pages/${n}/thumbnail-${sha256}.jpg`;
/**
 * Each bundle run's PDF under its own digest (signatures differ run to run). Two runs of one packet can overlap (a
 * job taken for stalled while its first run goes on); with one fixed key the loser's PUT could replace the file the
 * packet record and the protocol name. A run that crashes before marking the packet ready leaves an unreferenced
 * object; the packet record says which PDF is the packet's.
 */
export const packetPdfKey = (packetId: string, sha256: string) => `packets/${packetId}/packet-${sha256}.pdf`;
export const ocrResultKey = (packetId: string, n: number, sha256: string) =>
  `packets/${packetId}/pages/${n}/ocr-${sha256}.json`;

/**
 * The S3 mirror of the assignment protocol: one object per entry, zero-padded so keys sort by sequence, under the
 * deployment's name (REDIS_PREFIX), so that deployments sharing a bucket keep their own protocols.
 */
export const protocolEntryKey = (deployment: string, seq: number) =>
  `protocol/${deployment}/${String(seq).padStart(10, '0')}.json`;

/** Signed checkpoints of the protocol, by tree size, next to its mirror; written once. */
export const checkpointKey = (deployment: string, treeSize: number) =>
  `protocol/${deployment}/checkpoints/${String(treeSize).padStart(10, '0')}.json`;

/** An epoch's signed announcement (before it begins) and its revealed secret (after it ends); written once. */
export const epochAnnouncementKey = (deployment: string, epoch: number) =>
  `protocol/${deployment}/epochs/${epoch}.announcement.json`;
export const epochSecretKey = (deployment: string, epoch: number) =>
  `protocol/${deployment}/epochs/${epoch}.secret.json`;
