/**
 * npm run bench:web [-- --runs 7]
 *
 * The front end's budget: the JavaScript each page ships (gzip; the pdf.js worker, which the desk loads in the
 * background, is counted apart), and on the desk the time from navigation to the first PDF page painted, with a
 * real service (Redis, embedded S3, tesseract.js, the dispatcher) and Debian's Chromium. Prints JSON.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { launchBrowser } from '../fixtures/browser.js';
import { ensureService } from '../fixtures/http-caller.js';
import { generatePage } from '../fixtures/page-generator.js';
import { deletePrefix } from '../fixtures/redis-cleanup.js';
import { WEB_ROOT } from '../src/api/web.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/infra/logger.js';
import { buildApiRole } from '../src/roles/api.js';
import { startDispatcherRole } from '../src/roles/dispatcher.js';
import { openInfrastructure } from '../src/roles/infrastructure.js';
import { startWorkerRole } from '../src/roles/worker.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
const PAGES = {
  home: 'index.html',
  track: 'track/index.html',
  station: 'station/index.html',
  desk: 'desk/index.html',
  admin: 'admin/index.html',
};

const gzipBytes = async (file: string) => gzipSync(await readFile(path.join(WEB_ROOT, file))).length;

/** The scripts and styles a page loads up front: its entry and every module it preloads. */
async function pageBudget(html: string) {
  const text = await readFile(path.join(WEB_ROOT, html), 'utf8');
  const assets = [...text.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((match) => match[1]!);
  const js = assets.filter((asset) => asset.endsWith('.js'));
  const css = assets.filter((asset) => asset.endsWith('.css'));
  const sum = async (files: string[]) => (await Promise.all(files.map(gzipBytes))).reduce((a, b) => a + b, 0);
  return { jsGzipBytes: await sum(js), cssGzipBytes: await sum(css), files: js.length + css.length };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

async function firstPdfPagePainted() {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'scan-bench-web-'));
  const prefix = `bench-web-${process.pid}`;
  const config = loadConfig({
    DATA_DIR: dataDir,
    REDIS_PREFIX: prefix,
    ADMIN_TOKEN: `adm_${'b'.repeat(43)}`,
    LOG_LEVEL: 'silent',
    PORT: '0',
    DISPATCH_SWEEP_SECONDS: '1',
    TMPDIR: dataDir,
  });
  const infra = await openInfrastructure(config, createLogger('silent'));
  const browser = await launchBrowser();
  try {
    await startWorkerRole(infra);
    await startDispatcherRole(infra);
    const app = await buildApiRole(infra);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const call = async (
      method: string,
      url: string,
      token: string,
      body?: unknown,
      type = 'application/json',
    ) => {
      const response = await fetch(`${base}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': type }),
        },
        ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
      });
      // The few fields the bench reads from the API's answers.
      return (response.status === 204 ? undefined : await response.json()) as { id: string; token: string };
    };
    const admin = infra.adminToken.token;
    await ensureService(base, admin, 'bench');
    const registrar = await call('POST', '/v1/registrars', admin, { name: 'Bench', services: ['bench'] });
    await call('PUT', '/v1/registrar/status', registrar.token, { status: 'free' });
    const station = await call('POST', '/v1/stations', admin, { name: 'Bench' });
    const packet = await call('POST', '/v1/packets', station.token, { ticket: 'B-1', service: 'bench' });
    for (let n = 1; n <= 3; n++) {
      const page = await generatePage({ dpi: 300, paragraphs: { from: n, count: 3 } });
      await call('PUT', `/v1/packets/${packet.id}/pages/${n}`, station.token, page.bytes, 'image/jpeg');
    }
    await call('POST', `/v1/packets/${packet.id}/submit`, station.token, { pages: 3 });
    for (let assigned = false; !assigned; await new Promise((resolve) => setTimeout(resolve, 250)))
      assigned = (await call('GET', '/v1/registrar/assignment', registrar.token)) !== undefined;

    const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 720 } });
    const signIn = await context.request.post(`${base}/v1/session`, { data: { token: registrar.token } });
    if (signIn.status() !== 201) throw new Error(`sign-in answered ${signIn.status()}`);
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      const page = await context.newPage();
      await page.goto('/desk');
      await page.waitForFunction(
        () => performance.getEntriesByName('desk:first-page-painted').length > 0,
        undefined,
        {
          timeout: 30_000,
        },
      );
      samples.push(
        await page.evaluate(() =>
          Math.round(performance.getEntriesByName('desk:first-page-painted')[0]!.startTime),
        ),
      );
      await page.close();
    }
    const sorted = [...samples].sort((a, b) => a - b);
    return { runs, samplesMs: samples, medianMs: percentile(sorted, 0.5), maxMs: sorted.at(-1) };
  } finally {
    await browser.close();
    await infra.shutdown.shutdown();
    await deletePrefix(config.redis.url, prefix);
    await rm(dataDir, { recursive: true, force: true });
  }
}

const started = performance.now();
await build({ configFile: new URL('../vite.config.ts', import.meta.url).pathname, logLevel: 'warn' });
const budget = Object.fromEntries(
  await Promise.all(
    Object.entries(PAGES).map(async ([name, html]) => [name, await pageBudget(html)] as const),
  ),
);
const { readdir } = await import('node:fs/promises');
const worker = (await readdir(path.join(WEB_ROOT, 'assets'))).find((file) => file.startsWith('pdf.worker'));
console.log(
  JSON.stringify(
    {
      benchmark: 'web',
      machine: { cpus: os.availableParallelism(), node: process.version },
      pages: budget,
      pdfWorkerGzipBytes: worker ? await gzipBytes(`assets/${worker}`) : null,
      deskNavigationToFirstPdfPage: await firstPdfPagePainted(),
      totalSeconds: Math.round((performance.now() - started) / 1000),
    },
    null,
    1,
  ),
);
process.exit(0);
