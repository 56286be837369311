import { describe, expect, it } from 'vitest';
import { checkExclusions } from '../../src/domain/audit-trail.js';
import {
  type DrawEntry,
  type EntryBody,
  GENESIS_HASH,
  type ProtocolEntry,
  sealEntry,
} from '../../src/domain/protocol.js';
import { drawEntry } from './fakes/draw-entry.js';

function chain(bodies: EntryBody[]): ProtocolEntry[] {
  const entries: ProtocolEntry[] = [];
  for (const body of bodies) {
    const head = entries.at(-1) ?? { seq: 0, hash: GENESIS_HASH };
    entries.push(sealEntry(body, head, new Date(Date.UTC(2026, 0, 1, 0, entries.length))));
  }
  return entries;
}

const draw = (packetId: string, eligible: string[], excluded: DrawEntry['excluded']): EntryBody =>
  drawEntry(packetId, eligible, { excluded });

describe('exclusions checked against the entries before them', () => {
  it('accept busy while holding a packet, recused after a recusal, and count reasons the log does not hold', () => {
    const entries = chain([
      draw('pk_1', ['rg_a', 'rg_b'], []),
      draw(
        'pk_2',
        ['rg_b'],
        [
          { registrarId: 'rg_a', reason: 'busy' },
          { registrarId: 'rg_c', reason: 'away' },
        ],
      ),
      { type: 'release', packetId: 'pk_2', registrarId: 'rg_b', reason: 'recusal', drawSeq: 2 },
      draw(
        'pk_2',
        ['rg_c'],
        [
          { registrarId: 'rg_a', reason: 'busy' },
          { registrarId: 'rg_b', reason: 'recused' },
        ],
      ),
    ]);
    expect(checkExclusions(entries)).toEqual({ ok: true, justified: 3, notInLog: 1 });
  });

  it('refuse a busy exclusion of someone who holds nothing, and a recusal nobody made', () => {
    const decided = chain([
      draw('pk_1', ['rg_a'], []),
      { type: 'decision', packetId: 'pk_1', registrarId: 'rg_a', outcome: 'approved', drawSeq: 1 },
      draw('pk_2', ['rg_b'], [{ registrarId: 'rg_a', reason: 'busy' }]),
    ]);
    expect(checkExclusions(decided)).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: expect.stringMatching(/rg_a is excluded as busy/),
    });
    const invented = chain([draw('pk_1', ['rg_a'], [{ registrarId: 'rg_b', reason: 'recused' }])]);
    expect(checkExclusions(invented)).toMatchObject({ ok: false, brokenAt: 1 });
  });
});
