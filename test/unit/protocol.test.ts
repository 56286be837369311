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
  { type: 'decision', packetId: 'pk_1', registrarId: 'rg_a', outcome: 'approved', drawSeq: 3 },
];

function chain(): ProtocolEntry[] {
  const entries: ProtocolEntry[] = [];
  let head = { seq: 0, hash: GENESIS_HASH };
  for (const body of bodies) {
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
    expect(entries.map((entry) => entry.seq)).toEqual([1, 2, 3]);
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    expect(verifyChain(entries)).toEqual({ ok: true, entries: 3, head: { seq: 3, hash: entries[2]!.hash } });
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
