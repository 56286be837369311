import type { Redis } from 'ioredis';
import { committedIndex, epochOf } from '../domain/committed-random.js';
import { planDraw, type ResubmissionPolicy } from '../domain/draw.js';
import type { DrawBeacon } from '../domain/protocol.js';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { PacketRepository } from '../repositories/packet-repository.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';
import type { ReadyQueueRepository } from '../repositories/ready-queue-repository.js';
import type { RegistrarRepository } from '../repositories/registrar-repository.js';
import type { Checkpoints } from './checkpoints.js';
import type { ProtocolMirror } from './protocol-mirror.js';
import type { RandomnessBeacon } from './randomness-beacon.js';
import type { RandomnessEpochs } from './randomness-epochs.js';

export type DispatchOptions = {
  /** Fewer eligible free registrars than this and the packet waits (DISPATCH_MIN_POOL). */
  minPool: number;
  /** A registrar turning free gets one of the oldest `window` packets he may take, at random (DISPATCH_WINDOW). */
  window: number;
  resubmissionPolicy: ResubmissionPolicy;
};

export type DispatchingDeps = {
  packets: PacketRepository;
  registrars: RegistrarRepository;
  readyQueue: ReadyQueueRepository;
  protocol: ProtocolRepository;
  mirror: ProtocolMirror;
  checkpoints: Checkpoints;
  metrics: Metrics;
  log: Logger;
  options: DispatchOptions;
  /** Where each draw's indexes come from: the current epoch's committed secret… */
  epochs: RandomnessEpochs;
  /** …mixed with a public beacon round, when one is configured and answers. */
  beacon?: RandomnessBeacon;
};

/** Upper bound on draws in one pass, so a pathological state cannot spin forever. */
const MAX_DRAWS_PER_PASS = 10_000;

/**
 * Hands ready packets to random free registrars. Stateless between passes: everything lives in Redis, so any
 * number of dispatchers may run, and one that crashes mid-draw loses nothing (its draw never committed).
 */
export class Dispatching {
  constructor(private readonly deps: DispatchingDeps) {}

  /** Draws until no waiting packet can be served (or `signal` aborts); returns how many packets were assigned. */
  async dispatchAll(signal?: AbortSignal): Promise<number> {
    const { packets, registrars, readyQueue, protocol, epochs, metrics, log, options } = this.deps;
    let assigned = 0;
    let randomness = await epochs.prepare();
    for (let pass = 0; pass < MAX_DRAWS_PER_PASS && !signal?.aborted; pass++) {
      const waiting = await readyQueue.waitingPackets();
      metrics.waitingPackets.set(waiting.length);
      if (waiting.length === 0) break;
      if (epochOf(Date.now(), epochs.epochSeconds) !== randomness.epoch) randomness = await epochs.prepare();
      const { secret, epoch } = randomness;
      // The head the draw extends is one of its random inputs; the assignment fails if it moved meanwhile.
      const head = await protocol.head();
      const current = await registrars.list();
      const plan = (beacon?: DrawBeacon) => {
        const now = Date.now();
        const planned = planDraw(waiting, current, {
          minPool: options.minPool,
          window: options.window,
          resubmissionPolicy: options.resubmissionPolicy,
          now,
          random: (n, purpose, inputs) => committedIndex(secret, purpose, inputs, n),
          prevHash: head.hash,
          epoch,
          ...(beacon ? { beacon } : {}),
        });
        return { ...planned, at: new Date(now) };
      };
      let { draw, starved, at } = plan();
      await readyQueue.markWaited(starved.filter((packet) => !packet.waited).map((packet) => packet.id));
      metrics.starvedPackets.set(starved.length);
      if (!draw) break;
      // Only a draw that will happen waits for its beacon round (the first after the entry it extends).
      const extended = this.deps.beacon && head.seq > 0 ? await protocol.entries(head.seq - 1, 1) : [];
      const beacon = extended[0] ? await this.deps.beacon?.roundFor(extended[0].at) : undefined;
      if (beacon) ({ draw, at } = plan(beacon));
      if (!draw) break;

      const { outcome, entry } = await packets.assign(draw.entry, head, at);
      const context = {
        packetId: draw.entry.packetId,
        reason: draw.entry.reason,
        eligible: draw.entry.eligible,
        randomIndex: draw.entry.randomIndex,
        chosen: draw.entry.chosen,
      };
      if (outcome !== 'ok') {
        // Another dispatcher, a decision or a recusal changed the state first: this draw never happened; draw again.
        log.info({ ...context, outcome }, 'draw lost a race; drawing again');
        metrics.lostRaces.inc();
        continue;
      }
      assigned++;
      metrics.draws.inc({ reason: entry.type === 'draw' ? entry.reason : 'unknown' });
      metrics.poolSize.observe(draw.entry.eligible.length);
      metrics.readyToAssigned.observe(Math.max(0, Date.now() - draw.packet.readyAt) / 1000);
      log.info({ ...context, seq: entry.seq }, 'packet assigned by draw');
    }
    await this.mirrorProtocol();
    return assigned;
  }

  /** Waits (blocking `connection`) until something wakes the dispatchers, or `timeoutSeconds` pass. */
  async waitForWork(connection: Redis, timeoutSeconds: number): Promise<void> {
    await this.deps.readyQueue.waitForWake(connection, timeoutSeconds);
  }

  /**
   * Copies protocol entries not yet in S3 there (see ProtocolMirror: never overwriting one), then signs a
   * checkpoint when one is due.
   */
  async mirrorProtocol(): Promise<void> {
    try {
      await this.deps.mirror.copyPending();
      await this.deps.checkpoints.signIfDue();
    } catch (error) {
      // The Redis list is the source of truth; the next pass catches up.
      this.deps.log.warn({ err: error }, 'protocol mirror to S3 is behind');
    }
  }
}
