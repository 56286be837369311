import { describe, expect, it } from 'vitest';
import {
  type AnomalyReport,
  anomaliesOf,
  holmAdjusted,
  poissonBinomialUpperTail,
} from '../../src/domain/anomalies.js';
import {
  type EntryBody,
  GENESIS_HASH,
  type ProtocolEntry,
  sealEntry,
  verifyChain,
} from '../../src/domain/protocol.js';
import { PLANTED, simulatedMonth } from '../helpers/simulated-month.js';
import { drawEntry } from './fakes/draw-entry.js';

/** P(X ≥ k) for X ~ Binomial(n, p), term by term in logs: the reference for the tail. */
function binomialTail(n: number, p: number, k: number): number {
  let logChoose = 0;
  for (let i = 1; i <= k; i++) logChoose += Math.log((n - k + i) / i);
  let sum = 0;
  for (let j = k; j <= n; j++) {
    sum += Math.exp(logChoose + j * Math.log(p) + (n - j) * Math.log(1 - p));
    logChoose += Math.log((n - j) / (j + 1));
  }
  return sum;
}

/** P(X ≥ k) for a sum of Bernoulli trials, by enumerating every outcome. */
function enumeratedTail(chances: number[], k: number): number {
  let sum = 0;
  for (let outcome = 0; outcome < 2 ** chances.length; outcome++) {
    let probability = 1;
    let count = 0;
    for (const [i, p] of chances.entries()) {
      const happened = (outcome >> i) & 1;
      count += happened;
      probability *= happened ? p : 1 - p;
    }
    if (count >= k) sum += probability;
  }
  return sum;
}

function chain(bodies: EntryBody[]): ProtocolEntry[] {
  const entries: ProtocolEntry[] = [];
  let head = { seq: 0, hash: GENESIS_HASH };
  for (const body of bodies) {
    const entry = sealEntry(body, head, new Date(Date.UTC(2026, 10, 2, 8, 0, entries.length * 10)));
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  }
  return entries;
}

const flaggedSubjects = (report: AnomalyReport) => ({
  pairs: report.pairs.filter((finding) => finding.flagged).map((finding) => finding.subject),
  recusals: report.recusals.filter((finding) => finding.flagged).map((finding) => finding.subject),
  freeToggles: report.freeToggles.filter((finding) => finding.flagged).map((finding) => finding.subject),
  removals: report.removals.filter((finding) => finding.flagged).map((finding) => finding.subject),
});

describe('anomalies › the tail of a sum of chances', () => {
  it('is the binomial tail when every chance is the same', () => {
    for (const k of [0, 1, 5, 9, 14, 20]) {
      const { pValue, method } = poissonBinomialUpperTail(new Array(20).fill(0.3), k);
      expect(method).toBe('exact');
      expect(pValue).toBeCloseTo(binomialTail(20, 0.3, k), 12);
    }
  });

  it('is the enumerated tail for unequal chances, certain ones included', () => {
    const chances = [0.1, 0.5, 0.9, 0.25, 1, 0, 0.6];
    for (let k = 0; k <= chances.length; k++)
      expect(poissonBinomialUpperTail(chances, k).pValue).toBeCloseTo(enumeratedTail(chances, k), 12);
  });

  it('keeps tiny p-values instead of rounding 1 − P(X < k) to zero', () => {
    const { pValue } = poissonBinomialUpperTail(new Array(400).fill(0.25), 200);
    expect(pValue).toBeGreaterThan(0);
    expect(pValue / binomialTail(400, 0.25, 200)).toBeCloseTo(1, 6);
  });

  it('falls back to the refined normal approximation for very large counts, within a few per cent', () => {
    const chances = new Array(30_000).fill(0.2);
    // From P ≈ 0.08 to P ≈ 3·10⁻⁷.
    for (const k of [6_100, 6_250, 6_350]) {
      const { pValue, method } = poissonBinomialUpperTail(chances, k);
      expect(method).toBe('refined normal approximation');
      expect(pValue / binomialTail(30_000, 0.2, k)).toBeCloseTo(1, 1);
    }
  });
});

describe('anomalies › Holm adjustment', () => {
  it('multiplies the k-th smallest of m p-values by m − k + 1 and keeps them in order', () => {
    expect(holmAdjusted([0.01, 0.04, 0.03, 0.005])).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(holmAdjusted([0.5, 0.9])).toEqual([1, 1]);
  });

  it('with weights, takes tests by p / weight against the weight still in play', () => {
    // p / w: 0.01 / 3 first, then 0.02 / 1; the first is adjusted by the total weight 4, the second by 1.
    const [first, second] = holmAdjusted([0.01, 0.02], [3, 1]);
    expect(first).toBeCloseTo((0.01 / 3) * 4, 12);
    expect(second).toBeCloseTo(0.02, 12);
  });
});

describe('anomalies › removals', () => {
  /** A draw of `packetId` from station st_1 giving it to eligible[index], after the release `previousSeq`. */
  const draw = (packetId: string, eligible: string[], index: number, previousSeq?: number) =>
    drawEntry(packetId, eligible, {
      randomIndex: index,
      stationId: 'st_1',
      ...(previousSeq === undefined ? {} : { reason: 'away', previousSeq }),
    });
  const release = (
    packetId: string,
    registrarId: string,
    reason: 'recusal' | 'away' | 'removed',
    drawSeq: number,
  ) => ({ type: 'release', packetId, registrarId, reason, drawSeq }) as const;

  it('counts a chain of removals once, by the redraw nobody undid', () => {
    const report = anomaliesOf(
      chain([
        draw('pk_1', ['rg_a', 'rg_b', 'rg_c'], 0),
        release('pk_1', 'rg_a', 'away', 1),
        draw('pk_1', ['rg_b', 'rg_c'], 1, 2),
        release('pk_1', 'rg_c', 'removed', 3),
        draw('pk_1', ['rg_b', 'rg_d'], 0, 4),
        draw('pk_2', ['rg_a', 'rg_b', 'rg_c'], 2),
        release('pk_2', 'rg_c', 'recusal', 6),
        draw('pk_2', ['rg_a', 'rg_b'], 1, 7),
      ]),
      [],
    );
    // One chain of two removals, judged by its final redraw alone: rg_c, only in the undone redraw, is not tested.
    expect(report.removals.map(({ subject, statistic }) => [subject.registrarId, statistic])).toEqual([
      ['rg_b', expect.objectContaining({ observed: 1, expected: 0.5, trials: 1, chains: 1 })],
      ['rg_d', expect.objectContaining({ observed: 0, expected: 0.5, trials: 1, chains: 1 })],
    ]);
    expect(report.removals[0]!.entries).toEqual([2, 4, 5]);
    expect(
      report.recusals.find((finding) => finding.subject.registrarId === 'rg_c')?.statistic,
    ).toMatchObject({ recusals: 1, received: 2 });
  });
});

describe('anomalies › a simulated month', () => {
  it('writes a sealed chain that verifies', () => {
    const month = simulatedMonth({ seed: 7, packets: 1_500, days: 2 });
    expect(verifyChain(month.entries)).toMatchObject({ ok: true, entries: month.entries.length });
    expect(month.availability.length).toBeGreaterThan(0);
  });

  it('flags the planted timing colluder, biased draw, heavy recuser and administrator beneficiary, and no one else', () => {
    const month = simulatedMonth({ seed: 1, sealed: false, decisions: false, plant: PLANTED });
    const report = anomaliesOf(month.entries, month.availability);
    const { colluder, biasedDraw, recuser, adminBeneficiary } = PLANTED;
    expect(flaggedSubjects(report)).toEqual({
      pairs: [{ stationId: biasedDraw.stationId, registrarId: biasedDraw.registrarId }],
      recusals: [recuser],
      freeToggles: [{ registrarId: colluder.registrarId, stationId: colluder.stationId }],
      removals: [adminBeneficiary],
    });
    // Most suspicious first, with the entries behind each finding.
    for (const section of [report.pairs, report.recusals, report.freeToggles, report.removals]) {
      expect(section[0]!.flagged).toBe(true);
      expect(section[0]!.entries.length).toBeGreaterThan(0);
      expect(section[0]!.entries.length).toBeLessThanOrEqual(50);
    }
    // The timing colluder is fair given the pools he joined: the pair test cannot see him, by construction.
    const timingPair = report.pairs.find(
      ({ subject }) =>
        subject.stationId === colluder.stationId && subject.registrarId === colluder.registrarId,
    )!;
    expect(timingPair.flagged).toBe(false);
    expect(report.freeToggles[0]!.statistic.medianLagSeconds).toBeLessThan(60);
    expect(report.removals[0]!.statistic.medianSecondsDrawToRemoval).toBeLessThan(60);
  });

  it('flags nothing in a clean month', () => {
    const month = simulatedMonth({ seed: 2, sealed: false, decisions: false });
    const report = anomaliesOf(month.entries, month.availability);
    expect(flaggedSubjects(report)).toEqual({ pairs: [], recusals: [], freeToggles: [], removals: [] });
    expect(report.flagged).toBe(0);
    expect(report).toMatchObject({ alpha: 0.05, correction: { method: 'holm' } });
    const sections = [report.pairs, report.recusals, report.freeToggles, report.removals];
    expect(report.correction.tests).toBe(sections.reduce((sum, section) => sum + section.length, 0));
    for (const section of sections) {
      expect(section.length).toBeGreaterThan(0);
      const adjusted = section.map((finding) => finding.adjustedPValue);
      expect(adjusted).toEqual([...adjusted].sort((a, b) => a - b));
    }
  });
});
