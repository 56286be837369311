import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  chooseBatchIdentity,
  counterTicket,
  parseSeparatorText,
  SEPARATOR_PREFIX,
  type StreamPage,
  separatorText,
  splitBatch,
} from '../../src/station-agent/batch-rules.js';
import {
  compareFileNames,
  inPageOrder,
  mayBePacketFolder,
  packetFolderName,
  parsePacketFile,
  parsePacketFolderName,
  scanKindOf,
} from '../../src/station-agent/folder-rules.js';
import {
  JournalCorrupt,
  type JournalRecord,
  nextPageNumber,
  nextStep,
  plannedPageCount,
  replayJournal,
  storedPages,
} from '../../src/station-agent/journal.js';
import { PacketJournal } from '../../src/station-agent/journal-store.js';
import { receiptOf } from '../../src/station-agent/packet-runner.js';
import { planUploads, runsOf } from '../../src/station-agent/planning.js';
import { createReporter, formatBytes } from '../../src/station-agent/reporter.js';
import {
  backoffDelayMs,
  DEFAULT_BACKOFF,
  MAX_RETRY_AFTER_MS,
  retryAfterMs,
  verdictOf,
  waitAfterFailureMs,
} from '../../src/station-agent/retry-rules.js';
import {
  GaveUp,
  PacketRefused,
  ServiceClient,
  StationApi,
  StationRefused,
  Stopping,
  type WaitingInfo,
} from '../../src/station-agent/service-client.js';
import { StabilityWatch } from '../../src/station-agent/stability.js';

const sha = (char: string) => char.repeat(64);

describe('packet folder names', () => {
  it('split <ticket>__<service> at the last double underscore, so tickets may hold underscores', () => {
    expect(parsePacketFolderName('A-017__land-registration')).toEqual({
      ticket: 'A-017',
      service: 'land-registration',
    });
    expect(parsePacketFolderName('Б_12__permits')).toEqual({ ticket: 'Б_12', service: 'permits' });
    expect(parsePacketFolderName('A_1___land')).toEqual({ ticket: 'A_1_', service: 'land' });
  });

  it('are not packets without the separator, with an empty part or a service the service would refuse', () => {
    for (const name of ['A-017', '__land', 'A-017__', 'A-017__Land', 'A-017__land_registration', 'A/1__land'])
      expect(parsePacketFolderName(name), name).toBeUndefined();
  });

  it('made from a ticket and service replace characters no file system takes', () => {
    expect(packetFolderName({ ticket: 'A:1', service: 'land' })).toBe('A_1__land');
  });

  it('leave the agent’s own folders and hidden ones alone', () => {
    for (const name of ['done', 'failed', 'batch', '.scan-office', '.Trash'])
      expect(mayBePacketFolder(name)).toBe(false);
    expect(mayBePacketFolder('A-017__land')).toBe(true);
  });
});

describe('packet.json', () => {
  it('names ticket and service', () => {
    expect(parsePacketFile('{"ticket":"Б-12 № 3","service":"land"}')).toEqual({
      ok: true,
      identity: { ticket: 'Б-12 № 3', service: 'land' },
    });
  });

  it('says what is wrong with a bad one', () => {
    expect(parsePacketFile('{"ticket":')).toEqual({ ok: false, reason: 'packet.json is not valid JSON' });
    const missing = parsePacketFile('{"ticket":"A-1"}');
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.reason).toMatch(/service/);
    expect(parsePacketFile('{"ticket":"A-1","service":"land","extra":1}').ok).toBe(false);
  });
});

describe('scan files', () => {
  it('are images, TIFFs and PDFs by extension, in any case; hidden and lock files are not', () => {
    expect(['a.JPG', 'b.jpeg', 'c.png', 'd.webp', 'e.tif', 'f.TIFF', 'g.pdf'].map(scanKindOf)).toEqual([
      'image',
      'image',
      'image',
      'image',
      'tiff',
      'tiff',
      'pdf',
    ]);
    for (const name of ['READY', 'packet.json', 'notes.txt', '.scan1.jpg', '~$scan.jpg', 'scan.jpg.part'])
      expect(scanKindOf(name), name).toBeUndefined();
  });

  it('are pages in file-name order with numbers compared as numbers', () => {
    expect(inPageOrder(['scan10.jpg', 'scan2.jpg', 'scan1.jpg', 'Scan3.jpg', 'cover.jpg'])).toEqual([
      'cover.jpg',
      'scan1.jpg',
      'scan2.jpg',
      'Scan3.jpg',
      'scan10.jpg',
    ]);
    expect(inPageOrder(['p-002.png', 'p-1.png', 'p-010.png'])).toEqual(['p-1.png', 'p-002.png', 'p-010.png']);
  });

  it('have a total order even when names differ only in case', () => {
    expect(compareFileNames('A.jpg', 'a.jpg')).not.toBe(0);
    expect(inPageOrder(['a.jpg', 'A.jpg'])).toEqual(inPageOrder(['A.jpg', 'a.jpg']));
  });
});

describe('separator codes', () => {
  it('are the plain prefix, or carry ticket and service URL-encoded', () => {
    expect(separatorText()).toBe(SEPARATOR_PREFIX);
    const text = separatorText({ ticket: '№ 12 Б', service: 'land-registration' });
    expect(text).toBe('SCAN-OFFICE:NEXT?ticket=%E2%84%96%2012%20%D0%91&service=land-registration');
    expect(parseSeparatorText(text)).toEqual({ ticket: '№ 12 Б', service: 'land-registration' });
  });

  it('read only what is given, and nothing from other QR codes', () => {
    expect(parseSeparatorText('SCAN-OFFICE:NEXT')).toEqual({});
    expect(parseSeparatorText('SCAN-OFFICE:NEXT?service=land')).toEqual({ service: 'land' });
    expect(parseSeparatorText('SCAN-OFFICE:NEXT?ticket=A+17')).toEqual({ ticket: 'A 17' });
    for (const other of ['https://diia.gov.ua/', 'SCAN-OFFICE:NEXTX', 'scan-office:next', ''])
      expect(parseSeparatorText(other), other).toBeUndefined();
  });
});

describe('splitting a batch at separator sheets', () => {
  const page = (name: string): StreamPage<string> => ({ page: name });
  const sheet = (name: string, ticket?: string): StreamPage<string> => ({
    page: name,
    separator: ticket ? { ticket } : {},
  });

  it('starts a packet at each separator, which is not one of its pages; the last packet stays open', () => {
    const segments = splitBatch([sheet('s1', 'A-1'), page('p1'), page('p2'), sheet('s2'), page('p3')]);
    expect(segments).toEqual([
      { separator: { page: 's1', code: { ticket: 'A-1' } }, pages: ['p1', 'p2'], closed: true },
      { separator: { page: 's2', code: {} }, pages: ['p3'], closed: false },
    ]);
  });

  it('makes pages before the first separator a packet of their own', () => {
    expect(splitBatch([page('p1'), sheet('s1'), page('p2')])).toEqual([
      { pages: ['p1'], closed: true },
      { separator: { page: 's1', code: {} }, pages: ['p2'], closed: false },
    ]);
  });

  it('keeps an empty packet between two separators, for the caller to refuse', () => {
    const segments = splitBatch([sheet('s1'), sheet('s2'), page('p1')]);
    expect(segments[0]).toEqual({ separator: { page: 's1', code: {} }, pages: [], closed: true });
    expect(segments[1]!.pages).toEqual(['p1']);
  });

  it('gives nothing for an empty stream, and an open empty packet for a trailing separator', () => {
    expect(splitBatch([])).toEqual([]);
    expect(splitBatch([page('p1'), sheet('s1')]).at(-1)).toEqual({
      separator: { page: 's1', code: {} },
      pages: [],
      closed: false,
    });
  });

  it('takes ticket and service from the sheet, else the counter and the batch service', () => {
    expect(chooseBatchIdentity({ ticket: 'A-1', service: 'land' }, 'permits')).toEqual({
      ok: true,
      ticket: 'A-1',
      service: 'land',
    });
    expect(chooseBatchIdentity({}, 'permits')).toEqual({ ok: true, service: 'permits' });
    expect(chooseBatchIdentity(undefined, undefined).ok).toBe(false);
    expect(counterTicket('B-', 7)).toBe('B-007');
    expect(counterTicket('Q', 1234)).toBe('Q1234');
  });
});

describe('retries', () => {
  const noJitter = () => 0;

  it('back off 1 s, 2 s, 4 s … up to 30 s and stay there', () => {
    const schedule = Array.from({ length: 9 }, (_, i) => backoffDelayMs(i + 1, DEFAULT_BACKOFF, noJitter));
    expect(schedule).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(backoffDelayMs(10_000, DEFAULT_BACKOFF, noJitter)).toBe(30_000);
  });

  it('shorten each wait by at most the jitter, never lengthen it', () => {
    expect(backoffDelayMs(3, DEFAULT_BACKOFF, () => 1)).toBe(3200);
    expect(backoffDelayMs(20, DEFAULT_BACKOFF, () => 0.5)).toBe(27_000);
  });

  it('honour Retry-After in seconds or as a date, capped', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs('Wed, 02 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(waitAfterFailureMs(1, DEFAULT_BACKOFF, 7000, noJitter)).toBe(7000);
    expect(waitAfterFailureMs(1, DEFAULT_BACKOFF, 86_400_000, noJitter)).toBe(MAX_RETRY_AFTER_MS);
    expect(waitAfterFailureMs(4, DEFAULT_BACKOFF, undefined, noJitter)).toBe(8000);
  });

  it('wait on 5xx, 408 and 429; stop the agent on a refused token; fail the packet on any other 4xx', () => {
    expect([200, 201, 202].map(verdictOf)).toEqual(['ok', 'ok', 'ok']);
    expect([500, 502, 503, 504, 408, 429].map(verdictOf)).toEqual(Array(6).fill('retry'));
    expect([401, 403].map(verdictOf)).toEqual(['station', 'station']);
    expect([400, 404, 409, 413, 415, 422].map(verdictOf)).toEqual(Array(6).fill('permanent'));
  });
});

describe('stable files and idle folders', () => {
  const settle = 3000;
  const files = (entries: Record<string, [number, number]>) =>
    new Map(Object.entries(entries).map(([key, [size, mtimeMs]]) => [key, { size, mtimeMs }]));

  it('counts a file stable once size and mtime stayed the same for the settle time', () => {
    const watch = new StabilityWatch();
    watch.observe('f', files({ a: [100, 1] }), 0);
    expect(watch.isStable('a', 2999, settle)).toBe(false);
    watch.observe('f', files({ a: [100, 1] }), 2999);
    expect(watch.isStable('a', 3000, settle)).toBe(true);
  });

  it('starts over when the file grows or is touched', () => {
    const watch = new StabilityWatch();
    watch.observe('f', files({ a: [100, 1] }), 0);
    watch.observe('f', files({ a: [200, 1] }), 2000);
    expect(watch.isStable('a', 4000, settle)).toBe(false);
    expect(watch.isStable('a', 5000, settle)).toBe(true);
    watch.observe('f', files({ a: [200, 2] }), 5000);
    expect(watch.isStable('a', 7000, settle)).toBe(false);
  });

  it('never counts a file it has not seen as stable', () => {
    expect(new StabilityWatch().isStable('a', 1e12, settle)).toBe(false);
  });

  it('counts a folder idle from its last change, a new or removed file included', () => {
    const watch = new StabilityWatch();
    watch.observe('f', files({ a: [1, 1] }), 0);
    watch.observe('f', files({ a: [1, 1] }), 5000);
    expect(watch.idleMs('f', 5000)).toBe(5000);
    watch.observe('f', files({ a: [1, 1], b: [1, 1] }), 6000);
    expect(watch.idleMs('f', 7000)).toBe(1000);
    watch.observe('f', files({ b: [1, 1] }), 8000);
    expect(watch.idleMs('f', 8000)).toBe(0);
    expect(watch.isStable('a', 9000, 0)).toBe(false);
  });

  it('forgets a group that was moved away', () => {
    const watch = new StabilityWatch();
    watch.observe('f', files({ a: [1, 1] }), 0);
    watch.forget('f');
    expect(watch.isStable('a', 10_000, settle)).toBe(false);
    expect(watch.idleMs('f', 10_000)).toBe(0);
  });
});

describe('the packet journal', () => {
  const opened: JournalRecord = {
    t: 'opened',
    at: '2026-12-02T10:00:00.000Z',
    name: 'A-017__land',
    ticket: 'A-017',
    service: 'land',
    source: { kind: 'folder', folder: 'A-017__land' },
    items: [
      { kind: 'image', file: 'scan1.jpg' },
      { kind: 'document', file: 'docs.pdf', mediaType: 'application/pdf', pages: 2 },
      { kind: 'tiff-page', file: 'multi.tif', page: 1 },
    ],
    trigger: 'READY',
  };
  const lines = (...records: JournalRecord[]) =>
    records.map((record) => `${JSON.stringify(record)}\n`).join('');
  const created: JournalRecord = { t: 'created', at: 'x', packetId: 'pk_1', trackingCode: 'T' };
  const page1: JournalRecord = { t: 'page', item: 0, n: 1, sha256: sha('a'), bytes: 10 };
  const document: JournalRecord = {
    t: 'document',
    item: 1,
    sha256: sha('d'),
    bytes: 99,
    pages: [
      { n: 2, sha256: sha('b'), bytes: 20 },
      { n: 3, sha256: sha('c'), bytes: 30 },
    ],
  };

  it('replays to the next step: create, each upload in order, submit, then finish', () => {
    expect(nextStep(replayJournal(lines(opened)).state)).toEqual({ step: 'create' });
    expect(nextStep(replayJournal(lines(opened, { t: 'creating', at: 'x' })).state)).toEqual({
      step: 'create',
    });
    expect(nextStep(replayJournal(lines(opened, created)).state)).toEqual({ step: 'upload', item: 0 });
    expect(nextStep(replayJournal(lines(opened, created, page1)).state)).toEqual({ step: 'upload', item: 1 });
    const afterDocument = replayJournal(lines(opened, created, page1, document)).state;
    expect(nextStep(afterDocument)).toEqual({ step: 'upload', item: 2 });
    expect(nextPageNumber(afterDocument)).toBe(4);
    const all = lines(opened, created, page1, document, {
      t: 'page',
      item: 2,
      n: 4,
      sha256: sha('e'),
      bytes: 1,
    });
    expect(nextStep(replayJournal(all).state)).toEqual({ step: 'submit' });
    const submitted = `${all}${lines({ t: 'submitted', at: 'y', pages: 4 })}`;
    expect(nextStep(replayJournal(submitted).state)).toEqual({ step: 'finish', outcome: 'done' });
    const moving = `${submitted}${lines({ t: 'moving', outcome: 'done', to: 'done/A-017__land' })}`;
    expect(nextStep(replayJournal(moving).state)).toEqual({ step: 'finish', outcome: 'done' });
    expect(nextStep(replayJournal(`${moving}${lines({ t: 'moved', at: 'z' })}`).state)).toEqual({
      step: 'none',
    });
  });

  it('remembers a created packet and its acknowledged pages with their digests', () => {
    const state = replayJournal(lines(opened, created, page1, document)).state;
    expect(state.created).toEqual({ packetId: 'pk_1', trackingCode: 'T', adopted: false });
    expect(storedPages(state).map((page) => [page.n, page.sha256])).toEqual([
      [1, sha('a')],
      [2, sha('b')],
      [3, sha('c')],
    ]);
    expect(plannedPageCount(state.opened.items)).toBe(4);
  });

  it('goes to failed/ after a failure, whatever was left to send', () => {
    const state = replayJournal(lines(opened, created, { t: 'failed', at: 'x', reason: 'refused' })).state;
    expect(nextStep(state)).toEqual({ step: 'finish', outcome: 'failed' });
  });

  it('drops a half-written last line (power cut) and says where the good part ends', () => {
    const good = lines(opened, created);
    const replay = replayJournal(`${good}{"t":"page","item":0,"n":1,"sha2`);
    expect(replay.tornTail).toBe(true);
    expect(replay.goodLength).toBe(Buffer.byteLength(good));
    expect(nextStep(replay.state)).toEqual({ step: 'upload', item: 0 });
    // A whole record without its newline was cut short too: its fsync never returned, so it never happened.
    expect(replayJournal(`${good}${JSON.stringify(page1)}`).tornTail).toBe(true);
  });

  it('refuses damage before the last line, and records out of order', () => {
    expect(() => replayJournal(`${lines(opened)}garbage\n${lines(created)}`)).toThrow(JournalCorrupt);
    expect(() => replayJournal(lines(created))).toThrow(JournalCorrupt);
    expect(() => replayJournal(lines(opened, opened))).toThrow(JournalCorrupt);
    expect(() => replayJournal('')).toThrow(JournalCorrupt);
  });

  describe('on disk', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'station-journal-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('cuts a torn last line off before appending, so the next record is whole', async () => {
      const { t: _t, at: _at, ...rest } = opened as Extract<JournalRecord, { t: 'opened' }>;
      const journal = await PacketJournal.create(dir, rest);
      await journal.append(created);
      await writeFile(journal.file, `${await readFile(journal.file, 'utf8')}{"t":"pa`);
      const reloaded = await PacketJournal.load(journal.file);
      await reloaded.append(page1);
      const again = replayJournal(await readFile(journal.file, 'utf8'));
      expect(again.tornTail).toBe(false);
      expect(nextStep(again.state)).toEqual({ step: 'upload', item: 1 });
    });
  });

  it('becomes a receipt naming which file each page came from', () => {
    const state = replayJournal(
      lines(
        opened,
        created,
        page1,
        document,
        { t: 'page', item: 2, n: 4, sha256: sha('e'), bytes: 1 },
        {
          t: 'submitted',
          at: '2026-12-02T10:01:00.000Z',
          pages: 4,
        },
      ),
    ).state;
    const receipt = receiptOf(state, 'http://office');
    expect(receipt).toMatchObject({
      trackingCode: 'T',
      packetId: 'pk_1',
      submittedAt: '2026-12-02T10:01:00.000Z',
    });
    expect(receipt.pages.map(({ n, file, filePage }) => [n, file, filePage])).toEqual([
      [1, 'scan1.jpg', undefined],
      [2, 'docs.pdf', 1],
      [3, 'docs.pdf', 2],
      [4, 'multi.tif', 2],
    ]);
    expect(receipt.documents).toEqual([{ file: 'docs.pdf', sha256: sha('d'), bytes: 99, pages: [2, 3] }]);
  });
});

describe('planning uploads', () => {
  const all = (count: number) => Array.from({ length: count }, (_, i) => i);

  it('sends images as pages and whole documents to the documents endpoint', () => {
    const plan = planUploads(
      [
        { file: 'a.jpg', kind: 'image', pageCount: 1, pages: [0] },
        { file: 'b.tif', kind: 'tiff', pageCount: 3, pages: all(3) },
        { file: 'c.pdf', kind: 'pdf', pageCount: 2, pages: all(2) },
        { file: 'd.tif', kind: 'tiff', pageCount: 1, pages: [0] },
      ],
      true,
    );
    expect(plan).toEqual({
      ok: true,
      items: [
        { kind: 'image', file: 'a.jpg' },
        { kind: 'document', file: 'b.tif', mediaType: 'image/tiff', pages: 3 },
        { kind: 'document', file: 'c.pdf', mediaType: 'application/pdf', pages: 2 },
        { kind: 'image', file: 'd.tif' },
      ],
    });
  });

  it('splits a multi-page TIFF into pages when the service takes no documents; a PDF then cannot go', () => {
    expect(planUploads([{ file: 'b.tif', kind: 'tiff', pageCount: 2, pages: all(2) }], false)).toEqual({
      ok: true,
      items: [
        { kind: 'tiff-page', file: 'b.tif', page: 0 },
        { kind: 'tiff-page', file: 'b.tif', page: 1 },
      ],
    });
    const pdf = planUploads([{ file: 'c.pdf', kind: 'pdf', pageCount: 2, pages: all(2) }], false);
    expect(pdf.ok).toBe(false);
  });

  it('sends the pages of a batch file a packet has only part of: PDF as a smaller PDF, TIFF page by page', () => {
    const facts = {
      'big.pdf': { kind: 'pdf' as const, pageCount: 5 },
      'big.tif': { kind: 'tiff' as const, pageCount: 4 },
    };
    const runs = runsOf(
      [
        { file: 'big.pdf', page: 3 },
        { file: 'big.pdf', page: 4 },
        { file: 'big.tif', page: 0 },
      ],
      (file) => facts[file as keyof typeof facts],
    );
    expect(planUploads(runs, true)).toEqual({
      ok: true,
      items: [
        { kind: 'document', file: 'big.pdf', mediaType: 'application/pdf', pages: 2, subset: [3, 4] },
        { kind: 'tiff-page', file: 'big.tif', page: 0 },
      ],
    });
  });
});

describe('the reporter', () => {
  it('writes sentences with the packet for people, one JSON object per event for programs', () => {
    const lines: string[] = [];
    const at = () => new Date('2026-12-02T10:00:05Z');
    createReporter(false, (line) => lines.push(line), at).emit('packet_done', 'done', {
      packet: 'A-1__land',
    });
    createReporter(true, (line) => lines.push(line), at).emit('packet_done', 'done', {
      packet: 'A-1__land',
      pages: 3,
    });
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d {2}A-1__land {2}done\n$/);
    expect(JSON.parse(lines[1]!)).toEqual({
      time: '2026-12-02T10:00:05.000Z',
      event: 'packet_done',
      packet: 'A-1__land',
      pages: 3,
      message: 'done',
    });
    expect([999, 1234, 1_234_567, 25_000_000].map(formatBytes)).toEqual([
      '999 B',
      '1.2 kB',
      '1.2 MB',
      '25 MB',
    ]);
  });
});

describe('the service client', () => {
  type Step = Response | Error;
  const refused = () =>
    Object.assign(new TypeError('fetch failed'), {
      cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:8080' },
    });
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
  const fail = (status: number, code: string, headers: Record<string, string> = {}) =>
    json(status, { error: { code, message: `${code} happened` } }, headers);

  /** A client whose fetch answers from a script, with waits of a few milliseconds. */
  function scripted(steps: Step[], options: { giveUpAfterMs?: number; stop?: AbortController } = {}) {
    const waits: WaitingInfo[] = [];
    const requests: string[] = [];
    const client = new ServiceClient({
      baseUrl: 'http://office.test',
      token: 'sta_x',
      backoff: { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 },
      ...(options.giveUpAfterMs !== undefined ? { giveUpAfterMs: options.giveUpAfterMs } : {}),
      requestTimeoutMs: 1000,
      stop: (options.stop ?? new AbortController()).signal,
      events: { waiting: (info) => waits.push(info), recovered: () => {} },
      fetch: (async (url: URL, init: RequestInit) => {
        requests.push(`${init.method} ${url.pathname}`);
        const step = steps.shift();
        if (!step) throw new Error('script ran out');
        if (step instanceof Error) throw step;
        return step;
      }) as typeof fetch,
    });
    return { client, waits, requests };
  }

  it('keeps trying through refused connections, 5xx, 408 and 429 (honouring Retry-After), then returns the answer', async () => {
    const { client, waits } = scripted([
      refused(),
      fail(503, 'unavailable'),
      fail(408, 'request_timeout'),
      fail(429, 'rate_limited', { 'retry-after': '0' }),
      json(201, { n: 1 }),
    ]);
    expect(await client.request('upload of page 1', 'PUT', '/v1/packets/pk/pages/1')).toEqual({
      status: 201,
      body: { n: 1 },
    });
    expect(waits.map((wait) => [wait.attempt, wait.waitMs, wait.problem])).toEqual([
      [1, 5, 'connect ECONNREFUSED 127.0.0.1:8080'],
      [2, 10, '503 unavailable: unavailable happened'],
      [3, 20, '408 request_timeout: request_timeout happened'],
      [4, 100, '429 rate_limited: rate_limited happened'],
    ]);
  });

  it('fails the packet on any other 4xx, stops the agent on a refused token', async () => {
    const unknown = scripted([fail(422, 'unknown_service')]).client.request('x', 'POST', '/v1/packets');
    await expect(unknown).rejects.toThrow(PacketRefused);
    await expect(unknown).rejects.toMatchObject({ status: 422, code: 'unknown_service' });
    await expect(
      scripted([fail(401, 'unauthorized')]).client.request('x', 'GET', '/v1/packets'),
    ).rejects.toThrow(StationRefused);
  });

  it('gives up only when told to, with the last attempt at the limit', async () => {
    const { client, waits } = scripted(
      Array.from({ length: 50 }, () => refused()),
      { giveUpAfterMs: 30 },
    );
    await expect(client.request('x', 'GET', '/v1/packets')).rejects.toThrow(GaveUp);
    expect(waits.length).toBeGreaterThan(1);
  });

  it('stops waiting at once when the agent stops', async () => {
    const stop = new AbortController();
    const { client } = scripted([fail(503, 'unavailable', { 'retry-after': '600' })], { stop });
    const pending = client.request('x', 'GET', '/v1/packets');
    setTimeout(() => stop.abort(), 20);
    await expect(pending).rejects.toThrow(Stopping);
  });

  it('takes the packet a lost create did make, instead of creating a second one', async () => {
    const { client, requests } = scripted([refused()]);
    const api = new StationApi(client, 'http://office.test');
    const created = await api.createPacket('A-1', 'land', async () => ({
      id: 'pk_orphan',
      trackingCode: 'T',
    }));
    expect(created).toEqual({ id: 'pk_orphan', status: 'open', trackingCode: 'T', adopted: true });
    expect(requests).toEqual(['POST /v1/packets']);
  });
});
