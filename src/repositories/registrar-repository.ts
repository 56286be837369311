import type { Redis } from 'ioredis';
import { hashToken, newId, newToken } from '../domain/ids.js';
import type { ChainHead, ProtocolEntry, StatusEntry } from '../domain/protocol.js';
import type { Registrar, RegistrarStatus } from '../domain/types.js';
import { type ProtocolRepository, protocolGuard } from './protocol-repository.js';
import type { RedisKeys } from './redis-keys.js';
import { runScript } from './scripts.js';

const registrarOf = (row: Record<string, string>): Registrar => ({
  id: row.id!,
  name: row.name!,
  services: JSON.parse(row.services ?? '[]') as string[],
  status: row.status as RegistrarStatus,
  createdAt: row.createdAt!,
  ...(row.cooldownUntil ? { cooldownUntil: Number(row.cooldownUntil) } : {}),
});

/** An administrator taking a registrar out of the pool: counted, with his reason, and the packet it released. */
export type AdminAction = {
  at: string;
  registrarId: string;
  action: 'away' | 'removed';
  reason: string;
  /** The packet he held and the release entry that sent it back for a new draw (removal only). */
  released?: { packetId: string; seq: number };
  /** Set away while holding a packet: away once it is done. */
  awayAfterPacket?: boolean;
};

/**
 * Registrars and their status. A registrar's own wish (free, away) and an administrator taking him out of the pool
 * are compare-and-set scripts; becoming busy and free again happens with the packet he is given or decides
 * (PacketRepository.assign, decide, release), in the same atomic step.
 */
export class RegistrarRepository {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly protocol: ProtocolRepository,
  ) {}

  /** New registrars start `away`: they are in no draw until they say they are free. Only the token's hash is kept. */
  async create(name: string, services: string[]): Promise<{ registrar: Registrar; token: string }> {
    const registrar: Registrar = {
      id: newId('registrar'),
      name,
      services,
      status: 'away',
      createdAt: new Date().toISOString(),
    };
    const token = newToken('registrar');
    await this.redis
      .multi()
      .hset(this.keys.registrar(registrar.id), {
        ...registrar,
        services: JSON.stringify(services),
        tokenHash: hashToken(token),
      })
      .set(this.keys.tokenOwner(hashToken(token)), `registrar:${registrar.id}`)
      .zadd(this.keys.registrars, Date.now(), registrar.id)
      .exec();
    return { registrar, token };
  }

  async list(): Promise<Registrar[]> {
    const ids = await this.redis.zrange(this.keys.registrars, 0, -1);
    const rows = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.registrar(id))));
    return rows.filter((row) => row.id).map(registrarOf);
  }

  /** The registrar, the packet he holds, and whether he asked to go away once it is done. */
  async get(id: string): Promise<(Registrar & { packetId?: string; awayAfter: boolean }) | undefined> {
    const row = await this.redis.hgetall(this.keys.registrar(id));
    if (!row.id) return undefined;
    return {
      ...registrarOf(row),
      ...(row.packetId ? { packetId: row.packetId } : {}),
      awayAfter: row.awayAfter === '1',
    };
  }

  /**
   * His own wish, with its status entry in the protocol. Returns the status he has now ('busy' while he holds a
   * packet), or 'missing' / 'removed'.
   */
  async setStatus(registrarId: string, requested: 'free' | 'away'): Promise<string> {
    return this.withStatusEntry(registrarId, requested, 'registrar', (entry, head, afterPacket) =>
      runScript<'setRegistrarStatus', string>(
        this.redis,
        'setRegistrarStatus',
        {
          registrar: this.keys.registrar(registrarId),
          wake: this.keys.dispatchWake,
          protocol: this.keys.protocol,
          head: this.keys.protocolHead,
        },
        { ...protocolGuard(head, entry), status: requested, afterPacket },
      ),
    );
  }

  /**
   * An administrator sets him away or removes him while he holds no packet, with its status entry. Holding one,
   * away takes effect after it ('away_after_packet'); 'holds_packet': removing him, he was given one meanwhile, and
   * it must go back with PacketRepository.release instead.
   */
  takeOutOfPool(
    registrarId: string,
    status: 'away' | 'removed',
  ): Promise<'ok' | 'missing' | 'holds_packet' | 'away_after_packet'> {
    return this.withStatusEntry(registrarId, status, 'administrator', (entry, head, afterPacket) =>
      runScript(
        this.redis,
        'takeOutOfPool',
        {
          registrar: this.keys.registrar(registrarId),
          protocol: this.keys.protocol,
          head: this.keys.protocolHead,
        },
        { ...protocolGuard(head, entry), status, afterPacket },
      ),
    );
  }

  /** Seals the status entry (afterPacket while he holds a packet, as read now) and runs `script`, again if stale. */
  private async withStatusEntry<Outcome extends string>(
    registrarId: string,
    status: StatusEntry['status'],
    by: StatusEntry['by'],
    script: (entry: ProtocolEntry, head: ChainHead, afterPacket: boolean) => Promise<Outcome>,
  ): Promise<Outcome> {
    for (let attempt = 0; ; attempt++) {
      const afterPacket = (await this.redis.hget(this.keys.registrar(registrarId), 'status')) === 'busy';
      const body: StatusEntry = {
        type: 'status',
        registrarId,
        status,
        by,
        ...(afterPacket ? { afterPacket } : {}),
      };
      const { outcome } = await this.protocol.appendWith(body, (entry, head) =>
        script(entry, head, afterPacket),
      );
      if (outcome !== 'status_changed' || attempt >= 20) return outcome as Outcome;
    }
  }

  async recordAdminAction(action: AdminAction): Promise<void> {
    await this.redis.rpush(this.keys.adminActions, JSON.stringify(action));
  }

  async adminActions(): Promise<AdminAction[]> {
    const rows = await this.redis.lrange(this.keys.adminActions, 0, -1);
    return rows.map((row) => JSON.parse(row) as AdminAction);
  }

  /** Deletes a removed registrar's token; requests are refused already by his status. */
  async revokeToken(registrarId: string): Promise<void> {
    const tokenHash = await this.redis.hget(this.keys.registrar(registrarId), 'tokenHash');
    if (tokenHash) await this.redis.del(this.keys.tokenOwner(tokenHash));
  }
}
