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

  it('accept a recusal excluding him from the packets that waited, and his cooldown until it ends', () => {
    const recused = (cooldownMinutes: number): EntryBody => ({
      type: 'release',
      packetId: 'pk_1',
      registrarId: 'rg_a',
      reason: 'recusal',
      drawSeq: 1,
      alsoExcludedFrom: ['pk_2'],
      // Entries are a minute apart: draw 3 is at minute 2.
      cooldownUntil: new Date(Date.UTC(2026, 0, 1, 0, 1 + cooldownMinutes)).toISOString(),
    });
    const recusedChain = (cooldownMinutes: number) =>
      chain([
        draw('pk_1', ['rg_a'], []),
        recused(cooldownMinutes),
        draw('pk_2', ['rg_b'], [{ registrarId: 'rg_a', reason: 'recused' }]),
        draw('pk_3', ['rg_c'], [{ registrarId: 'rg_a', reason: 'cooldown' }]),
      ]);
    expect(checkExclusions(recusedChain(5))).toEqual({ ok: true, justified: 2, notInLog: 0 });
    expect(checkExclusions(recusedChain(1))).toMatchObject({
      ok: false,
      brokenAt: 4,
      reason: expect.stringMatching(/rg_a is excluded as cooldown/),
    });
  });

  describe('a resubmission, by the policy its draw names', () => {
    const decided: EntryBody[] = [
      draw('pk_1', ['rg_a'], []),
      { type: 'decision', packetId: 'pk_1', registrarId: 'rg_a', outcome: 'rejected', drawSeq: 1 },
      drawEntry('pk_2', ['rg_b'], { resubmissionOf: 'pk_1', resubmissionPolicy: 'exclude_earlier' }),
      { type: 'decision', packetId: 'pk_2', registrarId: 'rg_b', outcome: 'rejected', drawSeq: 3 },
    ];
    const resubmitted = (fields: Partial<DrawEntry>, eligible = ['rg_c']) =>
      chain([...decided, drawEntry('pk_3', eligible, { resubmissionOf: 'pk_2', ...fields })]);

    it('exclude_earlier keeps out everyone who decided the chain of earlier submissions, and nobody else', () => {
      const excluded: DrawEntry['excluded'] = [
        { registrarId: 'rg_a', reason: 'decided_earlier_submission' },
        { registrarId: 'rg_b', reason: 'decided_earlier_submission' },
      ];
      expect(checkExclusions(resubmitted({ resubmissionPolicy: 'exclude_earlier', excluded }))).toEqual({
        ok: true,
        justified: 2,
        notInLog: 0,
      });
      expect(
        checkExclusions(resubmitted({ resubmissionPolicy: 'exclude_earlier' }, ['rg_a', 'rg_c'])),
      ).toMatchObject({
        ok: false,
        brokenAt: 5,
        reason: 'rg_a decided an earlier submission and is eligible',
      });
      const invented = resubmitted({
        resubmissionPolicy: 'exclude_earlier',
        excluded: [{ registrarId: 'rg_d', reason: 'decided_earlier_submission' }],
      });
      expect(checkExclusions(invented)).toMatchObject({ ok: false, brokenAt: 5 });
    });

    it('same_registrar draws only who decided the last one', () => {
      const excluded: DrawEntry['excluded'] = [{ registrarId: 'rg_c', reason: 'not_earlier_decider' }];
      expect(
        checkExclusions(resubmitted({ resubmissionPolicy: 'same_registrar', excluded }, ['rg_b'])),
      ).toEqual({ ok: true, justified: 1, notInLog: 0 });
      expect(checkExclusions(resubmitted({ resubmissionPolicy: 'same_registrar' }, ['rg_c']))).toMatchObject({
        ok: false,
        brokenAt: 5,
      });
    });

    it('refuse a link to a packet no entry shows decided', () => {
      const unlinked = chain([
        drawEntry('pk_9', ['rg_c'], { resubmissionOf: 'pk_8', resubmissionPolicy: 'random' }),
      ]);
      expect(checkExclusions(unlinked)).toMatchObject({
        ok: false,
        brokenAt: 1,
        reason: 'it resubmits pk_8, which no earlier entry shows decided',
      });
    });
  });
});
