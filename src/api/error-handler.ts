import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, DependencyUnavailableError } from '../domain/errors.js';

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
      if (error.statusCode >= 500) request.log.warn({ err: error }, error.message);
      if (error instanceof DependencyUnavailableError) reply.header('retry-after', '2');
      return reply.code(error.statusCode).send(errorBody(error.code, error.message, error.details));
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
