import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BeaconRound, beaconRoundFor, QUICKNET, roundTime } from '../../src/domain/drand-beacon.js';
import type { DrawEntry, ProtocolEntry } from '../../src/domain/protocol.js';
import { apiClient } from '../helpers/api-client.js';
import { dispatcherFor, freeRegistrars, readyPacket } from '../helpers/dispatch.js';
import { TEST_ADMIN_TOKEN, useTestStack } from '../helpers/stack.js';

/** Real quicknet rounds (see the file's `source`). No real round exists yet for today's time: see the unit tests. */
const stored = JSON.parse(
  readFileSync(new URL('../fixtures/drand/quicknet-rounds.json', import.meta.url), 'utf8'),
) as { rounds: BeaconRound[] };
const latest = stored.rounds.at(-1)!;

describe('a dispatcher asking a drand relay for the round its draw must use', () => {
  /** What the relay answers: a round for the one asked, or an HTTP status. */
  let answer: ((asked: number) => BeaconRound) | number = () => latest;
  const asked: number[] = [];
  const askedAt: number[] = [];
  const env: Record<string, string> = {};
  let relay: Server;
  beforeAll(async () => {
    relay = createServer((request, response) => {
      const match = /^\/([0-9a-f]{64})\/public\/(\d+)$/.exec(request.url ?? '');
      if (!match || match[1] !== QUICKNET.chainHash) return response.writeHead(404).end();
      asked.push(Number(match[2]));
      askedAt.push(Date.now());
      if (typeof answer === 'number') return response.writeHead(answer).end();
      const { previousSignature: _none, ...round } = answer(Number(match[2]));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(round));
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    env.DRAW_BEACON_URL = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  });
  const held = useTestStack('beacon', env);
  const api = apiClient(() => held.stack.app);
  afterAll(() => new Promise<void>((resolve) => relay.close(() => resolve())));

  /** Readies a packet and lets a fresh dispatcher draw it; returns its draw and the entry before it. */
  const drawFor = async (service: string) => {
    const { infra } = held.stack;
    const packet = await readyPacket(infra, service);
    expect(await dispatcherFor(infra).dispatchAll()).toBe(1);
    const entries = await infra.repositories.protocol.entries();
    const index = entries.findLastIndex((entry) => entry.type === 'draw' && entry.packetId === packet.id);
    return { draw: entries[index] as ProtocolEntry & DrawEntry, extended: entries[index - 1] };
  };

  it('asks for the first round after the entry the draw extends, waits for it, and refuses any other round', async () => {
    const { infra } = held.stack;
    await freeRegistrars(infra, 6, ['beacon-service']); // six status entries: the draw extends the last
    const { draw, extended } = await drawFor('beacon-service');
    const due = beaconRoundFor(QUICKNET, Date.parse(extended!.at));
    expect(asked).toEqual([due]);
    expect(askedAt[0]).toBeGreaterThanOrEqual(roundTime(QUICKNET, due)); // it waited for the round to be out
    // The relay answered a real but older round: refused, the draw made on the epoch secret alone, and says so.
    expect(draw.beacon).toBeUndefined();
    expect((await api.json('GET', '/v1/audit/verify', TEST_ADMIN_TOKEN)).json()).toMatchObject({
      ok: true,
      draws: { beacons: 0 },
    });
  });

  it('refuses a forged round for the right number, and a relay that is down, then leaves it alone a while', async () => {
    const { infra } = held.stack;
    await freeRegistrars(infra, 6, ['forged-service']);
    answer = (round) => ({ ...latest, round });
    const before = asked.length;
    expect((await drawFor('forged-service')).draw.beacon).toBeUndefined();
    expect(asked.length).toBe(before + 1);
    answer = 503;
    const dispatcher = dispatcherFor(infra);
    await readyPacket(infra, 'forged-service');
    expect(await dispatcher.dispatchAll()).toBe(1);
    expect(asked.length).toBe(before + 2);
    await readyPacket(infra, 'forged-service');
    expect(await dispatcher.dispatchAll()).toBe(1); // quiet: not asked again, not waited for
    expect(asked.length).toBe(before + 2);
  });
});
