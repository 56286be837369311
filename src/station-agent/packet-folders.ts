import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  inPageOrder,
  mayBePacketFolder,
  PACKET_FILE,
  type PacketIdentity,
  parsePacketFile,
  parsePacketFolderName,
  scanKindOf,
} from './folder-rules.js';
import type { Reporter } from './reporter.js';
import type { FileStat, StabilityWatch } from './stability.js';

/** `READY`, and the `READY.txt` a text editor makes of it. */
export const isReadyMarker = (name: string) => /^ready(\.txt)?$/i.test(name);

export type Timing = { settleMs: number; idleMs: number };

/** A packet folder whose scans are complete and stable: ready to be planned and sent. */
export type CompleteFolder = {
  folder: string;
  /** Absent when the folder can only fail (`problem`). */
  identity?: PacketIdentity;
  problem?: string;
  trigger: 'READY' | 'idle';
  /** Scan files in page order. */
  scans: string[];
  /** When this process first saw it complete: packets are sent in this order. */
  completeSince: number;
};

export async function listDirectory(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    // A folder moved away between the listing and now.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** size and mtime of each file; files gone meanwhile are left out. */
export async function statFiles(dir: string, names: string[]): Promise<Map<string, FileStat>> {
  const stats = new Map<string, FileStat>();
  for (const name of names) {
    try {
      const info = await stat(path.join(dir, name));
      stats.set(name, { size: info.size, mtimeMs: info.mtimeMs });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return stats;
}

/** The packet subfolders of the hot folder: which are complete (READY or idle) with every scan stable. */
export class PacketFolders {
  private readonly warned = new Set<string>();
  private readonly completeSince = new Map<string, number>();

  constructor(
    private readonly hotFolder: string,
    private readonly watch: StabilityWatch,
    private readonly timing: Timing,
    private readonly reporter: Reporter,
  ) {}

  private warnOnce(key: string, message: string, fields: Record<string, unknown> = {}) {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.reporter.emit('warning', message, fields);
  }

  /** Complete folders, oldest first; `busy` names folders a journal already holds. */
  async scan(now: number, busy: ReadonlySet<string>): Promise<CompleteFolder[]> {
    const complete: CompleteFolder[] = [];
    const seen = new Set<string>();
    for (const entry of await listDirectory(this.hotFolder)) {
      if (!entry.isDirectory() || !mayBePacketFolder(entry.name) || busy.has(entry.name)) continue;
      seen.add(entry.name);
      const found = await this.inspect(entry.name, now);
      if (found) complete.push(found);
    }
    for (const folder of [...this.completeSince.keys()])
      if (!seen.has(folder)) this.completeSince.delete(folder);
    return complete.sort((a, b) => a.completeSince - b.completeSince || (a.folder < b.folder ? -1 : 1));
  }

  /** Forgets what was observed of a folder that has been moved away. */
  forget(folder: string) {
    this.watch.forget(`folder:${folder}`);
    this.completeSince.delete(folder);
  }

  private async inspect(folder: string, now: number): Promise<CompleteFolder | undefined> {
    const dir = path.join(this.hotFolder, folder);
    const entries = await listDirectory(dir);
    const files = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
    for (const entry of entries)
      if (entry.isDirectory())
        this.warnOnce(
          `${folder}/${entry.name}/`,
          `${folder}/${entry.name} is a folder inside a packet; it is not sent`,
          {
            packet: folder,
          },
        );
    const stats = await statFiles(dir, files);
    const group = `folder:${folder}`;
    this.watch.observe(group, new Map([...stats].map(([name, info]) => [path.join(dir, name), info])), now);
    const stable = (name: string) => this.watch.isStable(path.join(dir, name), now, this.timing.settleMs);

    const hasPacketFile = stats.has(PACKET_FILE);
    let identity: PacketIdentity | undefined;
    let problem: string | undefined;
    if (hasPacketFile) {
      if (!stable(PACKET_FILE)) return undefined;
      const verdict = parsePacketFile(await readFile(path.join(dir, PACKET_FILE), 'utf8'));
      if (verdict.ok) identity = verdict.identity;
      else problem = verdict.reason;
    } else {
      identity = parsePacketFolderName(folder);
      if (!identity) {
        this.warnOnce(
          `name:${folder}`,
          `${folder} is not a packet folder: name it <ticket>__<service> (A-017__land-registration) or put a ${PACKET_FILE} in it`,
          { folder },
        );
        return undefined;
      }
    }

    const names = [...stats.keys()];
    const marker = names.find(isReadyMarker);
    const scans = inPageOrder(names.filter((name) => scanKindOf(name)));
    const everythingStable = [...scans, ...(marker ? [marker] : [])].every(stable);
    const idle = this.timing.idleMs > 0 && this.watch.idleMs(group, now) >= this.timing.idleMs;
    if (!everythingStable || !(marker || idle) || (scans.length === 0 && !marker)) {
      this.completeSince.delete(folder);
      return undefined;
    }
    if (scans.length === 0) problem ??= `${marker} is there but no scan is (images, TIFF or PDF)`;
    const since = this.completeSince.get(folder) ?? now;
    this.completeSince.set(folder, since);
    return {
      folder,
      ...(identity ? { identity } : {}),
      ...(problem ? { problem } : {}),
      trigger: marker ? 'READY' : 'idle',
      scans,
      completeSince: since,
    };
  }
}
