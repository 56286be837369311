import { describe, expect, it } from 'vitest';
import { type AnomalyReport, anomaliesOf, poissonBinomialUpperTail } from '../../src/domain/anomalies.js';
import { PLANTED, simulatedMonth } from '../helpers/simulated-month.js';

/**
 * The report's promise, checked over many simulated months: in a clean month, the chance that anything at all is
 * flagged is at most alpha (5 %). Also how often the planted abuses are found. Months are generated without hashes
 * (analytics never read them) to fit some 100 months in under a minute.
 */

const ALPHA = 0.05;
const CLEAN_MONTHS = 100;
const PLANTED_MONTHS = 20;
/** Chance that a correct 5 % procedure still fails the bound below: the binomial tolerance. */
const TOLERANCE = 0.01;

const flagged = (report: AnomalyReport) =>
  [...report.pairs, ...report.recusals, ...report.freeToggles, ...report.removals].filter(
    (finding) => finding.flagged,
  );

/** Whether a finding is about this registrar (and station, when given). */
const about =
  (who: { registrarId: string; stationId?: string }) =>
  ({ subject }: { subject: { registrarId: string; stationId?: string } }) =>
    subject.registrarId === who.registrarId && subject.stationId === who.stationId;

/** The most months of `months` that may have a flag: more has chance ≤ TOLERANCE if the true rate is ALPHA. */
function mostFlaggedMonths(months: number): number {
  for (let bound = 0; bound <= months; bound++)
    if (poissonBinomialUpperTail(new Array(months).fill(ALPHA), bound + 1).pValue <= TOLERANCE) return bound;
  return months;
}

describe('anomalies over many simulated months', () => {
  it(`flags something in at most ${ALPHA * 100} % of clean months (${CLEAN_MONTHS} months, binomial tolerance)`, {
    timeout: 120_000,
  }, () => {
    const started = performance.now();
    const bySection = { pairs: 0, recusals: 0, freeToggles: 0, removals: 0 };
    let monthsWithFlag = 0;
    for (let seed = 1_001; seed <= 1_000 + CLEAN_MONTHS; seed++) {
      const month = simulatedMonth({ seed, sealed: false, decisions: false });
      const report = anomaliesOf(month.entries, month.availability, { alpha: ALPHA });
      if (report.flagged > 0) monthsWithFlag++;
      for (const section of Object.keys(bySection) as Array<keyof typeof bySection>)
        if (report[section].some((finding) => finding.flagged)) bySection[section]++;
    }
    const bound = mostFlaggedMonths(CLEAN_MONTHS);
    console.log(
      JSON.stringify({
        test: 'clean months',
        months: CLEAN_MONTHS,
        monthsWithFlag,
        rate: monthsWithFlag / CLEAN_MONTHS,
        familyWiseRate: ALPHA,
        bound,
        monthsWithFlagBySection: bySection,
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      }),
    );
    expect(monthsWithFlag).toBeLessThanOrEqual(bound);
  });

  it(`finds the planted abuses in most months (${PLANTED_MONTHS} months)`, { timeout: 120_000 }, () => {
    const started = performance.now();
    const found = {
      timingPairInToggles: 0,
      timingPairInPairs: 0,
      biasedDraw: 0,
      recuser: 0,
      adminBeneficiary: 0,
    };
    let monthsWithOtherFlags = 0;
    for (let seed = 2_001; seed <= 2_000 + PLANTED_MONTHS; seed++) {
      const month = simulatedMonth({ seed, sealed: false, decisions: false, plant: PLANTED });
      const report = anomaliesOf(month.entries, month.availability, { alpha: ALPHA });
      const { colluder, biasedDraw, recuser, adminBeneficiary } = PLANTED;
      const planted = [
        report.freeToggles.find(about(colluder)),
        report.pairs.find(about(colluder)),
        report.pairs.find(about(biasedDraw)),
        report.recusals.find(about(recuser)),
        report.removals.find(about(adminBeneficiary)),
      ];
      const [toggles, timingPair, biasedPair, recusals, removals] = planted;
      if (toggles?.flagged) found.timingPairInToggles++;
      if (timingPair?.flagged) found.timingPairInPairs++;
      if (biasedPair?.flagged) found.biasedDraw++;
      if (recusals?.flagged) found.recuser++;
      if (removals?.flagged) found.adminBeneficiary++;
      if (flagged(report).some((finding) => !planted.includes(finding as (typeof planted)[number])))
        monthsWithOtherFlags++;
    }
    const rate = (count: number) => count / PLANTED_MONTHS;
    console.log(
      JSON.stringify({
        test: 'planted months',
        months: PLANTED_MONTHS,
        detectionRate: Object.fromEntries(Object.entries(found).map(([name, count]) => [name, rate(count)])),
        monthsWithOtherFlags,
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      }),
    );
    expect(rate(found.timingPairInToggles)).toBeGreaterThanOrEqual(0.9);
    expect(rate(found.recuser)).toBeGreaterThanOrEqual(0.9);
    expect(rate(found.biasedDraw)).toBeGreaterThanOrEqual(0.7);
    expect(rate(found.adminBeneficiary)).toBeGreaterThanOrEqual(0.7);
    expect(monthsWithOtherFlags).toBeLessThanOrEqual(mostFlaggedMonths(PLANTED_MONTHS));
  });
});
