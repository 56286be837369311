import { type DrawPurpose, drawInputs } from './committed-random.js';
import type { DrawEntry, DrawReason, ExclusionReason } from './protocol.js';
import type { Registrar } from './types.js';

/** An unbiased integer in [0, n), derived from what the draw is about (committedIndex in the service). */
export type RandomIndex = (n: number, purpose: DrawPurpose, inputs: unknown) => number;

export type WaitingPacket = {
  id: string;
  service: string;
  pdfSha256: string;
  /** registrar id → why this packet may not go to them (recusal, decided an earlier packet of the ticket). */
  exclusions: Map<string, ExclusionReason>;
  /** Why the packet is in the queue: first time ready, or back after a recusal or an absence. */
  queuedFor: DrawReason;
  /** True once a draw had to wait for registrars: its eventual draw is due to a registrar turning free. */
  waited: boolean;
  previousSeq?: number;
  /** When it became ready (ms since epoch): its place in the queue. */
  readyAt: number;
};

export type Pool = { eligible: string[]; excluded: DrawEntry['excluded'] };

/** Who may take a packet now: free, serving its service, not excluded. The rest are listed with reasons. */
export function poolFor(packet: WaitingPacket, registrars: Registrar[]): Pool {
  const eligible: string[] = [];
  const excluded: Pool['excluded'] = [];
  for (const registrar of registrars) {
    if (!registrar.services.includes(packet.service)) continue;
    const exclusion = packet.exclusions.get(registrar.id);
    if (exclusion) excluded.push({ registrarId: registrar.id, reason: exclusion });
    else if (registrar.status === 'free') eligible.push(registrar.id);
    else
      excluded.push({
        registrarId: registrar.id,
        reason: registrar.status === 'busy' ? 'busy' : registrar.status,
      });
  }
  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  eligible.sort(byId);
  excluded.sort((a, b) => byId(a.registrarId, b.registrarId));
  return { eligible, excluded };
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
  options: {
    minPool: number;
    window: number;
    random: RandomIndex;
    /** The protocol head the draw will extend: an input of both indexes. */
    prevHash: string;
    /** The randomness epoch the indexes come from, written in the entry. */
    epoch?: number;
  },
): { draw?: PlannedDraw; starved: WaitingPacket[] } {
  const pools = waiting.map((packet) => ({ packet, pool: poolFor(packet, registrars) }));
  const servable = pools.filter(
    ({ pool }) => pool.eligible.length >= options.minPool && pool.eligible.length > 0,
  );
  const starved = pools
    .filter(({ pool }) => !(pool.eligible.length >= options.minPool && pool.eligible.length > 0))
    .map(({ packet }) => packet);
  if (servable.length === 0) return { starved };

  const candidates = servable.slice(0, options.window);
  const packetIds = candidates.map((candidate) => candidate.packet.id);
  const packetIndex = options.random(
    candidates.length,
    'packet',
    drawInputs.packet(options.prevHash, packetIds),
  );
  const { packet, pool } = candidates[packetIndex]!;
  const randomIndex = options.random(
    pool.eligible.length,
    'registrar',
    drawInputs.registrar(options.prevHash, packet.id, packet.pdfSha256, pool.eligible),
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
        ...(packet.previousSeq === undefined ? {} : { previousSeq: packet.previousSeq }),
        ...(options.epoch === undefined ? {} : { epoch: options.epoch }),
      },
    },
  };
}
