import { z } from 'zod';
import { idPattern } from './ids.js';

/**
 * The one registry of background jobs: name, queue, payload schema and id. Payloads carry ids and object keys,
 * never image bytes. Job ids contain no ':' (BullMQ reserves it) and are never all digits.
 *
 * Job identity cannot swallow work. A job id names one *run*: each page record carries the run that is to
 * process it, and every upload, rescan or re-drive of a page takes a new run (a per-page counter in Redis, see
 * put-page.lua and requeue-page.lua), so an id is never reused for work still to do, whatever a station uploads in
 * whatever order (X → Y → X, delete and upload again). A job whose run is no longer its record's finds the record
 * stale and does nothing. A packet's bundle job is named by its pages' digest and the packet's bundle run, which an
 * administrator's retry or the reconciler increments. BullMQ de-duplicates ids only while a job exists, so these
 * ids de-duplicate repeats of the same request (a retried upload, two page outcomes racing to start the bundle)
 * and nothing else.
 */
export const QUEUES = { pages: 'pages', packets: 'packets' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const packetIdOf = z.string().regex(idPattern('packet'));
const run = z.number().int().min(0);
/** Epoch ms after which a failing job is not retried: its packet fails with a retry path (JOB_RETRY_WINDOW_S). */
const retryUntil = z.number().int().positive();

export const JOBS = {
  /** Orient, deskew and OCR one stored page (run `run` of page n). */
  processPage: {
    queue: QUEUES.pages,
    payload: z.object({
      packetId: packetIdOf,
      n: z.number().int().min(1).max(500),
      sha256: sha256Hex,
      originalKey: z.string().min(1),
      run,
      retryUntil,
      /** The resolution the page's document gives it, when it came in a scanner's PDF or TIFF. */
      dpi: z.number().int().min(50).max(2400).optional(),
    }),
    jobId: (payload: { packetId: string; n: number; run: number }) =>
      `page-${payload.packetId}-${payload.n}-r${payload.run}`,
  },
  /**
   * Bundle a submitted packet whose pages are all done into the signed PDF. `pagesDigest` names the exact set of
   * page uploads, so a resubmission after a rescan is a new job; `run` is the packet's bundle run.
   */
  bundlePacket: {
    queue: QUEUES.packets,
    payload: z.object({ packetId: packetIdOf, pagesDigest: sha256Hex, run, retryUntil }),
    jobId: (payload: { packetId: string; pagesDigest: string; run: number }) =>
      `bundle-${payload.packetId}-${payload.pagesDigest.slice(0, 16)}-r${payload.run}`,
  },
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]['payload']>;

/** Where a job stands: waiting, delayed or running ('live'), finished either way, or unknown to the queue. */
export type JobState = 'live' | 'finished' | 'missing';

/** How the rest of the service asks for background work; BullMQ sits behind it. */
export interface JobQueue {
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>): Promise<void>;
  state<N extends JobName>(name: N, payload: JobPayload<N>): Promise<JobState>;
}

/** Thrown by a job's work when retrying can never help (an unreadable scan): the job fails at once, for good. */
export class PermanentJobFailure extends Error {
  override name = 'PermanentJobFailure';
}

/** How a job ended for good: its last error, after how many attempts, and whether it was a PermanentJobFailure. */
export type FinalFailure = { message: string; attempts: number; permanent: boolean };
