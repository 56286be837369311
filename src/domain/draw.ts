import { type DrawPurpose, drawInputs } from './committed-random.js';
import type { DrawBeacon, DrawEntry, DrawReason, ExclusionReason } from './protocol.js';
import type { Registrar } from './types.js';

/** An unbiased integer in [0, n), derived from what the draw is about (committedIndex in the service). */
export type RandomIndex = (n: number, purpose: DrawPurpose, inputs: unknown) => number;

/**
 * Who decides a packet marked as a resubmission of an earlier one: `exclude_earlier` (anyone but who decided the
 * earlier submissions), `same_registrar` (who decided the last one, if he still serves the service) or `random`.
 */
export const RESUBMISSION_POLICIES = [
  'exclude_earlier',
  'same_registrar',
  'random',
] as const satisfies ReadonlyArray<NonNullable<DrawEntry['resubmissionPolicy']>>;
export type ResubmissionPolicy = (typeof RESUBMISSION_POLICIES)[number];

export type DrawRules = {
  /** Fewer eligible registrars than this and the packet waits (DISPATCH_MIN_POOL). */
  minPool: number;
  resubmissionPolicy: ResubmissionPolicy;
  /** Now, ms since epoch: recusal cooldowns end at a time. */
  now: number;
};

export type WaitingPacket = {
  id: string;
  service: string;
  stationId: string;
  pdfSha256: string;
  /** registrar id → why this packet may not go to them (his recusal from it, or from another while it waited). */
  exclusions: Map<string, ExclusionReason>;
  /** The earlier packet it resubmits, and who decided that one and the ones before it, latest first. */
  resubmission?: { of: string; deciders: string[] };
  /** Why the packet is in the queue: first time ready, or back after a recusal or an absence. */
  queuedFor: DrawReason;
  /** True once a draw had to wait for registrars: its eventual draw is due to a registrar turning free. */
  waited: boolean;
  previousSeq?: number;
  /** When it became ready (ms since epoch): its place in the queue. */
  readyAt: number;
};

export type Pool = { eligible: string[]; excluded: DrawEntry['excluded'] };

/**
 * The registrars a resubmission's policy keeps out, and whether it waits for one registrar (same_registrar, while
 * the last decider still serves the service; once he is gone, the packet is drawn like any other).
 */
function resubmissionRule(
  packet: WaitingPacket,
  serving: Registrar[],
  policy: ResubmissionPolicy,
): { keepOut: (registrarId: string) => ExclusionReason | undefined; waitsForOne: boolean } {
  const deciders = packet.resubmission?.deciders ?? [];
  if (deciders.length === 0 || policy === 'random') return { keepOut: () => undefined, waitsForOne: false };
  if (policy === 'exclude_earlier')
    return {
      keepOut: (id) => (deciders.includes(id) ? 'decided_earlier_submission' : undefined),
      waitsForOne: false,
    };
  const last = deciders[0]!;
  const stillServing = serving.some((registrar) => registrar.id === last && registrar.status !== 'removed');
  if (!stillServing) return { keepOut: () => undefined, waitsForOne: false };
  return { keepOut: (id) => (id === last ? undefined : 'not_earlier_decider'), waitsForOne: true };
}

/**
 * Who may take a packet now: free, serving its service, out of any recusal cooldown, not excluded from it, and
 * allowed by the resubmission policy. The rest are listed with reasons. `minPool` is 1 when the policy waits for
 * the earlier decider.
 */
export function poolFor(
  packet: WaitingPacket,
  registrars: Registrar[],
  rules: DrawRules,
): Pool & { minPool: number } {
  const eligible: string[] = [];
  const excluded: Pool['excluded'] = [];
  const serving = registrars.filter((registrar) => registrar.services.includes(packet.service));
  const resubmission = resubmissionRule(packet, serving, rules.resubmissionPolicy);
  for (const registrar of serving) {
    const exclusion =
      packet.exclusions.get(registrar.id) ??
      resubmission.keepOut(registrar.id) ??
      (registrar.status === 'free' && (registrar.cooldownUntil ?? 0) > rules.now ? 'cooldown' : undefined);
    if (exclusion) excluded.push({ registrarId: registrar.id, reason: exclusion });
    else if (registrar.status === 'free') eligible.push(registrar.id);
    else excluded.push({ registrarId: registrar.id, reason: registrar.status });
  }
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  eligible.sort(byId);
  excluded.sort((a, b) => byId(a.registrarId, b.registrarId));
  return { eligible, excluded, minPool: resubmission.waitsForOne ? 1 : rules.minPool };
}

export type PlannedDraw = { packet: WaitingPacket; entry: DrawEntry };

/**
 * Plans the next draw from the waiting packets (oldest first). Packets whose pool is smaller than `minPool` wait.
 * Among the oldest `window` packets that can be served, one is drawn at random, so turning free at a chosen moment
 * does not pick a particular packet; then the registrar is drawn uniformly from that packet's pool.
 */
export function planDraw(
  waiting: WaitingPacket[],
  registrars: Registrar[],
  options: DrawRules & {
    window: number;
    random: RandomIndex;
    /** The protocol head the draw will extend: an input of both indexes. */
    prevHash: string;
    /** The randomness epoch the indexes come from, written in the entry. */
    epoch?: number;
    /** A public beacon round mixed into both indexes, written in the entry. */
    beacon?: DrawBeacon;
  },
): { draw?: PlannedDraw; starved: WaitingPacket[] } {
  const pools = waiting.map((packet) => ({ packet, pool: poolFor(packet, registrars, options) }));
  const canServe = ({ pool }: (typeof pools)[number]) =>
    pool.eligible.length >= pool.minPool && pool.eligible.length > 0;
  const servable = pools.filter(canServe);
  const starved = pools.filter((candidate) => !canServe(candidate)).map(({ packet }) => packet);
  if (servable.length === 0) return { starved };

  const candidates = servable.slice(0, options.window);
  const packetIds = candidates.map((candidate) => candidate.packet.id);
  const packetIndex = options.random(
    candidates.length,
    'packet',
    drawInputs.packet(options.prevHash, packetIds, options.beacon?.randomness),
  );
  const { packet, pool } = candidates[packetIndex]!;
  const randomIndex = options.random(
    pool.eligible.length,
    'registrar',
    drawInputs.registrar(
      options.prevHash,
      packet.id,
      packet.pdfSha256,
      pool.eligible,
      options.beacon?.randomness,
    ),
  );
  const reason: DrawReason =
    packet.queuedFor === 'ready' && packet.waited ? 'registrar_free' : packet.queuedFor;
  return {
    starved,
    draw: {
      packet,
      entry: {
        type: 'draw',
        packetId: packet.id,
        pdfSha256: packet.pdfSha256,
        service: packet.service,
        reason,
        eligible: pool.eligible,
        excluded: pool.excluded,
        randomIndex,
        chosen: pool.eligible[randomIndex]!,
        packetWindow: { packetIds, randomIndex: packetIndex },
        stationId: packet.stationId,
        readyAt: new Date(packet.readyAt).toISOString(),
        ...(packet.resubmission
          ? { resubmissionOf: packet.resubmission.of, resubmissionPolicy: options.resubmissionPolicy }
          : {}),
        ...(packet.previousSeq === undefined ? {} : { previousSeq: packet.previousSeq }),
        ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
        ...(options.beacon ? { beacon: options.beacon } : {}),
      },
    },
  };
}
