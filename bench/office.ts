/**
 * npm run bench:office [-- --quick] [--stations 3 --pages 10 --page-interval 3 --minutes 5]
 *
 * An office day in miniature, the way it really runs: the service as separate processes (API, OCR worker,
 * dispatcher, and an S3 server), S scanner stations each scanning packets of P pages at scanner pace (a page every
 * --page-interval seconds, then submit) for D minutes, and registrars who read each packet and decide after a short
 * random delay. Pages are generated Ukrainian scans (skew ±15°, some turned 90/180/270°, noise, JPEG/PNG/TIFF) with
 * exact ground truth. Afterwards the same pages go through native tesseract and OCRmyPDF (when installed), one
 * process per core. Prints one JSON document.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ensureService, httpCaller } from '../fixtures/http-caller.js';
import { type GeneratedPage, generatePage } from '../fixtures/page-generator.js';
import { characterErrorRate } from '../fixtures/text-metrics.js';
import { MEDIA_TYPES, sniffFormat } from '../src/pipeline/image-probe.js';
import {
  mean,
  nativeTesseract,
  ocrmypdf,
  percentile,
  round,
  specFor,
  speedOverNativePerCore,
} from './compare.js';
import { cpuTimes, type RoleProcess, rssMb, startServiceProcesses } from './processes.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    stations: { type: 'string' },
    pages: { type: 'string' },
    'page-interval': { type: 'string' },
    minutes: { type: 'string' },
    registrars: { type: 'string', default: '3' },
  },
});
const quick = args.quick;
const config = {
  // Quick: one station below the capacity of two cores (a page every 3 s), half a minute of scanning.
  stations: Number(args.stations ?? (quick ? 1 : 3)),
  pagesPerPacket: Number(args.pages ?? (quick ? 4 : 10)),
  pageIntervalSeconds: Number(args['page-interval'] ?? (quick ? 3 : 3)),
  minutes: Number(args.minutes ?? (quick ? 0.5 : 5)),
  registrars: Number(args.registrars),
  ocrConcurrency: os.availableParallelism(),
  distinctPages: quick ? 4 : 16,
};
const ADMIN_TOKEN = `adm_bench_${'o'.repeat(40)}`;
const stats = (values: number[]) =>
  values.length === 0
    ? null
    : {
        p50: round(percentile(values, 50), 2),
        p95: round(percentile(values, 95), 2),
        max: round(Math.max(...values), 2),
      };

type Submitted = { packetId: string; stationToken: string; pages: GeneratedPage[] };

async function main() {
  const started = performance.now();
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'bench-office-'));
  const processes: RoleProcess[] = [];
  let stopService = async () => {};
  try {
    // ---- the service, as separate processes ----
    const service = await startServiceProcesses(workDir, 'office', {
      ADMIN_TOKEN,
      OCR_CONCURRENCY: String(config.ocrConcurrency),
      DISPATCH_SWEEP_SECONDS: '1',
    });
    stopService = service.stop;
    processes.push(...service.roles);
    const base = service.url;
    const call = httpCaller(base);
    await ensureService(base, ADMIN_TOKEN, 'office');

    // ---- pages with ground truth (a pool reused across packets) ----
    const pool = await Promise.all(
      Array.from({ length: config.distinctPages }, (_, i) => generatePage(specFor(i, 7))),
    );

    // ---- registrars who read and decide ----
    let running = true;
    const verdicts: Array<{ packetId: string; cer: number[] }> = [];
    const submitted = new Map<string, Submitted>();
    const registrarLoops: Promise<void>[] = [];
    for (let r = 0; r < config.registrars; r++) {
      const registrar = await call('POST', '/v1/registrars', ADMIN_TOKEN, {
        name: `Registrar ${r + 1}`,
        services: ['office'],
      });
      await call('PUT', '/v1/registrar/status', registrar.token, { status: 'free' });
      registrarLoops.push(
        (async () => {
          while (running) {
            const assignment = await call('GET', '/v1/registrar/assignment?wait=1', registrar.token).catch(
              () => undefined,
            );
            if (!assignment) continue;
            const packet = submitted.get(assignment.packetId);
            const cer: number[] = [];
            for (let n = 1; packet && n <= packet.pages.length; n++) {
              const page = await call(
                'GET',
                `/v1/registrar/packets/${assignment.packetId}/pages/${n}/text`,
                registrar.token,
              );
              cer.push(characterErrorRate(page.text, packet.pages[n - 1]!.truth.text));
            }
            verdicts.push({ packetId: assignment.packetId, cer });
            await sleep(500 + Math.random() * 1500); // reading time; benchmark pacing only, never a draw
            await call('POST', `/v1/registrar/packets/${assignment.packetId}/decision`, registrar.token, {
              outcome: 'approved',
            });
          }
        })(),
      );
    }

    // ---- stations scanning at scanner pace ----
    const cpuStart = await cpuTimes();
    const queueSamples: Array<{ t: number; waiting: number; active: number }> = [];
    const sampler = (async () => {
      while (running) {
        const metrics = await fetch(`${base}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
        const gauge = (state: string) =>
          Number(
            metrics.match(new RegExp(`^queue_jobs\\{queue="pages",state="${state}"\\} (\\d+)`, 'm'))?.[1] ??
              0,
          );
        queueSamples.push({
          t: Math.round((performance.now() - started) / 1000),
          waiting: gauge('waiting'),
          active: gauge('active'),
        });
        await sleep(2000);
      }
    })();
    const scanUntil = Date.now() + config.minutes * 60_000;
    let poolIndex = 0;
    await Promise.all(
      Array.from({ length: config.stations }, async (_, s) => {
        const station = await call('POST', '/v1/stations', ADMIN_TOKEN, { name: `Window ${s + 1}` });
        while (Date.now() < scanUntil) {
          const packet = await call('POST', '/v1/packets', station.token, {
            ticket: `W${s + 1}-${Date.now().toString(36)}`,
            service: 'office',
          });
          const pages: GeneratedPage[] = [];
          for (let n = 1; n <= config.pagesPerPacket; n++) {
            const page = pool[poolIndex++ % pool.length]!;
            pages.push(page);
            const contentType = MEDIA_TYPES[sniffFormat(page.bytes)!];
            await call('PUT', `/v1/packets/${packet.id}/pages/${n}`, station.token, page.bytes, contentType);
            await sleep(config.pageIntervalSeconds * 1000);
          }
          await call('POST', `/v1/packets/${packet.id}/submit`, station.token, {
            pages: config.pagesPerPacket,
          });
          submitted.set(packet.id, { packetId: packet.id, stationToken: station.token, pages });
        }
      }),
    );
    const scanningSeconds = (performance.now() - started) / 1000;

    // ---- let the last packets through, then stop the registrars ----
    const drainUntil = Date.now() + (quick ? 30_000 : 180_000);
    while (Date.now() < drainUntil) {
      const views = await Promise.all(
        [...submitted.keys()].map((id) => call('GET', `/v1/packets/${id}`, ADMIN_TOKEN)),
      );
      if (views.every((view) => view.status === 'decided')) break;
      await sleep(500);
    }
    running = false;
    await Promise.all(registrarLoops);
    await sampler;
    const cpuEnd = await cpuTimes();
    const views = await Promise.all(
      [...submitted.keys()].map((id) => call('GET', `/v1/packets/${id}`, ADMIN_TOKEN)),
    );
    const memory = Object.fromEntries(
      await Promise.all(processes.map(async (p) => [p.role, await rssMb(p.child.pid!)] as const)),
    );

    // ---- what the office got ----
    const seconds = (from?: string, to?: string) =>
      from && to ? (Date.parse(to) - Date.parse(from)) / 1000 : undefined;
    const toReady = views
      .map((v) => seconds(v.submittedAt, v.readyAt))
      .filter((x): x is number => x !== undefined);
    const toAssigned = views
      .map((v) => seconds(v.submittedAt, v.assignedAt))
      .filter((x): x is number => x !== undefined);
    const pages = views.flatMap((view) => view.pages.filter((p: { status: string }) => p.status === 'done'));
    const stageNames = Object.keys(pages[0]?.processing?.ms ?? {});
    const perPageSeconds = pages.map(
      (p: { processing: { ms: Record<string, number> } }) =>
        Object.values(p.processing.ms).reduce((a, b) => a + b, 0) / 1000,
    );
    const skewResiduals = views
      .flatMap((view) =>
        view.pages.map((p: { n: number; processing?: { skewDeg: number } }) => {
          const truth = submitted.get(view.id)!.pages[p.n - 1]!.truth;
          return p.processing ? Math.abs(p.processing.skewDeg - truth.skewDeg) : undefined;
        }),
      )
      .filter((x: number | undefined): x is number => x !== undefined);
    const cers = verdicts.flatMap((verdict) => verdict.cer);
    const pipelineSecondsPerPage = mean(perPageSeconds);
    const capacityPagesPerMinute = (60 / pipelineSecondsPerPage) * config.ocrConcurrency;

    // ---- the same pages through the tools offices would use instead ----
    const compareDir = path.join(workDir, 'compare');
    await mkdir(compareDir, { recursive: true });
    const native = await nativeTesseract(
      compareDir,
      pool.map((page) => page.bytes),
      pool,
    );
    const ocrMyPdf = await ocrmypdf(compareDir, pool);

    const report = {
      benchmark: 'office',
      machine: { cpus: os.availableParallelism(), node: process.version },
      config,
      completed: {
        packetsSubmitted: views.length,
        packetsDecided: views.filter((v) => v.status === 'decided').length,
        pagesDone: pages.length,
        pagesPerMinuteOffered: round((views.length * config.pagesPerPacket) / (scanningSeconds / 60), 1),
      },
      latencySeconds: { submitToReady: stats(toReady), submitToAssigned: stats(toAssigned) },
      stageMs: Object.fromEntries(
        stageNames.map((stage) => {
          const values = pages.map(
            (p: { processing: { ms: Record<string, number> } }) => p.processing.ms[stage]!,
          );
          return [stage, { p50: percentile(values, 50), p95: percentile(values, 95) }];
        }),
      ),
      queueDepth: queueSamples,
      accuracy: {
        meanCer: round(mean(cers), 4),
        pagesCompared: cers.length,
        deskewResidualDeg: {
          mean: round(mean(skewResiduals), 3),
          max: round(Math.max(0, ...skewResiduals), 3),
        },
      },
      peakRssMb: Object.fromEntries(Object.entries(memory).map(([role, m]) => [role, m.peak])),
      cpuUtilisation: round((cpuEnd.busy - cpuStart.busy) / (cpuEnd.total - cpuStart.total), 3),
      capacity: {
        pipelineSecondsPerPagePerCore: round(pipelineSecondsPerPage, 2),
        pagesPerMinute: round(capacityPagesPerMinute, 1),
        stationsAt10PagesPer7Minutes: Math.floor(capacityPagesPerMinute / (10 / 7)),
      },
      nativeTesseractOcrOnly: native,
      ocrmypdf: ocrMyPdf,
      ratios: {
        pipelineOverNativePerCore: speedOverNativePerCore(native, pipelineSecondsPerPage),
        pipelineOverOcrmypdfSpeed: ocrMyPdf.available
          ? round(capacityPagesPerMinute / ocrMyPdf.pagesPerMinute, 2)
          : null,
        cerOverOcrmypdf:
          ocrMyPdf.available && ocrMyPdf.meanCer > 0 ? round(mean(cers) / ocrMyPdf.meanCer, 3) : null,
      },
      totalSeconds: Math.round((performance.now() - started) / 1000),
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await stopService();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
// Keep-alive sockets to the stopped service must not hold the terminal.
process.exit(0);
