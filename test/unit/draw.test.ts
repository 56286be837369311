import { describe, expect, it } from 'vitest';
import {
  type DrawRules,
  planDraw,
  poolFor,
  type RandomIndex,
  type WaitingPacket,
} from '../../src/domain/draw.js';
import type { ExclusionReason } from '../../src/domain/protocol.js';
import type { Registrar, RegistrarStatus } from '../../src/domain/types.js';

const registrar = (id: string, status: RegistrarStatus = 'free', services = ['land']): Registrar => ({
  id,
  name: id,
  services,
  status,
  createdAt: '2026-01-01T00:00:00.000Z',
});

const waiting = (id: string, extra: Partial<WaitingPacket> = {}): WaitingPacket => ({
  id,
  service: 'land',
  stationId: 'st_1',
  pdfSha256: 'a'.repeat(64),
  exclusions: new Map(),
  queuedFor: 'ready',
  waited: false,
  readyAt: 0,
  ...extra,
});

const HEAD = 'a'.repeat(64);
const NOW = Date.parse('2026-01-02T10:00:00.000Z');
const RULES: DrawRules = { minPool: 1, resubmissionPolicy: 'exclude_earlier', now: NOW };

/** A random source that answers from a script and records every question (the size of each range drawn from). */
function scripted(answers: number[]) {
  const asked: number[] = [];
  const inputs: Array<{ purpose: string; inputs: unknown }> = [];
  const random: RandomIndex = (n, purpose, drawn) => {
    asked.push(n);
    inputs.push({ purpose, inputs: drawn });
    const answer = answers.shift() ?? 0;
    if (answer >= n) throw new Error(`scripted ${answer} is outside [0, ${n})`);
    return answer;
  };
  return { random, asked, inputs };
}

describe('pool for a packet', () => {
  it('lists free registrars of the service, sorted, and everyone else serving it with a reason', () => {
    const exclusions = new Map<string, ExclusionReason>([
      ['rg_recused', 'recused'],
      ['rg_excluded_busy', 'recused'],
    ]);
    const pool = poolFor(
      waiting('pk_1', { exclusions, resubmission: { of: 'pk_0', deciders: ['rg_decided'] } }),
      [
        registrar('rg_c'),
        registrar('rg_a'),
        registrar('rg_busy', 'busy'),
        registrar('rg_away', 'away'),
        registrar('rg_removed', 'removed'),
        registrar('rg_recused'),
        registrar('rg_decided'),
        registrar('rg_excluded_busy', 'busy'),
        { ...registrar('rg_cooling'), cooldownUntil: NOW + 1 },
        { ...registrar('rg_cooled'), cooldownUntil: NOW },
        registrar('rg_other_service', 'free', ['tax']),
      ],
      RULES,
    );
    expect(pool.eligible).toEqual(['rg_a', 'rg_c', 'rg_cooled']);
    expect(pool.excluded).toEqual([
      { registrarId: 'rg_away', reason: 'away' },
      { registrarId: 'rg_busy', reason: 'busy' },
      { registrarId: 'rg_cooling', reason: 'cooldown' },
      { registrarId: 'rg_decided', reason: 'decided_earlier_submission' },
      { registrarId: 'rg_excluded_busy', reason: 'recused' },
      { registrarId: 'rg_recused', reason: 'recused' },
      { registrarId: 'rg_removed', reason: 'removed' },
    ]);
    expect(pool.minPool).toBe(1);
  });

  describe('a resubmission, by RESUBMISSION_POLICY', () => {
    const office = ['rg_a', 'rg_b', 'rg_c', 'rg_d'].map((id) => registrar(id));
    const resubmission = waiting('pk_2', { resubmission: { of: 'pk_1', deciders: ['rg_b', 'rg_d'] } });
    const poolUnder = (policy: DrawRules['resubmissionPolicy'], registrars = office) =>
      poolFor(resubmission, registrars, { ...RULES, minPool: 3, resubmissionPolicy: policy });

    it('exclude_earlier: everyone who decided an earlier submission is out', () => {
      const pool = poolUnder('exclude_earlier');
      expect(pool.eligible).toEqual(['rg_a', 'rg_c']);
      expect(pool.excluded).toEqual([
        { registrarId: 'rg_b', reason: 'decided_earlier_submission' },
        { registrarId: 'rg_d', reason: 'decided_earlier_submission' },
      ]);
      // Two of four are left: the draw needs no more than that, or a small service never serves resubmissions.
      expect(pool.minPool).toBe(2);
    });

    it('same_registrar: only the last decider, waited for alone; once he is gone, anyone', () => {
      const pool = poolUnder('same_registrar');
      expect(pool.eligible).toEqual(['rg_b']);
      expect(pool.excluded.map(({ reason }) => reason)).toEqual([
        'not_earlier_decider',
        'not_earlier_decider',
        'not_earlier_decider',
      ]);
      expect(pool.minPool).toBe(1);
      const gone = poolUnder('same_registrar', [
        ...office.filter(({ id }) => id !== 'rg_b'),
        registrar('rg_b', 'removed'),
      ]);
      expect(gone.eligible).toEqual(['rg_a', 'rg_c', 'rg_d']);
      expect(gone.minPool).toBe(3);
      const recused = poolFor(
        { ...resubmission, exclusions: new Map([['rg_b', 'recused' as const]]) },
        office,
        { ...RULES, minPool: 3, resubmissionPolicy: 'same_registrar' },
      );
      expect(recused.eligible).toEqual(['rg_a', 'rg_c', 'rg_d']);
    });

    it('random: the link changes nothing', () => {
      expect(poolUnder('random').eligible).toEqual(['rg_a', 'rg_b', 'rg_c', 'rg_d']);
    });
  });
});

describe('planning a draw', () => {
  const free = ['rg_a', 'rg_b', 'rg_c'].map((id) => registrar(id));

  it('draws the registrar uniformly by index from the sorted pool, and writes down what it drew', () => {
    const { random, asked } = scripted([0, 2]);
    const { draw, starved } = planDraw([waiting('pk_1')], free, {
      ...RULES,
      window: 3,
      random,
      prevHash: HEAD,
    });
    expect(starved).toEqual([]);
    expect(asked).toEqual([1, 3]);
    expect(draw?.entry).toMatchObject({
      type: 'draw',
      packetId: 'pk_1',
      reason: 'ready',
      eligible: ['rg_a', 'rg_b', 'rg_c'],
      randomIndex: 2,
      chosen: 'rg_c',
      packetWindow: { packetIds: ['pk_1'], randomIndex: 0 },
      stationId: 'st_1',
      readyAt: '1970-01-01T00:00:00.000Z',
    });
    expect(draw?.entry).not.toHaveProperty('resubmissionOf');
  });

  it('lets packets wait while fewer than minPool registrars are eligible, and says which', () => {
    const { random, asked } = scripted([]);
    const first = waiting('pk_1');
    const taxPacket = waiting('pk_2', { service: 'tax' });
    const { draw, starved } = planDraw([first, taxPacket], free, {
      ...RULES,
      minPool: 4,
      window: 3,
      random,
      prevHash: HEAD,
    });
    expect(draw).toBeUndefined();
    expect(starved.map((packet) => packet.id)).toEqual(['pk_1', 'pk_2']);
    expect(asked).toEqual([]);
  });

  it('draws among the oldest `window` servable packets, skipping the starved ones', () => {
    const { random, inputs } = scripted([2, 1]);
    const packets = [
      waiting('pk_tax', { service: 'tax' }),
      waiting('pk_1'),
      waiting('pk_2'),
      waiting('pk_3'),
      waiting('pk_4'),
    ];
    const { draw, starved } = planDraw(packets, free, { ...RULES, window: 3, random, prevHash: HEAD });
    expect(starved.map((packet) => packet.id)).toEqual(['pk_tax']);
    expect(draw?.entry.packetWindow).toEqual({ packetIds: ['pk_1', 'pk_2', 'pk_3'], randomIndex: 2 });
    expect(draw?.entry).toMatchObject({ packetId: 'pk_3', chosen: 'rg_b' });
    // Each index is asked for with what it is about, all fixed before the draw and all written in the entry.
    expect(inputs).toEqual([
      { purpose: 'packet', inputs: { prevHash: HEAD, packetIds: ['pk_1', 'pk_2', 'pk_3'] } },
      {
        purpose: 'registrar',
        inputs: {
          prevHash: HEAD,
          packetId: 'pk_3',
          pdfSha256: draw?.entry.pdfSha256,
          eligible: draw?.entry.eligible,
        },
      },
    ]);
  });

  it('names the reason: a packet that waited is drawn because a registrar turned free', () => {
    const { random } = scripted([0, 0]);
    const { draw } = planDraw([waiting('pk_1', { waited: true })], free, {
      ...RULES,
      window: 3,
      random,
      prevHash: HEAD,
    });
    expect(draw?.entry.reason).toBe('registrar_free');
  });

  it('links a redraw after a recusal to the release that caused it, without the registrar who recused', () => {
    const { random } = scripted([0, 0]);
    const packet = waiting('pk_1', {
      queuedFor: 'recusal',
      waited: true,
      previousSeq: 41,
      exclusions: new Map([['rg_a', 'recused' as const]]),
    });
    const { draw } = planDraw([packet], free, { ...RULES, window: 3, random, prevHash: HEAD });
    expect(draw?.entry).toMatchObject({
      reason: 'recusal',
      previousSeq: 41,
      eligible: ['rg_b', 'rg_c'],
      excluded: [{ registrarId: 'rg_a', reason: 'recused' }],
    });
  });

  it('never draws when nobody is eligible, even with minPool 1', () => {
    const { random } = scripted([]);
    const { draw, starved } = planDraw([waiting('pk_1')], [registrar('rg_a', 'busy')], {
      ...RULES,
      window: 3,
      random,
      prevHash: HEAD,
    });
    expect(draw).toBeUndefined();
    expect(starved).toHaveLength(1);
  });
});
