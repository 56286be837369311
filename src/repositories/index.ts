import type { Redis } from 'ioredis';
import { PacketRepository } from './packet-repository.js';
import { ProtocolRepository } from './protocol-repository.js';
import { ReadyQueueRepository } from './ready-queue-repository.js';
import { redisKeys } from './redis-keys.js';
import { RegistrarRepository } from './registrar-repository.js';
import { registerScripts } from './scripts.js';
import { ServiceCatalogRepository } from './service-catalog-repository.js';
import { SessionRepository } from './session-repository.js';
import { StationRepository } from './station-repository.js';
import { TokenRepository } from './token-repository.js';

export type Repositories = {
  packets: PacketRepository;
  registrars: RegistrarRepository;
  stations: StationRepository;
  tokens: TokenRepository;
  sessions: SessionRepository;
  catalog: ServiceCatalogRepository;
  protocol: ProtocolRepository;
  readyQueue: ReadyQueueRepository;
};

/** Every repository over one Redis connection and key prefix. */
export function createRepositories(redis: Redis, prefix: string): Repositories {
  registerScripts(redis);
  const keys = redisKeys(prefix);
  const protocol = new ProtocolRepository(redis, keys);
  return {
    packets: new PacketRepository(redis, keys, protocol),
    registrars: new RegistrarRepository(redis, keys, protocol),
    stations: new StationRepository(redis, keys),
    tokens: new TokenRepository(redis, keys),
    sessions: new SessionRepository(redis, keys),
    catalog: new ServiceCatalogRepository(redis, keys),
    protocol,
    readyQueue: new ReadyQueueRepository(redis, keys),
  };
}
