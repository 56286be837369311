import type { PacketStatus, PageStatus } from './status.js';

export type Principal =
  | { role: 'admin' }
  | { role: 'station'; id: string }
  | { role: 'registrar'; id: string };

export type Station = {
  id: string;
  name: string;
  createdAt: string;
  /** Set when an administrator retired it: its token and sessions answer nobody. */
  removedAt?: string;
};

/** One of the office's services: packets are opened for it and registrars serve it. */
export type Service = { slug: string; names: { uk: string; en: string }; createdAt: string };

export const REGISTRAR_STATUSES = ['free', 'busy', 'away', 'removed'] as const;
export type RegistrarStatus = (typeof REGISTRAR_STATUSES)[number];
export type Registrar = {
  id: string;
  name: string;
  services: string[];
  status: RegistrarStatus;
  createdAt: string;
  /** After a recusal he is in no draw until then (ms since epoch), even when free. */
  cooldownUntil?: number;
};

export const IMAGE_FORMATS = ['jpeg', 'png', 'tiff', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export type Page = {
  n: number;
  status: PageStatus;
  sha256: string;
  bytes: number;
  format: ImageFormat;
  width: number;
  height: number;
  /** Object key of the original upload. */
  originalKey: string;
  storedAt: string;
  /** Which run of page n this record waits for (see domain/jobs.ts); a new upload or re-drive is a new run. */
  run: number;
  /** When this upload was first queued: its jobs are retried until JOB_RETRY_WINDOW_S after it. */
  queuedAt: string;
  /** When the current run was queued. */
  runAt: string;
  /** The resolution the page's document gives it (a page taken from a scanner's PDF or TIFF). */
  dpi?: number;
  /** Where the page came from when it arrived inside a document: the document's SHA-256 and its page there. */
  source?: { document: string; index: number };
  /** Why processing failed, in words the station can act on. */
  failure?: string;
  /** Filled in by the page pipeline (#3). */
  processing?: PageProcessing;
};

/** What the page pipeline found out about a page. */
export type PageAnalysis = {
  /** Clockwise quarter turns applied to make the page upright. */
  orientation: 0 | 90 | 180 | 270;
  /** Clockwise skew of the scan, in degrees (corrected by rotating the other way). */
  skewDeg: number;
  blank: boolean;
  /** Mean OCR word confidence (0–100); null for blank pages, which are not OCR'd. */
  ocrConfidence: number | null;
  dpi: number;
  colour: boolean;
  /** The upright, straightened page's size in pixels: what the PDF page shows. */
  width: number;
  height: number;
  /**
   * Clockwise degrees the PDF turns the stored scan image to show it upright and straight. Absent on pages
   * processed before scans were stored unturned: their images are upright already.
   */
  imageTurnDeg?: number;
  /** How the stored scan is encoded: JPEG, or a lossless 1-bit PNG for black-and-white scans (absent: JPEG). */
  imageFormat?: 'jpeg' | 'png';
};

export type PageProcessing = PageAnalysis & {
  /** Milliseconds per stage. */
  ms: Record<string, number>;
  processedKey: string;
  processedSha256: string;
  processedBytes: number;
  ocrKey: string;
  /** A small upright JPEG for the station's page grid (absent on pages processed before thumbnails existed). */
  thumbnailKey?: string;
  finishedAt: string;
};

export type Packet = {
  id: string;
  ticket: string;
  service: string;
  stationId: string;
  status: PacketStatus;
  trackingCode: string;
  createdAt: string;
  submittedAt?: string;
  pageCount?: number;
  /** Why the packet failed, naming the pages to rescan. */
  failure?: string;
  /** After a failure: the only pages the station may replace before resubmitting. */
  rescanPages?: number[];
  /** The bundle run its bundle job belongs to; an administrator's retry or the reconciler starts a new one. */
  bundleRun?: number;
  /** When bundling was last asked for (submit or retry): bundle jobs are retried until JOB_RETRY_WINDOW_S after. */
  bundleQueuedAt?: string;
  /** When the current bundle run was started by the reconciler. */
  bundleRunAt?: string;
  /** Set when the signed PDF is stored (#4). */
  readyAt?: string;
  pdf?: PacketPdf;
  /** Set by the dispatcher's draw (#5); never shown to stations or the public. */
  registrarId?: string;
  assignedAt?: string;
  /** Protocol sequence number of the draw that assigned the packet. */
  drawSeq?: number;
  outcome?: 'approved' | 'rejected';
  note?: string;
  decidedAt?: string;
  /** The earlier packet (id) this one resubmits, as the station marked it. */
  resubmissionOf?: string;
};

export type PacketPdf = { key: string; sha256: string; bytes: number; pages: number };
