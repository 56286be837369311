import { createHash, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../fixtures/random.js';
import type { ProtocolEntry } from '../../src/domain/protocol.js';
import { startEmbeddedS3 } from '../../src/infra/embedded-s3.js';
import { startDispatcherRole } from '../../src/roles/dispatcher.js';
import { originalPageKey } from '../../src/storage/object-keys.js';
import { apiClient } from '../helpers/api-client.js';
import { makePage, unreadableJpeg } from '../helpers/images.js';
import { type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { startTestStack, TEST_ADMIN_TOKEN, type TestStack, testEnv } from '../helpers/stack.js';

/**
 * A model-based test of "no packet is ever stranded". Seeded station sessions run against the real service (real
 * Redis, S3-protocol server, tesseract.js in a worker process, the dispatcher with its reconciler) and mix what
 * stations do: uploads, rescans with repeated and alternating bytes (X → Y → X), deletes, unreadable scans, submits
 * too early and correctly, rescans after a failure. Meanwhile the worker is SIGKILLed in the middle of jobs and S3
 * stops for longer than a job's retry window. At the end: every submitted packet reached a registrar (after the
 * rescans or the administrator's retry its failure asked for), no acknowledged upload is missing from S3, no packet
 * was held by two registrars at once, and the protocol verifies.
 *
 * MODEL_SEED=… replays a run's sessions (their actions; the interleaving depends on timing); MODEL_SESSIONS=…
 * runs more.
 */
const SEED = Number(process.env.MODEL_SEED ?? randomInt(2 ** 31));
const SESSIONS = Number(process.env.MODEL_SESSIONS ?? 60);
const STATIONS = 6;
const RETRY_WINDOW_S = 6;
const SESSION_DEADLINE_MS = 180_000;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let stack: TestStack;
let worker: ServiceProcess | undefined;
const api = apiClient(() => stack.app);

/** Uploads this station acknowledged (200/201): each must be in S3 at the end. */
const acknowledged: Array<{ packetId: string; n: number; sha256: string }> = [];
/** Where each session ended, and what it did, for the report. */
const outcomes: Array<{ session: number; packetId: string; status: string; actions: string[] }> = [];

beforeAll(async () => {
  console.log(`model test: MODEL_SEED=${SEED} MODEL_SESSIONS=${SESSIONS}`);
  stack = await startTestStack('model', {
    RECONCILE_SECONDS: '1',
    JOB_RETRY_WINDOW_S: String(RETRY_WINDOW_S),
    DISPATCH_SWEEP_SECONDS: '1',
    RATE_LIMIT_UPLOADS_PER_MINUTE: '100000',
  });
  await startDispatcherRole(stack.infra);
  worker = await startWorker();
}, 120_000);

afterAll(async () => {
  await worker?.stop('SIGKILL');
  await stack?.close();
});

function workerEnv() {
  return testEnv(stack.s3, stack.prefix, stack.dataDir, {
    ROLE: 'worker',
    OCR_CONCURRENCY: '2',
    METRICS_PORT: '0',
    JOB_LOCK_MS: '3000',
    JOB_STALLED_CHECK_MS: '1000',
    JOB_RETRY_WINDOW_S: String(RETRY_WINDOW_S),
  });
}

async function startWorker(): Promise<ServiceProcess> {
  const started = startServiceProcess(workerEnv());
  await started.waitFor(/Scan office is running \(role: worker\)/, 60_000);
  return started;
}

/** A station's HTTP call, retried while the service answers 503 (S3 or Redis away), as a station app would. */
async function persist<T extends { statusCode: number }>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await call();
    if (response.statusCode !== 503 || Date.now() > deadline) return response;
    await sleep(400);
  }
}

async function upload(token: string, packetId: string, n: number, image: Buffer, actions: string[]) {
  const contentType = image[0] === 0x89 ? 'image/png' : 'image/jpeg';
  const response = await persist(() => api.uploadPage(token, packetId, n, image, contentType));
  actions.push(`put ${n} ${sha256(image).slice(0, 6)} → ${response.statusCode}`);
  if (response.statusCode === 200 || response.statusCode === 201)
    acknowledged.push({ packetId, n, sha256: sha256(image) });
  return response.statusCode;
}

describe('station sessions against a service whose worker dies and whose S3 goes away', () => {
  it(`${SESSIONS} sessions: every packet reaches a registrar, nothing acknowledged is lost, the protocol holds`, async () => {
    const good = await Promise.all(Array.from({ length: 6 }, (_, i) => makePage('png', { seed: 100 + i })));
    const unreadable = await unreadableJpeg();

    const stations = await Promise.all(
      Array.from({ length: STATIONS }, (_, i) => api.createStation(`S${i}`)),
    );
    await api.addService('model');
    const registrars = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const created = (
          await api.json('POST', '/v1/registrars', TEST_ADMIN_TOKEN, { name: `R${i}`, services: ['model'] })
        ).json() as { token: string };
        await api.json('PUT', '/v1/registrar/status', created.token, { status: 'free' });
        return created.token;
      }),
    );

    let running = true;
    const started = Date.now();
    // Registrars decide whatever they are given, so the pool stays free.
    const back = (async () => {
      while (running) {
        for (const token of registrars) {
          const assignment = await api.json('GET', '/v1/registrar/assignment', token);
          if (assignment.statusCode === 200)
            await api.json('POST', `/v1/registrar/packets/${assignment.json().packetId}/decision`, token, {
              outcome: 'approved',
            });
        }
        await sleep(300);
      }
    })();

    // Chaos at seeded moments: the worker killed in the middle of jobs (twice), S3 away past the retry window.
    const chaosRandom = seededRandom(SEED);
    const chaos = (async () => {
      const inProcessing = async () => {
        while (running) {
          const ids = await stack.infra.repositories.packets.activePacketIds(0, 1000);
          for (const id of ids) {
            const pages = await stack.infra.repositories.packets.listPages(id);
            if (pages.some((page) => page.status === 'processing')) return;
          }
          await sleep(100);
        }
      };
      const killWorker = async () => {
        await inProcessing();
        if (!running) return;
        console.log(`model test: SIGKILL the worker at ${Math.round((Date.now() - started) / 1000)} s`);
        await worker!.stop('SIGKILL');
        await sleep(500);
        worker = await startWorker();
      };
      await sleep(2000 + chaosRandom() * 3000);
      await killWorker();
      await sleep(3000 + chaosRandom() * 3000);
      const port = stack.s3.port;
      console.log(`model test: S3 stopped at ${Math.round((Date.now() - started) / 1000)} s`);
      await stack.s3.close();
      await sleep((RETRY_WINDOW_S + 3) * 1000);
      stack.s3 = await startEmbeddedS3(stack.dataDir, port);
      console.log(`model test: S3 back at ${Math.round((Date.now() - started) / 1000)} s`);
      await sleep(500 + chaosRandom() * 1500);
      await killWorker();
    })();

    const session = async (index: number) => {
      const random = seededRandom(SEED ^ Math.imul(index + 1, 0x9e3779b1));
      const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
      const station = stations[index % STATIONS]!;
      const actions: string[] = [];
      const packet = (
        await persist(() =>
          api.json('POST', '/v1/packets', station.token, { ticket: `M-${index}`, service: 'model' }),
        )
      ).json();
      const pages = 1 + Math.floor(random() * 4);
      for (let n = 1; n <= pages; n++) {
        const x = pick(good);
        await upload(station.token, packet.id, n, x, actions);
        const roll = random();
        if (roll < 0.25) {
          await upload(station.token, packet.id, n, pick(good.filter((image) => image !== x)), actions);
          await upload(station.token, packet.id, n, x, actions);
        } else if (roll < 0.4) {
          const deleted = await persist(() =>
            api.json('DELETE', `/v1/packets/${packet.id}/pages/${n}`, station.token),
          );
          actions.push(`delete ${n} → ${deleted.statusCode}`);
          await upload(station.token, packet.id, n, x, actions);
        } else if (roll < 0.5) {
          await upload(station.token, packet.id, n, unreadable, actions);
        } else if (roll < 0.6) {
          await upload(station.token, packet.id, n, x, actions);
        }
      }
      if (random() < 0.3) {
        const early = await persist(() => api.submit(station.token, packet.id, pages + 1));
        actions.push(`submit ${pages + 1} (too early) → ${early.statusCode}`);
        expect(early.statusCode, `seed ${SEED} session ${index}`).toBe(409);
      }
      const submitted = await persist(() => api.submit(station.token, packet.id, pages));
      actions.push(`submit ${pages} → ${submitted.statusCode}`);

      const deadline = Date.now() + SESSION_DEADLINE_MS;
      for (;;) {
        const view = (await api.getPacket(TEST_ADMIN_TOKEN, packet.id)).json();
        const ended = ['ready', 'assigned', 'decided'].includes(view.status)
          ? view.status
          : Date.now() > deadline
            ? `stuck ${view.status}`
            : undefined;
        if (ended) {
          outcomes.push({ session: index, packetId: packet.id, status: ended, actions });
          console.log(
            `model test: session ${index} ${ended} at ${Math.round((Date.now() - started) / 1000)} s`,
          );
          return;
        }
        // Each time it fails, the station (or the administrator) takes the way back the failure names; that moves
        // the packet out of 'failed' at once (the first rescan reopens it, the retry submits it).
        if (view.status === 'failed') {
          if (view.rescanPages?.length) {
            actions.push(`failed (${view.failure}), rescan ${view.rescanPages.join(',')}`);
            for (const n of view.rescanPages) await upload(station.token, packet.id, n, pick(good), actions);
            const again = await persist(() => api.submit(station.token, packet.id, pages));
            actions.push(`submit ${pages} → ${again.statusCode}`);
          } else {
            const retried = await persist(() =>
              api.json('POST', `/v1/packets/${packet.id}/retry`, TEST_ADMIN_TOKEN),
            );
            actions.push(`failed (${view.failure}), administrator retries → ${retried.statusCode}`);
          }
        }
        await sleep(300);
      }
    };

    const queue = Array.from({ length: SESSIONS }, (_, i) => i);
    await Promise.all(
      Array.from({ length: STATIONS }, async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) await session(next);
      }),
    );
    running = false;
    await Promise.all([chaos, back]);

    const stuck = outcomes.filter((outcome) => outcome.status.startsWith('stuck'));
    expect(stuck, `MODEL_SEED=${SEED}: ${JSON.stringify(stuck, null, 1)}`).toEqual([]);
    expect(outcomes).toHaveLength(SESSIONS);

    const missing = [];
    for (const upload of acknowledged) {
      if (!(await stack.infra.store.stat(originalPageKey(upload.packetId, upload.n, upload.sha256))))
        missing.push(upload);
    }
    expect(missing, `MODEL_SEED=${SEED}: acknowledged uploads missing from S3`).toEqual([]);

    const entries: ProtocolEntry[] = await stack.infra.repositories.protocol.entries();
    const holder = new Map<string, string>();
    for (const entry of entries) {
      if (entry.type === 'draw') {
        expect(holder.has(entry.packetId), `MODEL_SEED=${SEED}: ${entry.packetId} drawn while held`).toBe(
          false,
        );
        holder.set(entry.packetId, entry.chosen);
      } else if (entry.type !== 'status') {
        expect(holder.get(entry.packetId), `MODEL_SEED=${SEED}: seq ${entry.seq}`).toBe(entry.registrarId);
        holder.delete(entry.packetId);
      }
    }
    expect((await api.json('GET', '/v1/audit/verify', TEST_ADMIN_TOKEN)).json()).toMatchObject({ ok: true });
    const failuresSeen = outcomes.filter((outcome) =>
      outcome.actions.some((action) => action.startsWith('failed')),
    );
    console.log(
      `model test MODEL_SEED=${SEED}: ${outcomes.length} sessions, ${acknowledged.length} acknowledged uploads, ` +
        `${failuresSeen.length} sessions took a failure's way back, ${entries.length} protocol entries, ` +
        `reconciler repairs ${JSON.stringify((await stack.infra.metrics.reconciled.get()).values.map((v) => [v.labels.kind, v.value]))}`,
    );
  }, 600_000);
});
