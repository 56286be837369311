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

export function redisOptions(purpose: RedisPurpose): RedisOptions {
  return purpose === 'command'
    ? {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        connectTimeout: 2000,
        retryStrategy: reconnectDelay,
      }
    : {
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        connectTimeout: 2000,
        retryStrategy: reconnectDelay,
      };
}

/**
 * Whether a command can go out now. After a crash of Redis the socket dies before ioredis leaves status 'ready',
 * and commands sent in that moment fail with "Stream isn't writeable": that is Redis being away too.
 */
export const redisWritable = (redis: Redis) => redis.status === 'ready' && redis.stream.writable;

export function createRedis(url: string, purpose: RedisPurpose): Redis {
  return new Redis(url, { ...redisOptions(purpose), lazyConnect: true });
}

/** Connects and waits until the client is ready, or throws after `timeoutMs`. */
export async function connectRedis(url: string, purpose: RedisPurpose, timeoutMs = 5000): Promise<Redis> {
  const client = createRedis(url, purpose);
  client.on('error', () => {}); // reconnects are reported through readiness checks, not as crashes
  const ready = new Promise<void>((resolve) => client.once('ready', () => resolve()));
  client.connect().catch(() => {});
  const timedOut = await Promise.race([ready.then(() => false), sleep(timeoutMs).then(() => true)]);
  if (timedOut) {
    client.disconnect();
    throw new Error(`Redis at ${redactUrl(url)} did not answer within ${timeoutMs} ms`);
  }
  return client;
}

export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const client = await connectRedis(url, 'command', timeoutMs);
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
