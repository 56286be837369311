import { type Job, type MinimalJob, Queue, type QueueOptions, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { DependencyUnavailableError } from '../domain/errors.js';
import {
  type FinalFailure,
  JOBS,
  type JobName,
  type JobPayload,
  type JobQueue,
  type JobState,
  PermanentJobFailure,
  QUEUES,
  type QueueName,
} from '../domain/jobs.js';
import type { Logger } from '../infra/logger.js';

const RETRY_WINDOW_BACKOFF = 'retry-window';
const FIRST_RETRY_DELAY_MS = 1000;
const LONGEST_RETRY_DELAY_MS = 15_000;
/** BullMQ's live states: the job will still run (again). */
const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** The delay before attempt `attemptsMade + 1`: doubling from 1 s up to 15 s, or -1 (stop) past the job's window. */
export function retryDelay(attemptsMade: number, retryUntil: number, now = Date.now()): number {
  const delay = Math.min(FIRST_RETRY_DELAY_MS * 2 ** Math.max(0, attemptsMade - 1), LONGEST_RETRY_DELAY_MS);
  return now + delay > retryUntil ? -1 : delay;
}

/**
 * Defaults written once: a failing job is retried with backoff until its payload's `retryUntil` (the retry window),
 * not a fixed number of times: a 40-second S3 outage must not fail a packet. History is bounded so Redis does not
 * grow forever.
 */
const DEFAULT_JOB_OPTIONS: QueueOptions['defaultJobOptions'] = {
  // The window ends retries; this only bounds a runaway (10 000 attempts at the 15 s cap is 41 hours).
  attempts: 10_000,
  backoff: { type: RETRY_WINDOW_BACKOFF },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export const bullPrefix = (redisPrefix: string) => `${redisPrefix}:bull`;

export function createQueue(name: QueueName, connection: Redis, redisPrefix: string): Queue {
  return new Queue(name, {
    connection,
    prefix: bullPrefix(redisPrefix),
    defaultJobOptions: DEFAULT_JOB_OPTIONS,
  });
}

export class BullJobQueue implements JobQueue {
  readonly queues: Map<QueueName, Queue>;

  /** `connection` should be a fail-fast (`command`) connection: a producer must not wait while Redis is down. */
  constructor(connection: Redis, redisPrefix: string) {
    this.queues = new Map(
      Object.values(QUEUES).map((name) => [name, createQueue(name, connection, redisPrefix)] as const),
    );
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>): Promise<void> {
    const definition = JOBS[name];
    const data = definition.payload.parse(payload);
    const queue = this.queues.get(definition.queue)!;
    try {
      // The payload was parsed by this job's own schema, so it fits this job's id function.
      await queue.add(name, data, { jobId: definition.jobId(data as never) });
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    }
  }

  async state<N extends JobName>(name: N, payload: JobPayload<N>): Promise<JobState> {
    const definition = JOBS[name];
    try {
      const state = await this.queues.get(definition.queue)!.getJobState(definition.jobId(payload as never));
      if (state === 'unknown') return 'missing';
      return LIVE_STATES.has(state) ? 'live' : 'finished';
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}

export type JobWorkerOptions<N extends JobName> = {
  connection: Redis;
  redisPrefix: string;
  concurrency: number;
  log: Logger;
  /** Job lock length and stalled-job check interval (defaults 60 s and 30 s). */
  locking?: { lockMs: number; stalledCheckMs: number };
  /** Does the job; throws to retry, throws PermanentJobFailure to fail for good. */
  handle: (payload: JobPayload<N>) => Promise<unknown>;
  /** Called once a job has failed for the last time (retries exhausted, or a PermanentJobFailure). */
  onFinalFailure?: (payload: JobPayload<N>, last: FinalFailure) => Promise<void>;
};

/** One consumer of one job type: payload validation, error listeners and final-failure handling written once. */
export function startJobWorker<N extends JobName>(name: N, options: JobWorkerOptions<N>): Worker {
  const definition = JOBS[name];
  const parse = (data: unknown) =>
    definition.payload.safeParse(data) as { success: boolean; data?: JobPayload<N> };
  const worker = new Worker(
    definition.queue,
    async (job: Job) => {
      const parsed = parse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid ${name} payload`);
      try {
        return await options.handle(parsed.data!);
      } catch (error) {
        throw error instanceof PermanentJobFailure ? new UnrecoverableError(error.message) : error;
      }
    },
    {
      connection: options.connection,
      prefix: bullPrefix(options.redisPrefix),
      concurrency: options.concurrency,
      // CPU-heavy work runs in threads (tesseract) or the libuv pool (sharp); a generous lock still helps when the
      // host is overloaded. A worker that dies holds its jobs until the lock expires, then they run again.
      lockDuration: options.locking?.lockMs ?? 60_000,
      stalledInterval: options.locking?.stalledCheckMs ?? 30_000,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, _error?: Error, job?: MinimalJob) =>
          retryDelay(attemptsMade, (job?.data as { retryUntil?: number } | undefined)?.retryUntil ?? 0),
      },
    },
  );
  worker.on('failed', (job, error) => {
    if (!job) return;
    const log = options.log.child({ jobId: job.id, packetId: job.data?.packetId });
    const permanent = error instanceof UnrecoverableError;
    // Whether BullMQ retries it: the backoff decided already, and the job is delayed (again) or failed for good.
    const settled = permanent ? Promise.resolve('failed') : job.getState();
    settled
      .then(async (state) => {
        const final = state === 'failed';
        log.warn({ err: error, attemptsMade: job.attemptsMade, final }, `${name} job failed`);
        const parsed = parse(job.data);
        if (!final || !parsed.success || !options.onFinalFailure) return;
        await options.onFinalFailure(parsed.data!, {
          message: error.message,
          attempts: job.attemptsMade,
          permanent,
        });
      })
      .catch((handlerError: unknown) => {
        // The reconciler finds a page or packet left without a way forward and settles it.
        log.error({ err: handlerError }, `could not record the final failure of a ${name} job`);
      });
  });
  worker.on('error', (error) => options.log.error({ err: error }, `${name} worker error`));
  return worker;
}
