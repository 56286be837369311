import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from '../infra/logger.js';
import type { Metrics } from '../infra/metrics.js';
import type { AssignmentRepository } from '../repositories/assignment-repository.js';
import type { PrincipalRepository } from '../repositories/principal-repository.js';
import { protocolEntryKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import { cryptoRandomIndex, planDraw, type RandomIndex } from './draw.js';

export type DispatcherOptions = {
  /** Fewer eligible free registrars than this and the packet waits (DISPATCH_MIN_POOL). */
  minPool: number;
  /** A registrar turning free gets one of the oldest `window` packets he may take, at random (DISPATCH_WINDOW). */
  window: number;
  /** Even without events, look at the queue this often. */
  sweepSeconds: number;
};

export type DispatcherDeps = {
  assignments: AssignmentRepository;
  principals: PrincipalRepository;
  store: ObjectStore;
  metrics: Metrics;
  log: Logger;
  options: DispatcherOptions;
  random?: RandomIndex;
};

/** Upper bound on draws in one pass, so a pathological state cannot spin forever. */
const MAX_DRAWS_PER_PASS = 10_000;

/**
 * Hands ready packets to random free registrars. Stateless between passes: everything lives in Redis, so any
 * number of dispatchers may run, and one that crashes mid-draw loses nothing (its draw never committed).
 */
export class Dispatcher {
  private stopped = false;
  private readonly random: RandomIndex;

  constructor(private readonly deps: DispatcherDeps) {
    this.random = deps.random ?? cryptoRandomIndex;
  }

  /** Draws until no waiting packet can be served; returns how many packets were assigned. */
  async dispatchAll(): Promise<number> {
    const { assignments, principals, metrics, log, options } = this.deps;
    let assigned = 0;
    for (let pass = 0; pass < MAX_DRAWS_PER_PASS && !this.stopped; pass++) {
      const waiting = await assignments.waitingPackets();
      metrics.waitingPackets.set(waiting.length);
      if (waiting.length === 0) break;
      const { draw, starved } = planDraw(waiting, await principals.listRegistrars(), {
        minPool: options.minPool,
        window: options.window,
        random: this.random,
      });
      await assignments.markWaited(starved.filter((packet) => !packet.waited).map((packet) => packet.id));
      metrics.starvedPackets.set(starved.length);
      if (!draw) break;

      const { outcome, entry } = await assignments.assign(draw.entry);
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

  /** Copies protocol entries not yet in S3 there, one object per entry (same key, same bytes on a repeat). */
  async mirrorProtocol(): Promise<void> {
    const { assignments, store, log } = this.deps;
    try {
      const mirrored = await assignments.mirroredSeq();
      const pending = await assignments.entries(mirrored);
      for (const entry of pending) {
        await store.put(protocolEntryKey(entry.seq), Buffer.from(JSON.stringify(entry)), 'application/json');
        await assignments.setMirroredSeq(entry.seq);
      }
    } catch (error) {
      // The Redis list is the source of truth; the next pass catches up.
      log.warn({ err: error }, 'protocol mirror to S3 is behind');
    }
  }

  /** Runs until stop(): a pass on every wake-up (packet ready, registrar free, release) and every sweep interval. */
  async run(blocking: Redis): Promise<void> {
    const { assignments, log, options } = this.deps;
    while (!this.stopped) {
      try {
        await this.dispatchAll();
        if (this.stopped) break;
        await assignments.waitForWake(blocking, options.sweepSeconds);
      } catch (error) {
        if (this.stopped) break;
        log.error({ err: error }, 'dispatch pass failed; retrying');
        await sleep(1000);
      }
    }
  }

  stop(): void {
    this.stopped = true;
  }
}
