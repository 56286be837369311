import {
  JOBS,
  type JobName,
  type JobPayload,
  type JobQueue,
  type JobState,
} from '../../../src/domain/jobs.js';

/** Records what was enqueued, de-duplicated by job id as BullMQ does while a job exists. */
export class MemoryJobQueue implements JobQueue {
  readonly jobs = new Map<string, { name: JobName; payload: unknown }>();
  /** Ids of jobs that ran to their end (as a worker would have finished them). */
  readonly finished = new Set<string>();

  async state<N extends JobName>(name: N, payload: JobPayload<N>): Promise<JobState> {
    const id = JOBS[name].jobId(payload as never);
    if (!this.jobs.has(id)) return 'missing';
    return this.finished.has(id) ? 'finished' : 'live';
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>): Promise<void> {
    const data = JOBS[name].payload.parse(payload);
    const id = JOBS[name].jobId(data as never);
    if (!this.jobs.has(id)) this.jobs.set(id, { name, payload: data });
  }

  named<N extends JobName>(name: N): JobPayload<N>[] {
    return [...this.jobs.values()]
      .filter((job) => job.name === name)
      .map((job) => job.payload as JobPayload<N>);
  }
}
