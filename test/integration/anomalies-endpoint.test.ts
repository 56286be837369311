import { describe, expect, it } from 'vitest';
import { apiClient } from '../helpers/api-client.js';
import { type SimulatedMonth, simulatedMonth } from '../helpers/simulated-month.js';
import { TEST_ADMIN_TOKEN, useTestStack } from '../helpers/stack.js';

/** A month of an office (30 registrars, 8 stations, 20 000 packets) written where the service keeps its protocol. */
async function store(redis: import('ioredis').Redis, prefix: string, month: SimulatedMonth): Promise<void> {
  await redis.del(`${prefix}:protocol`, `${prefix}:registrars:events`);
  const chunk = 5000;
  for (let i = 0; i < month.entries.length; i += chunk)
    await redis.rpush(
      `${prefix}:protocol`,
      ...month.entries.slice(i, i + chunk).map((entry) => JSON.stringify(entry)),
    );
  for (let i = 0; i < month.availability.length; i += chunk)
    await redis.rpush(
      `${prefix}:registrars:events`,
      ...month.availability.slice(i, i + chunk).map((event) => JSON.stringify(event)),
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
