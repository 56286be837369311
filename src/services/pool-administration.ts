import { fail, type Outcome, ok } from '../domain/outcome.js';
import type { Registrar, Station } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import type { PacketRepository } from '../repositories/packet-repository.js';
import type { RegistrarRepository } from '../repositories/registrar-repository.js';
import type { StationRepository } from '../repositories/station-repository.js';
import type { ServiceCatalogue } from './service-catalogue.js';

export type PoolAdministrationDeps = {
  packets: PacketRepository;
  registrars: RegistrarRepository;
  stations: StationRepository;
  catalogue: Pick<ServiceCatalogue, 'check'>;
  log: Logger;
};

/** A registrar's packet can change between our read and our write (a draw, his decision); past this, give up. */
const MAX_ATTEMPTS = 20;
const MIN_REASON_LENGTH = 3;

/**
 * What an administrator may do: create stations and registrars, and take a registrar out of the pool. He can never
 * assign a packet: if the registrar he takes out holds one, it goes back into the queue for a new, logged draw
 * without him, in the same atomic step as the registrar's new status.
 */
export class PoolAdministration {
  constructor(private readonly deps: PoolAdministrationDeps) {}

  async createStation(name: string): Promise<{ station: Station; token: string }> {
    const created = await this.deps.stations.create(name);
    this.deps.log.info({ stationId: created.station.id }, 'station created');
    return created;
  }

  listStations(): Promise<Station[]> {
    return this.deps.stations.list();
  }

  /** Retires a station: its token and browser sessions stop working; its packets go on as they are. */
  async removeStation(stationId: string): Promise<Outcome<void>> {
    if (!(await this.deps.stations.remove(stationId))) return fail({ code: 'not_found', what: 'Station' });
    this.deps.log.info({ stationId }, 'station removed');
    return ok(undefined);
  }

  async createRegistrar(
    name: string,
    services: string[],
  ): Promise<Outcome<{ registrar: Registrar; token: string }>> {
    const distinct = [...new Set(services)].sort();
    const known = await this.deps.catalogue.check(distinct);
    if (!known.ok) return known;
    const created = await this.deps.registrars.create(name, distinct);
    this.deps.log.info({ registrarId: created.registrar.id }, 'registrar created');
    return ok(created);
  }

  listRegistrars(): Promise<Registrar[]> {
    return this.deps.registrars.list();
  }

  /**
   * Sets a registrar away or removes him (his token stops working); the administrator says why, and every such act
   * is recorded and counted (GET /v1/audit/anomalies). Away while he holds a packet takes effect after it, so that
   * setting the drawn registrar away cannot send a packet to another draw; a removed holder's packet is released
   * in the same step, for a new draw without him. If a draw gives him a packet between our read and our write,
   * the write fails and we read again.
   */
  async takeOutOfPool(
    registrarId: string,
    action: 'away' | 'removed',
    reason: string,
  ): Promise<Outcome<Registrar & { awayAfterCurrentPacket: boolean }>> {
    const { packets, registrars, log } = this.deps;
    if (reason.trim().length < MIN_REASON_LENGTH) return fail({ code: 'reason_required' });
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const registrar = await registrars.get(registrarId);
      if (!registrar || registrar.status === 'removed') return fail({ code: 'not_found', what: 'Registrar' });
      const packet =
        action === 'removed' && registrar.packetId ? await packets.get(registrar.packetId) : undefined;
      const released = packet
        ? await packets.release(packet.id, registrarId, packet.drawSeq ?? 0, 'removed', 'removed')
        : undefined;
      const outcome = released ? released.outcome : await registrars.takeOutOfPool(registrarId, action);
      if (outcome === 'missing') return fail({ code: 'not_found', what: 'Registrar' });
      if (outcome !== 'ok' && outcome !== 'away_after_packet') continue;
      if (action === 'removed') await registrars.revokeToken(registrarId);
      const awayAfterPacket = outcome === 'away_after_packet';
      await registrars.recordAdminAction({
        at: new Date().toISOString(),
        registrarId,
        action,
        reason: reason.trim(),
        ...(packet && released ? { released: { packetId: packet.id, seq: released.entry.seq } } : {}),
        ...(awayAfterPacket ? { awayAfterPacket } : {}),
      });
      log.info(
        { registrarId, action, releasedPacketId: packet?.id, awayAfterPacket },
        'administrator took registrar out of the pool',
      );
      return ok({ ...(await registrars.get(registrarId))!, awayAfterCurrentPacket: awayAfterPacket });
    }
    throw new Error(`registrar ${registrarId} kept changing; could not take him out of the pool`);
  }
}
