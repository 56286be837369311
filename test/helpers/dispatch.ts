import { randomBytes } from 'node:crypto';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatchingOf } from '../../src/roles/dispatcher.js';
import type { Infrastructure } from '../../src/roles/infrastructure.js';
import type { DispatchOptions } from '../../src/services/dispatching.js';
import { packetPdfKey } from '../../src/storage/object-keys.js';

const TEST_DISPATCH = { minPool: 1, window: 3 };

/** The dispatching service over a test stack, as the dispatcher role builds it (one pass per dispatchAll). */
export const dispatcherFor = (infra: Infrastructure, options: Partial<DispatchOptions> = {}) =>
  dispatchingOf(infra, { ...TEST_DISPATCH, ...options });

/** A dispatcher loop, as the role runs it, sweeping every second. */
export const dispatchLoopFor = (infra: Infrastructure, options: Partial<DispatchOptions> = {}) =>
  new Dispatcher(dispatcherFor(infra, options), infra.log, 1);

/**
 * A packet that has been through intake, OCR and bundling, without doing them: the dispatcher only reads the
 * packet's service, ticket and PDF hash. Created with the repositories, moved to ready the way the bundle job does.
 */
export async function readyPacket(
  infra: Infrastructure,
  service = 'land',
  ticket = `T-${randomBytes(4).toString('hex')}`,
) {
  const { packets } = infra.repositories;
  const packet = await packets.create({ ticket, service, stationId: 'st_fixture' });
  await infra.redis.hset(
    `${infra.config.redis.prefix}:packet:${packet.id}`,
    'status',
    'processing',
    'pageCount',
    '1',
  );
  const sha256 = randomBytes(32).toString('hex');
  const pdf = { key: packetPdfKey(packet.id, sha256), sha256, bytes: 1000, pages: 1 };
  const outcome = await packets.markReady(packet.id, new Date(), pdf);
  if (outcome !== 'ok') throw new Error(`markReady: ${outcome}`);
  return { id: packet.id, ticket, pdfSha256: sha256, pdfKey: pdf.key, pdfBytes: pdf.bytes };
}

export async function freeRegistrars(infra: Infrastructure, count: number, services = ['land']) {
  const { registrars } = infra.repositories;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { registrar } = await registrars.create(`Registrar ${i + 1}`, services);
    await registrars.setStatus(registrar.id, 'free');
    ids.push(registrar.id);
  }
  return ids;
}
