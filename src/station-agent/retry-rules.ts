/**
 * When to try again and how long to wait. Pure rules: the HTTP answer's verdict, the backoff schedule and the
 * service's own Retry-After.
 */

export type BackoffPolicy = {
  /** First wait. */
  initialMs: number;
  /** Waits grow to this and stay there. */
  maxMs: number;
  factor: number;
  /**
   * Each wait is shortened by up to this fraction at random, so that the stations of an office do not all come
   * back in the same second after an outage. Only shortened: the ceiling stays the ceiling.
   */
  jitter: number;
};

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** The wait before attempt `attempt + 1` after `attempt` failures (1 → about 1 s, then 2, 4, 8, 16, 30, 30, …). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random) {
  const exponent = Math.max(0, attempt - 1);
  // Past ~60 doublings the power is Infinity; min() takes care of it.
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** exponent);
  return Math.round(base * (1 - policy.jitter * random()));
}

/** A Retry-After header (seconds, or an HTTP date) as milliseconds from `now`; undefined when absent or invalid. */
export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The longest Retry-After honoured; a service asking for more is waited for in steps of this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * What an HTTP status means for the request that got it:
 * - `retry`: the service cannot take it now (5xx, 408 timeout, 429 rate limit) — wait and send it again;
 * - `station`: the station's token is refused (401, 403) — no packet can succeed, so the agent stops and leaves
 *   every scan where it is instead of marking packets failed one after the other;
 * - `permanent`: this request will never succeed (any other 4xx) — the packet fails.
 */
export type StatusVerdict = 'ok' | 'retry' | 'station' | 'permanent';

export function verdictOf(status: number): StatusVerdict {
  if (status < 400) return 'ok';
  if (status >= 500 || status === 408 || status === 429) return 'retry';
  if (status === 401 || status === 403) return 'station';
  return 'permanent';
}

/** The wait after a failed attempt: the service's Retry-After when it gives one, else the backoff schedule. */
export function waitAfterFailureMs(
  attempt: number,
  policy: BackoffPolicy,
  retryAfter: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfter !== undefined) return Math.min(Math.max(retryAfter, 100), MAX_RETRY_AFTER_MS);
  return backoffDelayMs(attempt, policy, random);
}
