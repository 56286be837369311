import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDraws } from '../../src/domain/audit-trail.js';
import { drawMismatch } from '../../src/domain/committed-random.js';
import type { BeaconRound } from '../../src/domain/drand-beacon.js';
import type { DrawEntry, ProtocolEntry } from '../../src/domain/protocol.js';
import { apiClient } from '../helpers/api-client.js';
import { dispatcherFor, freeRegistrars, readyPacket } from '../helpers/dispatch.js';
import { TEST_ADMIN_TOKEN, useTestStack } from '../helpers/stack.js';

/** Real quicknet rounds (see the file's `source`): a relay here serves them, as drand's relays would. */
const stored = JSON.parse(
  readFileSync(new URL('../fixtures/drand/quicknet-rounds.json', import.meta.url), 'utf8'),
) as { chain: { chainHash: string }; rounds: BeaconRound[] };
const latest = stored.rounds.at(-1)!;

describe('draws mixing in a public drand round', () => {
  /** What the relay answers next: a round, or an HTTP status. */
  let answer: BeaconRound | number = latest;
  const requests: string[] = [];
  const env: Record<string, string> = {
    // The stored rounds are months old; a live relay's would be seconds old (default 30 s).
    DRAW_BEACON_MAX_AGE_SECONDS: String(10 * 365 * 86_400),
  };
  let relay: Server;
  beforeAll(async () => {
    relay = createServer((request, response) => {
      requests.push(request.url ?? '');
      if (typeof answer === 'number') return response.writeHead(answer).end();
      const { previousSignature: _none, ...round } = answer;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(round));
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    env.DRAW_BEACON_URL = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  });
  const held = useTestStack('beacon', env);
  const api = apiClient(() => held.stack.app);
  afterAll(() => new Promise<void>((resolve) => relay.close(() => resolve())));

  const drawFor = async (service: string) => {
    const { infra } = held.stack;
    const packet = await readyPacket(infra, service);
    expect(await dispatcherFor(infra).dispatchAll()).toBe(1);
    const entries = await infra.repositories.protocol.entries();
    return entries.findLast(
      (entry): entry is ProtocolEntry & DrawEntry => entry.type === 'draw' && entry.packetId === packet.id,
    )!;
  };

  it('writes the verified latest round in the draw, and the indexes are derived with it', async () => {
    const { infra } = held.stack;
    await freeRegistrars(infra, 20, ['beacon-service']);
    const draws = [];
    for (let i = 0; i < 3; i++) draws.push(await drawFor('beacon-service'));
    expect(requests.at(-1)).toBe(`/${stored.chain.chainHash}/public/latest`);
    for (const draw of draws) {
      expect(draw.beacon).toEqual({
        chainHash: stored.chain.chainHash,
        round: latest.round,
        randomness: latest.randomness,
        signature: latest.signature,
      });
      expect(drawMismatch(draw, await infra.repositories.protocol.epochSecret(draw.epoch!))).toBeUndefined();
    }
    // Recomputed without the round, the same secret names another registrar (each time but ~1 in 20 by chance).
    const withoutRound = await Promise.all(
      draws.map(async ({ beacon: _round, ...draw }) =>
        drawMismatch(draw, await infra.repositories.protocol.epochSecret(draw.epoch!)),
      ),
    );
    expect(withoutRound.filter((mismatch) => mismatch !== undefined).length).toBeGreaterThan(0);

    const verification = (await api.json('GET', '/v1/audit/verify', TEST_ADMIN_TOKEN)).json();
    expect(verification).toMatchObject({ ok: true, draws: { beacons: 3 } });
  });

  it('refuses a round that does not verify, or no answer, and draws on the epoch secret alone', async () => {
    const { infra } = held.stack;
    await freeRegistrars(infra, 4, ['fallback-service']);
    answer = { ...latest, signature: stored.rounds[0]!.signature };
    expect((await drawFor('fallback-service')).beacon).toBeUndefined();
    answer = { ...latest, randomness: stored.rounds[0]!.randomness };
    expect((await drawFor('fallback-service')).beacon).toBeUndefined();
    answer = 503;
    expect((await drawFor('fallback-service')).beacon).toBeUndefined();
    answer = latest;
    expect((await drawFor('fallback-service')).beacon?.round).toBe(latest.round);
  });

  it('an auditor refuses a draw whose round was swapped, forged, or is not out at the draw’s time', async () => {
    const { infra } = held.stack;
    await freeRegistrars(infra, 3, ['audited-beacon']);
    const draw = await drawFor('audited-beacon');
    const trust = { deployment: infra.config.redis.prefix, certificate: Buffer.alloc(0) };
    const check = (beacon: DrawEntry['beacon'], at = draw.at) =>
      verifyDraws([{ ...draw, at, beacon } as ProtocolEntry], new Map(), trust);
    const earlier = stored.rounds[0]!;
    expect(check({ ...draw.beacon!, signature: earlier.signature })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not verify/),
    });
    expect(check({ ...draw.beacon!, chainHash: 'a'.repeat(64) })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/not pinned/),
    });
    expect(check(draw.beacon, '2024-01-01T00:00:00.000Z')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/was not out yet/),
    });
  });
});
