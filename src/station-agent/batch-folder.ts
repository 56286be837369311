import type { Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { type SeparatorCode, type StreamPage, splitBatch } from './batch-rules.js';
import { renameDurably } from './durable-fs.js';
import { inPageOrder, type ScanKind, scanKindOf } from './folder-rules.js';
import type { BatchClaim } from './journal.js';
import type { PacketJournal } from './journal-store.js';
import { isReadyMarker, listDirectory, statFiles, type Timing } from './packet-folders.js';
import type { Reporter } from './reporter.js';
import { pdfPageImages, sha256Of, tiffPageCount } from './scan-files.js';
import { findSeparator } from './separator-sheet.js';
import type { StabilityWatch } from './stability.js';

/** What the agent learned of one batch file (kept while its size and mtime stay the same). */
export type BatchFileFacts = {
  name: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  kind: ScanKind;
  pageCount: number;
  /** Per page: the separator it shows, or undefined for a page of a packet. */
  separators: Array<SeparatorCode | undefined>;
};

export type BatchPage = { file: string; page: number };

/** The next batch packet whose pages are all there: the first segment of unclaimed pages that is closed. */
export type CompleteBatchPacket = {
  trigger: 'separator' | 'READY' | 'idle';
  separator?: { file: string; page: number; code: SeparatorCode };
  pages: BatchPage[];
  claims: BatchClaim[];
  /** The READY file that closed it, to move along with it. */
  marker?: string;
  facts: ReadonlyMap<string, BatchFileFacts>;
};

const claimKey = (file: string, sha256: string) => `${file}\u0000${sha256}`;

/** Pages of batch files that journals (of this batch folder) have taken, by file name and digest. */
export function claimedPages(journals: readonly PacketJournal[], dir: string): Map<string, Set<number>> {
  const claimed = new Map<string, Set<number>>();
  for (const journal of journals) {
    const source = journal.state.opened.source;
    if (source.kind !== 'batch' || source.dir !== dir) continue;
    for (const claim of source.claims) {
      const key = claimKey(claim.file, claim.sha256);
      const pages = claimed.get(key) ?? new Set<number>();
      for (const page of claim.pages) pages.add(page);
      claimed.set(key, pages);
    }
  }
  return claimed;
}

/**
 * The batch folder: one continuous stream of scans, cut into packets by separator sheets. Files are taken in
 * page order, and only up to the first file still being written, so a packet is never closed over a gap.
 */
export class BatchFolder {
  private readonly facts = new Map<string, BatchFileFacts>();

  constructor(
    readonly dir: string,
    private readonly watch: StabilityWatch,
    private readonly timing: Timing,
    private readonly reporter: Reporter,
    /** Where READY markers with nothing to close are put aside (the agent's state folder). */
    private readonly staleMarkers: string,
  ) {}

  /** Facts of a stable file, read once per version of it (every page of a batch is searched for a QR code). */
  private async factsOf(name: string, size: number, mtimeMs: number): Promise<BatchFileFacts> {
    const known = this.facts.get(name);
    if (known && known.size === size && known.mtimeMs === mtimeMs) return known;
    const data = await readFile(path.join(this.dir, name));
    const kind = scanKindOf(name)!;
    let separators: Array<SeparatorCode | undefined>;
    try {
      if (kind === 'image') separators = [await findSeparator(data)];
      else if (kind === 'tiff') {
        separators = [];
        const pages = await tiffPageCount(data, name);
        for (let page = 0; page < pages; page++) separators.push(await findSeparator(data, page));
      } else {
        separators = [];
        for (const image of await pdfPageImages(data, name)) separators.push(await findSeparator(image));
      }
    } catch (error) {
      // The bytes are in memory: what fails here is decoding them. A file that cannot be decoded is one page of
      // the packet it falls in; the service then refuses it with a reason, and that packet fails visibly instead
      // of the whole batch stopping here.
      this.reporter.emit(
        'warning',
        `${name} cannot be read to look for separator sheets (${(error as Error).message}); it is taken as one page`,
        { file: name },
      );
      separators = [undefined];
    }
    const facts = {
      name,
      size,
      mtimeMs,
      sha256: sha256Of(data),
      kind,
      pageCount: separators.length,
      separators,
    };
    this.facts.set(name, facts);
    return facts;
  }

  /**
   * Looks at the batch folder now. Returns the first packet that is complete, or undefined. `journals` are every
   * journal the agent holds, so pages already taken by a packet are not taken again.
   */
  async scan(now: number, journals: readonly PacketJournal[]): Promise<CompleteBatchPacket | undefined> {
    const entries = await listDirectory(this.dir);
    const names = entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
    const stats = await statFiles(this.dir, names);
    this.watch.observe(
      'batch',
      new Map([...stats].map(([name, info]) => [path.join(this.dir, name), info])),
      now,
    );
    const stable = (name: string) =>
      this.watch.isStable(path.join(this.dir, name), now, this.timing.settleMs);
    const scans = inPageOrder([...stats.keys()].filter((name) => scanKindOf(name)));
    const marker = [...stats.keys()].find(isReadyMarker);

    // Only the stable files before the first one still being written: later files cannot close anything yet.
    const settled: BatchFileFacts[] = [];
    for (const name of scans) {
      if (!stable(name)) break;
      const info = stats.get(name)!;
      settled.push(await this.factsOf(name, info.size, info.mtimeMs));
    }
    for (const name of [...this.facts.keys()]) if (!stats.has(name)) this.facts.delete(name);

    const claimed = claimedPages(journals, this.dir);
    const stream: StreamPage<BatchPage>[] = [];
    for (const file of settled) {
      const taken = claimed.get(claimKey(file.name, file.sha256));
      file.separators.forEach((separator, page) => {
        if (taken?.has(page)) return;
        stream.push({ page: { file: file.name, page }, ...(separator ? { separator } : {}) });
      });
    }
    const [first] = splitBatch(stream);
    if (!first) {
      // READY with nothing left to close (it came after the last packet was taken by idle): set it aside, or it
      // would close the next batch the moment its first page is in.
      if (marker && stable(marker) && settled.length === scans.length) await this.setAside(marker);
      return undefined;
    }

    let trigger: CompleteBatchPacket['trigger'];
    if (first.closed) trigger = 'separator';
    else {
      // The last packet of the batch: closed by READY or by the batch folder staying idle, once every file is in.
      const allIn = settled.length === scans.length;
      const idle = this.timing.idleMs > 0 && this.watch.idleMs('batch', now) >= this.timing.idleMs;
      const markerReady = marker !== undefined && stable(marker);
      // A separator sheet with nothing after it yet: its pages are still to come.
      if (!allIn || first.pages.length === 0 || !(markerReady || idle)) return undefined;
      trigger = markerReady ? 'READY' : 'idle';
    }
    const factsByName = new Map(settled.map((file) => [file.name, file]));
    const separatorPage = first.separator ? [first.separator.page] : [];
    const claims: BatchClaim[] = [];
    for (const { file, page } of [...separatorPage, ...first.pages]) {
      const facts = factsByName.get(file)!;
      let claim = claims.find((c) => c.file === file);
      if (!claim) {
        claim = { file, sha256: facts.sha256, bytes: facts.size, pages: [], ofPages: facts.pageCount };
        claims.push(claim);
      }
      claim.pages.push(page);
    }
    for (const claim of claims) claim.pages.sort((a, b) => a - b);
    return {
      trigger,
      ...(first.separator
        ? {
            separator: {
              file: first.separator.page.file,
              page: first.separator.page.page,
              code: first.separator.code,
            },
          }
        : {}),
      pages: first.pages,
      claims,
      ...(trigger === 'READY' ? { marker } : {}),
      facts: factsByName,
    };
  }

  private async setAside(marker: string): Promise<void> {
    const to = path.join(this.staleMarkers, `${marker}-${new Date().toISOString().replaceAll(':', '-')}`);
    await renameDurably(path.join(this.dir, marker), to);
    this.reporter.emit(
      'warning',
      `${marker} in the batch folder had nothing left to close; set aside as ${to}`,
    );
  }

  /** Whether a finished batch packet still holds pages of a file that is in the folder (then it is kept). */
  async holdsFilesHere(journal: PacketJournal): Promise<boolean> {
    const source = journal.state.opened.source;
    if (source.kind !== 'batch') return false;
    for (const claim of source.claims) {
      const file = path.join(source.dir, claim.file);
      let info: Stats;
      try {
        info = await stat(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      // The same name may be a new scan by now (scanners count from 1 again): only the same bytes are held.
      const known = this.facts.get(claim.file);
      const digest =
        known && known.size === info.size && known.mtimeMs === info.mtimeMs
          ? known.sha256
          : sha256Of(await readFile(file));
      if (digest === claim.sha256) return true;
    }
    return false;
  }
}
