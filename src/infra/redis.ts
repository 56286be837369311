import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { findFreePort } from './free-port.js';

/**
 * `command` connections serve HTTP requests and producers: they fail fast while Redis is down (no offline queue),
 * so the API answers 503 at once. `blocking` connections belong to BullMQ workers, which must wait for Redis
 * (BullMQ requires `maxRetriesPerRequest: null` there).
 */
export type RedisPurpose = 'command' | 'blocking';

const reconnectDelay = (attempt: number) => Math.min(100 * 2 ** attempt, 2000);

/**
 * `commandTimeoutMs` bounds each command of a `command` connection: a Redis that hangs with its connections open
 * (a stopped process, a lost network path) must become a quick 503, not requests that wait for good.
 */
export function redisOptions(purpose: RedisPurpose, commandTimeoutMs?: number): RedisOptions {
  return purpose === 'command'
    ? {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        retryStrategy: reconnectDelay,
        ...(commandTimeoutMs === undefined ? {} : { commandTimeout: commandTimeoutMs }),
      }
    : {
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        connectTimeout: 2000,
        retryStrategy: reconnectDelay,
      };
}

/**
 * Errors that mean Redis cannot serve now, not that the command was wrong. First ioredis's own, for a command that
 * got no answer: the socket can die before ioredis leaves status 'ready' (a crash), and a hung Redis never leaves it,
 * so the status alone does not tell. Then Redis's refusals by error code: full (OOM under noeviction), a replica
 * after failover (READONLY), still loading its data (LOADING), a failing disk (MISCONF), a long script (BUSY).
 */
const UNAVAILABLE_MESSAGES = [
  'Command timed out',
  "Stream isn't writeable",
  'Connection is closed',
  ...['OOM', 'READONLY', 'LOADING', 'MISCONF', 'BUSY', 'MASTERDOWN'].map((code) => `${code} `),
];

/** Whether `error` means Redis is unavailable rather than a bug: the connection is down, or Redis cannot serve. */
export const isRedisUnavailable = (redis: Redis, error: unknown) =>
  redis.status !== 'ready' ||
  (error instanceof Error && UNAVAILABLE_MESSAGES.some((message) => error.message.startsWith(message)));

export function createRedis(url: string, purpose: RedisPurpose, commandTimeoutMs?: number): Redis {
  return new Redis(url, { ...redisOptions(purpose, commandTimeoutMs), lazyConnect: true });
}

type ConnectOptions = { connectTimeoutMs?: number; commandTimeoutMs?: number };

/** Connects and waits until the client is ready, or throws after `connectTimeoutMs`. */
export async function connectRedis(
  url: string,
  purpose: RedisPurpose,
  { connectTimeoutMs = 5000, commandTimeoutMs }: ConnectOptions = {},
): Promise<Redis> {
  const client = createRedis(url, purpose, commandTimeoutMs);
  client.on('error', () => {}); // reconnects are reported through readiness checks, not as crashes
  const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
  client.connect().catch(() => {});
  const timedOut = await Promise.race([ready.then(() => false), sleep(connectTimeoutMs).then(() => true)]);
  if (timedOut) {
    client.disconnect();
    throw new Error(`Redis at ${redactUrl(url)} did not answer within ${connectTimeoutMs} ms`);
  }
  return client;
}

export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const client = await connectRedis(url, 'command', {
      connectTimeoutMs: timeoutMs,
      commandTimeoutMs: timeoutMs,
    });
    await client.quit();
    return true;
  } catch {
    return false;
  }
}

export const redactUrl = (url: string) => url.replace(/\/\/([^@/]*)@/, '//[redacted]@');

export type SpawnedRedis = {
  url: string;
  port: number;
  process: ChildProcess;
  /** SIGTERM flushes the AOF and exits; SIGKILL is a crash, with nothing flushed on the way out. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
};

/**
 * Starts a private `redis-server` on a free loopback port with AOF on (the durability BullMQ's production guide asks
 * for) and its files in `dir`. Throws when the binary is missing.
 *
 * `appendfsync always`: an upload is acknowledged only once its page record is on disk, so Redis must fsync the AOF
 * before it answers (it does so once per batch of commands, not per command). `everysec` would lose up to a second
 * of acknowledged pages and submissions in a power cut; `always` cost ~6 % of saturated intake throughput here and
 * nothing measurable at office rates (docs/BENCHMARKS.md).
 */
export async function spawnRedisServer(dir: string, port?: number): Promise<SpawnedRedis> {
  await mkdir(dir, { recursive: true });
  const chosenPort = port ?? (await findFreePort());
  const child = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(chosenPort),
      '--dir',
      path.resolve(dir),
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  const spawnFailure = new Promise<never>((_, reject) => child.once('error', reject));
  const url = `redis://127.0.0.1:${chosenPort}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const outcome = await Promise.race([redisAnswers(url, 500), spawnFailure]);
    if (outcome) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${chosenPort}`);
    }
    await sleep(50);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    port: chosenPort,
    process: child,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}
