import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  appendLineDurably,
  ensureDirectory,
  renameDurably,
  truncateDurably,
  writeFileAtomically,
} from './durable-fs.js';
import {
  applyRecord,
  JournalCorrupt,
  type JournalRecord,
  type OpenedRecord,
  type PacketState,
  replayJournal,
} from './journal.js';

/** The journals of packets in progress, one file each, in `<hot folder>/.scan-office/journal/`. */
export class PacketJournal {
  private constructor(
    readonly file: string,
    private current: PacketState,
  ) {}

  get state(): PacketState {
    return this.current;
  }

  static async create(dir: string, opened: Omit<OpenedRecord, 't' | 'at'>): Promise<PacketJournal> {
    await ensureDirectory(dir);
    // Zero-padded time first, so that listing the folder gives the packets in the order they were opened.
    const name = `${String(Date.now()).padStart(15, '0')}-${randomBytes(4).toString('hex')}.jsonl`;
    const record: OpenedRecord = { t: 'opened', at: new Date().toISOString(), ...opened };
    const journal = new PacketJournal(path.join(dir, name), applyRecord(undefined, record));
    await appendLineDurably(journal.file, JSON.stringify(record));
    return journal;
  }

  /** Reads a journal back; a half-written last line (power cut) is cut off the file before anything is added. */
  static async load(file: string): Promise<PacketJournal> {
    const text = await readFile(file, 'utf8');
    let replay: ReturnType<typeof replayJournal>;
    try {
      replay = replayJournal(text);
    } catch (error) {
      // Never guess past a damaged journal: its packet could be sent twice. A person has to look.
      if (error instanceof JournalCorrupt)
        throw new JournalCorrupt(
          `the journal ${file} is damaged (${error.message}); move it out of the way only after checking its packet on the service`,
        );
      throw error;
    }
    if (replay.tornTail) await truncateDurably(file, replay.goodLength);
    return new PacketJournal(file, replay.state);
  }

  /** Appends a record durably, then applies it: the state never runs ahead of the disk. */
  async append(record: JournalRecord): Promise<void> {
    const next = applyRecord(this.current, record);
    await appendLineDurably(this.file, JSON.stringify(record));
    this.current = next;
  }

  /** Moves the journal out of the state folder (into the packet's done/ or failed/ folder) once it is finished. */
  async retireTo(file: string): Promise<void> {
    await renameDurably(this.file, file);
  }
}

/** Every journal in the folder, oldest first. */
export async function loadJournals(dir: string): Promise<PacketJournal[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const journals: PacketJournal[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.jsonl')).sort())
    journals.push(await PacketJournal.load(path.join(dir, name)));
  return journals;
}

/**
 * The counter behind batch tickets (`B-001`, …), kept next to the journals. The number is taken (written) before
 * the packet's journal exists: a crash in between skips a number, and never gives one twice.
 */
export class TicketCounter {
  constructor(private readonly file: string) {}

  async take(): Promise<number> {
    let next = 1;
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as { next?: unknown };
      if (typeof parsed.next === 'number' && Number.isInteger(parsed.next) && parsed.next > 0)
        next = parsed.next;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await ensureDirectory(path.dirname(this.file));
    await writeFileAtomically(this.file, `${JSON.stringify({ next: next + 1 })}\n`);
    return next;
  }
}
