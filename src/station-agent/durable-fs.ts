import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, truncate } from 'node:fs/promises';
import path from 'node:path';

/**
 * File writes that survive a power cut: data is fsynced before the agent relies on it, and a new or renamed
 * entry is made durable by fsyncing its directory too (on Linux a rename is only on disk once the directory is).
 */

async function fsyncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; there the rename itself is what NTFS journals.
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

const exists = async (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/** Appends one line and fsyncs it; the first line of a new file also fsyncs the directory entry. */
export async function appendLineDurably(file: string, line: string): Promise<void> {
  const isNew = !(await exists(file));
  const handle = await open(file, 'a');
  try {
    await handle.write(`${line}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  if (isNew) await fsyncDirectory(path.dirname(file));
}

/** Cuts a file back to `length` bytes (a torn last line) and fsyncs it. */
export async function truncateDurably(file: string, length: number): Promise<void> {
  await truncate(file, length);
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a whole file so that readers see the old content or the new, never a part: temp file, fsync, rename. */
export async function writeFileAtomically(file: string, data: string | Buffer): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  await fsyncDirectory(path.dirname(file));
}

/** Renames (moves within one file system) and makes both directory entries durable. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await mkdir(path.dirname(to), { recursive: true });
  await rename(from, to);
  await fsyncDirectory(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) await fsyncDirectory(path.dirname(from));
}

export async function ensureDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}
