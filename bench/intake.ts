/**
 * npm run bench:intake [-- --stations 30 --seconds 30 --url http://127.0.0.1:8080]
 *
 * Scanner stations hammering the upload route: each connection is one station uploading distinct ~1 MB JPEG
 * pages (a rescan of pages 1…500 in turn) as fast as it can. Without --url the script starts an API process
 * (ROLE=api, embedded S3 server, the local Redis or one it spawns) and measures it; no OCR worker competes for
 * the CPU. Prints JSON: uploads/s, latency percentiles, errors, CPU milliseconds per upload for each process (API,
 * S3 server when separate, Redis, this load generator) and the API process's RSS at start, end, peak and every 10 s.
 *
 * Then the same load hits a bare Node HTTP server in its own process that reads each body and answers 201, doing
 * nothing else: the ceiling this machine allows with the load generator on the same cores (skip with --no-ceiling).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { ensureService, httpCaller } from '../fixtures/http-caller.js';
import { deletePrefix } from '../fixtures/redis-cleanup.js';
import { connectRedis, redisAnswers } from '../src/infra/redis.js';
import { processCpuMs, redisCpuMs, rssMb, startS3Process } from './processes.js';

const { values: args } = parseArgs({
  options: {
    stations: { type: 'string', default: '30' },
    seconds: { type: 'string', default: '30' },
    url: { type: 'string' },
    // Run the S3 server as its own process, as MinIO would be, instead of inside the API process.
    'separate-s3': { type: 'boolean', default: false },
    'no-ceiling': { type: 'boolean', default: false },
  },
});
const stationCount = Number(args.stations);
const seconds = Number(args.seconds);
const ROOT = path.resolve(import.meta.dirname, '..');

/** A ~1 MB greyscale JPEG of noise (it does not compress), and variants with distinct bytes after the end marker. */
async function pageVariants(count: number): Promise<Buffer[]> {
  const width = 1654;
  const height = 1100;
  const base = await sharp(randomBytes(width * height), { raw: { width, height, channels: 1 } })
    .jpeg({ quality: 88 })
    .toBuffer();
  return Array.from({ length: count }, () => Buffer.concat([base, randomBytes(16)]));
}

type StartedApi = {
  url: string;
  /** The API process, when this script started it (not with --url). */
  child?: ChildProcess;
  s3Child?: ChildProcess;
  /** The Redis the API uses, when it is one this script can read CPU figures from (not one the API spawned). */
  redisUrl?: string;
  adminToken: string;
  cleanup: () => Promise<void>;
};

async function startApi(): Promise<StartedApi> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-intake-'));
  await mkdir(path.join(dataDir, 's3'), { recursive: true });
  const adminToken = `adm_${randomBytes(32).toString('base64url')}`;
  const s3 = args['separate-s3'] ? await startS3Process(dataDir) : undefined;
  const localRedis = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisUrl = (await redisAnswers(localRedis)) ? localRedis : undefined;
  const redisPrefix = `bench-${randomBytes(3).toString('hex')}`;
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/main.js')], {
    env: {
      PATH: process.env.PATH,
      ROLE: 'api',
      PORT: '0',
      DATA_DIR: dataDir,
      ADMIN_TOKEN: adminToken,
      REDIS_PREFIX: redisPrefix,
      LOG_LEVEL: 'warn',
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      // Measure capacity, not the per-token limit.
      RATE_LIMIT_UPLOADS_PER_MINUTE: '100000000',
      ...(s3
        ? {
            S3_ENDPOINT: '127.0.0.1',
            S3_PORT: String(s3.port),
            S3_ACCESS_KEY: 'S3RVER',
            S3_SECRET_KEY: 'S3RVER',
          }
        : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cleanup = async () => {
    // Stop the writers before their files go.
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    s3?.child.kill('SIGTERM');
    // A shared Redis keeps nothing of this run (a Redis the API spawned lives in dataDir).
    if (redisUrl) await deletePrefix(redisUrl, redisPrefix);
    await rm(dataDir, { recursive: true, force: true });
  };
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const match = output.match(/API\s+(http:\/\/\S+)\/v1/);
    if (match) return { url: match[1]!, child, s3Child: s3?.child, redisUrl, adminToken, cleanup };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the API did not start:\n${output}`);
    await sleep(100);
  }
}

type Station = { token: string; packetId: string; next: number };

/** Every connection is one station rescanning its pages 1…500 in turn, each upload with distinct bytes. */
function hammer(url: string, stations: Station[], variants: Buffer[]) {
  let connection = 0;
  return autocannon({
    url,
    connections: stationCount,
    duration: seconds,
    requests: [
      {
        method: 'PUT',
        setupRequest: (request, rawContext) => {
          const context = rawContext as { station?: Station };
          context.station ??= stations[connection++ % stations.length]!;
          const station = context.station;
          station.next = (station.next % 500) + 1;
          return {
            ...request,
            path: `/v1/packets/${station.packetId}/pages/${station.next}`,
            headers: { authorization: `Bearer ${station.token}`, 'content-type': 'image/jpeg' },
            body: variants[(station.next + connection) % variants.length]!,
          };
        },
      },
    ],
  });
}

type Measured = {
  result: autocannon.Result;
  /** CPU per acknowledged upload, by process: what each part costs, whatever else shares the cores. */
  cpuMsPerUpload: Record<string, number>;
  /** Resident memory of the server under load, sampled every 10 s. */
  rssMbOverTime: number[];
};

/** Runs the load against a server and charges each process its CPU time; each of `processes` reads one's total. */
async function measure(
  url: string,
  stations: Station[],
  variants: Buffer[],
  processes: Record<string, () => Promise<number>>,
  serverPid: number,
): Promise<Measured> {
  const names = Object.keys(processes);
  const cpuBefore = await Promise.all(names.map((name) => processes[name]!()));
  const generatorBefore = process.cpuUsage();
  const rssMbOverTime = [(await rssMb(serverPid)).current];
  const sampler = setInterval(() => {
    rssMb(serverPid).then(
      (rss) => rssMbOverTime.push(rss.current),
      () => {},
    );
  }, 10_000);
  let result: autocannon.Result;
  try {
    // autocannon's instance is a thenable without .finally.
    result = await hammer(url, stations, variants);
  } finally {
    clearInterval(sampler);
  }
  const cpuAfter = await Promise.all(names.map((name) => processes[name]!()));
  const generator = process.cpuUsage(generatorBefore);
  const perUpload = (ms: number) => Number((ms / Math.max(1, result['2xx'])).toFixed(2));
  const cpuMsPerUpload = Object.fromEntries(
    names.map((name, i) => [name, perUpload(cpuAfter[i]! - cpuBefore[i]!)]),
  );
  cpuMsPerUpload.loadGenerator = perUpload((generator.user + generator.system) / 1000);
  return { result, cpuMsPerUpload, rssMbOverTime };
}

const summarize = ({ result, cpuMsPerUpload }: Measured) => ({
  uploadsPerSecond: Number((result['2xx'] / result.duration).toFixed(1)),
  latencyMs: {
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  },
  cpuMsPerUpload,
});

/** A server that reads each body to the end and answers 201: what the machine allows before any work is done. */
const BARE_SERVER = `
const server = require('node:http').createServer((request, response) => {
  request.on('data', () => {});
  request.on('end', () => response.writeHead(201, { 'content-type': 'application/json' }).end('{}'));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function measureCeiling(stations: Station[], variants: Buffer[]) {
  const child = spawn(process.execPath, ['-e', BARE_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [port] = (await once(child.stdout!, 'data')) as [Buffer];
    const pid = child.pid!;
    return await measure(
      `http://127.0.0.1:${port.toString().trim()}`,
      stations,
      variants,
      { bareServer: () => processCpuMs(pid) },
      pid,
    );
  } finally {
    child.kill('SIGTERM');
  }
}

/** Creates the stations and runs the load against the API, measuring its processes when this script started them. */
async function loadApi(api: StartedApi) {
  const call = httpCaller(api.url);
  const stations: Station[] = [];
  await ensureService(api.url, api.adminToken, 'bench');
  for (let i = 0; i < stationCount; i++) {
    const station = await call('POST', '/v1/stations', api.adminToken, { name: `Bench ${i}` });
    const packet = await call('POST', '/v1/packets', station.token, { ticket: `B-${i}`, service: 'bench' });
    stations.push({ token: station.token, packetId: packet.id, next: 0 });
  }
  const variants = await pageVariants(64);
  const pid = api.child?.pid;
  const s3Pid = api.s3Child?.pid;
  const redis = api.redisUrl ? await connectRedis(api.redisUrl, 'command') : undefined;
  const before = pid ? await rssMb(pid) : undefined;
  const measured = pid
    ? await measure(
        api.url,
        stations,
        variants,
        {
          api: () => processCpuMs(pid),
          ...(s3Pid ? { s3Server: () => processCpuMs(s3Pid) } : {}),
          ...(redis ? { redisServer: () => redisCpuMs(redis) } : {}),
        },
        pid,
      )
    : { result: await hammer(api.url, stations, variants), cpuMsPerUpload: {}, rssMbOverTime: [] };
  redis?.disconnect();
  const after = pid ? await rssMb(pid) : undefined;
  return { stations, variants, measured, before, after };
}

async function main() {
  const api: StartedApi = args.url
    ? { url: args.url, adminToken: process.env.ADMIN_TOKEN ?? '', cleanup: async () => {} }
    : await startApi();
  // Whatever fails, the API and S3 processes this script started must not outlive it.
  const { stations, variants, measured, before, after } = await loadApi(api).finally(() => api.cleanup());
  const { result } = measured;
  const ceiling = args['no-ceiling'] ? undefined : await measureCeiling(stations, variants);

  const report = {
    benchmark: 'intake',
    machine: { cpus: os.availableParallelism(), node: process.version },
    config: {
      stations: stationCount,
      seconds,
      pageBytes: variants[0]!.length,
      store: args.url
        ? 'as configured'
        : args['separate-s3']
          ? 's3rver in its own process'
          : 'embedded s3rver (in the API process)',
    },
    ...summarize(measured),
    totals: { ok: result['2xx'], non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts },
    apiRssMb:
      before && after
        ? { start: before.current, end: after.current, peak: after.peak, every10s: measured.rssMbOverTime }
        : null,
    bareServerCeiling: ceiling ? summarize(ceiling) : null,
    shareOfCeiling: ceiling ? Number((result['2xx'] / ceiling.result['2xx']).toFixed(2)) : null,
    targets: { uploadsPerSecond: 300, p99Ms: 100, errors: 0 },
  };
  console.log(JSON.stringify(report, null, 2));
}

await main();
// Keep-alive sockets to the stopped service must not hold the terminal.
process.exit(0);
