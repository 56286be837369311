import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DependencyUnavailableError } from '../domain/errors.js';
import { AppError } from './http-error.js';

export type ErrorBody = { error: { code: string; message: string } & Record<string, unknown> };

const errorBody = (code: string, message: string, details?: Record<string, unknown>): ErrorBody => ({
  error: { code, message, ...details },
});

/** Fastify's own 4xx errors, renamed to our codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type' },
};

/** Errors the router meets before any route runs: they get our shape too, not Fastify's own. */
const ROUTER_CODES: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_BAD_URL: { status: 400, code: 'invalid_url', message: 'The URL is not validly percent-encoded' },
  FST_ERR_MAX_PARAM_LENGTH: {
    status: 414,
    code: 'uri_too_long',
    message: 'A path segment of the URL is too long',
  },
};

/** Fastify's `frameworkErrors` option: bad percent-encoding, over-long path parameters. */
export function answerRouterError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const known = ROUTER_CODES[error.code];
  if (known) reply.code(known.status).send(errorBody(known.code, known.message));
  else reply.code(500).send(errorBody('internal', 'Internal server error'));
}

/**
 * One error shape on the wire. 4xx messages pass through; 5xx become a generic message plus a log line with the
 * request's context. `isRedisUnavailable` turns errors raised because Redis is away or hung into a retryable 503.
 */
export function installErrorHandler(
  app: FastifyInstance,
  isRedisUnavailable: (error: unknown) => boolean,
): void {
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(errorBody('not_found', `Route ${request.method} ${request.url.split('?')[0]} not found`));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issue = error.validation[0];
      const where = issue
        ? `${error.validationContext ?? 'request'}${issue.instancePath.replaceAll('/', '.')}`
        : '';
      return reply
        .code(400)
        .send(errorBody('invalid_request', `${where}: ${issue?.message ?? 'invalid'}`.replace(/^: /, '')));
    }
    if (error instanceof AppError) {
      return reply.code(error.statusCode).send(errorBody(error.code, error.message, error.details));
    }
    if (error instanceof DependencyUnavailableError) {
      request.log.warn({ err: error }, error.message);
      reply.header('retry-after', '2');
      return reply.code(503).send(errorBody('unavailable', error.message));
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return reply.code(known.status).send(errorBody(known.code, error.message));
    if (error instanceof SyntaxError && error.statusCode === 400) {
      return reply.code(400).send(errorBody('invalid_json', error.message));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply
        .code(error.statusCode)
        .send(errorBody(error.code?.toLowerCase() ?? 'bad_request', error.message));
    }
    if (isRedisUnavailable(error)) {
      request.log.warn({ err: error }, 'request failed while Redis is unavailable');
      reply.header('retry-after', '2');
      return reply.code(503).send(errorBody('unavailable', 'Database is unavailable, retry later'));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(errorBody('internal', 'Internal server error'));
  });
}
