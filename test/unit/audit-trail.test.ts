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

/** Registrars turning free (or away, or removed): where every replay starts. */
const turn = (status: 'free' | 'away' | 'removed', ...registrarIds: string[]): EntryBody[] =>
  registrarIds.map((registrarId) => ({ type: 'status', registrarId, status, by: 'registrar' }));

/** The last entry's seq: where a check that fails on the last entry points. */
const lastSeq = (entries: ProtocolEntry[]) => entries.at(-1)!.seq;

describe('exclusions and eligibility replayed from the entries before them', () => {
  it('accept busy while holding a packet, away and removed as the status entries show, recused after a recusal', () => {
    const entries = chain([
      ...turn('free', 'rg_a', 'rg_b', 'rg_c'),
      ...turn('away', 'rg_c'),
      ...turn('removed', 'rg_d'),
      draw('pk_1', ['rg_a', 'rg_b'], [{ registrarId: 'rg_c', reason: 'away' }]),
      draw(
        'pk_2',
        ['rg_b'],
        [
          { registrarId: 'rg_a', reason: 'busy' },
          { registrarId: 'rg_c', reason: 'away' },
          { registrarId: 'rg_d', reason: 'removed' },
          { registrarId: 'rg_e', reason: 'away' },
        ],
      ),
      { type: 'release', packetId: 'pk_2', registrarId: 'rg_b', reason: 'recusal', drawSeq: 7 },
      ...turn('free', 'rg_c'),
      draw(
        'pk_2',
        ['rg_c'],
        [
          { registrarId: 'rg_a', reason: 'busy' },
          { registrarId: 'rg_b', reason: 'recused' },
        ],
      ),
    ]);
    // rg_e was never seen: created away, so counted apart.
    expect(checkExclusions(entries)).toEqual({ ok: true, justified: 6, notInLog: 1 });
  });

  it('refuse an exclusion the replay does not show, and an eligible registrar who is not free', () => {
    const decided = chain([
      ...turn('free', 'rg_a', 'rg_b'),
      draw('pk_1', ['rg_a'], []),
      { type: 'decision', packetId: 'pk_1', registrarId: 'rg_a', outcome: 'approved', drawSeq: 3 },
      draw('pk_2', ['rg_b'], [{ registrarId: 'rg_a', reason: 'busy' }]),
    ]);
    expect(checkExclusions(decided)).toMatchObject({
      ok: false,
      brokenAt: lastSeq(decided),
      reason: expect.stringMatching(/rg_a is excluded as busy/),
    });
    const invented = chain([
      ...turn('free', 'rg_a'),
      draw('pk_1', ['rg_a'], [{ registrarId: 'rg_b', reason: 'recused' }]),
    ]);
    expect(checkExclusions(invented)).toMatchObject({ ok: false, brokenAt: 2 });
    const awayButDrawn = chain([
      ...turn('free', 'rg_a'),
      ...turn('away', 'rg_a'),
      draw('pk_1', ['rg_a'], []),
    ]);
    expect(checkExclusions(awayButDrawn)).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: 'rg_a is eligible but is away',
    });
    const neverFree = chain([draw('pk_1', ['rg_a'], [])]);
    expect(checkExclusions(neverFree)).toMatchObject({ ok: false, brokenAt: 1 });
    const freeWhileHolding = chain([
      ...turn('free', 'rg_a'),
      draw('pk_1', ['rg_a'], []),
      draw('pk_2', ['rg_a'], []),
    ]);
    expect(checkExclusions(freeWhileHolding)).toMatchObject({
      ok: false,
      reason: 'rg_a is eligible but holds a packet',
    });
  });

  it('away asked while holding a packet takes effect when it is decided; free cancels it', () => {
    const holding: EntryBody[] = [...turn('free', 'rg_a', 'rg_b'), draw('pk_1', ['rg_a', 'rg_b'], [])];
    const awayAfter: EntryBody = {
      type: 'status',
      registrarId: 'rg_a',
      status: 'away',
      by: 'registrar',
      afterPacket: true,
    };
    const decided: EntryBody = {
      type: 'decision',
      packetId: 'pk_1',
      registrarId: 'rg_a',
      outcome: 'approved',
      drawSeq: 3,
    };
    const then = (excluded: DrawEntry['excluded'], eligible = ['rg_b']) => draw('pk_2', eligible, excluded);
    expect(
      checkExclusions(
        chain([...holding, awayAfter, decided, then([{ registrarId: 'rg_a', reason: 'away' }])]),
      ),
    ).toMatchObject({ ok: true });
    const cancelled: EntryBody = { ...awayAfter, status: 'free' } as EntryBody;
    expect(
      checkExclusions(chain([...holding, awayAfter, cancelled, decided, then([], ['rg_a', 'rg_b'])])),
    ).toMatchObject({ ok: true });
    expect(
      checkExclusions(chain([...holding, awayAfter, decided, then([], ['rg_a', 'rg_b'])])),
    ).toMatchObject({ ok: false, reason: 'rg_a is eligible but is away' });
  });

  it('accept a recusal excluding him from the packets that waited, and his cooldown until it ends', () => {
    const recused = (cooldownMinutes: number): EntryBody => ({
      type: 'release',
      packetId: 'pk_1',
      registrarId: 'rg_a',
      reason: 'recusal',
      drawSeq: 4,
      alsoExcludedFrom: ['pk_2'],
      // Entries are a minute apart: the last draw is at minute 6.
      cooldownUntil: new Date(Date.UTC(2026, 0, 1, 0, 4 + cooldownMinutes)).toISOString(),
    });
    const recusedChain = (cooldownMinutes: number) =>
      chain([
        ...turn('free', 'rg_a', 'rg_b', 'rg_c'),
        draw('pk_1', ['rg_a'], []),
        recused(cooldownMinutes),
        draw('pk_2', ['rg_b'], [{ registrarId: 'rg_a', reason: 'recused' }]),
        draw('pk_3', ['rg_c'], [{ registrarId: 'rg_a', reason: 'cooldown' }]),
      ]);
    expect(checkExclusions(recusedChain(5))).toEqual({ ok: true, justified: 2, notInLog: 0 });
    expect(checkExclusions(recusedChain(1))).toMatchObject({
      ok: false,
      brokenAt: 7,
      reason: expect.stringMatching(/rg_a is excluded as cooldown/),
    });
    const eligibleWhileCooling = chain([
      ...turn('free', 'rg_a', 'rg_b', 'rg_c'),
      draw('pk_1', ['rg_a'], []),
      recused(5),
      draw('pk_3', ['rg_a', 'rg_c'], []),
    ]);
    expect(checkExclusions(eligibleWhileCooling)).toMatchObject({
      ok: false,
      reason: 'rg_a is eligible but is in a recusal cooldown',
    });
  });

  describe('a resubmission, by the policy its draw names', () => {
    const decided: EntryBody[] = [
      ...turn('free', 'rg_a', 'rg_b', 'rg_c'),
      draw('pk_1', ['rg_a'], []),
      { type: 'decision', packetId: 'pk_1', registrarId: 'rg_a', outcome: 'rejected', drawSeq: 4 },
      drawEntry('pk_2', ['rg_b'], { resubmissionOf: 'pk_1', resubmissionPolicy: 'exclude_earlier' }),
      { type: 'decision', packetId: 'pk_2', registrarId: 'rg_b', outcome: 'rejected', drawSeq: 6 },
    ];
    const resubmitted = (fields: Partial<DrawEntry>, eligible = ['rg_c']) =>
      chain([...decided, drawEntry('pk_3', eligible, { resubmissionOf: 'pk_2', ...fields })]);
    const DRAW = decided.length + 1;

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
        brokenAt: DRAW,
        reason: 'rg_a is eligible but decided an earlier submission',
      });
      const invented = resubmitted({
        resubmissionPolicy: 'exclude_earlier',
        excluded: [{ registrarId: 'rg_d', reason: 'decided_earlier_submission' }],
      });
      expect(checkExclusions(invented)).toMatchObject({ ok: false, brokenAt: DRAW });
    });

    it('same_registrar draws only who decided the last one, and anyone once he is removed or recused', () => {
      const sameRegistrar = (eligible: string[], excluded: DrawEntry['excluded']) =>
        checkExclusions(resubmitted({ resubmissionPolicy: 'same_registrar', excluded }, eligible));
      expect(
        sameRegistrar(
          ['rg_b'],
          [
            { registrarId: 'rg_a', reason: 'not_earlier_decider' },
            { registrarId: 'rg_c', reason: 'not_earlier_decider' },
          ],
        ),
      ).toEqual({ ok: true, justified: 2, notInLog: 0 });
      expect(sameRegistrar(['rg_b', 'rg_c'], [])).toMatchObject({ ok: false, brokenAt: DRAW });
      // He is only busy: the packet must wait for him, not go to someone else.
      const busy = chain([
        ...decided,
        draw('pk_9', ['rg_b'], []),
        drawEntry('pk_3', ['rg_c'], {
          resubmissionOf: 'pk_2',
          resubmissionPolicy: 'same_registrar',
          excluded: [{ registrarId: 'rg_b', reason: 'busy' }],
        }),
      ]);
      expect(checkExclusions(busy)).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/drawn without rg_b/),
      });
      const removed = chain([
        ...decided,
        ...turn('removed', 'rg_b'),
        drawEntry('pk_3', ['rg_c'], {
          resubmissionOf: 'pk_2',
          resubmissionPolicy: 'same_registrar',
          excluded: [{ registrarId: 'rg_b', reason: 'removed' }],
        }),
      ]);
      expect(checkExclusions(removed)).toMatchObject({ ok: true });
      expect(sameRegistrar(['rg_c'], [{ registrarId: 'rg_a', reason: 'not_earlier_decider' }])).toMatchObject(
        {
          ok: false,
          reason: expect.stringMatching(/rg_a is excluded as not_earlier_decider/),
        },
      );
    });

    it('refuse a link to a packet no entry shows decided', () => {
      const unlinked = chain([
        ...turn('free', 'rg_c'),
        drawEntry('pk_9', ['rg_c'], { resubmissionOf: 'pk_8', resubmissionPolicy: 'random' }),
      ]);
      expect(checkExclusions(unlinked)).toMatchObject({
        ok: false,
        brokenAt: 2,
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
