import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deletePrefix } from '../../fixtures/redis-cleanup.js';
import { startServiceProcess } from '../helpers/service-process.js';
import { uniquePrefix } from '../helpers/stack.js';

let dataDir: string;
const prefix = uniquePrefix('main');

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'scan-test-main-'));
});
afterAll(async () => {
  await deletePrefix(inject('redisUrl'), prefix);
  await rm(dataDir, { recursive: true, force: true });
});

describe('the service process', () => {
  it('starts with embedded S3 and a generated admin token, serves requests, and stops cleanly on SIGTERM', async () => {
    const service = startServiceProcess({
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: prefix,
      DATA_DIR: dataDir,
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    try {
      const [, baseUrl] = await service.waitFor(/API\s+(http:\/\/\S+)\/v1/);
      const [, token] = await service.waitFor(/Admin token\s+(adm_\S+)/);
      expect(service.output()).toMatch(/S3\s+http:\/\/127\.0\.0\.1:\d+ bucket scan-office \(embedded/);
      expect((await stat(path.join(dataDir, 'admin-token'))).mode & 0o777).toBe(0o600);

      expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
      const created = await fetch(`${baseUrl}/v1/stations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Window 1' }),
      });
      expect(created.status).toBe(201);

      expect(await service.stop('SIGTERM')).toBe(0);
      // The banner is the only place the token appears; log lines never carry it.
      const logLines = service
        .output()
        .split('\n')
        .filter((line) => line.startsWith('{'));
      expect(logLines.length).toBeGreaterThan(0);
      expect(logLines.join('\n')).not.toContain(token);
    } finally {
      await service.stop('SIGKILL');
    }
  });

  it('exits with a message naming every bad variable', async () => {
    const service = startServiceProcess({ PORT: 'eighty', S3_USE_SSL: 'maybe', DATA_DIR: dataDir });
    expect(await service.exitCode).toBe(2);
    expect(service.output()).toContain('PORT');
    expect(service.output()).toContain('S3_USE_SSL');
  });

  it('rejects an unknown role', async () => {
    const service = startServiceProcess({ DATA_DIR: dataDir, REDIS_URL: inject('redisUrl') }, ['scanner']);
    expect(await service.exitCode).toBe(2);
    expect(service.output()).toContain('expected one of api, worker, dispatcher, all');
  });
});
