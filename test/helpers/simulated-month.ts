import type { AvailabilityEvent } from '../../src/domain/anomalies.js';
import {
  type ChainHead,
  type DrawEntry,
  type DrawReason,
  type EntryBody,
  type ExclusionReason,
  GENESIS_HASH,
  type ProtocolEntry,
  sealEntry,
} from '../../src/domain/protocol.js';

/**
 * A month of an office, simulated from a seed: 30 registrars serving four services, 8 stations, 20 000 packets over
 * 30 days, and the protocol and availability log the service would have written. The dispatcher follows planDraw
 * (src/domain/draw.ts): a waiting packet is drawn among the oldest DISPATCH_WINDOW (3) that have a free eligible
 * registrar, then its registrar uniformly from its pool; it is re-implemented here, with per-service free counts,
 * so that a month takes a fraction of a second.
 *
 * The office: 08:00–17:00 local (06:00–15:00 UTC), busier late morning and mid-afternoon; two stations scan
 * mornings only. A registrar is in on 92 % of days, arrives around 08:00, takes a lunch break and a few short
 * breaks, and leaves around 17:00; each return is his own 'free' toggle. A review takes about 10 minutes
 * (log-normal), so the office runs at roughly two thirds of its capacity with queues at the peaks, and pools range
 * from one registrar to a dozen. Some 2 % of packets are recused (10 minutes' cooldown); an administrator sends
 * someone away on most days and removes a registrar in about half the months; rarely a registrar vanishes holding
 * a packet and the reconciler releases it.
 *
 * What can be planted, and the effect sizes chosen:
 * - colluder (timing): after a fifth of his decisions and returns (`share` 0.2) he goes away and waits up to 20
 *   minutes for his accomplice station's next packet of his services, turning free 5–45 s after it becomes ready
 *   (about 100 such toggles a month). Against this dispatcher it does not pay: a packet is drawn the moment it is
 *   ready if anyone is free, so he receives no more of the station's packets than honestly (fewer: he is away more);
 * - biasedDraw: whoever runs the dispatcher re-draws once, with probability `strength` (1), a draw of the station's
 *   packet that did not give it to the registrar though he was eligible: his chance in those draws goes from 1/n
 *   to (2n − 1)/n², 1.5 to 1.9 times;
 * - recuser: recuses `rate` (0.08) of his packets instead of 0.02;
 * - adminBeneficiary: up to `interventions` (60, at most 2 a day) times a month, when a draw the beneficiary was in
 *   gives the packet to someone else, an administrator sends that registrar away 5–30 s later if the beneficiary is
 *   still free, and again after each redraw, up to `maxRemovals` (4) times a packet, until it goes to him (about
 *   50 packets a month are targeted and 35–40 end with him, with some 120 removals).
 */

export type SimulatedMonthOptions = {
  seed: number;
  packets?: number;
  days?: number;
  /** Write decision entries (default true; analytics do not read them, and they are half the entries). */
  decisions?: boolean;
  /**
   * Seal the chain with sealEntry (default true). Hashing is most of a month's generation time, and analytics never
   * read hashes: false leaves prevHash and hash empty, for runs over many months.
   */
  sealed?: boolean;
  plant?: {
    colluder?: { registrarId: string; stationId: string; share?: number; maxWaitMinutes?: number };
    biasedDraw?: { registrarId: string; stationId: string; strength?: number };
    recuser?: { registrarId: string; rate?: number };
    adminBeneficiary?: { registrarId: string; interventions?: number; maxRemovals?: number };
  };
};

/** The four abuses planted at once, at their default effect sizes, on subjects the tests look for. */
export const PLANTED = {
  colluder: { registrarId: 'rg_03', stationId: 'st_2' },
  biasedDraw: { registrarId: 'rg_14', stationId: 'st_4' },
  recuser: { registrarId: 'rg_22' },
  adminBeneficiary: { registrarId: 'rg_05' },
} satisfies SimulatedMonthOptions['plant'];

export type SimulatedMonth = {
  entries: ProtocolEntry[];
  availability: AvailabilityEvent[];
  registrars: Array<{ id: string; services: string[] }>;
  stations: string[];
  /** What happened, to state effect sizes. */
  stats: {
    packets: number;
    draws: number;
    meanPool: number;
    singletonPools: number;
    releases: Record<'recusal' | 'away' | 'removed', number>;
    colluderSignals: number;
    biasedRedraws: number;
    adminInterventions: number;
    adminRemovals: number;
    adminWins: number;
  };
};

export const SERVICES = ['land', 'tax', 'civil', 'business'] as const;
const SERVICE_WEIGHTS = [0.35, 0.3, 0.2, 0.15];
/** Primary services of rg_01…rg_30, in proportion to the demand: land 10, tax 9, civil 6, business 5. */
const PRIMARY = [10, 9, 6, 5];
const REGISTRARS = 30;
const STATIONS = 8;
/** Stations that scan mornings only (08:00–13:00). */
const MORNING_STATIONS = new Set(['st_7', 'st_8']);
const HOUR_WEIGHTS = [0.6, 1, 1.3, 1.2, 0.8, 0.7, 1.1, 1.2, 0.9];
const WINDOW = 3;
const MONTH_START = Date.UTC(2026, 10, 2);
const OPEN_UTC_MS = 6 * 3_600_000;
const MIN = 60_000;
const RECUSAL_RATE = 0.02;
const COOLDOWN_MS = 10 * MIN;
const VANISH_RATE = 0.001;

/** mulberry32: a small, fast, seeded 32-bit generator (not for draws in production: see committed-random.ts). */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const uniform = (low: number, high: number) => low + (high - low) * next();
  return {
    next,
    uniform,
    int: (n: number) => Math.floor(next() * n),
    weighted: (weights: readonly number[]) => {
      let left = next() * weights.reduce((sum, weight) => sum + weight, 0);
      for (const [i, weight] of weights.entries()) {
        left -= weight;
        if (left < 0) return i;
      }
      return weights.length - 1;
    },
    logNormal: (median: number, sigma: number) =>
      median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next())),
  };
}

type Packet = {
  id: string;
  index: number;
  service: string;
  stationId: string;
  readyAt: number;
  exclusions: Map<string, ExclusionReason>;
  queuedFor: DrawReason;
  waited: boolean;
  previousSeq?: number;
  /** Admin plant: removals made for this packet so far (undefined: not targeted). */
  removals?: number;
};

type Registrar = {
  id: string;
  services: string[];
  status: 'free' | 'busy' | 'away' | 'removed';
  awayAfter: boolean;
  onBreak: boolean;
  cooldownUntil: number;
  vanishedUntil: number;
  holding?: { packet: Packet; drawSeq: number };
  /** The colluder, away and waiting for his accomplice's packet. */
  lurking: boolean;
  /** Bumped whenever what he waits for changes, so that stale timers do nothing. */
  token: number;
};

type Event = { at: number; order: number; run: () => void };

/** A binary min-heap of events by time, then by insertion order. */
class Agenda {
  now = MONTH_START;
  private heap: Event[] = [];
  private order = 0;

  add(at: number, run: () => void) {
    const heap = this.heap;
    heap.push({ at, order: this.order++, run });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!Agenda.before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  take(): Event | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || !last) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && Agenda.before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && Agenda.before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return top;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }

  private static before(a: Event, b: Event) {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }
}

export function simulatedMonth(options: SimulatedMonthOptions): SimulatedMonth {
  const random = generator(options.seed);
  const days = options.days ?? 30;
  const packetCount = options.packets ?? 20_000;
  const writeDecisions = options.decisions ?? true;
  const sealed = options.sealed ?? true;
  const plant = options.plant ?? {};

  const registrars: Registrar[] = [];
  for (let i = 0; i < REGISTRARS; i++) {
    let primary = 0;
    for (let sum = PRIMARY[0]!; i >= sum; sum += PRIMARY[primary]!) primary++;
    const services = new Set([SERVICES[primary]!]);
    if (random.next() < 0.4)
      services.add(SERVICES[(primary + 1 + random.int(SERVICES.length - 1)) % SERVICES.length]!);
    registrars.push({
      id: `rg_${String(i + 1).padStart(2, '0')}`,
      services: [...services].sort(),
      status: 'away',
      awayAfter: false,
      onBreak: false,
      cooldownUntil: 0,
      vanishedUntil: 0,
      lurking: false,
      token: 0,
    });
  }
  const byId = new Map(registrars.map((registrar) => [registrar.id, registrar]));
  const serving = new Map(SERVICES.map((service) => [service as string, [] as Registrar[]]));
  for (const registrar of registrars)
    for (const service of registrar.services) serving.get(service)!.push(registrar);
  const freeCount = new Map(SERVICES.map((service) => [service as string, 0]));
  const setStatus = (registrar: Registrar, status: Registrar['status']) => {
    const delta = (status === 'free' ? 1 : 0) - (registrar.status === 'free' ? 1 : 0);
    for (const service of registrar.services) freeCount.set(service, freeCount.get(service)! + delta);
    registrar.status = status;
  };

  const stations = Array.from({ length: STATIONS }, (_, i) => `st_${i + 1}`);
  const stationMix = stations.map(() => SERVICE_WEIGHTS.map((weight) => weight * random.uniform(0.6, 1.4)));
  const stationVolume = stations.map(() => random.uniform(0.5, 1.5));

  const agenda = new Agenda();
  const written: Array<{ body: EntryBody; at: number }> = [];
  const availability: AvailabilityEvent[] = [];
  /** Appends an entry; returns its seq. Sealing waits for the end, so that it can be skipped (`sealed`). */
  const write = (body: EntryBody, at: number) => written.push({ body, at });
  const logStatus = (registrar: Registrar, status: 'free' | 'away', at: number, by: 'registrar' | 'admin') =>
    availability.push({ registrarId: registrar.id, status, at: new Date(at).toISOString(), by });
  const stats: SimulatedMonth['stats'] = {
    packets: packetCount,
    draws: 0,
    meanPool: 0,
    singletonPools: 0,
    releases: { recusal: 0, away: 0, removed: 0 },
    colluderSignals: 0,
    biasedRedraws: 0,
    adminInterventions: 0,
    adminRemovals: 0,
    adminWins: 0,
  };

  // The ready queue, oldest first.
  const queue: Packet[] = [];
  const enqueue = (packet: Packet) => {
    let at = queue.length;
    while (at > 0 && queue[at - 1]!.readyAt > packet.readyAt) at--;
    queue.splice(at, 0, packet);
  };
  const eligibleFor = (packet: Packet, now: number) =>
    serving
      .get(packet.service)!
      .filter(
        (registrar) =>
          registrar.status === 'free' &&
          !packet.exclusions.has(registrar.id) &&
          registrar.cooldownUntil <= now,
      );
  /** Why someone serving the service is not in the pool: he is excluded, cooling down, busy, away or removed. */
  const exclusionOf = (registrar: Registrar, packet: Packet): ExclusionReason =>
    packet.exclusions.get(registrar.id) ?? (registrar.status === 'free' ? 'cooldown' : registrar.status);

  const colluder = plant.colluder && byId.get(plant.colluder.registrarId);
  const admin = plant.adminBeneficiary;
  let interventionsLeft = admin?.interventions ?? 60;
  // Spread over the month: at most as many a day as the month needs.
  const perDay = Math.ceil(interventionsLeft / days);
  const interventionsOn = new Map<number, number>();

  const dispatch = (now: number) => {
    for (;;) {
      const candidates: Array<{ packet: Packet; pool: Registrar[] }> = [];
      for (const packet of queue) {
        const pool = freeCount.get(packet.service)! > 0 ? eligibleFor(packet, now) : [];
        if (pool.length === 0) packet.waited = true;
        else if (candidates.push({ packet, pool }) === WINDOW) break;
      }
      if (candidates.length === 0) return;
      const packetIndex = random.int(candidates.length);
      const { packet, pool } = candidates[packetIndex]!;
      let index = random.int(pool.length);
      const biased = plant.biasedDraw;
      if (
        biased &&
        packet.stationId === biased.stationId &&
        pool[index]!.id !== biased.registrarId &&
        pool.some((registrar) => registrar.id === biased.registrarId) &&
        random.next() < (biased.strength ?? 1)
      ) {
        index = random.int(pool.length);
        stats.biasedRedraws++;
      }
      const chosen = pool[index]!;
      if (packet.removals !== undefined && chosen.id === admin?.registrarId) stats.adminWins++;
      const inPool = new Set(pool);
      const entry: DrawEntry = {
        type: 'draw',
        packetId: packet.id,
        pdfSha256: packet.index.toString(16).padStart(64, '0'),
        service: packet.service,
        reason: packet.queuedFor === 'ready' && packet.waited ? 'registrar_free' : packet.queuedFor,
        eligible: pool.map((registrar) => registrar.id),
        excluded: serving
          .get(packet.service)!
          .filter((registrar) => !inPool.has(registrar))
          .map((registrar) => ({ registrarId: registrar.id, reason: exclusionOf(registrar, packet) })),
        randomIndex: index,
        chosen: chosen.id,
        packetWindow: {
          packetIds: candidates.map((candidate) => candidate.packet.id),
          randomIndex: packetIndex,
        },
        stationId: packet.stationId,
        readyAt: new Date(packet.readyAt).toISOString(),
        ...(packet.previousSeq === undefined ? {} : { previousSeq: packet.previousSeq }),
      };
      const drawSeq = write(entry, now);
      stats.draws++;
      stats.meanPool += pool.length;
      if (pool.length === 1) stats.singletonPools++;
      queue.splice(queue.indexOf(packet), 1);
      setStatus(chosen, 'busy');
      chosen.holding = { packet, drawSeq };
      review(chosen, packet, drawSeq, now);
      if (admin && chosen.id !== admin.registrarId) planRemoval(packet, pool, chosen, drawSeq, now);
    }
  };

  const holds = (registrar: Registrar, drawSeq: number) => registrar.holding?.drawSeq === drawSeq;

  const review = (registrar: Registrar, packet: Packet, drawSeq: number, now: number) => {
    const recusalRate =
      plant.recuser?.registrarId === registrar.id ? (plant.recuser.rate ?? 0.08) : RECUSAL_RATE;
    if (random.next() < recusalRate) {
      agenda.add(now + random.uniform(1, 6) * MIN, () => recuse(registrar, drawSeq));
      return;
    }
    if (random.next() < VANISH_RATE) {
      // He leaves holding it; the reconciler releases it later, and he is gone for the day.
      registrar.vanishedUntil = Math.ceil((now - MONTH_START) / 86_400_000) * 86_400_000 + MONTH_START;
      agenda.add(now + random.uniform(20, 60) * MIN, () => {
        if (!holds(registrar, drawSeq)) return;
        release(registrar, 'away', agenda.now);
        setStatus(registrar, 'away');
        // The reconciler's doing, not his own.
        logStatus(registrar, 'away', agenda.now, 'admin');
        dispatch(agenda.now);
      });
      return;
    }
    const minutes = Math.min(90, Math.max(2, random.logNormal(10, 0.55)));
    agenda.add(now + minutes * MIN, () => decide(registrar, packet, drawSeq));
  };

  /** Undoes his current draw: a release entry, and the packet back in the queue at its place. */
  const release = (
    registrar: Registrar,
    reason: 'recusal' | 'away' | 'removed',
    now: number,
    also?: string[],
  ) => {
    const { packet, drawSeq } = registrar.holding!;
    registrar.holding = undefined;
    const seq = write(
      {
        type: 'release',
        packetId: packet.id,
        registrarId: registrar.id,
        reason,
        drawSeq,
        ...(also ? { alsoExcludedFrom: also } : {}),
      },
      now,
    );
    stats.releases[reason]++;
    packet.queuedFor = reason === 'recusal' ? 'recusal' : 'away';
    packet.previousSeq = seq;
    enqueue(packet);
  };

  const recuse = (registrar: Registrar, drawSeq: number) => {
    if (!holds(registrar, drawSeq)) return;
    const now = agenda.now;
    const { packet } = registrar.holding!;
    const waiting = queue.filter((other) => registrar.services.includes(other.service));
    for (const other of waiting) other.exclusions.set(registrar.id, 'recused');
    packet.exclusions.set(registrar.id, 'recused');
    release(
      registrar,
      'recusal',
      now,
      waiting.map((other) => other.id),
    );
    registrar.cooldownUntil = now + COOLDOWN_MS;
    becomeAvailable(registrar, now);
    agenda.add(registrar.cooldownUntil, () => dispatch(agenda.now));
    dispatch(now);
  };

  const decide = (registrar: Registrar, packet: Packet, drawSeq: number) => {
    if (!holds(registrar, drawSeq)) return;
    const now = agenda.now;
    registrar.holding = undefined;
    if (writeDecisions)
      write(
        {
          type: 'decision',
          packetId: packet.id,
          registrarId: registrar.id,
          outcome: random.next() < 0.85 ? 'approved' : 'rejected',
          drawSeq,
        },
        now,
      );
    becomeAvailable(registrar, now);
    dispatch(now);
  };

  /** After a decision or a recusal: free again, away if he asked, or (the colluder) away to wait for a signal. */
  const becomeAvailable = (registrar: Registrar, now: number) => {
    if (registrar.awayAfter) {
      registrar.awayAfter = false;
      setStatus(registrar, 'away');
    } else if (registrar === colluder && random.next() < (plant.colluder!.share ?? 0.2)) {
      setStatus(registrar, 'away');
      logStatus(registrar, 'away', now, 'registrar');
      lurk(registrar, now);
    } else setStatus(registrar, 'free');
  };

  const lurk = (registrar: Registrar, now: number) => {
    registrar.lurking = true;
    const token = ++registrar.token;
    agenda.add(now + (plant.colluder!.maxWaitMinutes ?? 20) * MIN, () => {
      if (registrar.token === token) turnFree(registrar, agenda.now);
    });
  };

  /** His accomplice's packet is ready: he turns free 5–45 s later. */
  const signal = (registrar: Registrar, now: number) => {
    registrar.lurking = false;
    const token = ++registrar.token;
    stats.colluderSignals++;
    agenda.add(now + random.uniform(5, 45) * 1000, () => {
      if (registrar.token === token) turnFree(registrar, agenda.now);
    });
  };

  /** His own 'free' toggle, if he is away and not on a break. */
  const turnFree = (registrar: Registrar, now: number) => {
    registrar.lurking = false;
    registrar.token++;
    if (registrar.status !== 'away' || registrar.onBreak || now < registrar.vanishedUntil) return;
    setStatus(registrar, 'free');
    logStatus(registrar, 'free', now, 'registrar');
    dispatch(now);
  };

  /** Back from a break or arriving: a 'free' toggle (or, for the colluder, sometimes a wait for a signal). */
  const comeBack = (registrar: Registrar, now: number) => {
    registrar.onBreak = false;
    if (registrar.status === 'busy') {
      registrar.awayAfter = false;
      return;
    }
    if (registrar.status !== 'away' || now < registrar.vanishedUntil) return;
    if (registrar === colluder && random.next() < (plant.colluder!.share ?? 0.2)) lurk(registrar, now);
    else turnFree(registrar, now);
  };

  const goAway = (registrar: Registrar, now: number) => {
    registrar.onBreak = true;
    registrar.lurking = false;
    registrar.token++;
    if (registrar.status === 'busy') {
      registrar.awayAfter = true;
      logStatus(registrar, 'away', now, 'registrar');
    } else if (registrar.status === 'free') {
      setStatus(registrar, 'away');
      logStatus(registrar, 'away', now, 'registrar');
    }
  };

  /** An administrator takes him out of the pool: away (he comes back himself later) or removed for good. */
  const takeOut = (registrar: Registrar, reason: 'away' | 'removed', now: number) => {
    if (registrar.status === 'removed') return;
    if (registrar.holding) release(registrar, reason, now);
    registrar.awayAfter = false;
    registrar.lurking = false;
    registrar.token++;
    setStatus(registrar, reason);
    logStatus(registrar, 'away', now, 'admin');
    // He comes back himself, unless his day has moved on to a break or its end meanwhile.
    if (reason === 'away')
      agenda.add(now + random.uniform(15, 45) * MIN, () => {
        if (!registrar.onBreak) comeBack(registrar, agenda.now);
      });
    dispatch(now);
  };

  /**
   * Admin plant: a draw the beneficiary was in but lost. For a packet already targeted, or while the day's share of
   * interventions is not used up, the drawn registrar is sent away 5–30 s later if the beneficiary is still free.
   */
  const planRemoval = (packet: Packet, pool: Registrar[], drawn: Registrar, drawSeq: number, now: number) => {
    const beneficiary = byId.get(admin!.registrarId)!;
    const day = Math.floor((now - MONTH_START) / 86_400_000);
    const mayStart = () => interventionsLeft > 0 && (interventionsOn.get(day) ?? 0) < perDay;
    if (!pool.includes(beneficiary) || (packet.removals ?? 0) >= (admin!.maxRemovals ?? 4)) return;
    if (packet.removals === undefined && !mayStart()) return;
    agenda.add(now + random.uniform(5, 30) * 1000, () => {
      if (!holds(drawn, drawSeq) || beneficiary.status !== 'free') return;
      if (packet.removals === undefined) {
        if (!mayStart()) return;
        interventionsLeft--;
        interventionsOn.set(day, (interventionsOn.get(day) ?? 0) + 1);
        packet.removals = 0;
        stats.adminInterventions++;
      }
      packet.removals++;
      stats.adminRemovals++;
      takeOut(drawn, 'away', agenda.now);
    });
  };

  // Packets: a day, a station by volume, an hour by the station's hours, a service by the station's mix.
  for (let i = 0; i < packetCount; i++) {
    const station = random.weighted(stationVolume);
    const stationId = stations[station]!;
    const hours = MORNING_STATIONS.has(stationId) ? HOUR_WEIGHTS.slice(0, 5) : HOUR_WEIGHTS;
    const readyAt = Math.round(
      MONTH_START +
        random.int(days) * 86_400_000 +
        OPEN_UTC_MS +
        (random.weighted(hours) + random.next()) * 3_600_000,
    );
    const packet: Packet = {
      id: `pk_${String(i + 1).padStart(6, '0')}`,
      index: i + 1,
      service: SERVICES[random.weighted(stationMix[station]!)]!,
      stationId,
      readyAt,
      exclusions: new Map(),
      queuedFor: 'ready',
      waited: false,
    };
    agenda.add(readyAt, () => {
      enqueue(packet);
      if (
        colluder?.lurking &&
        packet.stationId === plant.colluder!.stationId &&
        colluder.services.includes(packet.service)
      )
        signal(colluder, agenda.now);
      dispatch(agenda.now);
    });
  }

  // Registrars' days: arrival, lunch, short breaks, leaving; an administrator's interventions.
  const removedDay = random.next() < 0.5 ? random.int(days) : -1;
  for (let day = 0; day < days; day++) {
    const open = MONTH_START + day * 86_400_000 + OPEN_UTC_MS;
    for (const registrar of registrars) {
      if (random.next() > 0.92) continue;
      const arrive = open + random.uniform(-5, 25) * MIN;
      const leave = open + 9 * 3_600_000 + random.uniform(-15, 15) * MIN;
      const lunch = open + random.uniform(225, 315) * MIN;
      const lunchEnd = lunch + random.uniform(35, 60) * MIN;
      const breaks: Array<[number, number]> = [[lunch, lunchEnd]];
      const shortBreaks = random.weighted([0.3, 0.4, 0.2, 0.1]);
      for (let b = 0; b < shortBreaks; b++) {
        const start = random.uniform(arrive + 30 * MIN, leave - 30 * MIN);
        const end = start + random.uniform(5, 20) * MIN;
        if (breaks.every(([s, e]) => end < s || start > e)) breaks.push([start, end]);
      }
      agenda.add(arrive, () => comeBack(registrar, agenda.now));
      for (const [start, end] of breaks) {
        agenda.add(start, () => goAway(registrar, agenda.now));
        agenda.add(end, () => comeBack(registrar, agenda.now));
      }
      agenda.add(leave, () => goAway(registrar, agenda.now));
    }
    if (random.next() < 0.6) {
      const registrar = registrars[random.int(REGISTRARS)]!;
      agenda.add(open + random.uniform(30, 510) * MIN, () => {
        if (registrar.status === 'free' || registrar.status === 'busy')
          takeOut(registrar, 'away', agenda.now);
      });
    }
    if (day === removedDay) {
      const registrar = registrars[random.int(REGISTRARS)]!;
      agenda.add(open + random.uniform(30, 510) * MIN, () => takeOut(registrar, 'removed', agenda.now));
    }
  }

  for (let event = agenda.take(); event; event = agenda.take()) {
    agenda.now = event.at;
    event.run();
  }
  stats.meanPool = Number((stats.meanPool / Math.max(1, stats.draws)).toFixed(2));
  let head: ChainHead = { seq: 0, hash: GENESIS_HASH };
  const entries = written.map(({ body, at }, i): ProtocolEntry => {
    // The bodies are ours: completing them in place spares a copy of each.
    if (!sealed)
      return Object.assign(body, { seq: i + 1, at: new Date(at).toISOString(), prevHash: '', hash: '' });
    const entry = sealEntry(body, head, new Date(at));
    head = { seq: entry.seq, hash: entry.hash };
    return entry;
  });
  return {
    entries,
    availability,
    registrars: registrars.map(({ id, services }) => ({ id, services })),
    stations,
    stats,
  };
}
