/**
 * npm run smoke:image
 *
 * What `docker build` and `docker compose up` would do, without a Docker engine: the Dockerfile's own steps are
 * read (dockerfile-ast) and replayed in a temporary folder (clean install, build, prune to production
 * dependencies, infra copies and checks); then each role runs from that folder as its own process against a
 * real Redis and a real S3-protocol server. It checks /health/ready and the image healthcheck for every role,
 * processes a packet end to end (OCR, signed PDF, draw), stops a worker with SIGTERM in the middle of a page
 * (the page must still finish), stops every role with SIGTERM (exit 0), and measures 1 vs 2 worker processes on
 * 8 pages (each page processed exactly once). Prints JSON; exits 1 on any failure.
 */
import { type ChildProcess, execFile, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { ensureService, httpCaller } from '../fixtures/http-caller.js';
import { generatePage } from '../fixtures/page-generator.js';
import { deletePrefix } from '../fixtures/redis-cleanup.js';
import { EMBEDDED_S3_CREDENTIALS, startEmbeddedS3 } from '../src/infra/embedded-s3.js';
import { findFreePort } from '../src/infra/free-port.js';
import { connectRedis, redisAnswers, spawnRedisServer } from '../src/infra/redis.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const execFileAsync = promisify(execFile);
const ADMIN_TOKEN = `adm_${randomBytes(32).toString('base64url')}`;
const log = (message: string, detail?: unknown) =>
  console.error(`[smoke] ${message}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}`);

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// ---------- replay the Dockerfile without Docker ----------

type Stage = { name: string; instructions: Instruction[] };

function stagesOf(dockerfile: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(dockerfile).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((arg) => arg.getValue());
      stages.push({ name: args[2] ?? `stage${stages.length}`, instructions: [] });
    } else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

const copyArgs = (instruction: Instruction) => {
  const args = instruction.getArguments().map((arg) => arg.getValue());
  const flags = args.filter((arg) => arg.startsWith('--'));
  const paths = args.filter((arg) => !arg.startsWith('--'));
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! };
};

/** Runs a RUN line with /app mapped to `dir`; system-package and ownership steps need a container and are skipped. */
function runLine(line: string, dir: string): void {
  const commands = line.split('&&').map((command) => command.trim());
  const kept = commands.filter((command) => !/^(apt-get|rm -rf \/var\/lib\/apt|chown)\b/.test(command));
  if (kept.length < commands.length)
    log(
      'skipped (needs a container)',
      commands.filter((c) => !kept.includes(c)),
    );
  if (kept.length === 0) return;
  const script = kept.join(' && ').replaceAll('/app', dir);
  log(`RUN ${script}`);
  execSync(script, {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' },
  });
}

async function replayDockerfile(workDir: string) {
  const stages = stagesOf(await readFile(path.join(ROOT, 'docker/Dockerfile'), 'utf8'));
  const dirs = new Map<string, string>();
  const env: Record<string, string> = {};
  let cmd: string[] = [];
  for (const stage of stages) {
    const dir = path.join(workDir, stage.name);
    await mkdir(dir, { recursive: true });
    dirs.set(stage.name, dir);
    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      if (keyword === 'COPY') {
        const { from, sources, destination } = copyArgs(instruction);
        const base = from ? dirs.get(from)! : ROOT;
        for (const source of sources) {
          const target =
            destination.endsWith('/') || sources.length > 1
              ? path.join(dir, destination, path.basename(source))
              : path.join(dir, destination.replace(/^\/app\/?/, ''));
          await cp(path.join(base, source.replace(/^\/app\/?/, '')), target, { recursive: true });
        }
        log(`COPY ${from ? `--from=${from} ` : ''}${sources.join(' ')} → ${destination}`);
      } else if (keyword === 'RUN') {
        runLine(instruction.getArgumentsContent()!.replace(/\\\n/g, ' '), dir);
      } else if (keyword === 'ENV' && stage === stages.at(-1)) {
        for (const [, key, value] of instruction.getArgumentsContent()!.matchAll(/([A-Z_]+)=(\S+)/g))
          env[key!] = value!;
      } else if (keyword === 'CMD') {
        cmd = JSON.parse(instruction.getArgumentsContent()!);
      }
    }
  }
  return { appDir: dirs.get(stages.at(-1)!.name)!, env, cmd };
}

// ---------- running roles ----------

type RoleProcess = {
  role: string;
  child: ChildProcess;
  exit: Promise<number | null>;
  output: () => string;
  port?: number;
  metricsPort: number;
};

async function startRole(
  image: { appDir: string; env: Record<string, string>; cmd: string[] },
  role: string,
  base: Record<string, string>,
  extra: Record<string, string> = {},
): Promise<RoleProcess> {
  const port = await findFreePort();
  const metricsPort = await findFreePort();
  const [command, ...args] = image.cmd;
  const child = spawn(command === 'node' ? process.execPath : command!, args, {
    cwd: image.appDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...image.env,
      ...base,
      ROLE: role,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const ready =
    role === 'api' || role === 'all'
      ? `http://127.0.0.1:${port}/health/ready`
      : `http://127.0.0.1:${metricsPort}/health/live`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${role} exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(ready).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${role} did not become healthy:\n${output}`);
    await sleep(200);
  }
  // The image's own HEALTHCHECK command, run the way Docker would run it inside the container.
  // A clean environment, as in the container (no tsx loader from this script's NODE_OPTIONS); asynchronous,
  // because the S3 server this check reaches runs in this very process.
  await execFileAsync(process.execPath, ['docker/healthcheck.mjs'], {
    cwd: image.appDir,
    env: { PATH: process.env.PATH, ROLE: role, PORT: String(port), METRICS_PORT: String(metricsPort) },
  });
  return { role, child, exit, output: () => output, port, metricsPort };
}

async function stopRole(processHandle: RoleProcess, timeoutMs = 90_000): Promise<number | null> {
  processHandle.child.kill('SIGTERM');
  const code = await Promise.race([processHandle.exit, sleep(timeoutMs).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    processHandle.child.kill('SIGKILL');
    throw new Error(`${processHandle.role} did not stop within ${timeoutMs} ms`);
  }
  return code;
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const pagesDone = async (pagesProcessedTotal: (metricsPort: number) => Promise<number>, ports: number[]) =>
  (await Promise.all(ports.map(pagesProcessedTotal))).reduce((a, b) => a + b, 0);

async function pagesProcessedTotal(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(text.match(/^pages_processed_total\{outcome="done"\} (\d+)/m)?.[1] ?? 0);
}

// ---------- the smoke run ----------

async function main() {
  const started = performance.now();
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'smoke-image-'));
  const cleanups: Array<() => Promise<unknown>> = [async () => rm(workDir, { recursive: true, force: true })];
  const running: RoleProcess[] = [];
  try {
    const image = await replayDockerfile(workDir);
    check(image.cmd.length > 0, 'the Dockerfile has a CMD');
    const buildSeconds = (performance.now() - started) / 1000;
    log('image folder ready', { appDir: image.appDir, seconds: Math.round(buildSeconds) });

    let redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    if (!(await redisAnswers(redisUrl))) {
      const spawned = await spawnRedisServer(path.join(workDir, 'redis'));
      cleanups.push(() => spawned.stop());
      redisUrl = spawned.url;
    }
    const s3 = await startEmbeddedS3(path.join(workDir, 's3-data'));
    cleanups.push(() => s3.close());
    const environment = (prefix: string) => ({
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      S3_ENDPOINT: s3.host,
      S3_PORT: String(s3.port),
      S3_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.accessKey,
      S3_SECRET_KEY: EMBEDDED_S3_CREDENTIALS.secretKey,
      S3_BUCKET: 'smoke-image',
      ADMIN_TOKEN,
      DATA_DIR: path.join(workDir, 'app-data'),
      LOG_LEVEL: 'warn',
      DISPATCH_SWEEP_SECONDS: '1',
    });

    // 1. Every role from the image folder, healthy.
    const prefix = `smoke-${randomBytes(3).toString('hex')}`;
    cleanups.push(() => deletePrefix(redisUrl, prefix));
    const apiRole = await startRole(image, 'api', environment(prefix));
    const worker = await startRole(image, 'worker', environment(prefix), { OCR_CONCURRENCY: '1' });
    const dispatcher = await startRole(image, 'dispatcher', environment(prefix));
    running.push(apiRole, worker, dispatcher);
    log('api, worker and dispatcher are healthy (HTTP and the image healthcheck)');

    // 2. One packet end to end.
    const call = httpCaller(`http://127.0.0.1:${apiRole.port}`);
    await ensureService(`http://127.0.0.1:${apiRole.port}`, ADMIN_TOKEN, 'smoke');
    const station = await call('POST', '/v1/stations', ADMIN_TOKEN, { name: 'Smoke station' });
    const registrar = await call('POST', '/v1/registrars', ADMIN_TOKEN, {
      name: 'Smoke registrar',
      services: ['smoke'],
    });
    await call('PUT', '/v1/registrar/status', registrar.token, { status: 'free' });
    const packet = await call('POST', '/v1/packets', station.token, { ticket: 'S-1', service: 'smoke' });
    const page = await generatePage({ dpi: 200, skewDeg: 4, paragraphs: { from: 1, count: 2 } });
    await call('PUT', `/v1/packets/${packet.id}/pages/1`, station.token, page.bytes, 'image/jpeg');
    await call('POST', `/v1/packets/${packet.id}/submit`, station.token, { pages: 1 });
    const assignment = await waitFor('the packet to be drawn', async () => {
      const answer = await call('GET', '/v1/registrar/assignment?wait=1', registrar.token);
      return answer?.packetId === packet.id ? answer : undefined;
    });
    const pdf = await fetch(`http://127.0.0.1:${apiRole.port}/v1/registrar/packets/${packet.id}/pdf`, {
      headers: { authorization: `Bearer ${registrar.token}` },
    });
    check(pdf.ok && pdf.headers.get('content-type') === 'application/pdf', 'the registrar downloads the PDF');
    log('one page processed, bundled, signed and drawn', {
      packetId: packet.id,
      pdfSha256: assignment.pdf.sha256,
    });

    // 3. SIGTERM in the middle of a page: the worker finishes the page before it exits.
    const second = await call('POST', '/v1/packets', station.token, { ticket: 'S-2', service: 'smoke' });
    const bigPage = await generatePage({ dpi: 300, skewDeg: -6, paragraphs: { from: 3, count: 6 } });
    await call('PUT', `/v1/packets/${second.id}/pages/1`, station.token, bigPage.bytes, 'image/jpeg');
    await waitFor(
      'the page to be in processing',
      async () => {
        const view = await call('GET', `/v1/packets/${second.id}`, station.token);
        return view.pages[0].status === 'processing' ? true : undefined;
      },
      30_000,
    );
    const workerExit = await stopRole(worker);
    running.splice(running.indexOf(worker), 1);
    check(workerExit === 0, `worker exits 0 on SIGTERM (got ${workerExit})`);
    const afterStop = (await call('GET', `/v1/packets/${second.id}`, station.token)).pages[0].status;
    check(afterStop === 'done', `the page in progress at SIGTERM was finished (status ${afterStop})`);
    log('SIGTERM mid-page: the worker finished the page and exited 0');

    // 4. Every remaining role stops cleanly on SIGTERM.
    for (const role of [...running]) {
      const code = await stopRole(role);
      check(code === 0, `${role.role} exits 0 on SIGTERM (got ${code})`);
      running.splice(running.indexOf(role), 1);
    }
    log('api and dispatcher exited 0 on SIGTERM');

    // 5. Scaling: 1 vs 2 worker processes on the same Redis/S3, 8 pages each, every page exactly once.
    const pages = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        generatePage({ dpi: 200, skewDeg: i - 4, paragraphs: { from: i, count: 3 } }),
      ),
    );
    const scaling: Record<string, { seconds: number; pagesPerMinute: number }> = {};
    for (const workers of [1, 2]) {
      const runPrefix = `smoke-scale${workers}-${randomBytes(3).toString('hex')}`;
      cleanups.push(() => deletePrefix(redisUrl, runPrefix));
      const runApi = await startRole(image, 'api', environment(runPrefix));
      running.push(runApi);
      const workerProcesses: RoleProcess[] = [];
      for (let i = 0; i < workers; i++)
        workerProcesses.push(
          await startRole(image, 'worker', environment(runPrefix), { OCR_CONCURRENCY: '1' }),
        );
      running.push(...workerProcesses);
      const runCall = httpCaller(`http://127.0.0.1:${runApi.port}`);
      await ensureService(`http://127.0.0.1:${runApi.port}`, ADMIN_TOKEN, 'smoke');
      const runStation = await runCall('POST', '/v1/stations', ADMIN_TOKEN, { name: 'Scaling' });
      const runPacket = await runCall('POST', '/v1/packets', runStation.token, {
        ticket: 'S-3',
        service: 'smoke',
      });
      const begin = performance.now();
      for (const [i, generated] of pages.entries())
        await runCall(
          'PUT',
          `/v1/packets/${runPacket.id}/pages/${i + 1}`,
          runStation.token,
          generated.bytes,
          'image/jpeg',
        );
      await waitFor('all 8 pages done', async () => {
        const view = await runCall('GET', `/v1/packets/${runPacket.id}`, runStation.token);
        return view.pages.every((p: { status: string }) => p.status === 'done') ? true : undefined;
      });
      const seconds = (performance.now() - begin) / 1000;
      const processed = await pagesDone(
        pagesProcessedTotal,
        workerProcesses.map((w) => w.metricsPort),
      );
      const redis = await connectRedis(redisUrl, 'command');
      const queue = new Queue('pages', { connection: redis, prefix: `${runPrefix}:bull` });
      const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active');
      await queue.close();
      await redis.quit();
      check(
        processed === 8,
        `8 pages processed across ${workers} worker(s), counted once each (got ${processed})`,
      );
      check(
        counts.completed === 8 && counts.failed === 0,
        `8 completed jobs, none failed (got ${JSON.stringify(counts)})`,
      );
      scaling[`workers${workers}`] = {
        seconds: Number(seconds.toFixed(1)),
        pagesPerMinute: Number(((8 / seconds) * 60).toFixed(1)),
      };
      for (const role of [runApi, ...workerProcesses]) {
        check((await stopRole(role)) === 0, `${role.role} exits 0`);
        running.splice(running.indexOf(role), 1);
      }
    }
    const report = {
      smoke: 'image',
      ok: true,
      imageFolderBuildSeconds: Math.round(buildSeconds),
      roles: ['api', 'worker', 'dispatcher'],
      scaling: {
        ...scaling,
        throughputRatio: Number(
          (scaling.workers2!.pagesPerMinute / scaling.workers1!.pagesPerMinute).toFixed(2),
        ),
        cpus: os.availableParallelism(),
      },
      totalSeconds: Math.round((performance.now() - started) / 1000),
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    for (const role of running) role.child.kill('SIGKILL');
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

// Exit explicitly once cleanup is done: a lingering keep-alive socket must not keep CI waiting.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
