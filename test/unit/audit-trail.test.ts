import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkExclusions, verifyDraws } from '../../src/domain/audit-trail.js';
import { committedIndex, drawMismatch } from '../../src/domain/committed-random.js';
import { type BeaconRound, QUICKNET, roundTime } from '../../src/domain/drand-beacon.js';
import { planDraw } from '../../src/domain/draw.js';
import {
  type DrawBeacon,
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

    it('same_registrar draws only who decided the last one, and anyone once he is removed or recused', () => {
      const sameRegistrar = (eligible: string[], excluded: DrawEntry['excluded']) =>
        checkExclusions(resubmitted({ resubmissionPolicy: 'same_registrar', excluded }, eligible));
      expect(sameRegistrar(['rg_b'], [{ registrarId: 'rg_c', reason: 'not_earlier_decider' }])).toEqual({
        ok: true,
        justified: 1,
        notInLog: 0,
      });
      expect(sameRegistrar(['rg_b', 'rg_c'], [])).toMatchObject({ ok: false, brokenAt: 5 });
      // He is only busy: the packet must wait for him, not go to someone else.
      expect(sameRegistrar(['rg_c'], [{ registrarId: 'rg_b', reason: 'busy' }])).toMatchObject({
        ok: false,
        brokenAt: 5,
        reason: expect.stringMatching(/drawn without rg_b/),
      });
      expect(sameRegistrar(['rg_c'], [{ registrarId: 'rg_b', reason: 'removed' }])).toMatchObject({
        ok: true,
      });
      expect(sameRegistrar(['rg_c'], [{ registrarId: 'rg_a', reason: 'not_earlier_decider' }])).toMatchObject(
        { ok: false, reason: expect.stringMatching(/rg_a is excluded as not_earlier_decider/) },
      );
    });

    it('refuse a draw that lists as eligible someone holding a packet, recused from it, or cooling down', () => {
      const base = chain([
        draw('pk_1', ['rg_a'], []),
        {
          type: 'release',
          packetId: 'pk_1',
          registrarId: 'rg_a',
          reason: 'recusal',
          drawSeq: 1,
          cooldownUntil: '2026-01-01T01:00:00.000Z',
        },
      ]);
      const next = (eligible: string[]) =>
        checkExclusions(
          chain([
            ...base.map(({ seq: _s, at: _a, prevHash: _p, hash: _h, ...body }) => body as EntryBody),
            draw('pk_2', eligible, []),
          ]),
        );
      expect(next(['rg_b'])).toMatchObject({ ok: true });
      expect(next(['rg_a', 'rg_b'])).toMatchObject({
        ok: false,
        brokenAt: 3,
        reason: 'rg_a is eligible but is in a recusal cooldown',
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

describe('a beacon round in a draw', () => {
  const stored = JSON.parse(
    readFileSync(new URL('../fixtures/drand/quicknet-rounds.json', import.meta.url), 'utf8'),
  ) as { rounds: BeaconRound[] };
  const real = stored.rounds.at(-1)!;
  const beaconOf = (round: BeaconRound): DrawBeacon => ({
    chainHash: QUICKNET.chainHash,
    round: round.round,
    randomness: round.randomness,
    signature: round.signature,
  });
  const secret = 'c'.repeat(64);
  /** A decision a second before the real round was due, then a draw two seconds after it, mixing `beacon` in. */
  function drawnWith(beacon: DrawBeacon, drawnAfterMs = 2000): ProtocolEntry[] {
    const due = roundTime(QUICKNET, real.round);
    const decision = sealEntry(
      { type: 'decision', packetId: 'pk_0', registrarId: 'rg_a', outcome: 'approved', drawSeq: 0 },
      { seq: 0, hash: GENESIS_HASH },
      new Date(due - 1000),
    );
    const { draw } = planDraw(
      [
        {
          id: 'pk_1',
          service: 'land',
          stationId: 'st_1',
          pdfSha256: 'b'.repeat(64),
          exclusions: new Map(),
          queuedFor: 'ready',
          waited: false,
          readyAt: due - 5000,
        },
      ],
      ['rg_a', 'rg_b', 'rg_c', 'rg_d', 'rg_e'].map((id) => ({
        id,
        name: id,
        services: ['land'],
        status: 'free' as const,
        createdAt: '2026-01-01T00:00:00.000Z',
      })),
      {
        minPool: 1,
        window: 3,
        resubmissionPolicy: 'exclude_earlier',
        now: due,
        random: (n, purpose, inputs) => committedIndex(secret, purpose, inputs, n),
        prevHash: decision.hash,
        beacon,
      },
    );
    return [decision, sealEntry(draw!.entry, decision, new Date(due + drawnAfterMs))];
  }
  const check = (entries: ProtocolEntry[]) =>
    verifyDraws(entries, new Map(), { deployment: 'test', certificate: Buffer.alloc(0) });

  it('is mixed into the indexes, and verified as the first real round after the entry the draw extends', () => {
    const entries = drawnWith(beaconOf(real));
    const draw = entries[1] as ProtocolEntry & DrawEntry;
    expect(draw.beacon?.round).toBe(real.round);
    expect(drawMismatch(draw, secret)).toBeUndefined();
    // The same draw recomputed with other beacon randomness names other indexes (for these inputs).
    expect(
      drawMismatch({ ...draw, beacon: { ...draw.beacon!, randomness: 'f'.repeat(64) } }, secret),
    ).toBeDefined();
    expect(check(entries)).toMatchObject({ ok: true, beacons: 1 });
  });

  it('refuses an earlier round, a round not out at the draw, a forged round, an unpinned chain', () => {
    const earlier = stored.rounds.at(-2)!;
    expect(check(drawnWith(beaconOf(earlier)))).toMatchObject({
      ok: false,
      brokenAt: 2,
      reason: expect.stringMatching(/the first after entry 1 is/),
    });
    expect(check(drawnWith(beaconOf(real), -500))).toMatchObject({
      reason: expect.stringMatching(/not out yet/),
    });
    expect(check(drawnWith({ ...beaconOf(real), signature: earlier.signature }))).toMatchObject({
      reason: expect.stringMatching(/does not verify/),
    });
    expect(check(drawnWith({ ...beaconOf(real), chainHash: 'a'.repeat(64) }))).toMatchObject({
      reason: expect.stringMatching(/not pinned/),
    });
  });
});
