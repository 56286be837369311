import { randomBytes } from 'node:crypto';
import { Dispatcher, type DispatcherOptions } from '../../src/dispatch/dispatcher.js';
import type { Runtime } from '../../src/runtime.js';
import { packetPdfKey } from '../../src/storage/object-keys.js';

/** A dispatcher over a test runtime's Redis and S3, as the dispatcher role builds it. */
export function dispatcherFor(runtime: Runtime, options: Partial<DispatcherOptions> = {}): Dispatcher {
  return new Dispatcher({
    assignments: runtime.assignments,
    principals: runtime.principals,
    store: runtime.store,
    metrics: runtime.metrics,
    log: runtime.log,
    options: { minPool: 1, window: 3, sweepSeconds: 1, ...options },
  });
}

/**
 * A packet that has been through intake, OCR and bundling, without doing them: the dispatcher only reads the
 * packet's service, ticket and PDF hash. Created with the repositories, moved to ready the way the bundle job does.
 */
export async function readyPacket(
  runtime: Runtime,
  service = 'land',
  ticket = `T-${randomBytes(4).toString('hex')}`,
) {
  const packet = await runtime.packets.create({ ticket, service, stationId: 'st_fixture' });
  await runtime.redis.hset(
    `${runtime.config.redis.prefix}:packet:${packet.id}`,
    'status',
    'processing',
    'pageCount',
    '1',
  );
  const sha256 = randomBytes(32).toString('hex');
  const pdf = { key: packetPdfKey(packet.id, sha256), sha256, bytes: 1000, pages: 1 };
  const outcome = await runtime.assignments.markReady(packet.id, new Date(), pdf);
  if (outcome !== 'ok') throw new Error(`markReady: ${outcome}`);
  return { id: packet.id, ticket, pdfSha256: sha256, pdfKey: pdf.key, pdfBytes: pdf.bytes };
}

export async function freeRegistrars(runtime: Runtime, count: number, services = ['land']) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { registrar } = await runtime.principals.createRegistrar(`Registrar ${i + 1}`, services);
    await runtime.assignments.setRegistrarStatus(registrar.id, 'free');
    ids.push(registrar.id);
  }
  return ids;
}
