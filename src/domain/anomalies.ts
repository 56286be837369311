import { chiSquarePValue } from './fairness.js';
import type { DrawEntry, ProtocolEntry, ReleaseEntry } from './protocol.js';

/**
 * Collusion analytics over the protocol (GET /v1/audit/anomalies). Four sections, each a list of one-sided tests of
 * "more than chance" with their protocol entries:
 *
 * 1. pairs: a station's packets going to one registrar more often than his draws gave him;
 * 2. recusals: a registrar stepping aside more often than the office does;
 * 3. free toggles: a registrar turning free right after one station's packets became ready;
 * 4. removals: packets taken from their registrar by an administrator (or an absence) ending with one beneficiary.
 *
 * Every count is a sum of independent chances, so each test is the upper tail of a Poisson-binomial distribution
 * (a plain binomial in section 2). All tests of all four sections form one family, corrected with Holm's step-down
 * procedure (Holm–Bonferroni), weighted so that each section has an equal share of alpha whatever its number of
 * tests: in a month where nothing is wrong, the chance that the report flags anything at all is at most `alpha`.
 *
 * What they cannot see, by construction: sections 1 and 4 judge draws against their own recorded pools, and a draw
 * is fair given its pool, so someone who shapes the pool instead (turns free at the right moment, makes the others
 * unavailable before a draw) leaves them unmoved; section 3 looks at the timing of turning free, and a redraw whose
 * pool is the beneficiary alone is no evidence either way.
 */

export type AvailabilityEvent = {
  registrarId: string;
  status: 'free' | 'away';
  at: string;
  by: 'registrar' | 'admin';
};

export type AnomalyOptions = {
  /** The family-wise error rate: flag where the Holm-adjusted p-value is below it. Default 0.05. */
  alpha?: number;
  /** Section 3: a packet is fresh for a toggle when it became ready at most this long before it. Default 120. */
  toggleWindowSeconds?: number;
  /** Section 3: each station's share of the packets is taken over ± this long around the toggle. Default 3600. */
  localShareSeconds?: number;
  /** Protocol seqs kept per finding. Default 50. */
  maxEntries?: number;
};

export type TailStatistic = {
  /** The distribution of `observed` if nothing is wrong, and how its upper tail was computed. */
  test: 'poisson-binomial upper tail' | 'binomial upper tail';
  method: 'exact' | 'refined normal approximation';
  observed: number;
  expected: number;
  /** Σ p(1 − p) over the trials. */
  variance: number;
  /** The independent chances the count is made of. */
  trials: number;
};

export type Finding<Subject, Statistic extends TailStatistic = TailStatistic> = {
  subject: Subject;
  statistic: Statistic;
  pValue: number;
  /** Holm-adjusted over every test of the report (see `correction`). */
  adjustedPValue: number;
  flagged: boolean;
  /** Protocol seqs behind the finding (the first `maxEntries`). */
  entries: number[];
};

export type PairFinding = Finding<{ stationId: string; registrarId: string }>;
export type RecusalFinding = Finding<
  { registrarId: string },
  TailStatistic & { recusals: number; received: number; rate: number; officeRate: number }
>;
export type FreeToggleFinding = Finding<
  { registrarId: string; stationId: string },
  TailStatistic & {
    /** His own 'free' toggles with at least one fresh packet of his services before them. */
    toggles: number;
    /** Of the toggles after one of the station's packets, how many ended with him receiving it. */
    received: number;
    medianLagSeconds: number | null;
  }
>;
export type RemovalFinding = Finding<
  { registrarId: string },
  TailStatistic & {
    /** Chains of removals whose final redraw he was eligible in. */
    chains: number;
    /** Seconds from each draw to the release that undid it, in the chains he won. */
    medianSecondsDrawToRemoval: number | null;
  }
>;

export type AnomalyReport = {
  alpha: number;
  /** One family: every test of every section, Holm's procedure weighted so that each section has alpha / 4. */
  correction: { method: 'holm'; family: string; tests: number };
  flagged: number;
  pairs: PairFinding[];
  recusals: RecusalFinding[];
  freeToggles: FreeToggleFinding[];
  removals: RemovalFinding[];
};

/**
 * Above this many steps (trials × observed count), the exact tail gives way to the approximation. A month's
 * largest test takes some 10⁵; this is for a year of one busy pair (tens of milliseconds each below it).
 */
const EXACT_STEPS = 2e7;

/** P(Z ≥ z) for a standard normal Z, through the χ²₁ tail of fairness.ts (precise far into the tail). */
const normalUpperTail = (z: number): number =>
  z >= 0 ? 0.5 * chiSquarePValue(z * z, 1) : 1 - normalUpperTail(-z);

/**
 * P(X ≥ observed) for X a sum of independent Bernoulli(p) trials. Exact by dynamic programming over the count,
 * with every count ≥ `observed` kept in one absorbing cell, so the tail is summed directly (no 1 − lower tail,
 * which would lose tiny p-values). When that would take more than EXACT_STEPS steps, the refined normal
 * approximation (Volkova 1996: normal with continuity correction on Σ p(1 − p), plus a skewness term) is used:
 * with tens of thousands of trials it is within 3 % of the exact tail down to p ≈ 10⁻⁶ (test/unit), and further out
 * within tens of per cent (25 % at 10⁻¹¹ for p = 0.01), which is all a flag needs.
 */
export function poissonBinomialUpperTail(
  chances: readonly number[],
  observed: number,
): { pValue: number; method: TailStatistic['method'] } {
  let needed = observed;
  const uncertain: number[] = [];
  for (const p of chances) {
    if (p >= 1) needed--;
    else if (p > 0) uncertain.push(p);
  }
  if (needed <= 0) return { pValue: 1, method: 'exact' };
  if (needed > uncertain.length) return { pValue: 0, method: 'exact' };
  if (uncertain.length * needed <= EXACT_STEPS) {
    // cells[j] = P(count = j) for j < needed; cells[needed] = P(count ≥ needed).
    const cells = new Float64Array(needed + 1);
    cells[0] = 1;
    for (const [i, p] of uncertain.entries()) {
      // The absorbing cell first, from the old P(count = needed − 1); then the counts below, top down.
      cells[needed]! += cells[needed - 1]! * p;
      for (let j = Math.min(i + 1, needed - 1); j >= 1; j--)
        cells[j] = cells[j]! * (1 - p) + cells[j - 1]! * p;
      cells[0]! *= 1 - p;
    }
    return { pValue: Math.min(1, cells[needed]!), method: 'exact' };
  }
  let mean = 0;
  let variance = 0;
  let third = 0;
  for (const p of uncertain) {
    mean += p;
    variance += p * (1 - p);
    third += p * (1 - p) * (1 - 2 * p);
  }
  const sd = Math.sqrt(variance);
  const skew = third / sd ** 3;
  const z = (needed - 0.5 - mean) / sd;
  const density = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  const tail = normalUpperTail(z) - (skew * (1 - z * z) * density) / 6;
  return { pValue: Math.min(1, Math.max(0, tail)), method: 'refined normal approximation' };
}

/**
 * Holm's step-down adjusted p-values, with weights (Holm 1979): tests are taken by increasing p/w, and each adjusted
 * value is (p/w) times the weight of the tests not yet passed, at least the one before it, at most 1. With equal
 * weights it is Holm–Bonferroni: the k-th smallest of m is multiplied by (m − k + 1). Flagging where it is below
 * alpha keeps the family-wise error rate at alpha whatever the dependence between the tests.
 */
export function holmAdjusted(pValues: readonly number[], weights?: readonly number[]): number[] {
  const weightOf = (index: number) => weights?.[index] ?? 1;
  const order = pValues
    .map((_, index) => index)
    .sort((a, b) => pValues[a]! / weightOf(a) - pValues[b]! / weightOf(b));
  let remaining = order.reduce((sum, index) => sum + weightOf(index), 0);
  const adjusted = new Array<number>(pValues.length);
  let running = 0;
  for (const index of order) {
    running = Math.max(running, Math.min(1, (pValues[index]! / weightOf(index)) * Math.max(remaining, 0)));
    adjusted[index] = running;
    remaining -= weightOf(index);
  }
  return adjusted;
}

/** A count of chances coming true, and the entries behind it. */
type Tally = { chances: number[]; observed: number; entries: number[] };

const newTally = (): Tally => ({ chances: [], observed: 0, entries: [] });

/** The value under `key`, created first if missing. */
function entryOf<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  const found = map.get(key);
  if (found !== undefined) return found;
  const created = create();
  map.set(key, created);
  return created;
}

const median = (values: readonly number[]): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const round = (value: number) => Number(value.toFixed(3));

/** A test with nothing uncertain in it (every chance 0 or 1) can never flag: it is left out of the family. */
const isTestable = (tally: Tally) => tally.chances.some((p) => p > 0 && p < 1);

function tailStatistic(
  tally: Tally,
  test: TailStatistic['test'],
): { statistic: TailStatistic; pValue: number } {
  const { pValue, method } = poissonBinomialUpperTail(tally.chances, tally.observed);
  let expected = 0;
  let variance = 0;
  for (const p of tally.chances) {
    expected += p;
    variance += p * (1 - p);
  }
  return {
    statistic: {
      test,
      method,
      observed: tally.observed,
      expected: round(expected),
      variance: round(variance),
      trials: tally.chances.length,
    },
    pValue,
  };
}

/** A finding before the correction: its subject, its statistic with the section's own fields, its p-value. */
function findingOf<Subject, Extra>(
  subject: Subject,
  tally: Tally,
  test: TailStatistic['test'],
  extra: Extra,
): { subject: Subject; statistic: TailStatistic & Extra; pValue: number; entries: number[] } {
  const { statistic, pValue } = tailStatistic(tally, test);
  return { subject, statistic: { ...statistic, ...extra }, pValue, entries: tally.entries };
}

type Draw = Extract<ProtocolEntry, DrawEntry>;
type Release = Extract<ProtocolEntry, ReleaseEntry>;

/** The protocol read once: draws and releases, by packet and by seq. */
function indexOf(entries: readonly ProtocolEntry[]) {
  const draws: Draw[] = [];
  const releases: Release[] = [];
  const drawBySeq = new Map<number, Draw>();
  const drawsByPacket = new Map<string, Draw[]>();
  const releaseOfDraw = new Map<number, Release>();
  for (const entry of entries) {
    if (entry.type === 'draw') {
      draws.push(entry);
      drawBySeq.set(entry.seq, entry);
      entryOf(drawsByPacket, entry.packetId, () => []).push(entry);
    } else if (entry.type === 'release') {
      releases.push(entry);
      releaseOfDraw.set(entry.drawSeq, entry);
    }
  }
  for (const ofPacket of drawsByPacket.values()) ofPacket.sort((a, b) => a.seq - b.seq);
  return { draws, releases, drawBySeq, drawsByPacket, releaseOfDraw };
}

const msOf = (entry: ProtocolEntry) => Date.parse(entry.at);

type Index = ReturnType<typeof indexOf>;
type Pending<F extends Finding<unknown>> = Omit<F, 'adjustedPValue' | 'flagged'>;

/** 1. Per station × registrar: each draw of the station's packets gave each eligible registrar 1/|eligible|. */
function pairTests(index: Index, maxEntries: number): Array<Pending<PairFinding>> {
  const byStation = new Map<string, Map<string, Tally>>();
  for (const draw of index.draws) {
    if (draw.stationId === undefined) continue;
    const tallies = entryOf(byStation, draw.stationId, () => new Map<string, Tally>());
    const chance = 1 / draw.eligible.length;
    for (const registrarId of draw.eligible) {
      const tally = entryOf(tallies, registrarId, newTally);
      tally.chances.push(chance);
      if (registrarId !== draw.chosen) continue;
      tally.observed++;
      if (tally.entries.length < maxEntries) tally.entries.push(draw.seq);
    }
  }
  return [...byStation.entries()].flatMap(([stationId, tallies]) =>
    [...tallies.entries()]
      .filter(([, tally]) => isTestable(tally))
      .map(([registrarId, tally]) =>
        findingOf({ stationId, registrarId }, tally, 'poisson-binomial upper tail', {}),
      ),
  );
}

/**
 * 2. Per registrar: recusals among the packets he received, against the office-wide rate. The rate includes his
 * own, so the binomial stands in for the exact conditional (hypergeometric) test of "recusals fall on his packets
 * no more than on anyone's", and is slightly conservative next to it.
 */
function recusalTests(index: Index, maxEntries: number): Array<Pending<RecusalFinding>> {
  const received = new Map<string, number>();
  for (const draw of index.draws) received.set(draw.chosen, (received.get(draw.chosen) ?? 0) + 1);
  const recusals = new Map<string, Release[]>();
  for (const release of index.releases) {
    if (release.reason !== 'recusal') continue;
    entryOf(recusals, release.registrarId, () => []).push(release);
  }
  const totalReceived = index.draws.length;
  const totalRecusals = [...recusals.values()].reduce((sum, list) => sum + list.length, 0);
  if (totalReceived === 0 || totalRecusals === 0) return [];
  const officeRate = totalRecusals / totalReceived;
  return [...received.entries()].map(([registrarId, packets]) => {
    const his = recusals.get(registrarId) ?? [];
    const tally: Tally = {
      chances: new Array<number>(packets).fill(officeRate),
      observed: his.length,
      entries: his.slice(0, maxEntries).map((release) => release.seq),
    };
    return findingOf({ registrarId }, tally, 'binomial upper tail', {
      recusals: his.length,
      received: packets,
      rate: round(his.length / packets),
      officeRate: round(officeRate),
    });
  });
}

type Arrival = { atMs: number; stationId: string; packetId: string };

/** First index in the sorted arrivals at or after `atMs`. */
function firstAtOrAfter(arrivals: readonly Arrival[], atMs: number): number {
  let low = 0;
  let high = arrivals.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (arrivals[middle]!.atMs < atMs) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * 3. Per registrar × station: turning free right after the station's packets became ready.
 *
 * Comparing what he received with the draw that followed his toggle cannot work: that draw is fair given the queue
 * and pool he chose to join, so the chance must come from when he chose to join. For each of his own 'free'
 * toggles, look at the packets of his services that became ready in the `toggleWindowSeconds` before it (k fresh
 * packets; a toggle with none is left out). If his timing has nothing to do with which station scanned them, each
 * fresh packet comes from station S with S's share π of his services' packets around that time (± an hour, so
 * stations' own hours do not matter), and one of them at least is S's with chance 1 − (1 − π)^k. The count of
 * toggles after one of S's packets is then a sum of those chances. Given the fresh packets, only their stations
 * are random: a registrar who turns free whenever work arrives does not light up, one who turns free after his
 * accomplice's packets does, whether or not the draw then gave him the packet (`received` says how often it did).
 */
function freeToggleTests(
  index: Index,
  availability: readonly AvailabilityEvent[],
  options: { windowMs: number; localMs: number; maxEntries: number },
): Array<Pending<FreeToggleFinding>> {
  // Who serves what: everyone serving a service is in each of its draws, eligible or excluded.
  const servingOf = new Map<string, Set<string>>();
  for (const draw of index.draws) {
    const serving = entryOf(servingOf, draw.service, () => new Set<string>());
    for (const registrarId of draw.eligible) serving.add(registrarId);
    for (const { registrarId } of draw.excluded) serving.add(registrarId);
  }
  const servicesOf = (registrarId: string) =>
    new Set(
      [...servingOf.entries()].filter(([, serving]) => serving.has(registrarId)).map(([service]) => service),
    );
  const arrivalsByService = new Map<string, Arrival[]>();
  for (const [packetId, draws] of index.drawsByPacket) {
    const first = draws[0]!;
    if (first.stationId === undefined || first.readyAt === undefined) continue;
    entryOf(arrivalsByService, first.service, () => []).push({
      atMs: Date.parse(first.readyAt),
      stationId: first.stationId,
      packetId,
    });
  }
  const arrivalsFor = new Map<string, Arrival[]>();
  const relevantTo = (services: Set<string>) => {
    const key = [...services].sort().join('\n');
    const cached = arrivalsFor.get(key);
    if (cached) return cached;
    const merged = [...services].flatMap((service) => arrivalsByService.get(service) ?? []);
    merged.sort((a, b) => a.atMs - b.atMs);
    arrivalsFor.set(key, merged);
    return merged;
  };

  const togglesOf = new Map<string, number[]>();
  for (const event of availability) {
    if (event.by !== 'registrar' || event.status !== 'free') continue;
    entryOf(togglesOf, event.registrarId, () => []).push(Date.parse(event.at));
  }

  type ToggleTally = Tally & { toggles: number; received: number; lags: number[] };
  const tallies = new Map<string, ToggleTally>();
  for (const [registrarId, toggles] of togglesOf) {
    const services = servicesOf(registrarId);
    if (services.size === 0) continue;
    const arrivals = relevantTo(services);
    let withFresh = 0;
    const perStation: ToggleTally[] = [];
    for (const at of toggles) {
      const freshFrom = firstAtOrAfter(arrivals, at - options.windowMs + 1);
      const freshTo = firstAtOrAfter(arrivals, at + 1);
      const fresh = freshTo - freshFrom;
      if (fresh === 0) continue;
      withFresh++;
      const around = new Map<string, number>();
      const aroundFrom = firstAtOrAfter(arrivals, at - options.localMs);
      const aroundTo = firstAtOrAfter(arrivals, at + options.localMs + 1);
      for (let i = aroundFrom; i < aroundTo; i++) {
        const { stationId } = arrivals[i]!;
        around.set(stationId, (around.get(stationId) ?? 0) + 1);
      }
      for (const [stationId, count] of around) {
        const tally = entryOf(tallies, `${registrarId}\n${stationId}`, () => {
          const created: ToggleTally = { ...newTally(), toggles: 0, received: 0, lags: [] };
          perStation.push(created);
          return created;
        });
        tally.chances.push(1 - (1 - count / (aroundTo - aroundFrom)) ** fresh);
        // The latest of the station's fresh packets: the one his toggle would have been waiting for.
        let latest: Arrival | undefined;
        for (let i = freshTo - 1; i >= freshFrom && !latest; i--)
          if (arrivals[i]!.stationId === stationId) latest = arrivals[i];
        if (!latest) continue;
        tally.observed++;
        tally.lags.push((at - latest.atMs) / 1000);
        const draws = index.drawsByPacket.get(latest.packetId) ?? [];
        const his = draws.find((draw) => draw.chosen === registrarId && msOf(draw) >= at);
        if (his) tally.received++;
        if (tally.entries.length < options.maxEntries) tally.entries.push((his ?? draws[0]!).seq);
      }
    }
    for (const tally of perStation) tally.toggles = withFresh;
  }
  return [...tallies.entries()]
    .filter(([, tally]) => isTestable(tally))
    .map(([key, tally]) => {
      const [registrarId, stationId] = key.split('\n') as [string, string];
      return findingOf({ registrarId, stationId }, tally, 'poisson-binomial upper tail', {
        toggles: tally.toggles,
        received: tally.received,
        medianLagSeconds: median(tally.lags),
      });
    });
}

/**
 * 4. Per beneficiary: packets taken from their registrar ('removed' by an administrator, or 'away'), and who ended
 * up with them. A packet can be taken again after its redraw; such releases form a chain, and what counts is its
 * final redraw, the one nobody undid. Counting every redraw instead would see nothing: an administrator who takes
 * the packet away until his man draws it makes a run of fair redraws stopped at the wanted outcome, whose count
 * of wins has exactly the expectation of its sum of 1/|eligible| (optional stopping). The final redraw, if
 * removals have nothing to do with who drew the packet, goes to each of its eligible with 1/|eligible|.
 */
function removalTests(index: Index, maxEntries: number): Array<Pending<RemovalFinding>> {
  const isRemoval = (release: Release | undefined): release is Release =>
    release !== undefined && release.reason !== 'recusal';
  const nextDraw = (release: Release) =>
    index.drawsByPacket.get(release.packetId)?.find((draw) => draw.seq > release.seq);
  type RemovalTally = Tally & { chains: number; delays: number[] };
  const tallies = new Map<string, RemovalTally>();
  for (const start of index.releases) {
    if (!isRemoval(start)) continue;
    // A release of a redraw that itself followed a removal continues an earlier chain.
    const draws = index.drawsByPacket.get(start.packetId) ?? [];
    const undoneAt = draws.findIndex((draw) => draw.seq === start.drawSeq);
    const before = undoneAt > 0 ? index.releaseOfDraw.get(draws[undoneAt - 1]!.seq) : undefined;
    if (isRemoval(before)) continue;
    const chain: Release[] = [start];
    let redraw = nextDraw(start);
    while (redraw && isRemoval(index.releaseOfDraw.get(redraw.seq))) {
      const release = index.releaseOfDraw.get(redraw.seq)!;
      chain.push(release);
      redraw = nextDraw(release);
    }
    if (!redraw) continue;
    const chance = 1 / redraw.eligible.length;
    for (const registrarId of redraw.eligible) {
      const tally = entryOf(
        tallies,
        registrarId,
        (): RemovalTally => ({ ...newTally(), chains: 0, delays: [] }),
      );
      tally.chains++;
      tally.chances.push(chance);
      if (registrarId !== redraw.chosen) continue;
      tally.observed++;
      for (const release of chain) {
        const draw = index.drawBySeq.get(release.drawSeq);
        if (draw) tally.delays.push((msOf(release) - msOf(draw)) / 1000);
        if (tally.entries.length < maxEntries) tally.entries.push(release.seq);
      }
      if (tally.entries.length < maxEntries) tally.entries.push(redraw.seq);
    }
  }
  return [...tallies.entries()]
    .filter(([, tally]) => isTestable(tally))
    .map(([registrarId, tally]) =>
      findingOf({ registrarId }, tally, 'poisson-binomial upper tail', {
        chains: tally.chains,
        medianSecondsDrawToRemoval: median(tally.delays),
      }),
    );
}

const FAMILY = 'every test of the four sections, weighted so that each section has an equal share of alpha';

/** Most suspicious first: smallest adjusted p-value, then smallest p-value, then the largest excess. */
const bySuspicion = (a: Finding<unknown>, b: Finding<unknown>) =>
  a.adjustedPValue - b.adjustedPValue ||
  a.pValue - b.pValue ||
  b.statistic.observed - b.statistic.expected - (a.statistic.observed - a.statistic.expected);

export function anomaliesOf(
  entries: readonly ProtocolEntry[],
  availability: readonly AvailabilityEvent[],
  options: AnomalyOptions = {},
): AnomalyReport {
  const alpha = options.alpha ?? 0.05;
  const maxEntries = options.maxEntries ?? 50;
  const index = indexOf(entries);
  const sections = {
    pairs: pairTests(index, maxEntries),
    recusals: recusalTests(index, maxEntries),
    freeToggles: freeToggleTests(index, availability, {
      windowMs: (options.toggleWindowSeconds ?? 120) * 1000,
      localMs: (options.localShareSeconds ?? 3600) * 1000,
      maxEntries,
    }),
    removals: removalTests(index, maxEntries),
  };
  // Each section gets an equal share of alpha, shared among its tests: the few recusal and removal tests are not
  // drowned by the hundreds of pairs.
  const lists: Array<Array<Pending<Finding<unknown>>>> = Object.values(sections);
  const all = lists.flat();
  const weights = lists.flatMap((list) => list.map(() => 1 / list.length));
  const adjusted = holmAdjusted(
    all.map((finding) => finding.pValue),
    weights,
  );
  const decided = new Map(
    all.map((finding, i) => [finding, { adjustedPValue: adjusted[i]!, flagged: adjusted[i]! < alpha }]),
  );
  const finish = <F extends Finding<unknown>>(pending: Array<Pending<F>>): F[] =>
    pending.map((finding) => ({ ...finding, ...decided.get(finding)! }) as F).sort(bySuspicion);
  const report = {
    pairs: finish<PairFinding>(sections.pairs),
    recusals: finish<RecusalFinding>(sections.recusals),
    freeToggles: finish<FreeToggleFinding>(sections.freeToggles),
    removals: finish<RemovalFinding>(sections.removals),
  };
  return {
    alpha,
    correction: { method: 'holm', family: FAMILY, tests: all.length },
    flagged: [...decided.values()].filter((decision) => decision.flagged).length,
    ...report,
  };
}
