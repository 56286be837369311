import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ensureDirectory, renameDurably, writeFileAtomically } from './durable-fs.js';
import { inPageOrder, READY_MARKER, REASON_FILE, RECEIPT_FILE, scanKindOf } from './folder-rules.js';
import {
  type BatchClaim,
  nextPageNumber,
  nextStep,
  type PacketState,
  type PlannedItem,
  plannedPageCount,
  storedPages,
} from './journal.js';
import type { PacketJournal } from './journal-store.js';
import { formatBytes, formatSeconds, type Reporter } from './reporter.js';
import {
  documentBody,
  imageBody,
  pdfSubsetBody,
  tiffPageBody,
  UnusableScan,
  type UploadBody,
} from './scan-files.js';
import { PacketRefused, type PacketSummary, type StationApi } from './service-client.js';

export type RunnerContext = {
  hotFolder: string;
  api: StationApi;
  reporter: Reporter;
  /** Every journal the agent holds now (packets in progress, batch packets still holding pages of a file). */
  journals: () => readonly PacketJournal[];
};

/** The service's clock and the station's may differ; an orphan packet is looked for this far before the crash. */
const CLOCK_SLACK_MS = 10 * 60_000;

/** Where a packet's scans are now (before they are moved). */
export const sourceDirOf = (hotFolder: string, state: PacketState) =>
  state.opened.source.kind === 'folder'
    ? path.join(hotFolder, state.opened.source.folder)
    : state.opened.source.dir;

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

async function readScan(dir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(path.join(dir, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UnusableScan(`${file} disappeared from the folder before it was sent`);
    throw error;
  }
}

async function bodyOf(dir: string, item: PlannedItem): Promise<UploadBody> {
  const data = await readScan(dir, item.file);
  switch (item.kind) {
    case 'image':
      return imageBody(data, item.file);
    case 'tiff-page':
      return tiffPageBody(data, item.page, item.file);
    case 'document':
      return item.subset ? pdfSubsetBody(data, item.subset, item.file) : documentBody(data, item.mediaType);
  }
}

const describeItem = (item: PlannedItem) =>
  item.kind === 'tiff-page'
    ? `${item.file} page ${item.page + 1}`
    : item.kind === 'document' && item.subset
      ? `${item.file} pages ${item.subset.map((page) => page + 1).join(',')}`
      : item.file;

/**
 * Takes one packet from wherever its journal says it is to the end: opened on the service, every upload sent and
 * acknowledged, submitted, its scans moved to done/ (or failed/) with a receipt. Every step is journaled before
 * the next begins, so a killed agent resumes at the first step the journal does not show as done.
 * Throws only what stops the whole agent (StationRefused, GaveUp, Stopping, file system errors).
 */
export async function runPacket(journal: PacketJournal, context: RunnerContext): Promise<void> {
  const progress = { bytes: 0, ms: 0 };
  for (;;) {
    const step = nextStep(journal.state);
    if (step.step === 'none') return;
    if (step.step === 'finish') {
      await finish(journal, context, step.outcome);
      continue;
    }
    try {
      if (step.step === 'create') await openOnService(journal, context);
      else if (step.step === 'upload') await upload(journal, context, step.item, progress);
      else await submit(journal, context);
    } catch (error) {
      if (!(error instanceof PacketRefused || error instanceof UnusableScan)) throw error;
      const reason =
        error instanceof PacketRefused
          ? `the service refused it: ${error.status} ${error.code}: ${error.message}`
          : error.message;
      await journal.append({
        t: 'failed',
        at: new Date().toISOString(),
        reason,
        ...(error instanceof PacketRefused ? { code: error.code } : {}),
      });
    }
  }
}

async function openOnService(journal: PacketJournal, context: RunnerContext): Promise<void> {
  const { ticket, service, name } = journal.state.opened;
  // Resumed after a crash between "creating" and "created": the packet may exist; look before creating another.
  const resumed = journal.state.creatingAt !== undefined;
  if (!resumed) await journal.append({ t: 'creating', at: new Date().toISOString() });
  const creatingAt = Date.parse(journal.state.creatingAt!);
  // A packet created just before a crash (or whose answer was lost) is open, empty, and no journal names it.
  const findOrphan = async () => {
    const taken = new Set(context.journals().flatMap((other) => other.state.created?.packetId ?? []));
    const candidates = (await context.api.recentPackets()).filter(
      (packet: PacketSummary) =>
        packet.ticket === ticket &&
        packet.service === service &&
        packet.status === 'open' &&
        (packet.pageCount ?? 0) === 0 &&
        !taken.has(packet.id) &&
        Date.parse(packet.createdAt) >= creatingAt - CLOCK_SLACK_MS,
    );
    return candidates.sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
  };
  const orphan = resumed ? await findOrphan() : undefined;
  const created = orphan
    ? { id: orphan.id, trackingCode: orphan.trackingCode, adopted: true }
    : await context.api.createPacket(ticket, service, findOrphan);
  await journal.append({
    t: 'created',
    at: new Date().toISOString(),
    packetId: created.id,
    trackingCode: created.trackingCode,
    ...(created.adopted ? { adopted: true } : {}),
  });
  context.reporter.emit(
    'packet_created',
    created.adopted
      ? `found packet ${created.id} opened before the restart; tracking code ${created.trackingCode}`
      : `opened packet ${created.id}, tracking code ${created.trackingCode}`,
    { packet: name, packetId: created.id, trackingCode: created.trackingCode, adopted: created.adopted },
  );
}

async function upload(
  journal: PacketJournal,
  context: RunnerContext,
  index: number,
  progress: { bytes: number; ms: number },
): Promise<void> {
  const state = journal.state;
  const item = state.opened.items[index]!;
  const packetId = state.created!.packetId;
  const body = await bodyOf(sourceDirOf(context.hotFolder, state), item);
  const started = performance.now();
  let pages: number[];
  let alreadyStored: boolean;
  if (item.kind === 'document') {
    const answer = await context.api.postDocument(packetId, body.data, body.contentType);
    if (answer.document.sha256 !== body.sha256)
      throw new PacketRefused(0, 'digest_mismatch', `the service stored other bytes for ${item.file}`);
    await journal.append({
      t: 'document',
      item: index,
      sha256: answer.document.sha256,
      bytes: answer.document.bytes,
      pages: answer.pages.map(({ n, sha256, bytes }) => ({ n, sha256, bytes })),
    });
    pages = answer.pages.map((page) => page.n);
    alreadyStored = !answer.created;
  } else {
    const n = nextPageNumber(state);
    const answer = await context.api.putPage(packetId, n, body.data, body.contentType);
    if (answer.page.sha256 !== body.sha256)
      throw new PacketRefused(0, 'digest_mismatch', `the service stored other bytes as page ${n}`);
    await journal.append({ t: 'page', item: index, n, sha256: answer.page.sha256, bytes: answer.page.bytes });
    pages = [n];
    alreadyStored = !answer.created;
  }
  progress.bytes += body.data.length;
  progress.ms += performance.now() - started;
  const sent = storedPages(journal.state).length;
  const total = Math.max(sent, plannedPageCount(state.opened.items));
  const rate = progress.ms > 0 ? (progress.bytes / progress.ms) * 1000 : 0;
  const what = pages.length === 1 ? `page ${pages[0]}` : `pages ${pages[0]}–${pages.at(-1)}`;
  context.reporter.emit(
    item.kind === 'document' ? 'document_sent' : 'page_sent',
    `${what} sent (${describeItem(item)}, ${formatBytes(body.data.length)})${alreadyStored ? ', the service had it already' : ''} · ${sent}/${total} pages · ${formatBytes(progress.bytes)} in ${formatSeconds(progress.ms)} · ${formatBytes(Math.round(rate))}/s`,
    {
      packet: state.opened.name,
      packetId,
      pages,
      file: item.file,
      sent,
      total,
      bytes: body.data.length,
      sentBytes: progress.bytes,
      bytesPerSecond: Math.round(rate),
      alreadyStored,
    },
  );
}

async function submit(journal: PacketJournal, context: RunnerContext): Promise<void> {
  const state = journal.state;
  const pages = storedPages(state).length;
  if (pages === 0) throw new UnusableScan('the packet has no pages to send');
  const packetId = state.created!.packetId;
  await context.api.submit(packetId, pages);
  await journal.append({ t: 'submitted', at: new Date().toISOString(), pages });
  context.reporter.emit('packet_submitted', `submitted with ${pages} pages`, {
    packet: state.opened.name,
    packetId,
    pages,
  });
}

/** The receipt: what the citizen's packet is on the service, and which file became which page. */
export function receiptOf(state: PacketState, serviceUrl: string, notSent: string[] = []) {
  const { opened } = state;
  const pages = [...state.acks.entries()].flatMap(([index, ack]) => {
    const item = opened.items[index]!;
    const from = {
      file: item.file,
      ...(item.kind === 'tiff-page' ? { filePage: item.page + 1 } : {}),
    };
    if (ack.kind === 'page') return [{ ...ack.page, ...from }];
    return ack.pages.map((page, i) => ({
      ...page,
      file: item.file,
      filePage: (item.kind === 'document' && item.subset ? item.subset[i]! : i) + 1,
    }));
  });
  const documents = [...state.acks.entries()].flatMap(([index, ack]) =>
    ack.kind === 'document'
      ? [
          {
            file: opened.items[index]!.file,
            sha256: ack.sha256,
            bytes: ack.bytes,
            pages: ack.pages.map((page) => page.n),
          },
        ]
      : [],
  );
  return {
    packet: opened.name,
    ticket: opened.ticket,
    service: opened.service,
    packetId: state.created?.packetId,
    trackingCode: state.created?.trackingCode,
    serviceUrl,
    submittedAt: state.submitted?.at,
    pages: pages.sort((a, b) => a.n - b.n),
    documents,
    ...(notSent.length > 0 ? { notSent } : {}),
    ...(opened.source.kind === 'batch'
      ? {
          batch: {
            separators: opened.source.separators,
            files: opened.source.claims.map(({ file, sha256, pages: claimed, ofPages }) => ({
              file,
              sha256,
              pages: claimed.map((page) => page + 1),
              ofPages,
            })),
          },
        }
      : {}),
  };
}

function reasonText(state: PacketState): string {
  const lines = [
    state.failure?.reason ?? 'failed',
    '',
    `packet: ${state.opened.name} (ticket ${state.opened.ticket}, service ${state.opened.service})`,
    `failed at: ${state.failure?.at ?? ''}`,
  ];
  if (state.created)
    lines.push(
      `on the service: packet ${state.created.packetId} (tracking code ${state.created.trackingCode}), left open with ${storedPages(state).length} pages`,
    );
  lines.push(
    '',
    'Nothing here was deleted. Fix the cause, then move this folder back into the hot folder to send it again.',
  );
  return `${lines.join('\n')}\n`;
}

/** Scans in a packet folder that are not in its plan: they arrived after the packet was taken as complete. */
async function lateScans(dir: string, state: PacketState): Promise<string[]> {
  const planned = new Set(state.opened.items.map((item) => item.file));
  const names = await readdir(dir).catch(() => [] as string[]);
  return inPageOrder(names.filter((name) => scanKindOf(name) && !planned.has(name)));
}

/** `done/A-017__land` or, when that exists (the same ticket another day), `done/A-017__land~2`, … */
async function freeDestination(hotFolder: string, outcome: 'done' | 'failed', name: string): Promise<string> {
  for (let i = 1; ; i++) {
    const candidate = path.join(outcome, i === 1 ? name : `${name}~${i}`);
    if (!(await exists(path.join(hotFolder, candidate)))) return candidate;
  }
}

/**
 * Pages of a batch file that packets have taken, across every journal the agent holds. A file is moved out of
 * the batch folder only when all its pages are taken, by the last packet that takes any.
 */
function takenPages(journals: readonly PacketJournal[], claim: BatchClaim): Set<number> {
  const taken = new Set<number>();
  for (const other of journals) {
    const source = other.state.opened.source;
    if (source.kind !== 'batch') continue;
    for (const c of source.claims)
      if (c.file === claim.file && c.sha256 === claim.sha256) for (const page of c.pages) taken.add(page);
  }
  return taken;
}

async function finish(
  journal: PacketJournal,
  context: RunnerContext,
  outcome: 'done' | 'failed',
): Promise<void> {
  const { hotFolder, reporter } = context;
  if (!journal.state.moving) {
    const to = await freeDestination(hotFolder, outcome, journal.state.opened.name);
    await journal.append({ t: 'moving', outcome, to });
  }
  const state = journal.state;
  const destination = path.join(hotFolder, state.moving!.to);
  const source = state.opened.source;
  const sourceDir = sourceDirOf(hotFolder, state);
  const notSent = outcome === 'done' && source.kind === 'folder' ? await lateScans(sourceDir, state) : [];
  if (notSent.length > 0)
    reporter.emit(
      'warning',
      `${notSent.join(', ')} came after the packet was complete and were not sent; they move to ${state.moving!.to} with it — scan them into a new packet`,
      { packet: state.opened.name, files: notSent },
    );
  const note =
    outcome === 'done'
      ? {
          file: RECEIPT_FILE,
          text: `${JSON.stringify(receiptOf(state, context.api.baseUrl, notSent), null, 2)}\n`,
        }
      : { file: REASON_FILE, text: reasonText(state) };
  if (source.kind === 'folder') {
    // The note goes into the folder first, so that the folder arrives in done/ with it in one rename.
    if (await exists(sourceDir)) {
      await writeFileAtomically(path.join(sourceDir, note.file), note.text);
      await renameDurably(sourceDir, destination);
    } else {
      // Moved already (the crash came after the rename), or taken away by someone: the note goes where it is.
      await ensureDirectory(destination);
      await writeFileAtomically(path.join(destination, note.file), note.text);
    }
  } else {
    await ensureDirectory(destination);
    await writeFileAtomically(path.join(destination, note.file), note.text);
    const journals = context.journals().includes(journal)
      ? context.journals()
      : [...context.journals(), journal];
    for (const claim of source.claims) {
      if (takenPages(journals, claim).size < claim.ofPages) continue;
      const from = path.join(sourceDir, claim.file);
      if (await exists(from)) await renameDurably(from, path.join(destination, claim.file));
    }
    if (source.marker && (await exists(path.join(sourceDir, source.marker))))
      await renameDurably(path.join(sourceDir, source.marker), path.join(destination, READY_MARKER));
  }
  await journal.append({ t: 'moved', at: new Date().toISOString() });
  if (outcome === 'done')
    reporter.emit(
      'packet_done',
      `done: tracking code ${state.created?.trackingCode} (${storedPages(state).length} pages); scans in ${state.moving!.to}`,
      {
        packet: state.opened.name,
        packetId: state.created?.packetId,
        trackingCode: state.created?.trackingCode,
        pages: storedPages(state).length,
        folder: state.moving!.to,
      },
    );
  else
    reporter.emit('packet_failed', `FAILED: ${state.failure?.reason}; scans in ${state.moving!.to}`, {
      packet: state.opened.name,
      packetId: state.created?.packetId,
      reason: state.failure?.reason,
      code: state.failure?.code,
      folder: state.moving!.to,
    });
}
