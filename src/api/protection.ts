import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import fastifyUnderPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiDeps } from './deps.js';
import { AppError } from './http-error.js';

const STRICT_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  workerSrc: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};
const THIRD_PARTY_PAGES = ['/docs', '/admin/queues'];
const RELAXED_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "frame-ancestors 'none'; object-src 'none'; base-uri 'self'";

/**
 * What keeps the API standing: security headers, 503 instead of collapse under event-loop or heap pressure, and
 * per-token rate limits on the expensive routes. Limits are counted in Redis, so they hold across API instances.
 */
export async function registerProtection(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  await app.register(fastifyHelmet, {
    // Our pages load scripts, styles, fonts and the PDF viewer's worker from this origin only: nothing inline,
    // nothing from elsewhere.
    // Upgrading to https only where the office serves https (the cookie is Secure then); on a plain-http office
    // network it would send every page's assets to a port nobody listens on.
    contentSecurityPolicy: {
      directives: { ...STRICT_CSP, upgradeInsecureRequests: deps.config.sessions.secureCookie ? [] : null },
    },
  });
  // The API docs and the queue dashboard are third-party pages with inline scripts and styles; only they get them.
  app.addHook('onSend', async (request, reply) => {
    if (THIRD_PARTY_PAGES.some((prefix) => request.url.startsWith(prefix)))
      reply.header('content-security-policy', RELAXED_CSP);
  });
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: deps.config.protection.maxEventLoopDelayMs,
    maxHeapUsedBytes: deps.config.protection.maxHeapBytes,
    exposeStatusRoute: false,
    pressureHandler: (_request, reply, type, value) => {
      reply
        .code(503)
        .header('retry-after', '5')
        .send({
          error: {
            code: 'overloaded',
            message: `The service is under pressure (${type}: ${value}); retry shortly`,
          },
        });
    },
  });
  await app.register(fastifyRateLimit, {
    global: false,
    redis: deps.redis,
    nameSpace: `${deps.config.redis.prefix}:ratelimit:`,
    // A limiter that cannot reach Redis fails the request, and the error handler answers 503: skipping the check
    // instead only moved the wait to the token lookup, so a hung Redis held each upload for two command deadlines.
    skipOnError: false,
    errorResponseBuilder: (_request, context) =>
      new AppError(429, 'rate_limited', `Too many requests; retry in ${context.after}`),
  });
}

/**
 * Uploads per verified principal. The limit is checked after authentication (onRequest) and before the body is
 * read (preParsing), so neither an over-limit station nor a stranger makes the API buffer a page.
 */
export const uploadRateLimit = (deps: ApiDeps): RateLimitOptions => ({
  max: deps.config.protection.uploadsPerMinute,
  timeWindow: 60_000,
  hook: 'preParsing',
  keyGenerator: (request) => {
    const principal = request.principal;
    return `uploads:${principal?.role}:${principal && 'id' in principal ? principal.id : ''}`;
  },
});

/** Requests that carry no valid token (failed sign-ins, public lookups), per client address. */
const anonymousRateLimit = (deps: ApiDeps): RateLimitOptions => ({
  max: deps.config.protection.unauthenticatedPerMinute,
  timeWindow: 60_000,
  keyGenerator: (request) => `anonymous:${request.ip}`,
});

/** Counts one request without a valid token against its address; throws 429 (with Retry-After) past the limit. */
export function anonymousLimiter(app: FastifyInstance, deps: ApiDeps) {
  const limit = app.createRateLimit(anonymousRateLimit(deps));
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const result = await limit(request);
    if (result.isAllowed || !result.isExceeded) return;
    reply.header('retry-after', String(result.ttlInSeconds));
    throw new AppError(429, 'rate_limited', `Too many requests; retry in ${result.ttlInSeconds} s`);
  };
}
