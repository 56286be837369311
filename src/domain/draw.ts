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
 * The registrars a resubmission's policy keeps out, and the smallest pool its draw needs: 1 under same_registrar
 * while the last decider may still take it (once he is removed, gone from the service, or recused from it, the
 * packet is drawn like any other); under exclude_earlier no more than the registrars the policy leaves, so that a
 * small service still serves resubmissions.
 */
function resubmissionRule(
  packet: WaitingPacket,
  serving: Registrar[],
  rules: DrawRules,
): { keepOut: (registrarId: string) => ExclusionReason | undefined; minPool: number } {
  const deciders = packet.resubmission?.deciders ?? [];
  const unchanged = { keepOut: () => undefined, minPool: rules.minPool };
  if (deciders.length === 0 || rules.resubmissionPolicy === 'random') return unchanged;
  const active = serving.filter((registrar) => registrar.status !== 'removed');
  if (rules.resubmissionPolicy === 'exclude_earlier') {
    const left = active.filter((registrar) => !deciders.includes(registrar.id)).length;
    return {
      keepOut: (id) => (deciders.includes(id) ? 'decided_earlier_submission' : undefined),
      minPool: Math.max(1, Math.min(rules.minPool, left)),
    };
  }
  const last = deciders[0]!;
  const mayTake = active.some((registrar) => registrar.id === last) && !packet.exclusions.has(last);
  if (!mayTake) return unchanged;
  return { keepOut: (id) => (id === last ? undefined : 'not_earlier_decider'), minPool: 1 };
}

/**
 * Who may take a packet now: free, serving its service, out of any recusal cooldown, not excluded from it, and
 * allowed by the resubmission policy. The rest are listed with reasons, with the smallest pool the draw needs.
 */
export function poolFor(
  packet: WaitingPacket,
  registrars: Registrar[],
  rules: DrawRules,
): Pool & { minPool: number } {
  const eligible: string[] = [];
  const excluded: Pool['excluded'] = [];
  const serving = registrars.filter((registrar) => registrar.services.includes(packet.service));
  const resubmission = resubmissionRule(packet, serving, rules);
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
  return { eligible, excluded, minPool: resubmission.minPool };
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
