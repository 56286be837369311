import { describe, expect, it } from 'vitest';
import { chiSquarePValue, fairnessOf } from '../../src/domain/fairness.js';
import { GENESIS_HASH, type ProtocolEntry, sealEntry } from '../../src/domain/protocol.js';

/** A chain of draws: each is [service, eligible, chosen]. */
function draws(specs: Array<[string, string[], string]>): ProtocolEntry[] {
  const entries: ProtocolEntry[] = [];
  let head = { seq: 0, hash: GENESIS_HASH };
  for (const [i, [service, eligible, chosen]] of specs.entries()) {
    const entry = sealEntry(
      {
        type: 'draw',
        packetId: `pk_${i}`,
        pdfSha256: 'a'.repeat(64),
        service,
        reason: 'ready',
        eligible,
        excluded: [],
        randomIndex: eligible.indexOf(chosen),
        chosen,
        packetWindow: { packetIds: [`pk_${i}`], randomIndex: 0 },
      },
      head,
      new Date(0),
    );
    entries.push(entry);
    head = { seq: entry.seq, hash: entry.hash };
  }
  return entries;
}

describe('chi-square p-value', () => {
  it.each([
    [3.841, 1, 0.05],
    [6.635, 1, 0.01],
    [9.488, 4, 0.05],
    [13.277, 4, 0.01],
    [18.307, 10, 0.05],
    [0, 3, 1],
  ])('P(χ²(%s) ≥ %s, %s df) = %s', (statistic, degrees, expected) => {
    expect(chiSquarePValue(statistic, degrees)).toBeCloseTo(expected, 3);
  });
});

describe('fairness of past draws', () => {
  it('expects 1/|pool| per draw for each member and counts what each received, per service', () => {
    const report = fairnessOf(
      draws([
        ['land', ['rg_a', 'rg_b'], 'rg_a'],
        ['land', ['rg_a', 'rg_b'], 'rg_a'],
        ['land', ['rg_a', 'rg_b', 'rg_c'], 'rg_c'],
        ['tax', ['rg_d'], 'rg_d'],
      ]),
    );
    const land = report.services.find((service) => service.service === 'land')!;
    expect(land.draws).toBe(3);
    expect(land.registrars.map(({ low: _low, high: _high, ...row }) => row)).toEqual([
      { registrarId: 'rg_a', received: 2, expected: 1.333 },
      { registrarId: 'rg_b', received: 0, expected: 1.333 },
      { registrarId: 'rg_c', received: 1, expected: 0.333 },
    ]);
    // 95 % interval: expected ± 1.96 sd, the variance summing p(1 − p) over the draws each was in.
    const sdA = Math.sqrt(0.25 + 0.25 + (1 / 3) * (2 / 3));
    expect(land.registrars[0]!.low).toBe(0);
    expect(land.registrars[0]!.high).toBeCloseTo(4 / 3 + 1.96 * sdA, 2);
    const sdC = Math.sqrt((1 / 3) * (2 / 3));
    expect(land.registrars[2]!.high).toBeCloseTo(1 / 3 + 1.96 * sdC, 2);
    const statistic = (2 - 4 / 3) ** 2 / (4 / 3) + (4 / 3) ** 2 / (4 / 3) + (1 - 1 / 3) ** 2 / (1 / 3);
    expect(land.chiSquare).toBeCloseTo(statistic, 3);
    expect(land.degreesOfFreedom).toBe(2);
    expect(land.pValue!).toBeCloseTo(chiSquarePValue(statistic, 2), 6);
    const tax = report.services.find((service) => service.service === 'tax')!;
    expect(tax).toMatchObject({ draws: 1, degreesOfFreedom: 0, pValue: null });
  });

  it('puts the 95 % interval around the expectation, so a fair long run stays inside it', () => {
    const specs: Array<[string, string[], string]> = Array.from({ length: 400 }, (_, i) => [
      'land',
      ['rg_a', 'rg_b', 'rg_c', 'rg_d'],
      ['rg_a', 'rg_b', 'rg_c', 'rg_d'][i % 4]!,
    ]);
    const [land] = fairnessOf(draws(specs)).services;
    for (const row of land!.registrars) {
      expect(row.expected).toBe(100);
      // sd = sqrt(400 · 1/4 · 3/4) ≈ 8.66, so 100 ± 16.97
      expect(row.low).toBeCloseTo(83.03, 1);
      expect(row.high).toBeCloseTo(116.97, 1);
    }
  });

  it('ignores releases and decisions', () => {
    const [draw] = draws([['land', ['rg_a', 'rg_b'], 'rg_b']]);
    const decision = sealEntry(
      { type: 'decision', packetId: 'pk_0', registrarId: 'rg_b', outcome: 'approved', drawSeq: 1 },
      { seq: draw!.seq, hash: draw!.hash },
      new Date(0),
    );
    expect(fairnessOf([draw!, decision]).services[0]!.draws).toBe(1);
  });
});
