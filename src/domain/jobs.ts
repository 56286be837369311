import { z } from 'zod';
import { idPattern } from './ids.js';

/**
 * The one registry of background jobs: name, queue, payload schema and deterministic id. Payloads carry ids and
 * object keys, never image bytes. Job ids contain no ':' (BullMQ reserves it) and are never all digits.
 */
export const QUEUES = { pages: 'pages', packets: 'packets' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const JOBS = {
  /** Orient, deskew and OCR one stored page (#3). The id includes the content hash, so a rescan is a new job. */
  processPage: {
    queue: QUEUES.pages,
    payload: z.object({
      packetId: z.string().regex(idPattern('packet')),
      n: z.number().int().min(1).max(500),
      sha256: sha256Hex,
      originalKey: z.string().min(1),
    }),
    jobId: (payload: { packetId: string; n: number; sha256: string }) =>
      `page-${payload.packetId}-${payload.n}-${payload.sha256.slice(0, 16)}`,
  },
  /**
   * Bundle a submitted packet whose pages are all done into the signed PDF (#4). `pagesDigest` names the exact set
   * of page uploads, so a resubmission after a rescan is a new job while duplicates of one submission are not.
   */
  bundlePacket: {
    queue: QUEUES.packets,
    payload: z.object({ packetId: z.string().regex(idPattern('packet')), pagesDigest: sha256Hex }),
    jobId: (payload: { packetId: string; pagesDigest: string }) =>
      `bundle-${payload.packetId}-${payload.pagesDigest.slice(0, 16)}`,
  },
} as const;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]['payload']>;

/** How the rest of the service asks for background work; BullMQ sits behind it. */
export interface JobQueue {
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>): Promise<void>;
}

/** Thrown by a job's work when retrying can never help (an unreadable scan): the job fails at once, for good. */
export class PermanentJobFailure extends Error {
  override name = 'PermanentJobFailure';
}

/** How a job ended for good: its last error, after how many attempts, and whether it was a PermanentJobFailure. */
export type FinalFailure = { message: string; attempts: number; permanent: boolean };
