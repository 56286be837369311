import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { type BackoffPolicy, retryAfterMs, verdictOf, waitAfterFailureMs } from './retry-rules.js';

/** The service refused this packet for good (a 4xx other than 401/403/408/429): it goes to failed/. */
export class PacketRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The service refused the station's token: nothing can succeed, the agent stops and leaves every scan in place. */
export class StationRefused extends Error {}

/** The configured retry limit ran out during an outage; the journal keeps the place for the next start. */
export class GaveUp extends Error {}

/** The agent was asked to stop (SIGINT/SIGTERM) while waiting or sending. */
export class Stopping extends Error {}

export type WaitingInfo = { what: string; attempt: number; waitMs: number; problem: string };
export type RetryEvents = {
  waiting(info: WaitingInfo): void;
  recovered(info: { what: string; attempts: number; downMs: number }): void;
};

export type ClientOptions = {
  baseUrl: string;
  token: string;
  backoff: BackoffPolicy;
  /** Give up after the service has been failing for this long; undefined: never (the default). */
  giveUpAfterMs?: number;
  /** Deadline of one request (a 25 MB page over a slow office link takes a while). */
  requestTimeoutMs: number;
  /** Aborted when the agent stops: cuts waits and requests short. */
  stop: AbortSignal;
  events: RetryEvents;
  random?: () => number;
  /** Tests pass a scripted one; the agent uses the global fetch. */
  fetch?: typeof fetch;
};

export type Answer = { status: number; body: unknown };

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** "connect ECONNREFUSED 127.0.0.1:8080" rather than fetch's bare "fetch failed". */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.message)
    return cause.code && !cause.message.includes(cause.code)
      ? `${cause.code} ${cause.message}`
      : cause.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The service over HTTP with the station's token. Every request is retried through outages (no connection,
 * 5xx, 408, 429 with Retry-After) with backoff; only answers that can never change end it.
 */
export class ServiceClient {
  constructor(private readonly options: ClientOptions) {}

  /**
   * Sends the request until it gets a 2xx answer. Throws PacketRefused, StationRefused, GaveUp or Stopping.
   * `what` names the request in messages ("upload of page 3").
   */
  async request(
    what: string,
    method: string,
    url: string,
    body?: { data: Buffer | string; contentType: string },
    /**
     * Asked before each new attempt of a request that is not idempotent (creating a packet): the first may have
     * reached the service with only its answer lost. An answer returned here ends the retries.
     */
    beforeRetry?: () => Promise<Answer | undefined>,
  ): Promise<Answer> {
    const { stop, backoff, events } = this.options;
    const startedAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (stop.aborted) throw new Stopping('stopping');
      if (attempt > 1 && beforeRetry) {
        const found = await beforeRetry();
        if (found) return found;
      }
      let problem: string;
      let retryAfter: number | undefined;
      try {
        const response = await (this.options.fetch ?? fetch)(new URL(url, this.options.baseUrl), {
          method,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            ...(body ? { 'content-type': body.contentType } : {}),
          },
          ...(body ? { body: body.data } : {}),
          signal: AbortSignal.any([stop, AbortSignal.timeout(this.options.requestTimeoutMs)]),
        });
        const text = await response.text();
        const parsed = parseJson(text);
        const verdict = verdictOf(response.status);
        if (verdict === 'ok') {
          if (attempt > 1) events.recovered({ what, attempts: attempt, downMs: Date.now() - startedAt });
          return { status: response.status, body: parsed };
        }
        const error = errorBody.safeParse(parsed);
        const code = error.success ? error.data.error.code : `http_${response.status}`;
        const message = error.success ? error.data.error.message : text.slice(0, 200);
        if (verdict === 'station')
          throw new StationRefused(
            `the service refused the station's token (${response.status} ${code}: ${message})`,
          );
        if (verdict === 'permanent') throw new PacketRefused(response.status, code, message);
        problem = `${response.status} ${code}${message ? `: ${message}` : ''}`;
        retryAfter = retryAfterMs(response.headers.get('retry-after'), Date.now());
      } catch (error) {
        if (error instanceof PacketRefused || error instanceof StationRefused) throw error;
        if (stop.aborted) throw new Stopping('stopping');
        problem = describeNetworkError(error);
      }
      const { giveUpAfterMs } = this.options;
      const leftMs =
        giveUpAfterMs === undefined ? Number.POSITIVE_INFINITY : startedAt + giveUpAfterMs - Date.now();
      if (leftMs <= 0)
        throw new GaveUp(
          `${what}: gave up after ${Math.round((Date.now() - startedAt) / 1000)} s (${problem})`,
        );
      // The last attempt is made at the limit, not after it.
      const waitMs = Math.min(waitAfterFailureMs(attempt, backoff, retryAfter, this.options.random), leftMs);
      events.waiting({ what, attempt, waitMs, problem });
      try {
        await sleep(waitMs, undefined, { signal: stop });
      } catch {
        throw new Stopping('stopping');
      }
    }
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const storedPage = z.object({ n: z.number(), sha256: z.string(), bytes: z.number() });
const createdPacket = z.object({ id: z.string(), status: z.string(), trackingCode: z.string() });
const packetSummary = z.object({
  id: z.string(),
  ticket: z.string(),
  service: z.string(),
  status: z.string(),
  createdAt: z.string(),
  pageCount: z.number().optional(),
  trackingCode: z.string(),
});
export type PacketSummary = z.infer<typeof packetSummary>;
const storedDocument = z.object({
  document: z.object({ sha256: z.string(), bytes: z.number(), pages: z.number() }),
  pages: z.array(storedPage),
});

/** An answer of an unexpected shape: the service and the agent disagree, which waiting will not fix. */
function shapeOf<T>(schema: z.ZodType<T>, answer: Answer, what: string): T {
  const parsed = schema.safeParse(answer.body);
  if (!parsed.success)
    throw new PacketRefused(
      answer.status,
      'unexpected_answer',
      `${what}: unexpected answer from the service`,
    );
  return parsed.data;
}

/** The station's side of the service API, each call retried through outages. */
export class StationApi {
  constructor(
    private readonly client: ServiceClient,
    /** The service's address, as the receipts name it. */
    readonly baseUrl: string,
  ) {}

  /**
   * Opens a packet. `findExisting` is asked before every retry: a packet the lost attempt did create is taken
   * instead of a second one.
   */
  async createPacket(
    ticket: string,
    service: string,
    findExisting: () => Promise<{ id: string; trackingCode: string } | undefined>,
  ): Promise<{ id: string; trackingCode: string; adopted: boolean }> {
    let adopted = false;
    const answer = await this.client.request(
      'opening the packet',
      'POST',
      '/v1/packets',
      { data: JSON.stringify({ ticket, service }), contentType: 'application/json' },
      async () => {
        const existing = await findExisting();
        if (!existing) return undefined;
        adopted = true;
        return { status: 200, body: { ...existing, status: 'open' } };
      },
    );
    return { ...shapeOf(createdPacket, answer, 'opening the packet'), adopted };
  }

  /** The station's recent packets, newest first (to find a packet created just before a crash). */
  async recentPackets(what = 'looking for a packet opened before the restart'): Promise<PacketSummary[]> {
    const answer = await this.client.request(what, 'GET', '/v1/packets');
    return shapeOf(z.array(packetSummary), answer, what);
  }

  /** `created` is false when the service already had these bytes as this page (200 instead of 201). */
  async putPage(packetId: string, n: number, data: Buffer, contentType: string) {
    const what = `upload of page ${n}`;
    const answer = await this.client.request(what, 'PUT', `/v1/packets/${packetId}/pages/${n}`, {
      data,
      contentType,
    });
    return { created: answer.status === 201, page: shapeOf(storedPage, answer, what) };
  }

  /**
   * A whole document (PDF or multi-page TIFF). Its pages go after the packet's highest page: the agent sends in
   * order, so that is where the plan puts them, and a resend after a crash (the same document) is answered with
   * the pages it got the first time.
   */
  async postDocument(packetId: string, data: Buffer, contentType: string) {
    const what = 'upload of a document';
    const answer = await this.client.request(what, 'POST', `/v1/packets/${packetId}/documents`, {
      data,
      contentType,
    });
    return { created: answer.status === 201, ...shapeOf(storedDocument, answer, what) };
  }

  async submit(packetId: string, pages: number): Promise<void> {
    await this.client.request('submit', 'POST', `/v1/packets/${packetId}/submit`, {
      data: JSON.stringify({ pages }),
      contentType: 'application/json',
    });
  }

  /** Whether the service takes whole documents (`POST /v1/packets/:id/documents`), read from its OpenAPI document. */
  async takesDocuments(): Promise<boolean> {
    try {
      const answer = await this.client.request('reading the service’s API description', 'GET', '/docs/json');
      const paths = (answer.body as { paths?: Record<string, unknown> } | undefined)?.paths ?? {};
      return Object.keys(paths).some((route) => /^\/v1\/packets\/\{[^}]+\}\/documents$/.test(route));
    } catch (error) {
      // An office may switch the API description off (404): then only pages are sent.
      if (error instanceof PacketRefused) return false;
      throw error;
    }
  }
}
