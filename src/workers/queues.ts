import { Queue, type QueueOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { DependencyUnavailableError } from '../domain/errors.js';
import { JOBS, type JobName, type JobPayload, type JobQueue, QUEUES, type QueueName } from './jobs.js';

/** Defaults written once: retries with exponential backoff, and bounded history so Redis does not grow forever. */
const DEFAULT_JOB_OPTIONS: QueueOptions['defaultJobOptions'] = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
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
      await queue.add(name, data, { jobId: definition.jobId(data) });
    } catch (error) {
      throw new DependencyUnavailableError('redis', error);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
  }
}
