import type { JobQueue } from '../domain/jobs.js';
import type { Packet, Page } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { PacketRepository, Repair } from '../repositories/packet-repository.js';
import type { RegistrarRepository } from '../repositories/registrar-repository.js';
import { type PacketProgress, pageJobOf } from './packet-progress.js';

export type ReconcilerDeps = {
  packets: PacketRepository;
  registrars: Pick<RegistrarRepository, 'get'>;
  jobs: JobQueue;
  progress: PacketProgress;
  metrics: Metrics;
  log: Logger;
  /** Work younger than this may have its job on the way (an upload between its record and its enqueue). */
  graceMs: number;
  retryWindowMs: number;
};

/** Active packets read per Redis round. */
const BATCH = 200;

const PAGE_IN_WORK = ['stored', 'processing'] as const;
const WAITING_FOR_PDF: Packet['status'][] = ['submitted', 'processing'];

/**
 * Finds packets left without a way forward and re-drives them: pages waiting for a job that no longer exists (its
 * enqueue failed, it stalled out, it was removed), submitted packets whose bundle job was lost, ready packets missing
 * from the ready queue, packets held by a registrar who is away or removed. Safe to run in any number of processes
 * at once: every repair is a compare-and-set on the state it read, so of two reconcilers one repairs and the other
 * finds nothing to do. Past the retry window a lost job is not re-driven: the page or packet fails with a retry path.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcileOnce(now = Date.now()): Promise<Array<Repair & { packetId: string }>> {
    const repairs: Array<Repair & { packetId: string }> = [];
    for (let offset = 0; ; offset += BATCH) {
      const ids = await this.deps.packets.activePacketIds(offset, BATCH);
      for (const id of ids) {
        const packet = await this.deps.packets.get(id);
        if (!packet) continue;
        for (const [kind, detail] of await this.reconcile(packet, now)) {
          const repair = { at: new Date(now).toISOString(), kind, detail };
          await this.deps.packets.recordRepair(id, repair);
          this.deps.metrics.reconciled.inc({ kind });
          this.deps.log.warn({ packetId: id, kind, detail }, 'reconciler repaired a packet');
          repairs.push({ ...repair, packetId: id });
        }
      }
      if (ids.length < BATCH) return repairs;
    }
  }

  private async reconcile(packet: Packet, now: number): Promise<Array<[string, string]>> {
    switch (packet.status) {
      case 'open':
        return this.pages(packet, now);
      case 'submitted':
      case 'processing':
        return [...(await this.pages(packet, now)), ...(await this.bundle(packet, now))];
      case 'ready':
        return (await this.deps.packets.requeueReady(packet.id))
          ? [['ready_requeued', 'the ready packet was missing from the ready queue']]
          : [];
      case 'assigned':
        return this.absentHolder(packet);
      default:
        return [];
    }
  }

  /** Pages stored or in processing whose run has no live job. */
  private async pages(packet: Packet, now: number): Promise<Array<[string, string]>> {
    const { packets, jobs, progress, retryWindowMs, graceMs } = this.deps;
    const repairs: Array<[string, string]> = [];
    for (const page of await packets.listPages(packet.id)) {
      if (!(PAGE_IN_WORK as readonly string[]).includes(page.status)) continue;
      const job = pageJobOf(packet.id, page, retryWindowMs);
      const state = await jobs.state('processPage', job);
      if (state === 'live' || (state === 'missing' && now - runStart(page) < graceMs)) continue;
      const lost = state === 'missing' ? 'had no job' : 'had a job that ended without a result';
      if (now > job.retryUntil) {
        await progress.pageGaveUp(job, { message: `its job was lost`, attempts: 0, permanent: false });
        repairs.push(['page_failed', `page ${page.n}: run ${page.run} ${lost}, past the retry window`]);
        continue;
      }
      const requeued = await packets.requeuePage(packet.id, page, [...PAGE_IN_WORK], { newWindow: false });
      if (!requeued) continue;
      await progress.queuePage(packet.id, requeued);
      repairs.push([
        'page_requeued',
        `page ${page.n}: run ${page.run} ${lost}; queued again as run ${requeued.run}`,
      ]);
    }
    return repairs;
  }

  /** A submitted packet that should be failing, or whose pages are all done, with no live bundle job. */
  private async bundle(packet: Packet, now: number): Promise<Array<[string, string]>> {
    const { packets, jobs, progress, graceMs } = this.deps;
    const pages = (await packets.listPages(packet.id)).filter((page) => page.n <= (packet.pageCount ?? 0));
    if (packet.status === 'submitted' && pages.some((page) => page.status === 'failed')) {
      await progress.advance(packet.id);
      return (await packets.get(packet.id))?.status === 'failed'
        ? [['packet_failed', 'a failed page had not yet failed the packet']]
        : [];
    }
    const job = await progress.bundleJobOf(packet.id);
    if (!job) return [];
    const state = await jobs.state('bundlePacket', job);
    const lastActivity = Math.max(
      Date.parse(packet.bundleQueuedAt ?? packet.submittedAt ?? packet.createdAt),
      Date.parse(packet.bundleRunAt ?? packet.createdAt),
      ...pages.map((page) => Date.parse(page.processing?.finishedAt ?? page.storedAt)),
    );
    if (state === 'live' || (state === 'missing' && now - lastActivity < graceMs)) return [];
    if (now > job.retryUntil) {
      await progress.bundleGaveUp(packet.id, {
        message: 'its bundle job was lost',
        attempts: 0,
        permanent: false,
      });
      return [['bundle_failed', `bundle run ${job.run} was lost, past the retry window`]];
    }
    // A new run, by compare-and-set: of several reconcilers one starts it, and the others find it started.
    if (!(await packets.requeueBundle(packet.id, job.run, WAITING_FOR_PDF))) return [];
    await progress.queueBundle(packet.id);
    return [
      [
        'bundle_requeued',
        `bundle run ${job.run} ${state === 'missing' ? 'had no job' : 'ended without a PDF'}`,
      ],
    ];
  }

  /** A packet held by a registrar who is away or removed goes back for a new draw without him. */
  private async absentHolder(packet: Packet): Promise<Array<[string, string]>> {
    const holder = await this.deps.registrars.get(packet.registrarId!);
    if (holder?.status !== 'away' && holder?.status !== 'removed') return [];
    const { outcome } = await this.deps.packets.release(
      packet.id,
      holder.id,
      packet.drawSeq ?? 0,
      holder.status,
      holder.status,
    );
    return outcome === 'ok' ? [['released', `its registrar ${holder.id} is ${holder.status}`]] : [];
  }
}

const runStart = (page: Page) => Date.parse(page.runAt ?? page.storedAt);
