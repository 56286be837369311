import { randomBytes } from 'node:crypto';
import { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { dispatchingOf } from '../../src/roles/dispatcher.js';
import type { Infrastructure } from '../../src/roles/infrastructure.js';
import type { DispatchOptions } from '../../src/services/dispatching.js';
import { packetPdfKey } from '../../src/storage/object-keys.js';

const TEST_DISPATCH: DispatchOptions = { minPool: 1, window: 3, resubmissionPolicy: 'exclude_earlier' };

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
  const packet = await infra.repositories.packets.create({ ticket, service, stationId: 'st_fixture' });
  if (packet === 'already_resubmitted') throw new Error('a fixture packet is no resubmission');
  return { ...(await makeReady(infra, packet.id)), ticket };
}

/** Moves an open packet (opened through HTTP, say) to ready with a one-page PDF, as the bundle job would. */
export async function makeReady(infra: Infrastructure, packetId: string) {
  await infra.redis.hset(
    `${infra.config.redis.prefix}:packet:${packetId}`,
    'status',
    'processing',
    'pageCount',
    '1',
  );
  const sha256 = randomBytes(32).toString('hex');
  const pdf = { key: packetPdfKey(packetId, sha256), sha256, bytes: 1000, pages: 1 };
  const outcome = await infra.repositories.packets.markReady(packetId, new Date(), pdf);
  if (outcome !== 'ok') throw new Error(`markReady: ${outcome}`);
  return { id: packetId, pdfSha256: sha256, pdfKey: pdf.key, pdfBytes: pdf.bytes };
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

/** Its holder decides the packet (as the desk would), with an empty note. */
export async function decideAsHolder(
  infra: Infrastructure,
  packetId: string,
  outcome: 'approved' | 'rejected' = 'approved',
) {
  const held = (await infra.repositories.packets.get(packetId))!;
  const decided = await infra.repositories.packets.decide(
    packetId,
    held.registrarId!,
    held.drawSeq!,
    outcome,
    '',
  );
  if (decided.outcome !== 'ok') throw new Error(`decide: ${decided.outcome}`);
  return held.registrarId!;
}
