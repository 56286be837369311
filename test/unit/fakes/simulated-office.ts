import { hash } from 'node:crypto';
import { committedIndex } from '../../../src/domain/committed-random.js';
import {
  type PlannedDraw,
  planDraw,
  type ResubmissionPolicy,
  type WaitingPacket,
} from '../../../src/domain/draw.js';
import type { Registrar, RegistrarStatus } from '../../../src/domain/types.js';

/**
 * sfc32 seeded through splitmix32: a small, fast, reproducible source for the simulated world (who is busy, when
 * packets arrive, how long a decision takes, each epoch's secret). Never used by a draw itself.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let state = seed >>> 0;
    const splitmix = () => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** In [0, 1). */
  float(): number {
    return this.next() / 2 ** 32;
  }

  /** In [0, n): for the simulated world only, where a bias of 2^-32 does not matter. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  between(low: number, high: number): number {
    return low + this.float() * (high - low);
  }

  hex(bytes: number): string {
    const buffer = Buffer.allocUnsafe(Math.ceil(bytes / 4) * 4);
    for (let i = 0; i < buffer.length; i += 4) buffer.writeUInt32BE(this.next(), i);
    return buffer.toString('hex', 0, bytes);
  }
}

export type OfficeRules = {
  window: number;
  minPool: number;
  resubmissionPolicy: ResubmissionPolicy;
  /** RECUSAL_COOLDOWN_SECONDS in ms; 0 is a counterfactual office without the cooldown. */
  recusalCooldownMs: number;
  /** A recusal excludes him from the packets of his services waiting then; false is a counterfactual office. */
  excludeWaitingOnRecusal: boolean;
};

export type Desk = Registrar & { packetId?: string; awayAfter?: boolean };

type Scheduled = { at: number; order: number; run: () => void };

/**
 * A small office in simulated time, whose draws are the real ones: `planDraw` (and so `poolFor`) over its ready
 * queue and registrars, with `committedIndex` under the epoch's secret and the protocol head as inputs, exactly as
 * the dispatcher calls them. What the Lua scripts and services do around a draw is mirrored here: assign, decide,
 * recuse (cooldown and exclusion from the packets waiting then), a registrar's own free/away (away after his packet
 * when he holds one), an administrator's away (likewise) and removal (which releases his packet). Every protocol
 * entry moves the head (SHA-256 of the previous head and the entry). The dispatcher runs after every event.
 */
export class SimulatedOffice {
  now: number;
  head: string;
  readonly registrars: Desk[] = [];
  /** Ready packets, oldest first (the ready queue's order: readyAt, then id). */
  readonly queue: WaitingPacket[] = [];
  /** Packets held by a registrar, by id: what goes back to the queue on a release. */
  readonly held = new Map<string, WaitingPacket>();
  readonly counts = {
    draws: 0,
    recusals: 0,
    adminAways: 0,
    removals: 0,
    releases: 0,
    entries: 0,
  };
  /** Sees each planned draw before it is applied, while the state it was drawn from is intact. */
  onDraw: (draw: PlannedDraw) => void = () => {};
  /** Called once a packet is assigned: behaviours schedule a decision, recuse, or an administrator acts. */
  onAssigned: (registrarId: string, packet: WaitingPacket) => void = () => {};
  /** Called before every dispatch pass: a registrar may change his status around the draws. */
  beforeDispatch: () => void = () => {};
  private readonly events: Scheduled[] = [];
  private order = 0;
  /** What the dispatcher passes planDraw: the configuration, and the epoch secret's committed index. */
  private readonly drawOptions: Parameters<typeof planDraw>[2];

  constructor(
    readonly rules: OfficeRules,
    secret: string,
    readonly epoch: number,
    start: { now: number; head: string },
  ) {
    this.now = start.now;
    this.head = start.head;
    this.drawOptions = {
      window: rules.window,
      minPool: rules.minPool,
      resubmissionPolicy: rules.resubmissionPolicy,
      now: this.now,
      random: (n, purpose, inputs) => committedIndex(secret, purpose, inputs, n),
      prevHash: this.head,
      epoch,
    };
  }

  addRegistrar(id: string, services: string[], status: RegistrarStatus = 'free'): Desk {
    const desk: Desk = { id, name: id, services, status, createdAt: '2026-01-01T00:00:00.000Z' };
    this.registrars.push(desk);
    return desk;
  }

  registrar(id: string): Desk {
    const desk = this.registrars.find((registrar) => registrar.id === id);
    if (!desk) throw new Error(`no registrar ${id}`);
    return desk;
  }

  /** Puts a packet in the ready queue at its place (becoming ready writes no protocol entry). */
  ready(packet: WaitingPacket): void {
    this.enqueue(packet);
  }

  /** A registrar who already holds a packet that is not in the queue (the state the simulation starts from). */
  hold(registrarId: string, packet: WaitingPacket): void {
    const desk = this.registrar(registrarId);
    desk.status = 'busy';
    desk.packetId = packet.id;
    this.held.set(packet.id, packet);
  }

  holderOf(packetId: string): string | undefined {
    return this.registrars.find((registrar) => registrar.packetId === packetId)?.id;
  }

  schedule(delayMs: number, run: () => void): void {
    this.events.push({ at: this.now + delayMs, order: this.order++, run });
  }

  /** Draws until nothing waiting can be served, as a dispatcher pass does. */
  dispatch(): void {
    for (let guard = 0; guard < 1000; guard++) {
      // planDraw would find no draw either; skipping it only saves time.
      if (this.queue.length === 0 || !this.registrars.some((registrar) => registrar.status === 'free'))
        return;
      this.drawOptions.now = this.now;
      this.drawOptions.prevHash = this.head;
      const { draw, starved } = planDraw(this.queue, this.registrars, this.drawOptions);
      for (const packet of starved) packet.waited = true;
      if (!draw) return;
      this.onDraw(draw);
      const { packet, entry } = draw;
      this.queue.splice(this.queue.indexOf(packet), 1);
      this.hold(entry.chosen, packet);
      this.counts.draws++;
      this.append(`draw ${packet.id} ${entry.chosen} ${entry.packetWindow.randomIndex} ${entry.randomIndex}`);
      this.onAssigned(entry.chosen, packet);
    }
    throw new Error('a dispatcher pass did not settle');
  }

  /** Runs events in time order, dispatching after each, until `done` or nothing is left to happen. */
  runUntil(done: () => boolean, maxEvents = 5000): boolean {
    this.beforeDispatch();
    this.dispatch();
    for (let n = 0; !done(); n++) {
      if (n >= maxEvents || this.events.length === 0) return false;
      let next = 0;
      for (let i = 1; i < this.events.length; i++) {
        const event = this.events[i]!;
        const best = this.events[next]!;
        if (event.at < best.at || (event.at === best.at && event.order < best.order)) next = i;
      }
      const [event] = this.events.splice(next, 1);
      this.now = Math.max(this.now, event!.at);
      event!.run();
      this.beforeDispatch();
      this.dispatch();
    }
    return true;
  }

  /** decide.lua: the holder decides; he is free again, or away if he asked to be. */
  decide(registrarId: string): void {
    const desk = this.registrar(registrarId);
    const packetId = desk.packetId;
    if (!packetId) return;
    this.held.delete(packetId);
    desk.status = desk.awayAfter ? 'away' : 'free';
    delete desk.packetId;
    delete desk.awayAfter;
    this.append(`decision ${packetId} ${registrarId}`);
  }

  /**
   * RegistrarDesk.recuse + release.lua: the packet goes back excluding him; he is free (or away, if he asked), in
   * cooldown, and excluded from every packet of his services waiting now.
   */
  recuse(registrarId: string): void {
    const desk = this.registrar(registrarId);
    const waiting = this.queue.filter((packet) => desk.services.includes(packet.service));
    if (!this.release(desk, 'recusal', desk.awayAfter ? 'away' : 'free')) return;
    this.counts.recusals++;
    if (this.rules.recusalCooldownMs > 0) {
      desk.cooldownUntil = this.now + this.rules.recusalCooldownMs;
      // The dispatcher's periodic sweep notices the end of a cooldown.
      this.schedule(this.rules.recusalCooldownMs, () => {});
    }
    if (this.rules.excludeWaitingOnRecusal)
      for (const packet of waiting)
        if (!packet.exclusions.has(desk.id)) packet.exclusions.set(desk.id, 'recused');
  }

  /** set-registrar-status.lua: his own wish; while he holds a packet, away takes effect after it. */
  setStatus(registrarId: string, requested: 'free' | 'away'): void {
    const desk = this.registrar(registrarId);
    if (desk.status === 'removed') return;
    if (desk.status === 'busy') {
      if (requested === 'away') desk.awayAfter = true;
      else delete desk.awayAfter;
      return;
    }
    desk.status = requested;
  }

  /** take-out-of-pool.lua, away: the same rule, counted as an administrator's act; his packet is not released. */
  adminAway(registrarId: string): void {
    const desk = this.registrar(registrarId);
    if (desk.status === 'removed') return;
    this.counts.adminAways++;
    if (desk.status === 'busy') desk.awayAfter = true;
    else desk.status = 'away';
  }

  /** PoolAdministration.takeOutOfPool, removed: for good; a packet he holds goes back for a draw without him. */
  adminRemove(registrarId: string): void {
    const desk = this.registrar(registrarId);
    if (desk.status === 'removed') return;
    this.counts.removals++;
    if (!this.release(desk, 'removed', 'removed')) desk.status = 'removed';
    delete desk.awayAfter;
  }

  private release(desk: Desk, reason: 'recusal' | 'removed', after: RegistrarStatus): boolean {
    const packet = desk.packetId ? this.held.get(desk.packetId) : undefined;
    if (!packet) return false;
    this.held.delete(packet.id);
    packet.exclusions.set(desk.id, reason === 'recusal' ? 'recused' : 'removed');
    packet.queuedFor = reason === 'recusal' ? 'recusal' : 'away';
    packet.waited = false;
    desk.status = after;
    delete desk.packetId;
    delete desk.awayAfter;
    this.enqueue(packet);
    this.counts.releases++;
    this.append(`release ${packet.id} ${desk.id} ${reason}`);
    packet.previousSeq = this.counts.entries;
    return true;
  }

  private enqueue(packet: WaitingPacket): void {
    const at = this.queue.findIndex(
      (other) => other.readyAt > packet.readyAt || (other.readyAt === packet.readyAt && other.id > packet.id),
    );
    if (at === -1) this.queue.push(packet);
    else this.queue.splice(at, 0, packet);
  }

  private append(line: string): void {
    this.counts.entries++;
    this.head = hash('sha256', `${this.head}\n${this.counts.entries} ${line}`, 'hex');
  }
}
