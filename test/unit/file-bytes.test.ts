import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bytes, bytesOf, sha256Of, windowsAt, withFile } from '../../src/pipeline/file-bytes.js';

const MB = 1024 * 1024;
const WINDOW = 16;
let dir: string;
let file: string;
/** 3.5 MB of random bytes with `/Key` at the start, across both chunk boundaries, just before one, and at the end. */
const content = randomBytes(3.5 * MB);
const positions = [0, MB - 2, 2 * MB - 4, 2 * MB + 100, content.length - 4];
for (const at of positions) content.write('/Key', at, 'latin1');

/** Every occurrence the slow way: one indexOf over the whole buffer. */
function expectedWindows(): string[] {
  const windows: string[] = [];
  for (let at = content.indexOf('/Key'); at !== -1; at = content.indexOf('/Key', at + 1))
    windows.push(content.toString('latin1', at, at + WINDOW));
  return windows;
}

const collect = async (bytes: Bytes, fromEnd: boolean) => {
  const windows: string[] = [];
  for await (const window of windowsAt(bytes, '/Key', WINDOW, fromEnd)) windows.push(window);
  return windows;
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'file-bytes-'));
  file = path.join(dir, 'content.bin');
  await writeFile(file, content);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('windowsAt', () => {
  it('finds every occurrence, across chunk boundaries, first to last and last to first, in memory and in a file', async () => {
    const expected = expectedWindows();
    expect(expected.length).toBeGreaterThanOrEqual(positions.length);
    expect(await collect(bytesOf(content), false)).toEqual(expected);
    expect(await collect(bytesOf(content), true)).toEqual(expected.toReversed());
    await withFile(file, 'r', async (bytes) => {
      expect(await collect(bytes, false)).toEqual(expected);
      expect(await collect(bytes, true)).toEqual(expected.toReversed());
    });
  });

  it('cuts the last window at the end of the document', async () => {
    const last = (await collect(bytesOf(content), true))[0]!;
    expect(last).toBe('/Key');
  });
});

describe('sha256Of', () => {
  it('hashes the ranges in order, across chunks, in memory and in a file', async () => {
    const ranges: Array<[number, number]> = [
      [0, MB + 7],
      [2 * MB - 1, content.length],
    ];
    const expected = createHash('sha256')
      .update(content.subarray(0, MB + 7))
      .update(content.subarray(2 * MB - 1))
      .digest('hex');
    expect((await sha256Of(bytesOf(content), ranges)).toString('hex')).toBe(expected);
    expect((await withFile(file, 'r', (bytes) => sha256Of(bytes, ranges))).toString('hex')).toBe(expected);
  });
});
