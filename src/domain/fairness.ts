import type { ProtocolEntry } from './protocol.js';

/**
 * Fairness of past draws: for each service and registrar, the packets received against the number expected given
 * the pools they were in (each draw adds 1/|pool| to every member), and a chi-square p-value per service.
 */

/** Regularized upper incomplete gamma Q(a, x) (Numerical Recipes: series below a+1, continued fraction above). */
function upperRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnGammaA = logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 500; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-14) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - lnGammaA);
  }
  let b = x + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return Math.exp(-x + a * Math.log(x) - lnGammaA) * h;
}

/** Lanczos approximation of ln Γ(x). */
function logGamma(x: number): number {
  const g = [
    76.18009172947146, -86.50532032941678, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2,
    -0.5395239384953e-5,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let series = 1.000000000190015;
  for (const coefficient of g) series += coefficient / ++y;
  return -tmp + Math.log((2.5066282746310007 * series) / x);
}

/** P(χ²_k ≥ statistic). */
export const chiSquarePValue = (statistic: number, degreesOfFreedom: number) =>
  upperRegularizedGamma(degreesOfFreedom / 2, statistic / 2);

const Z_95 = 1.959964;

export type FairnessReport = {
  services: Array<{
    service: string;
    draws: number;
    chiSquare: number;
    degreesOfFreedom: number;
    pValue: number | null;
    /**
     * `low`…`high`: where `received` falls 95 % of the time if draws are fair (expected ± 1.96 standard deviations
     * of a sum of independent draws, each a 1/|pool| chance; clamped at 0).
     */
    registrars: Array<{ registrarId: string; received: number; expected: number; low: number; high: number }>;
  }>;
};

export function fairnessOf(entries: ProtocolEntry[]): FairnessReport {
  const byService = new Map<
    string,
    { draws: number; tally: Map<string, { received: number; expected: number; variance: number }> }
  >();
  for (const entry of entries) {
    if (entry.type !== 'draw') continue;
    const service = byService.get(entry.service) ?? { draws: 0, tally: new Map() };
    byService.set(entry.service, service);
    service.draws++;
    for (const registrarId of entry.eligible) {
      const row = service.tally.get(registrarId) ?? { received: 0, expected: 0, variance: 0 };
      const chance = 1 / entry.eligible.length;
      row.expected += chance;
      row.variance += chance * (1 - chance);
      if (registrarId === entry.chosen) row.received++;
      service.tally.set(registrarId, row);
    }
  }
  return {
    services: [...byService.entries()].map(([service, { draws, tally }]) => {
      const registrars = [...tally.entries()]
        .map(([registrarId, row]) => {
          const margin = Z_95 * Math.sqrt(row.variance);
          return {
            registrarId,
            received: row.received,
            expected: Number(row.expected.toFixed(3)),
            low: Number(Math.max(0, row.expected - margin).toFixed(3)),
            high: Number((row.expected + margin).toFixed(3)),
          };
        })
        .sort((a, b) => (a.registrarId < b.registrarId ? -1 : 1));
      const chiSquare = [...tally.values()].reduce(
        (sum, row) => sum + (row.received - row.expected) ** 2 / row.expected,
        0,
      );
      const degreesOfFreedom = tally.size - 1;
      return {
        service,
        draws,
        chiSquare: Number(chiSquare.toFixed(4)),
        degreesOfFreedom,
        pValue: degreesOfFreedom > 0 ? chiSquarePValue(chiSquare, degreesOfFreedom) : null,
        registrars,
      };
    }),
  };
}
