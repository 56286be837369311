import { z } from 'zod';

/**
 * The packet journal: one JSON line per step a packet took, appended and fsynced before the agent moves on, so
 * that after a crash or a power cut the agent knows exactly what the service has acknowledged. The rules here
 * are pure: the record shapes, and the replay that turns lines back into the packet's state.
 *
 * The order of writes is what makes it safe:
 * - `creating` before the packet is created, `created` (its id) right after; a crash between the two is
 *   repaired by adopting the station's open, empty packet with that ticket and service instead of creating
 *   another;
 * - a page or document line only after the service answered 2xx for it; a crash before the line only means the
 *   same bytes are sent again, which the service answers with 200 and stores nothing new;
 * - `submitted` after the submit's 202, then `moving` (where to) before the scans are moved, `moved` after.
 */

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** One upload: a whole file as one page, one page of a multi-page TIFF, or a document (whole or some pages). */
export const plannedItemSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('image'), file: z.string() }).strict(),
  z
    .object({
      kind: z.literal('tiff-page'),
      file: z.string(),
      /** 0-based page of the file. */
      page: z.number().int().min(0),
    })
    .strict(),
  z
    .object({
      kind: z.literal('document'),
      file: z.string(),
      mediaType: z.enum(['application/pdf', 'image/tiff']),
      /** How many pages the service will make of it. */
      pages: z.number().int().min(1),
      /** 0-based pages of the file this document keeps (a batch PDF cut by separators); absent: the whole file. */
      subset: z.array(z.number().int().min(0)).optional(),
    })
    .strict(),
]);
export type PlannedItem = z.infer<typeof plannedItemSchema>;

/** Pages of a batch file that a packet took (its separator sheets included), and the file's digest then. */
export const batchClaimSchema = z
  .object({
    file: z.string(),
    sha256,
    bytes: z.number().int().min(0),
    /** 0-based pages of the file this packet took. */
    pages: z.array(z.number().int().min(0)),
    /** How many pages the file has. */
    ofPages: z.number().int().min(1),
  })
  .strict();
export type BatchClaim = z.infer<typeof batchClaimSchema>;

export const packetSourceSchema = z.discriminatedUnion('kind', [
  /** A subfolder of the hot folder; `folder` is its name. Files are named relative to it. */
  z.object({ kind: z.literal('folder'), folder: z.string() }).strict(),
  /** Pages of the batch folder (absolute path); files are named relative to it. */
  z
    .object({
      kind: z.literal('batch'),
      dir: z.string(),
      claims: z.array(batchClaimSchema),
      separators: z.array(
        z.object({ file: z.string(), page: z.number().int().min(0), text: z.string() }).strict(),
      ),
      /** The READY file that closed this packet, moved along with it. */
      marker: z.string().optional(),
    })
    .strict(),
]);
export type PacketSource = z.infer<typeof packetSourceSchema>;

const storedPage = z.object({ n: z.number().int().min(1), sha256, bytes: z.number().int().min(0) }).strict();
export type StoredPage = z.infer<typeof storedPage>;

export const journalRecordSchema = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('opened'),
      at: z.string(),
      /** The packet's name in folders and messages: `<ticket>__<service>`, or the folder's own name. */
      name: z.string(),
      ticket: z.string(),
      service: z.string(),
      source: packetSourceSchema,
      items: z.array(plannedItemSchema),
      /** Why the packet was taken as complete (READY, idle, the next separator). */
      trigger: z.string(),
    })
    .strict(),
  z.object({ t: z.literal('creating'), at: z.string() }).strict(),
  z
    .object({
      t: z.literal('created'),
      at: z.string(),
      packetId: z.string(),
      trackingCode: z.string(),
      /** Found on the service after a crash between create and this line, rather than created now. */
      adopted: z.boolean().optional(),
    })
    .strict(),
  z.object({ t: z.literal('page'), item: z.number().int().min(0), ...storedPage.shape }).strict(),
  z
    .object({
      t: z.literal('document'),
      item: z.number().int().min(0),
      sha256,
      bytes: z.number().int().min(0),
      pages: z.array(storedPage),
    })
    .strict(),
  z.object({ t: z.literal('submitted'), at: z.string(), pages: z.number().int().min(1) }).strict(),
  z
    .object({ t: z.literal('failed'), at: z.string(), reason: z.string(), code: z.string().optional() })
    .strict(),
  z
    .object({
      t: z.literal('moving'),
      outcome: z.enum(['done', 'failed']),
      /** Destination folder, relative to the hot folder: `done/<name>` or `failed/<name>`. */
      to: z.string(),
    })
    .strict(),
  z.object({ t: z.literal('moved'), at: z.string() }).strict(),
]);
export type JournalRecord = z.infer<typeof journalRecordSchema>;
export type OpenedRecord = Extract<JournalRecord, { t: 'opened' }>;

export type ItemAck =
  | { kind: 'page'; page: StoredPage }
  | { kind: 'document'; sha256: string; bytes: number; pages: StoredPage[] };

export type PacketState = {
  opened: OpenedRecord;
  creatingAt?: string;
  created?: { packetId: string; trackingCode: string; adopted: boolean };
  /** Acknowledged uploads by item index. */
  acks: Map<number, ItemAck>;
  submitted?: { at: string; pages: number };
  failure?: { at: string; reason: string; code?: string };
  moving?: { outcome: 'done' | 'failed'; to: string };
  moved: boolean;
};

export class JournalCorrupt extends Error {}

/** Applies one record; throws JournalCorrupt on a record that cannot follow the state (never written so). */
export function applyRecord(state: PacketState | undefined, record: JournalRecord): PacketState {
  if (record.t === 'opened') {
    if (state) throw new JournalCorrupt('a second "opened" record');
    return { opened: record, acks: new Map(), moved: false };
  }
  if (!state) throw new JournalCorrupt(`"${record.t}" before "opened"`);
  switch (record.t) {
    case 'creating':
      return { ...state, creatingAt: record.at };
    case 'created':
      return {
        ...state,
        created: { packetId: record.packetId, trackingCode: record.trackingCode, adopted: !!record.adopted },
      };
    case 'page': {
      const { t: _t, item, ...page } = record;
      return { ...state, acks: new Map(state.acks).set(item, { kind: 'page', page }) };
    }
    case 'document': {
      const { t: _t, item, ...document } = record;
      return { ...state, acks: new Map(state.acks).set(item, { kind: 'document', ...document }) };
    }
    case 'submitted':
      return { ...state, submitted: { at: record.at, pages: record.pages } };
    case 'failed':
      return {
        ...state,
        failure: { at: record.at, reason: record.reason, ...(record.code ? { code: record.code } : {}) },
      };
    case 'moving':
      return { ...state, moving: { outcome: record.outcome, to: record.to } };
    case 'moved':
      return { ...state, moved: true };
  }
}

export type Replay = {
  state: PacketState;
  /**
   * Bytes of the text up to the end of the last whole record. A power cut can leave half a line at the end
   * (written, not yet fsynced); it is dropped, and the file is cut back to this length before the next append.
   */
  goodLength: number;
  tornTail: boolean;
};

/** Replays a journal's text. Only the last line may be torn; damage anywhere else is JournalCorrupt. */
export function replayJournal(text: string): Replay {
  let state: PacketState | undefined;
  let offset = 0;
  let goodLength = 0;
  let tornTail = false;
  while (offset < text.length) {
    const newline = text.indexOf('\n', offset);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(offset, end);
    const isLast = newline === -1 || newline === text.length - 1;
    let record: JournalRecord | undefined;
    try {
      record = journalRecordSchema.parse(JSON.parse(line));
    } catch {
      record = undefined;
    }
    // A record without its newline was cut short by the crash too, even when the JSON happens to parse.
    if (!record || newline === -1) {
      if (!isLast) throw new JournalCorrupt(`unreadable record at byte ${offset}`);
      tornTail = true;
      break;
    }
    state = applyRecord(state, record);
    offset = end + 1;
    goodLength = Buffer.byteLength(text.slice(0, offset));
  }
  if (!state) throw new JournalCorrupt('no "opened" record');
  return { state, goodLength, tornTail };
}

/** Every page the service acknowledged, in page order. */
export function storedPages(state: PacketState): StoredPage[] {
  const pages: StoredPage[] = [];
  for (const ack of state.acks.values()) {
    if (ack.kind === 'page') pages.push(ack.page);
    else pages.push(...ack.pages);
  }
  return pages.sort((a, b) => a.n - b.n);
}

/** The number the next single page gets: one past the highest acknowledged page. */
export const nextPageNumber = (state: PacketState) =>
  storedPages(state).reduce((highest, page) => Math.max(highest, page.n), 0) + 1;

/** Pages the plan will make: one per image or TIFF page, a document's page count. */
export const plannedPageCount = (items: PlannedItem[]) =>
  items.reduce((sum, item) => sum + (item.kind === 'document' ? item.pages : 1), 0);

/** What is left to do for a packet, in order. */
export type NextStep =
  | { step: 'create' }
  | { step: 'upload'; item: number }
  | { step: 'submit' }
  | { step: 'finish'; outcome: 'done' | 'failed' }
  | { step: 'none' };

export function nextStep(state: PacketState): NextStep {
  if (state.moved) return { step: 'none' };
  if (state.moving) return { step: 'finish', outcome: state.moving.outcome };
  if (state.failure) return { step: 'finish', outcome: 'failed' };
  if (state.submitted) return { step: 'finish', outcome: 'done' };
  if (!state.created) return { step: 'create' };
  const item = state.opened.items.findIndex((_, index) => !state.acks.has(index));
  if (item !== -1) return { step: 'upload', item };
  return { step: 'submit' };
}
