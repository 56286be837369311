/**
 * A scanner writes a file over seconds, and the agent must never send half a scan. A file counts as stable once
 * its size and modification time have stayed the same for the settle time; a folder counts as idle once none of
 * its files (nor the set of names) changed for the idle time. Both are judged from what this process observed,
 * with its own clock: after a restart everything waits the settle time again, which costs seconds and is safe.
 * Pure: the caller passes what it saw and when.
 */

export type FileStat = { size: number; mtimeMs: number };

type Seen = FileStat & { since: number };

export class StabilityWatch {
  private readonly files = new Map<string, Seen>();
  private readonly groups = new Map<string, { signature: string; since: number }>();

  /**
   * Records the files of one group (a packet folder, the batch folder) as seen at `now`. `files` maps a key
   * unique across groups (e.g. the path) to its stat. Files of the group not listed are forgotten.
   */
  observe(group: string, files: ReadonlyMap<string, FileStat>, now: number): void {
    const entries = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [key, stat] of entries) {
      const seen = this.files.get(key);
      if (!seen || seen.size !== stat.size || seen.mtimeMs !== stat.mtimeMs)
        this.files.set(key, { ...stat, since: now });
    }
    const signature = JSON.stringify(entries.map(([key, stat]) => [key, stat.size, stat.mtimeMs]));
    const previous = this.groups.get(group);
    if (previous) {
      for (const key of JSON.parse(previous.signature) as [string][])
        if (!files.has(key[0])) this.files.delete(key[0]);
    }
    if (previous?.signature !== signature) this.groups.set(group, { signature, since: now });
  }

  /** Forgets a group that is gone (moved to done/ or failed/). */
  forget(group: string): void {
    const previous = this.groups.get(group);
    if (!previous) return;
    for (const key of JSON.parse(previous.signature) as [string][]) this.files.delete(key[0]);
    this.groups.delete(group);
  }

  /** Whether the file has kept its size and mtime for `settleMs` (false for a file never observed). */
  isStable(key: string, now: number, settleMs: number): boolean {
    const seen = this.files.get(key);
    return seen !== undefined && now - seen.since >= settleMs;
  }

  /** How long nothing in the group changed (0 for a group never observed). */
  idleMs(group: string, now: number): number {
    const seen = this.groups.get(group);
    return seen ? now - seen.since : 0;
  }
}
