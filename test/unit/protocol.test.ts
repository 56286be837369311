import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  type EntryBody,
  GENESIS_HASH,
  hashEntry,
  type ProtocolEntry,
  sealEntry,
  verifyChain,
} from '../../src/domain/protocol.js';

const bodies: EntryBody[] = [
  {
    type: 'draw',
    packetId: 'pk_1',
    pdfSha256: 'b'.repeat(64),
    service: 'land',
    reason: 'ready',
    eligible: ['rg_a', 'rg_b'],
    excluded: [{ registrarId: 'rg_c', reason: 'away' }],
    randomIndex: 1,
    chosen: 'rg_b',
    packetWindow: { packetIds: ['pk_1'], randomIndex: 0 },
  },
  { type: 'release', packetId: 'pk_1', registrarId: 'rg_b', reason: 'recusal', drawSeq: 1 },
  {
    type: 'draw',
    packetId: 'pk_1',
    pdfSha256: 'b'.repeat(64),
    service: 'land',
    reason: 'recusal',
    eligible: ['rg_a'],
    excluded: [
      { registrarId: 'rg_b', reason: 'recused' },
      { registrarId: 'rg_c', reason: 'away' },
    ],
    randomIndex: 0,
    chosen: 'rg_a',
    packetWindow: { packetIds: ['pk_0', 'pk_1'], randomIndex: 1 },
    previousSeq: 2,
  },
  { type: 'decision', packetId: 'pk_1', registrarId: 'rg_a', outcome: 'approved', drawSeq: 3 },
];

function chain(edit: (bodies: EntryBody[]) => EntryBody[] = (same) => same): ProtocolEntry[] {
  const entries: ProtocolEntry[] = [];
  let head = { seq: 0, hash: GENESIS_HASH };
  for (const body of edit(structuredClone(bodies))) {
    const entry = sealEntry(body, head, new Date(Date.UTC(2026, 0, 1, 0, entries.length)));
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  }
  return entries;
}

describe('canonical JSON', () => {
  it('sorts keys at every level, drops undefined, and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe('the hash chain', () => {
  it('links each entry to the one before and verifies end to end', () => {
    const entries = chain();
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3, 4]);
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    expect(verifyChain(entries)).toEqual({ ok: true, entries: 4, head: { seq: 4, hash: entries[3]!.hash } });
  });

  it('finds an entry changed after it was written', () => {
    const entries = chain();
    entries[1] = { ...entries[1]!, registrarId: 'rg_c' } as ProtocolEntry;
    expect(verifyChain(entries)).toMatchObject({
      ok: false,
      brokenAt: 2,
      reason: expect.stringMatching(/changed/),
    });
  });

  it('finds an entry that was resealed but no longer links to its predecessor', () => {
    const entries = chain();
    const { hash: _hash, ...unsealed } = { ...entries[1]!, prevHash: 'f'.repeat(64) };
    entries[1] = { ...unsealed, hash: hashEntry(unsealed) } as ProtocolEntry;
    expect(verifyChain(entries)).toMatchObject({
      ok: false,
      brokenAt: 2,
      reason: expect.stringMatching(/prevHash/),
    });
  });

  it('finds a removed entry by its sequence', () => {
    const entries = chain();
    entries.splice(1, 1);
    expect(verifyChain(entries)).toMatchObject({
      ok: false,
      brokenAt: 2,
      reason: expect.stringMatching(/sequence 3/),
    });
  });
});

describe('a chain rewritten consistently (every hash recomputed) is still caught', () => {
  const draw = (bodies: EntryBody[], n: number) => bodies[n] as Extract<EntryBody, { type: 'draw' }>;
  const cases: Array<[string, (bodies: EntryBody[]) => void, RegExp]> = [
    [
      'a draw whose chosen registrar is not the one its index names',
      (b) => {
        draw(b, 0).chosen = 'rg_a';
      },
      /chosen rg_a is not eligible\[1\]/,
    ],
    [
      'a draw whose index is outside the eligible list',
      (b) => {
        draw(b, 0).randomIndex = 2;
      },
      /outside the 2 eligible/,
    ],
    [
      'a registrar both eligible and excluded',
      (b) => void draw(b, 0).excluded.push({ registrarId: 'rg_a', reason: 'busy' }),
      /both eligible and excluded/,
    ],
    [
      'a registrar eligible twice (to double his chance)',
      (b) => {
        draw(b, 0).eligible = ['rg_b', 'rg_b'];
      },
      /eligible twice/,
    ],
    [
      'a draw whose window index names another packet',
      (b) => {
        draw(b, 2).packetWindow.randomIndex = 0;
      },
      /window/,
    ],
    [
      'a decision by someone the packet was not drawn for',
      (b) => {
        (b[3] as { registrarId: string }).registrarId = 'rg_b';
      },
      /decision refers to draw 3/,
    ],
    [
      'a release of a draw that comes later',
      (b) => {
        (b[1] as { drawSeq: number }).drawSeq = 3;
      },
      /release refers to draw 3/,
    ],
  ];
  it.each(cases)('%s', (_, edit, reason) => {
    const entries = chain((bodies) => {
      edit(bodies);
      return bodies;
    });
    const brokenAt = entries.findIndex((entry, i) => entry.hash !== chain()[i]!.hash) + 1;
    expect(verifyChain(entries)).toMatchObject({
      ok: false,
      brokenAt,
      reason: expect.stringMatching(reason),
    });
  });
});
