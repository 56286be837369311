import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { reconcilerOf } from '../../src/roles/dispatcher.js';
import { apiClient } from '../helpers/api-client.js';
import { dispatcherFor, freeRegistrars, readyPacket } from '../helpers/dispatch.js';
import { makePage } from '../helpers/images.js';
import { startTestStack, TEST_ADMIN_TOKEN, useTestStack } from '../helpers/stack.js';

/** The reconciler against real Redis and queues, state broken by hand the way crashes and races leave it. */
const held = useTestStack('reconciler', { RECONCILE_SECONDS: '1' });
const api = apiClient(() => held.stack.app);

const key = (suffix: string) => `${held.stack.prefix}:${suffix}`;
const repairsOf = async (packetId: string) =>
  ((await api.getPacket(TEST_ADMIN_TOKEN, packetId)).json().repairs ?? []) as Array<{ kind: string }>;

describe('the reconciler', () => {
  it('puts a ready packet that fell out of the ready queue back, and it is drawn', async () => {
    const { infra } = held.stack;
    await freeRegistrars(infra, 1, ['rc-ready']);
    const packet = await readyPacket(infra, 'rc-ready');
    await infra.redis.zrem(key('dispatch:ready'), packet.id);
    expect(await dispatcherFor(infra).dispatchAll()).toBe(0);
    const repairs = await reconcilerOf(infra).reconcileOnce();
    expect(repairs).toContainEqual(expect.objectContaining({ packetId: packet.id, kind: 'ready_requeued' }));
    expect(await dispatcherFor(infra).dispatchAll()).toBe(1);
    expect((await infra.repositories.packets.get(packet.id))!.status).toBe('assigned');
  });

  it('takes a packet back from a registrar who is away or removed and draws it again without him', async () => {
    const { infra } = held.stack;
    const [first, second] = await freeRegistrars(infra, 2, ['rc-absent']);
    const packet = await readyPacket(infra, 'rc-absent');
    await dispatcherFor(infra).dispatchAll();
    const holder = (await infra.repositories.packets.get(packet.id))!.registrarId!;
    // A registrar record changed outside the scripts (a restored backup, a hand edit): away while holding.
    await infra.redis.hset(key(`registrar:${holder}`), 'status', 'away');
    const repairs = await reconcilerOf(infra).reconcileOnce();
    expect(repairs).toContainEqual(expect.objectContaining({ packetId: packet.id, kind: 'released' }));
    await dispatcherFor(infra).dispatchAll();
    const after = (await infra.repositories.packets.get(packet.id))!;
    expect(after.registrarId).toBe(holder === first ? second : first);
    const draw = (await infra.repositories.protocol.entries())
      .filter((entry) => entry.type === 'draw' && entry.packetId === packet.id)
      .at(-1)!;
    expect(draw).toMatchObject({ type: 'draw', reason: 'away' });
  });

  it('queues the bundle of a submitted packet whose bundle job never came, once, with several reconcilers', async () => {
    const { infra } = held.stack;
    const station = await api.createStation();
    const packet = await api.createPacket(station.token);
    await api.uploadPage(station.token, packet.id, 1, await makePage('png', { seed: 9 }));
    // The page is done as a worker leaves it; the submit's enqueue of the bundle is lost.
    const [page] = await infra.repositories.packets.listPages(packet.id);
    await infra.repositories.packets.updatePage(packet.id, page!, 'processing');
    await infra.repositories.packets.updatePage(packet.id, page!, 'done', {
      processing: {
        orientation: 0,
        skewDeg: 0,
        blank: true,
        ocrConfidence: null,
        dpi: 300,
        colour: false,
        width: 400,
        height: 560,
        ms: {},
        processedKey: 'k',
        processedSha256: 'a'.repeat(64),
        processedBytes: 1,
        ocrKey: 'o',
        finishedAt: new Date().toISOString(),
      },
    });
    const enqueue = infra.jobs.enqueue.bind(infra.jobs);
    infra.jobs.enqueue = async () => {};
    expect((await api.submit(station.token, packet.id, 1)).statusCode).toBe(202);
    infra.jobs.enqueue = enqueue;
    const bundles = infra.jobs.queues.get('packets')!;
    expect(await bundles.count()).toBe(0);

    await sleep(1100);
    const results = await Promise.all([1, 2, 3].map(() => reconcilerOf(infra).reconcileOnce()));
    const made = results.flat().filter((repair) => repair.packetId === packet.id);
    expect(made.map((repair) => repair.kind)).toEqual(['bundle_requeued']);
    expect(await bundles.count()).toBe(1);
    expect(await repairsOf(packet.id)).toHaveLength(1);
  });

  it('fails a page past its retry window instead of queueing it again, naming the retry path', async () => {
    const short = await startTestStack('reconciler-window', {
      RECONCILE_SECONDS: '1',
      JOB_RETRY_WINDOW_S: '1',
    });
    try {
      const shortApi = apiClient(() => short.app);
      const station = await shortApi.createStation();
      const packet = await shortApi.createPacket(station.token);
      await shortApi.uploadPage(station.token, packet.id, 1, await makePage('png', { seed: 10 }));
      expect((await shortApi.submit(station.token, packet.id, 1)).statusCode).toBe(202);
      // No worker runs: the page's job waits; lose it, and let the window pass.
      await short.infra.jobs.queues.get('pages')!.obliterate({ force: true });
      await sleep(1200);
      const repairs = await reconcilerOf(short.infra).reconcileOnce();
      expect(repairs).toContainEqual(expect.objectContaining({ packetId: packet.id, kind: 'page_failed' }));
      const view = (await shortApi.getPacket(TEST_ADMIN_TOKEN, packet.id)).json();
      expect(view).toMatchObject({ status: 'failed', rescanPages: [1] });
      expect(view.pages[0].failure).toMatch(/an administrator can retry it, or rescan page 1/);
      const retried = await shortApi.json('POST', `/v1/packets/${packet.id}/retry`, TEST_ADMIN_TOKEN);
      expect(retried.json()).toMatchObject({ status: 'submitted', requeuedPages: [1] });
      expect(await short.infra.jobs.queues.get('pages')!.count()).toBe(1);
    } finally {
      await short.close();
    }
  });
});
