import { createHash } from 'node:crypto';
import { type FinalFailure, type JobPayload, PermanentJobFailure } from '../domain/jobs.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import { UnreadableImageError } from '../pipeline/normalize.js';
import { type PageEngines, type ProcessOptions, processPage } from '../pipeline/process-page.js';
import { pageThumbnail } from '../pipeline/thumbnail.js';
import type { PacketRepository } from '../repositories/packet-repository.js';
import { ocrResultKey, pageThumbnailKey, processedPageKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PacketProgress } from './packet-progress.js';

export type PageProcessingDeps = {
  packets: Pick<PacketRepository, 'updatePage'>;
  store: ObjectStore;
  engines: PageEngines;
  metrics: Metrics;
  progress: PacketProgress;
  log: Logger;
  options: ProcessOptions;
};

export type PageJobOutcome = 'done' | 'skipped_stale' | 'skipped_done' | 'failed';

/**
 * One stored page through the pipeline. Idempotent: outputs go to keys derived from the original's hash, so a
 * retry overwrites them; a page that was rescanned meanwhile is skipped. Unreadable images fail for good
 * (PermanentJobFailure: no retries) and the station sees why; anything else is thrown so the job is retried.
 */
export class PageProcessing {
  constructor(private readonly deps: PageProcessingDeps) {}

  async process(payload: JobPayload<'processPage'>): Promise<PageJobOutcome> {
    const { packets, store, engines, metrics, options } = this.deps;
    const { packetId, n, sha256, originalKey } = payload;
    const log = this.deps.log.child({ packetId, page: n, run: payload.run });

    const claimed = await packets.updatePage(packetId, payload, 'processing');
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
      result = await processPage(original, engines, {
        ...options,
        ...(payload.dpi ? { dpi: payload.dpi } : {}),
      });
    } catch (error) {
      if (!(error instanceof UnreadableImageError)) throw error;
      const failure = `The scan cannot be read (${error.message}); please rescan page ${n}.`;
      await packets.updatePage(packetId, payload, 'failed', { failure });
      metrics.pagesProcessed.inc({ outcome: 'failed' });
      log.warn({ reason: error.message }, 'page cannot be read');
      await this.deps.progress.advance(packetId);
      throw new PermanentJobFailure(failure);
    }

    const { imageFormat } = result.summary;
    const processedKey = processedPageKey(packetId, n, sha256, imageFormat);
    const ocrKey = ocrResultKey(packetId, n, sha256);
    const thumbnailKey = pageThumbnailKey(packetId, n, sha256);
    await store.put(processedKey, result.image, imageFormat === 'png' ? 'image/png' : 'image/jpeg');
    await store.put(ocrKey, Buffer.from(JSON.stringify(result.ocr)), 'application/json');
    await store.put(
      thumbnailKey,
      await pageThumbnail(result.image, result.summary.imageTurnDeg),
      'image/jpeg',
    );

    const { ms, ...summary } = result.summary;
    const recorded = await packets.updatePage(packetId, payload, 'done', {
      processing: {
        ...summary,
        ms,
        processedKey,
        processedSha256: createHash('sha256').update(result.image).digest('hex'),
        processedBytes: result.image.length,
        ocrKey,
        thumbnailKey,
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
    await this.deps.progress.advance(packetId);
    return 'done';
  }

  /** After the last attempt: the page fails (unless the job recorded why already) and the packet moves on. */
  giveUp(payload: JobPayload<'processPage'>, last: FinalFailure): Promise<void> {
    return this.deps.progress.pageGaveUp(payload, last);
  }
}
