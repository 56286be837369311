import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type EntryBody, GENESIS_HASH, type ProtocolEntry, sealEntry } from '../../src/domain/protocol.js';
import { apiClient } from '../helpers/api-client.js';
import { type SimulatedMonth, simulatedMonth } from '../helpers/simulated-month.js';
import { TEST_ADMIN_TOKEN, useTestStack } from '../helpers/stack.js';

/**
 * A month of an office (30 registrars, 8 stations, 20 000 packets) written where the service keeps its protocol, its
 * registrars' free/away changes as status entries among the rest, in time order, the chain sealed anew.
 */
async function store(redis: Redis, prefix: string, month: SimulatedMonth): Promise<void> {
  const timed: Array<{ at: string; body: EntryBody; oldSeq?: number }> = [
    ...month.entries.map(({ seq, at, prevHash: _p, hash: _h, ...body }) => ({ at, body, oldSeq: seq })),
    ...month.availability.map(({ registrarId, status, at, by }) => ({
      at,
      body: {
        type: 'status',
        registrarId,
        status,
        by: by === 'admin' ? 'administrator' : 'registrar',
      } as EntryBody,
    })),
  ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const newSeq = new Map<number, number>();
  const sealed: ProtocolEntry[] = [];
  for (const { at, body, oldSeq } of timed) {
    const head = sealed.at(-1) ?? { seq: 0, hash: GENESIS_HASH };
    const relinked =
      body.type === 'release' || body.type === 'decision'
        ? { ...body, drawSeq: newSeq.get(body.drawSeq) ?? body.drawSeq }
        : body.type === 'draw' && body.previousSeq !== undefined
          ? { ...body, previousSeq: newSeq.get(body.previousSeq) ?? body.previousSeq }
          : body;
    const entry = sealEntry(relinked, head, new Date(at));
    if (oldSeq !== undefined) newSeq.set(oldSeq, entry.seq);
    sealed.push(entry);
  }
  await redis.del(`${prefix}:protocol`);
  for (let i = 0; i < sealed.length; i += 5000)
    await redis.rpush(
      `${prefix}:protocol`,
      ...sealed.slice(i, i + 5000).map((entry) => JSON.stringify(entry)),
    );
}

describe('GET /v1/audit/anomalies over a simulated month', () => {
  const held = useTestStack('anomalies');
  const api = apiClient(() => held.stack.app);
  const anomalies = async () => {
    const response = await api.json('GET', '/v1/audit/anomalies', TEST_ADMIN_TOKEN);
    expect(response.statusCode).toBe(200);
    return response.json();
  };

  it('flags a planted collusive station × registrar pair, with the entries behind it', async () => {
    const { infra, prefix } = held.stack;
    // The registrar turns free on his station's cue, and whoever runs the dispatcher re-draws when he misses.
    const colluder = { registrarId: 'rg_07', stationId: 'st_3' };
    const month = simulatedMonth({ seed: 20261202, plant: { colluder, biasedDraw: colluder } });
    await store(infra.redis, prefix, month);
    const report = await anomalies();
    const flaggedPairs = report.pairs.filter((finding: { flagged: boolean }) => finding.flagged);
    expect(flaggedPairs.map((finding: { subject: unknown }) => finding.subject)).toEqual([colluder]);
    expect(flaggedPairs[0].entries.length).toBeGreaterThan(0);
    expect(report.freeToggles[0]).toMatchObject({ subject: colluder, flagged: true });
    expect(report.correction).toMatchObject({ method: 'holm' });
  }, 60_000);

  it('flags nothing in a clean month', async () => {
    const { infra, prefix } = held.stack;
    await store(infra.redis, prefix, simulatedMonth({ seed: 20261203 }));
    expect((await anomalies()).flagged).toBe(0);
  }, 60_000);
});
