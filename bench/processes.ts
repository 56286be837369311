/** Processes the benchmarks run: an S3 server of its own, and service roles from the built dist/. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { deletePrefix } from '../fixtures/redis-cleanup.js';
import { findFreePort } from '../src/infra/free-port.js';
import { redisAnswers, spawnRedisServer } from '../src/infra/redis.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** s3rver as its own process, as MinIO would be: the service reaches it only over HTTP. */
export async function startS3Process(dataDir: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await findFreePort();
  const child = spawn(
    path.join(ROOT, 'node_modules/.bin/s3rver'),
    ['-d', path.join(dataDir, 's3'), '-a', '127.0.0.1', '-p', String(port), '--silent'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) return { port, child };
    await sleep(100);
  }
  throw new Error('s3rver did not start');
}

export type RoleProcess = {
  role: string;
  child: ChildProcess;
  port: number;
  metricsPort: number;
  output: () => string;
};

/** Starts `node dist/main.js` with a role, and waits until it answers its health route. */
export async function startDistRole(role: string, env: Record<string, string>): Promise<RoleProcess> {
  const port = await findFreePort();
  const metricsPort = await findFreePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/main.js')], {
    env: {
      PATH: process.env.PATH,
      ...env,
      ROLE: role,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const health =
    role === 'api' || role === 'all'
      ? `http://127.0.0.1:${port}/health/ready`
      : `http://127.0.0.1:${metricsPort}/health/live`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${role} exited:\n${output}`);
    const up = await fetch(health).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return { role, child, port, metricsPort, output: () => output };
    await sleep(100);
  }
  throw new Error(`${role} did not become healthy:\n${output}`);
}

/** Current and peak resident memory of a process, in MB (Linux /proc). */
export async function rssMb(pid: number): Promise<{ current: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
  return { current: Math.round(field('VmRSS') / 1024), peak: Math.round(field('VmHWM') / 1024) };
}

/** Busy and total jiffies of the whole machine, for CPU utilisation over an interval. */
export async function cpuTimes(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPU time a process has used so far (user + system), in ms, from Linux /proc (clock ticks of 10 ms). */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name in parentheses may hold spaces: count fields from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time the Redis server has used so far (user + system, its own INFO figures), in ms. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? 0);
  return Math.round((seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000);
}

export type ServiceProcesses = {
  /** The API's address. */
  url: string;
  /** api, worker, dispatcher, in that order. */
  roles: RoleProcess[];
  /** Stops the roles, then the S3 server, then empties or stops the Redis. */
  stop: () => Promise<void>;
};

/**
 * The service as an office runs it: api, worker and dispatcher as their own processes from dist/, s3rver as its
 * own process (as MinIO would be), the local Redis under a private prefix (or one spawned in `workDir`).
 */
export async function startServiceProcesses(
  workDir: string,
  name: string,
  env: Record<string, string>,
): Promise<ServiceProcesses> {
  const stops: Array<() => unknown> = [];
  const roles: RoleProcess[] = [];
  const stop = async () => {
    for (const role of roles) {
      role.child.kill('SIGTERM');
      if (role.child.exitCode === null) await once(role.child, 'exit');
    }
    for (const step of stops.reverse()) await step();
  };
  try {
    let redisUrl = 'redis://127.0.0.1:6379';
    const redisPrefix = `${name}-${Date.now().toString(36)}`;
    if (await redisAnswers(redisUrl)) {
      // A shared Redis keeps nothing of this run.
      const sharedRedis = redisUrl;
      stops.push(() => deletePrefix(sharedRedis, redisPrefix));
    } else {
      const spawned = await spawnRedisServer(path.join(workDir, 'redis'));
      stops.push(() => spawned.process.kill('SIGTERM'));
      redisUrl = spawned.url;
    }
    const s3 = await startS3Process(workDir);
    stops.push(() => s3.child.kill('SIGTERM'));
    const roleEnv = {
      REDIS_URL: redisUrl,
      REDIS_PREFIX: redisPrefix,
      S3_ENDPOINT: '127.0.0.1',
      S3_PORT: String(s3.port),
      S3_ACCESS_KEY: 'S3RVER',
      S3_SECRET_KEY: 'S3RVER',
      DATA_DIR: path.join(workDir, 'data'),
      LOG_LEVEL: 'warn',
      ...env,
    };
    for (const role of ['api', 'worker', 'dispatcher']) roles.push(await startDistRole(role, roleEnv));
    return { url: `http://127.0.0.1:${roles[0]!.port}`, roles, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
