import { afterAll, describe, expect, it } from 'vitest';
import type { ResubmissionPolicy, WaitingPacket } from '../../src/domain/draw.js';
import { type OfficeRules, Prng, SimulatedOffice } from './fakes/simulated-office.js';

/**
 * Seeded adversarial simulations of the dispatcher: a target registrar (or a station, or an administrator on his
 * side) tries to get one chosen packet T. The office is simulated (fakes/simulated-office.ts), but every draw is the
 * real one: planDraw/poolFor with committedIndex under an epoch secret drawn from the seeded world for each trial,
 * which no attacker sees, and the protocol head as an input.
 *
 * Measured: p̂ = the share of trials in which T went to the target. Fair baseline: before every draw made while T
 * waited, the chance that a uniform draw under the documented rules gives T to the target, q = 1/|window| ·
 * 1/|pool(T)| when T is among the oldest DISPATCH_WINDOW servable packets and the target in T's pool, else 0. Pools
 * and window are computed here from the rules as documented, not by poolFor, so a rule broken in draw.ts shows as a
 * gap. p0 = the mean over trials of Σq; with one draw of T among a fixed pool it is 1/|eligible|. Success − Σq is a
 * martingale with variance E[Σ q(1 − q)], so the tolerance is 4·sqrt(v/N), v the mean of Σ q(1 − q) per trial, N
 * the trials; with one decisive draw and a fixed pool that is 4·sqrt(p0(1 − p0)/N).
 *
 * Each run goes on trial after trial until it has made its share of DRAWS. ADVERSARIAL_SEED picks another world;
 * the numbers are printed as one JSON line per run (console.log), with the seed.
 */

const SEED = Number.parseInt(process.env.ADVERSARIAL_SEED ?? '20261202', 10);
/** ADVERSARIAL_SCALE multiplies every run's draws, for a deeper look outside the unit tier's time budget. */
const SCALE = Number(process.env.ADVERSARIAL_SCALE ?? '1');
/**
 * Draws per run (every packet's draws count, T's and the others'): at least 10 000 per strategy. A real draw costs
 * about 30 µs (two HMACs, a pool per waiting packet), so the file's budget (< 4 s) buys about 70 000: strategies 5
 * and 6 share their 10 000 among their variants, and 3 adds an honest reference and a counterfactual of 4 000 each.
 */
const DRAWS = {
  strategy: 10_000 * SCALE,
  reference: 4_000 * SCALE,
  adminAway: 7_500 * SCALE,
  adminRemove: 2_500 * SCALE,
  excludeEarlier: 6_000 * SCALE,
  random: 2_500 * SCALE,
  excludeChain: 750 * SCALE,
  sameRegistrar: 750 * SCALE,
};
const SERVICE = 'land';
const TARGET = 'rg_c';
const OTHERS = ['rg_a', 'rg_b', 'rg_d', 'rg_e'];
const EVERYONE = [...OTHERS, TARGET].sort();
const SECOND = 1000;
const START = Date.parse('2026-12-02T09:00:00.000Z');
/** The configuration's defaults: DISPATCH_WINDOW 3, DISPATCH_MIN_POOL 1, RECUSAL_COOLDOWN_SECONDS 900. */
const RULES: OfficeRules = {
  window: 3,
  minPool: 1,
  resubmissionPolicy: 'exclude_earlier',
  recusalCooldownMs: 900 * SECOND,
  excludeWaitingOnRecusal: true,
};
/** A counterfactual office: a recusal costs no cooldown and no exclusion from the packets waiting then. */
const WITHOUT_RECUSAL_RULES: OfficeRules = { ...RULES, recusalCooldownMs: 0, excludeWaitingOnRecusal: false };
/** Each test takes well under a second alone; on a loaded machine vitest's 5 s default would fail it for nothing. */
const SLOW = 30_000;

console.log(JSON.stringify({ adversarialSeed: SEED, scale: SCALE, draws: DRAWS }));
const started = { wall: performance.now(), cpu: process.cpuUsage() };
afterAll(() => {
  const cpu = process.cpuUsage(started.cpu);
  const seconds = (ms: number) => Math.round(ms) / 1000;
  console.log(
    JSON.stringify({
      simulationWallSeconds: seconds(performance.now() - started.wall),
      simulationCpuSeconds: seconds((cpu.user + cpu.system) / 1000),
    }),
  );
});

// ---- the rules as documented, written again without poolFor -------------------------------------------------

function lastDeciderWaitedFor(office: SimulatedOffice, packet: WaitingPacket): string | undefined {
  const last = packet.resubmission?.deciders[0];
  if (office.rules.resubmissionPolicy !== 'same_registrar' || last === undefined) return undefined;
  for (const registrar of office.registrars)
    if (
      registrar.id === last &&
      registrar.services.includes(packet.service) &&
      registrar.status !== 'removed'
    )
      return last;
  return undefined;
}

/** Free, serving the service, not excluded from the packet, out of cooldown, allowed by the resubmission policy. */
function allowed(office: SimulatedOffice, packet: WaitingPacket): string[] {
  const deciders = packet.resubmission?.deciders ?? [];
  const excludeDeciders = office.rules.resubmissionPolicy === 'exclude_earlier';
  const only = lastDeciderWaitedFor(office, packet);
  const pool: string[] = [];
  for (const registrar of office.registrars)
    if (
      registrar.status === 'free' &&
      registrar.services.includes(packet.service) &&
      !packet.exclusions.has(registrar.id) &&
      !((registrar.cooldownUntil ?? 0) > office.now) &&
      !(excludeDeciders && deciders.includes(registrar.id)) &&
      (only === undefined || registrar.id === only)
    )
      pool.push(registrar.id);
  return pool;
}

/** The chance that a uniform draw now gives `packetId` to `registrarId`. */
function fairChance(office: SimulatedOffice, packetId: string, registrarId: string): number {
  let windowSize = 0;
  let targetPool: string[] | undefined;
  for (const packet of office.queue) {
    if (windowSize === office.rules.window) break;
    const pool = allowed(office, packet);
    const minPool = lastDeciderWaitedFor(office, packet) ? 1 : office.rules.minPool;
    if (pool.length === 0 || pool.length < minPool) continue;
    windowSize++;
    if (packet.id === packetId) targetPool = pool;
  }
  return targetPool?.includes(registrarId) ? 1 / (windowSize * targetPool.length) : 0;
}

// ---- the simulated world ----------------------------------------------------------------------------------

function strategyPrng(name: string): Prng {
  let hash = SEED >>> 0;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return new Prng(hash);
}

/** A fresh office for one trial, in its own randomness epoch: the secret comes from the seeded world. */
function newOffice(prng: Prng, trial: number, rules: OfficeRules = RULES): SimulatedOffice {
  const office = new SimulatedOffice(rules, prng.hex(32), trial, { now: START, head: prng.hex(32) });
  for (const id of EVERYONE) office.addRegistrar(id, [SERVICE]);
  return office;
}

/** PDF hashes for the simulated packets (an input of the registrar index, next to the protocol head). */
const PDF_HASHES = (() => {
  const prng = new Prng(SEED);
  return Array.from({ length: 256 }, () => prng.hex(32));
})();

function newPacket(
  prng: Prng,
  id: string,
  readyAt: number,
  resubmission?: WaitingPacket['resubmission'],
): WaitingPacket {
  const packet: WaitingPacket = {
    id,
    service: SERVICE,
    stationId: 'st_1',
    pdfSha256: PDF_HASHES[prng.next() & 255]!,
    exclusions: new Map(),
    queuedFor: 'ready',
    waited: false,
    readyAt,
  };
  if (resubmission) packet.resubmission = resubmission;
  return packet;
}

/** Honest registrars decide what they are given after 1–10 minutes; an attacker clears unwanted packets faster. */
function honestly(office: SimulatedOffice, prng: Prng) {
  return (registrarId: string) =>
    office.schedule(prng.between(60, 600) * SECOND, () => office.decide(registrarId));
}
function quickly(office: SimulatedOffice, prng: Prng) {
  return (registrarId: string) =>
    office.schedule(prng.between(10, 60) * SECOND, () => office.decide(registrarId));
}

/** How each registrar is found at START: busy (65 %, deciding within 10 min), away (15 %, back within 30), free. */
function staff(office: SimulatedOffice, prng: Prng, ids: string[]): void {
  for (const id of ids) {
    const u = prng.float();
    if (u < 0.65) {
      office.hold(id, newPacket(prng, `pk_held_${id}`, START - 3600 * SECOND));
      office.schedule(prng.between(10, 600) * SECOND, () => office.decide(id));
    } else if (u < 0.8) {
      office.registrar(id).status = 'away';
      office.schedule(prng.between(60, 1800) * SECOND, () => office.setStatus(id, 'free'));
    }
  }
}

/** Older packets can be waiting only while nobody may take them: then 0–3 of them. */
function olderPackets(office: SimulatedOffice, prng: Prng): void {
  if (office.registrars.some((registrar) => registrar.status === 'free')) return;
  const count = prng.int(4);
  for (let i = 0; i < count; i++)
    office.ready(newPacket(prng, `pk_older_${i}`, START - (count - i) * 60 * SECOND));
}

/** T becomes ready at START, in the world as it is then. */
function officeWhenTargetArrives(prng: Prng, trial: number, target: 'like_the_others' | 'away' | 'free') {
  const office = newOffice(prng, trial);
  staff(office, prng, target === 'like_the_others' ? [...OTHERS, TARGET] : OTHERS);
  if (target === 'away') office.registrar(TARGET).status = 'away';
  olderPackets(office, prng);
  const packet = newPacket(prng, 'pk_target', START);
  office.ready(packet);
  return { office, target: packet };
}

type Trial = { office: SimulatedOffice; target: WaitingPacket };

type Tally = {
  trials: number;
  successes: number;
  /** Σ over trials of Σq (the fair chance of each draw made while T waited). */
  fair: number;
  /** Σ over trials of Σ q(1 − q). */
  variance: number;
  /** As `fair` and `variance`, over the draws before an administrator's first removal in the trial. */
  fairBeforeRemoval: number;
  varianceBeforeRemoval: number;
  successesBeforeRemoval: number;
  draws: number;
  recusals: number;
  adminAways: number;
  removals: number;
  releases: number;
  unfinished: number;
};

/** Runs trials of a strategy until it has made `draws` draws, adding up what happened and what fair draws give. */
function simulate(name: string, draws: number, setup: (prng: Prng, trial: number) => Trial): Tally {
  const prng = strategyPrng(name);
  const tally: Tally = {
    trials: 0,
    successes: 0,
    fair: 0,
    variance: 0,
    fairBeforeRemoval: 0,
    varianceBeforeRemoval: 0,
    successesBeforeRemoval: 0,
    draws: 0,
    recusals: 0,
    adminAways: 0,
    removals: 0,
    releases: 0,
    unfinished: 0,
  };
  while (tally.draws < draws) {
    const { office, target } = setup(prng, tally.trials);
    office.onDraw = () => {
      if (!office.queue.includes(target)) return;
      const q = fairChance(office, target.id, TARGET);
      tally.fair += q;
      tally.variance += q * (1 - q);
      if (office.counts.removals > 0) return;
      tally.fairBeforeRemoval += q;
      tally.varianceBeforeRemoval += q * (1 - q);
    };
    if (!office.runUntil(() => office.held.has(target.id))) tally.unfinished++;
    if (office.holderOf(target.id) === TARGET) {
      tally.successes++;
      if (office.counts.removals === 0) tally.successesBeforeRemoval++;
    }
    tally.trials++;
    tally.draws += office.counts.draws;
    tally.recusals += office.counts.recusals;
    tally.adminAways += office.counts.adminAways;
    tally.removals += office.counts.removals;
    tally.releases += office.counts.releases;
  }
  return tally;
}

const round = (x: number) => Math.round(x * 1e5) / 1e5;
const measured = (tally: Tally) => tally.successes / tally.trials;
const fairBaseline = (tally: Tally) => tally.fair / tally.trials;
/** 4 standard deviations of p̂ − p0 under fair draws (see the top of the file). */
const tolerance = (tally: Tally) => (4 * Math.sqrt(tally.variance / tally.trials)) / Math.sqrt(tally.trials);
/** The same for two independent measured chances. */
const gapTolerance = (a: Tally, b: Tally) =>
  4 * Math.sqrt((measured(a) * (1 - measured(a))) / a.trials + (measured(b) * (1 - measured(b))) / b.trials);

function report(strategy: string, tally: Tally, fields: Record<string, unknown> = {}): void {
  console.log(
    JSON.stringify({
      strategy,
      seed: SEED,
      trials: tally.trials,
      draws: tally.draws,
      measured: round(measured(tally)),
      baseline: round(fairBaseline(tally)),
      tolerance: round(tolerance(tally)),
      ...fields,
    }),
  );
}

function expectFair(tally: Tally): void {
  expect(tally.unfinished).toBe(0);
  expect(Math.abs(measured(tally) - fairBaseline(tally))).toBeLessThanOrEqual(tolerance(tally));
}

/** The honest target in the world of strategies 1, 2, 4 and 5: measured once, used as their reference. */
let honestTally: Tally | undefined;
function honest(): Tally {
  honestTally ??= simulate('baseline', DRAWS.strategy, (prng, trial) => {
    const { office, target } = officeWhenTargetArrives(prng, trial, 'like_the_others');
    office.onAssigned = honestly(office, prng);
    return { office, target };
  });
  return honestTally;
}

// ---- the strategies ---------------------------------------------------------------------------------------

describe('adversarial draws: the chance a registrar gets a chosen packet', () => {
  it('1. baseline: nobody attacks; the target gets T as often as fair draws give it', {
    timeout: SLOW,
  }, () => {
    const tally = honest();
    report('1 baseline (honest)', tally, { baselineIs: 'mean Σ fair chance of the draws while T waited' });
    expectFair(tally);
  });

  it('2. becoming free when T is ready: fair among whoever is free then', { timeout: SLOW }, () => {
    const tally = simulate('become-free', DRAWS.strategy, (prng, trial) => {
      const { office, target } = officeWhenTargetArrives(prng, trial, 'away');
      // He turns free the moment T is ready (before the dispatcher's pass) and clears anything else fast.
      office.setStatus(TARGET, 'free');
      const others = honestly(office, prng);
      const mine = quickly(office, prng);
      office.onAssigned = (registrarId) => (registrarId === TARGET ? mine : others)(registrarId);
      return { office, target };
    });
    report('2 become free when T is ready', tally, {
      baselineIs: 'mean Σ 1/|window|·1/|pool(T)| over the draws while T waited',
      honestChance: round(measured(honest())),
    });
    expectFair(tally);
  });

  /**
   * From START: older packets may wait, others arrive (one per 5 minutes on average) and T arrives at a random time
   * within 25 minutes, so it arrives during a cooldown or after one. The target is free at START.
   */
  function recusalWorld(prng: Prng, trial: number, rules: OfficeRules, attack: boolean): Trial {
    const office = newOffice(prng, trial, rules);
    staff(office, prng, OTHERS);
    olderPackets(office, prng);
    const arrival = prng.between(0, 1500) * SECOND;
    const target = newPacket(prng, 'pk_target', START + arrival);
    office.schedule(arrival, () => office.ready(target));
    const gap = () => -Math.log(1 - prng.float()) * 300 * SECOND;
    for (let at = gap(), n = 0; at < arrival; at += gap(), n++) {
      const packet = newPacket(prng, `pk_new_${n}`, START + at);
      office.schedule(at, () => office.ready(packet));
    }
    const others = honestly(office, prng);
    office.onAssigned = (registrarId, packet) => {
      if (registrarId !== TARGET || !attack) others(registrarId);
      else if (packet.id !== target.id)
        office.schedule(prng.between(2, 10) * SECOND, () => office.recuse(registrarId));
    };
    return { office, target };
  }

  it('3. recusing every packet until T: no better than honest, thanks to cooldown and exclusion', {
    timeout: SLOW,
  }, () => {
    const attack = simulate('recuse', DRAWS.strategy, (prng, trial) =>
      recusalWorld(prng, trial, RULES, true),
    );
    const reference = simulate('recuse-honest', DRAWS.reference, (prng, trial) =>
      recusalWorld(prng, trial, RULES, false),
    );
    const withoutRules = simulate('recuse-without-rules', DRAWS.reference, (prng, trial) =>
      recusalWorld(prng, trial, WITHOUT_RECUSAL_RULES, true),
    );
    report('3 recuse until T (cooldown + exclusion)', attack, {
      baselineIs: 'mean Σ fair chance of the draws while T waited',
      recusals: attack.recusals,
      honestChance: round(measured(reference)),
    });
    report('3 reference: honest target, same world', reference);
    report('3 recuse until T WITHOUT cooldown and exclusion (counterfactual)', withoutRules, {
      baselineIs: 'measured chance of an honest target in the same world',
      baseline: round(measured(reference)),
      tolerance: round(gapTolerance(withoutRules, reference)),
      fairPerDraw: round(fairBaseline(withoutRules)),
      recusals: withoutRules.recusals,
    });
    expectFair(attack);
    expectFair(reference);
    // With the rules, the attack does not beat behaving honestly.
    expect(measured(attack)).toBeLessThanOrEqual(measured(reference) + gapTolerance(attack, reference));
    // Without them a recusal is a re-roll: each draw is still uniform, but he gets many more draws at T.
    expect(withoutRules.unfinished).toBe(0);
    expect(measured(withoutRules) - measured(reference)).toBeGreaterThan(
      gapTolerance(withoutRules, reference),
    );
    expect(measured(withoutRules) - measured(attack)).toBeGreaterThan(gapTolerance(withoutRules, attack));
  });

  it('4. toggling away and free around the draws: fair among whoever is free then', { timeout: SLOW }, () => {
    let toggles = 0;
    const tally = simulate('toggle-away', DRAWS.strategy, (prng, trial) => {
      const { office, target } = officeWhenTargetArrives(prng, trial, 'like_the_others');
      const others = honestly(office, prng);
      const mine = quickly(office, prng);
      office.onAssigned = (registrarId) => (registrarId === TARGET ? mine : others)(registrarId);
      // Before every dispatcher pass: free while T is among the oldest DISPATCH_WINDOW waiting, away otherwise
      // (while he holds a packet, that only sets or clears "away after it").
      office.beforeDispatch = () => {
        const at = office.queue.findIndex((packet) => packet.id === target.id);
        const desk = office.registrar(TARGET);
        const before = `${desk.status}${desk.awayAfter}`;
        office.setStatus(TARGET, at >= 0 && at < RULES.window ? 'free' : 'away');
        if (`${desk.status}${desk.awayAfter}` !== before) toggles++;
      };
      return { office, target };
    });
    report('4 toggle away/free around draws', tally, {
      baselineIs: 'mean Σ 1/|window|·1/|pool(T)| over the draws while T waited',
      toggles,
      honestChance: round(measured(honest())),
    });
    expectFair(tally);
  });

  function adminOnTheTargetsSide(action: 'away' | 'remove') {
    return (prng: Prng, trial: number): Trial => {
      const { office, target } = officeWhenTargetArrives(prng, trial, 'free');
      const others = honestly(office, prng);
      office.onAssigned = (registrarId, packet) => {
        if (packet.id === target.id && registrarId !== TARGET) {
          if (action === 'away') office.adminAway(registrarId);
          else return office.adminRemove(registrarId);
        }
        others(registrarId);
      };
      return { office, target };
    };
  }

  it('5. an administrator setting away whoever draws T changes nothing: T stays with him', {
    timeout: SLOW,
  }, () => {
    const tally = simulate('admin-away', DRAWS.adminAway, adminOnTheTargetsSide('away'));
    report('5 admin sets away the registrars drawn for T', tally, {
      baselineIs: 'fair chance of the one draw of T',
      adminAways: tally.adminAways,
      releases: tally.releases,
    });
    expectFair(tally);
    expect(tally.adminAways).toBeGreaterThan(0);
    expect(tally.releases).toBe(0);
  });

  it('5. removing whoever draws T raises the chance: detected, not prevented, one removal at a time', {
    timeout: SLOW,
  }, () => {
    const tally = simulate('admin-remove', DRAWS.adminRemove, adminOnTheTargetsSide('remove'));
    const firstDraw = tally.fairBeforeRemoval / tally.trials;
    const extraChance = measured(tally) - firstDraw;
    report('5 admin removes the registrars drawn for T', tally, {
      baselineIs: 'fair chance of T’s first draw, before any removal',
      baseline: round(firstDraw),
      tolerance: round((4 * Math.sqrt(tally.varianceBeforeRemoval / tally.trials)) / Math.sqrt(tally.trials)),
      fairPerDraw: round(fairBaseline(tally)),
      removals: tally.removals,
      removalsPerTrial: round(tally.removals / tally.trials),
      removalsPerExtraSuccess: round(tally.removals / (extraChance * tally.trials)),
    });
    expect(tally.unfinished).toBe(0);
    // Every redraw stays uniform among the shrinking pool; the pool is what the removals steer.
    expectFair(tally);
    // Without a removal the target gets T only as often as the first draw gives it...
    const before = tally.successesBeforeRemoval / tally.trials;
    expect(Math.abs(before - firstDraw)).toBeLessThanOrEqual(
      (4 * Math.sqrt(tally.varianceBeforeRemoval / tally.trials)) / Math.sqrt(tally.trials),
    );
    // ...so the extra chance is real and every bit of it was bought with permanent removals, each one a release.
    expect(extraChance).toBeGreaterThan(0.3);
    expect(tally.successes - tally.successesBeforeRemoval).toBeLessThanOrEqual(tally.removals);
    expect(tally.removals).toBeGreaterThanOrEqual(extraChance * tally.trials);
    expect(tally.releases).toBe(tally.removals);
  });

  /** Everyone serving the service is free (or, for same_registrar, the target may be busy); T is alone. */
  function resubmissionWorld(policy: ResubmissionPolicy, decidedBy: 'one_other' | 'three_others' | 'target') {
    return (prng: Prng, trial: number): Trial => {
      const office = newOffice(prng, trial, { ...RULES, resubmissionPolicy: policy });
      const skipped = prng.int(OTHERS.length);
      const deciders =
        decidedBy === 'target'
          ? [TARGET]
          : decidedBy === 'one_other'
            ? [OTHERS[skipped]!]
            : OTHERS.filter((_, i) => i !== skipped);
      if (decidedBy === 'target' && prng.float() < 0.3) {
        office.hold(TARGET, newPacket(prng, 'pk_held', START - 3600 * SECOND));
        office.schedule(prng.between(10, 600) * SECOND, () => office.decide(TARGET));
      }
      const target = newPacket(prng, 'pk_target', START, { of: 'pk_earlier', deciders });
      office.ready(target);
      office.onAssigned = honestly(office, prng);
      return { office, target };
    };
  }

  it('6. resubmissions: exclude_earlier and random stay fair among the pool; same_registrar is steerable', {
    timeout: SLOW,
  }, () => {
    const serving = 1 / (OTHERS.length + 1);
    const exclude = simulate(
      'resubmission-exclude',
      DRAWS.excludeEarlier,
      resubmissionWorld('exclude_earlier', 'one_other'),
    );
    const chain = simulate(
      'resubmission-chain',
      DRAWS.excludeChain,
      resubmissionWorld('exclude_earlier', 'three_others'),
    );
    const random = simulate('resubmission-random', DRAWS.random, resubmissionWorld('random', 'one_other'));
    const same = simulate(
      'resubmission-same',
      DRAWS.sameRegistrar,
      resubmissionWorld('same_registrar', 'target'),
    );
    const perServing = { perServingRegistrar: round(serving) };
    report('6 resubmission, exclude_earlier, decided by another', exclude, {
      baselineIs: '1/|eligible| (the earlier decider excluded)',
      ...perServing,
    });
    report('6 resubmission, exclude_earlier, a chain decided by three others', chain, {
      baselineIs: '1/|eligible| (three earlier deciders excluded)',
      ...perServing,
    });
    report('6 resubmission, random, decided by another', random, {
      baselineIs: '1/|eligible|',
      ...perServing,
    });
    report('6 resubmission, same_registrar, decided by the target (documented as steerable)', same, {
      baselineIs: '1/|eligible| (the policy waits for the earlier decider)',
      ...perServing,
    });
    expectFair(exclude);
    expectFair(chain);
    expectFair(random);
    // Linking T to an earlier packet takes its deciders out of the pool: each other registrar's chance grows from
    // 1/|serving| to 1/(|serving| − excluded). The station chooses that by choosing which packet to link.
    expect(measured(exclude)).toBeGreaterThan(serving + tolerance(exclude));
    expect(measured(chain)).toBeGreaterThan(measured(exclude) + tolerance(chain));
    expect(Math.abs(measured(random) - serving)).toBeLessThanOrEqual(tolerance(random));
    // same_registrar: linking to a packet the target decided gives him T for certain.
    expect(same.unfinished).toBe(0);
    expect(measured(same)).toBe(1);
  });
});
