import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchFolder, type CompleteBatchPacket } from './batch-folder.js';
import { chooseBatchIdentity, counterTicket, separatorText } from './batch-rules.js';
import { ensureDirectory } from './durable-fs.js';
import { packetFolderName, packetIdentitySchema, RESERVED, scanKindOf } from './folder-rules.js';
import { type PlannedItem, plannedPageCount } from './journal.js';
import { loadJournals, PacketJournal, TicketCounter } from './journal-store.js';
import { type CompleteFolder, PacketFolders } from './packet-folders.js';
import { type RunnerContext, runPacket } from './packet-runner.js';
import { planUploads, runsOf, type ScanRun } from './planning.js';
import { formatSeconds, type Reporter } from './reporter.js';
import type { BackoffPolicy } from './retry-rules.js';
import { pdfPageCount, tiffPageCount, UnusableScan } from './scan-files.js';
import { ServiceClient, StationApi, Stopping } from './service-client.js';
import { StabilityWatch } from './stability.js';

export type AgentSettings = {
  url: string;
  token: string;
  /** Absolute path of the hot folder. */
  hotFolder: string;
  /** Absolute path of the batch folder (default: `<hot folder>/batch`). */
  batchDir: string;
  settleMs: number;
  /** 0: packets are sent only on READY. */
  idleMs: number;
  batchService?: string;
  batchTicketPrefix: string;
  backoff: BackoffPolicy;
  giveUpAfterMs?: number;
  requestTimeoutMs: number;
  /** How often the folders are looked at when there is nothing to do. */
  pollMs: number;
};

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Where the journal of a finished packet ends up, next to its scans and receipt. */
const RETIRED_JOURNAL = 'station-journal.jsonl';
/** How long the answer to "does the service take whole documents?" is trusted. */
const CAPABILITY_TTL_MS = 60_000;

/**
 * The station agent: watches the hot folder, and sends each complete packet in turn, resuming first whatever a
 * journal shows as unfinished. Returns when `stop` is aborted; throws StationRefused (token refused) or GaveUp
 * (the configured retry limit ran out), with every journal and scan left in place.
 */
export async function runAgent(
  settings: AgentSettings,
  reporter: Reporter,
  stop: AbortSignal,
): Promise<void> {
  const { hotFolder } = settings;
  const stateDir = path.join(hotFolder, RESERVED.state);
  const journalDir = path.join(stateDir, 'journal');
  await ensureDirectory(journalDir);
  await ensureDirectory(settings.batchDir);

  let currentPacket: string | undefined;
  const client = new ServiceClient({
    baseUrl: settings.url,
    token: settings.token,
    backoff: settings.backoff,
    ...(settings.giveUpAfterMs !== undefined ? { giveUpAfterMs: settings.giveUpAfterMs } : {}),
    requestTimeoutMs: settings.requestTimeoutMs,
    stop,
    events: {
      waiting: ({ what, attempt, waitMs, problem }) =>
        reporter.emit(
          'waiting_for_service',
          `${what}: ${problem}; trying again in ${formatSeconds(waitMs)} (attempt ${attempt})`,
          { ...(currentPacket ? { packet: currentPacket } : {}), what, attempt, waitMs, problem },
        ),
      recovered: ({ what, attempts, downMs }) =>
        reporter.emit(
          'service_back',
          `${what}: the service answers again (after ${attempts} attempts, ${formatSeconds(downMs)})`,
          { ...(currentPacket ? { packet: currentPacket } : {}), what, attempts, downMs },
        ),
    },
  });
  const api = new StationApi(client, settings.url);
  let journals: PacketJournal[] = [];
  const context: RunnerContext = { hotFolder, api, reporter, journals: () => journals };
  const watch = new StabilityWatch();
  const timing = { settleMs: settings.settleMs, idleMs: settings.idleMs };
  const folders = new PacketFolders(hotFolder, watch, timing, reporter);
  const batch = new BatchFolder(settings.batchDir, watch, timing, reporter, stateDir);
  const counter = new TicketCounter(path.join(stateDir, 'batch-counter.json'));

  let capability: { value: boolean; at: number } | undefined;
  const takesDocuments = async () => {
    if (!capability || Date.now() - capability.at > CAPABILITY_TTL_MS)
      capability = { value: await api.takesDocuments(), at: Date.now() };
    return capability.value;
  };

  const planFolder = async (found: CompleteFolder): Promise<{ items: PlannedItem[]; problem?: string }> => {
    if (found.problem) return { items: [], problem: found.problem };
    const dir = path.join(hotFolder, found.folder);
    const runs: ScanRun[] = [];
    try {
      for (const file of found.scans) {
        const kind = scanKindOf(file)!;
        const pageCount =
          kind === 'image'
            ? 1
            : kind === 'tiff'
              ? await tiffPageCount(await readFile(path.join(dir, file)), file)
              : await pdfPageCount(await readFile(path.join(dir, file)), file);
        runs.push({ file, kind, pageCount, pages: Array.from({ length: pageCount }, (_, i) => i) });
      }
    } catch (error) {
      if (error instanceof UnusableScan) return { items: [], problem: error.message };
      throw error;
    }
    const needsDocuments = runs.some(
      (run) => run.kind === 'pdf' || (run.kind === 'tiff' && run.pageCount > 1),
    );
    const plan = planUploads(runs, needsDocuments && (await takesDocuments()));
    return plan.ok ? { items: plan.items } : { items: [], problem: plan.reason };
  };

  const openFolderPacket = async (found: CompleteFolder) => {
    const { items, problem } = await planFolder(found);
    const journal = await PacketJournal.create(journalDir, {
      name: found.folder,
      ticket: found.identity?.ticket ?? '',
      service: found.identity?.service ?? '',
      source: { kind: 'folder', folder: found.folder },
      items,
      trigger: found.trigger,
    });
    reporter.emit(
      'packet_ready',
      `${found.trigger === 'READY' ? 'marked READY' : `idle for ${formatSeconds(settings.idleMs)}`}: ${count(plannedPageCount(items), 'page')} in ${count(found.scans.length, 'file')}`,
      { packet: found.folder, trigger: found.trigger, files: found.scans, pages: plannedPageCount(items) },
    );
    if (problem) await journal.append({ t: 'failed', at: new Date().toISOString(), reason: problem });
    folders.forget(found.folder);
  };

  const openBatchPacket = async (found: CompleteBatchPacket) => {
    const code = found.separator?.code;
    let problem: string | undefined;
    let ticket = code?.ticket ?? '';
    let service = code?.service ?? settings.batchService ?? '';
    let items: PlannedItem[] = [];
    const firstFile = found.separator?.file ?? found.pages[0]!.file;
    if (found.pages.length === 0) {
      problem = `separator sheet ${found.separator!.file} is followed directly by another separator sheet: no pages between them`;
    } else {
      const choice = chooseBatchIdentity(code, settings.batchService);
      if (!choice.ok) problem = choice.reason;
      else {
        service = choice.service;
        ticket = choice.ticket ?? counterTicket(settings.batchTicketPrefix, await counter.take());
        const identity = packetIdentitySchema.safeParse({ ticket, service });
        if (!identity.success)
          problem = `the separator sheet's ticket "${ticket}" or service "${service}" is not valid: ${identity.error.issues.map((issue) => issue.message).join('; ')}`;
      }
      const runs = runsOf(found.pages, (file) => found.facts.get(file)!);
      const needsDocuments = runs.some(
        (run) => run.kind === 'pdf' || (run.kind === 'tiff' && run.pageCount > 1),
      );
      const plan = planUploads(runs, needsDocuments && (await takesDocuments()));
      if (plan.ok) items = plan.items;
      else problem ??= plan.reason;
    }
    const name =
      ticket && service && !problem
        ? packetFolderName({ ticket, service })
        : `batch-${firstFile.replace(/\.[^.]*$/, '')}`;
    const journal = await PacketJournal.create(journalDir, {
      name,
      ticket,
      service,
      source: {
        kind: 'batch',
        dir: settings.batchDir,
        claims: found.claims,
        separators: found.separator
          ? [
              {
                file: found.separator.file,
                page: found.separator.page,
                text: separatorText(found.separator.code),
              },
            ]
          : [],
        ...(found.marker ? { marker: found.marker } : {}),
      },
      items,
      trigger: found.trigger,
    });
    const files = [...new Set(found.pages.map((page) => page.file))];
    reporter.emit(
      'packet_ready',
      `${found.trigger === 'separator' ? 'next separator sheet found' : found.trigger === 'READY' ? 'batch marked READY' : `batch idle for ${formatSeconds(settings.idleMs)}`}: ${count(found.pages.length, 'page')} from ${count(files.length, 'file')}`,
      { packet: name, trigger: found.trigger, files, pages: found.pages.length, batch: true },
    );
    if (problem) await journal.append({ t: 'failed', at: new Date().toISOString(), reason: problem });
  };

  /** Finished journals go next to their scans; a batch packet's only once no file it took pages of is left. */
  const retireFinished = async () => {
    for (const journal of journals) {
      if (!journal.state.moved) continue;
      if (await batch.holdsFilesHere(journal)) continue;
      const destination = path.join(hotFolder, journal.state.moving!.to);
      await ensureDirectory(destination);
      await journal.retireTo(path.join(destination, RETIRED_JOURNAL));
    }
  };

  try {
    // The token is checked before anything else (waiting through an outage); a refused token stops here.
    await api.recentPackets('connecting to the service');
    reporter.emit(
      'started',
      `watching ${hotFolder} (batch: ${settings.batchDir}); sending to ${settings.url}; settle ${formatSeconds(settings.settleMs)}, idle ${settings.idleMs > 0 ? formatSeconds(settings.idleMs) : 'off (READY only)'}`,
      { hotFolder, batchDir: settings.batchDir, url: settings.url },
    );
    for (let first = true; !stop.aborted; first = false) {
      journals = await loadJournals(journalDir);
      if (first)
        for (const journal of journals.filter((j) => !j.state.moved)) {
          reporter.emit(
            'resuming',
            `resuming after a restart: ${journal.state.created ? `packet ${journal.state.created.packetId}, ${journal.state.acks.size} of ${journal.state.opened.items.length} uploads acknowledged` : 'not opened on the service yet'}`,
            {
              packet: journal.state.opened.name,
              ...(journal.state.created ? { packetId: journal.state.created.packetId } : {}),
              acknowledged: journal.state.acks.size,
              uploads: journal.state.opened.items.length,
            },
          );
        }
      const unfinished = journals.find((journal) => !journal.state.moved);
      if (unfinished) {
        currentPacket = unfinished.state.opened.name;
        try {
          await runPacket(unfinished, context);
        } finally {
          currentPacket = undefined;
        }
        await retireFinished();
        continue;
      }
      await retireFinished();

      const now = Date.now();
      const [folder] = await folders.scan(now, new Set());
      if (folder) {
        await openFolderPacket(folder);
        continue;
      }
      const batchPacket = await batch.scan(now, journals);
      if (batchPacket) {
        await openBatchPacket(batchPacket);
        continue;
      }
      await sleep(settings.pollMs, undefined, { signal: stop }).catch(() => undefined);
    }
  } catch (error) {
    if (!(error instanceof Stopping)) throw error;
  }
  reporter.emit('stopped', 'stopped; whatever was in progress resumes at the next start');
}
