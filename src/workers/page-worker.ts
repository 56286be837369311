import { createHash } from 'node:crypto';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import { UnreadableImageError } from '../pipeline/normalize.js';
import { type PageEngines, type ProcessOptions, processPage } from '../pipeline/process-page.js';
import type { PacketRepository } from '../repositories/packet-repository.js';
import { ocrResultKey, processedPageKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { JOBS, type JobPayload, QUEUES } from './jobs.js';
import { bullPrefix } from './queues.js';

export type PageWorkerDeps = {
  connection: Redis;
  redisPrefix: string;
  packets: PacketRepository;
  store: ObjectStore;
  engines: PageEngines;
  metrics: Metrics;
  log: Logger;
  options: ProcessOptions & { concurrency: number };
};

export type PageJobOutcome = 'done' | 'skipped_stale' | 'skipped_done' | 'failed';

/**
 * Runs one `processPage` job. Idempotent: outputs go to keys derived from the original's hash, so a retry
 * overwrites them; a page that was rescanned meanwhile is skipped. Unreadable images fail for good (no retries)
 * and the station sees why; anything else is rethrown so BullMQ retries with backoff.
 */
export async function runPageJob(
  deps: Omit<PageWorkerDeps, 'connection' | 'redisPrefix'>,
  payload: JobPayload<'processPage'>,
): Promise<PageJobOutcome> {
  const { packets, store, engines, metrics, options } = deps;
  const { packetId, n, sha256, originalKey } = payload;
  const log = deps.log.child({ packetId, page: n });

  const claimed = await packets.updatePage(packetId, n, sha256, 'processing');
  if (claimed === 'stale') {
    log.info('page was replaced or deleted before processing; skipping');
    return 'skipped_stale';
  }
  if (claimed !== 'ok') {
    log.info({ status: claimed }, 'page already finished; skipping');
    return 'skipped_done';
  }

  const original = await store.get(originalKey);
  let result: Awaited<ReturnType<typeof processPage>>;
  try {
    result = await processPage(original, engines, options);
  } catch (error) {
    if (!(error instanceof UnreadableImageError)) throw error;
    const failure = `The scan cannot be read (${error.message}); please rescan page ${n}.`;
    await packets.updatePage(packetId, n, sha256, 'failed', { failure });
    metrics.pagesProcessed.inc({ outcome: 'failed' });
    log.warn({ reason: error.message }, 'page cannot be read');
    throw new UnrecoverableError(failure);
  }

  const processedKey = processedPageKey(packetId, n, sha256);
  const ocrKey = ocrResultKey(packetId, n, sha256);
  await store.put(processedKey, result.image, 'image/jpeg');
  await store.put(ocrKey, Buffer.from(JSON.stringify(result.ocr)), 'application/json');

  const { ms, ...summary } = result.summary;
  const recorded = await packets.updatePage(packetId, n, sha256, 'done', {
    processing: {
      ...summary,
      ms,
      processedKey,
      processedSha256: createHash('sha256').update(result.image).digest('hex'),
      processedBytes: result.image.length,
      ocrKey,
      finishedAt: new Date().toISOString(),
    },
  });
  if (recorded !== 'ok') {
    log.info({ outcome: recorded }, 'page changed while processing; result discarded');
    return recorded === 'stale' ? 'skipped_stale' : 'skipped_done';
  }
  // Counted only when the record changed, so a re-run after a crash does not count a page twice.
  metrics.pagesProcessed.inc({ outcome: 'done' });
  for (const [stage, value] of Object.entries(ms))
    metrics.pipelineStageDuration.observe({ stage }, value / 1000);
  if (summary.ocrConfidence !== null) metrics.ocrConfidence.observe(summary.ocrConfidence);
  log.info({ ...summary, ms }, 'page processed');
  return 'done';
}

/** The BullMQ side: consumes the pages queue with one job per OCR worker. */
export function startPageWorker(deps: PageWorkerDeps): Worker {
  const worker = new Worker(
    QUEUES.pages,
    async (job: Job) => {
      const parsed = JOBS.processPage.payload.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`invalid job payload: ${parsed.error.message}`);
      return runPageJob(deps, parsed.data);
    },
    {
      connection: deps.connection,
      prefix: bullPrefix(deps.redisPrefix),
      concurrency: deps.options.concurrency,
      // OCR runs in worker threads, so the event loop stays free to renew locks; a generous lock still helps on
      // an overloaded host.
      lockDuration: 60_000,
    },
  );
  worker.on('failed', (job, error) => {
    if (!job) return;
    const log = deps.log.child({ jobId: job.id, packetId: job.data?.packetId, page: job.data?.n });
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    log.warn({ err: error, attemptsMade: job.attemptsMade, final }, 'page job failed');
    if (!final || error instanceof UnrecoverableError) return;
    const payload = JOBS.processPage.payload.safeParse(job.data);
    if (!payload.success) return;
    const failure = `Processing failed ${job.attemptsMade} times (${error.message}); please rescan page ${payload.data.n}.`;
    deps.packets
      .updatePage(payload.data.packetId, payload.data.n, payload.data.sha256, 'failed', { failure })
      .then((outcome) => outcome === 'ok' && deps.metrics.pagesProcessed.inc({ outcome: 'failed' }))
      .catch((updateError: unknown) => log.error({ err: updateError }, 'could not mark the page failed'));
  });
  worker.on('error', (error) => deps.log.error({ err: error }, 'page worker error'));
  return worker;
}
