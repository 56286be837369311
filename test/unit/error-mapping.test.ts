import Fastify, { type FastifyInstance } from 'fastify';
import { type FastifyPluginAsyncZod, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { answerRouterError, installErrorHandler } from '../../src/api/error-handler.js';
import { AppError } from '../../src/api/http-error.js';
import { httpErrorOf, unwrap } from '../../src/api/outcomes.js';
import { DependencyUnavailableError } from '../../src/domain/errors.js';
import { type Failure, fail } from '../../src/domain/outcome.js';

class RedisDown extends Error {}

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify({ logger: false, bodyLimit: 64, frameworkErrors: answerRouterError });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app, (error) => error instanceof RedisDown);
  const routes: FastifyPluginAsyncZod = async (scope) => {
    scope.post(
      '/echo',
      { schema: { body: z.object({ name: z.string().min(2) }).strict() } },
      async (request) => ({
        name: request.body.name,
      }),
    );
    scope.get('/packets/:id', async (request) => request.params);
    scope.get('/refused', async () => unwrap(fail({ code: 'rescan_only', pages: [2, 5] })));
    scope.get('/app-error', async () => {
      throw new AppError(429, 'rate_limited', 'Too many requests', { retryIn: 3 });
    });
    scope.get('/s3-down', async () => {
      throw new DependencyUnavailableError('s3', new Error('ECONNREFUSED'));
    });
    scope.get('/redis-down', async () => {
      throw new RedisDown('Connection is closed.');
    });
    scope.get('/bug', async () => {
      throw new TypeError('secret internals');
    });
  };
  await app.register(routes);
  await app.ready();
});
afterAll(() => app.close());

const bodyOf = (payload: string) => JSON.parse(payload) as { error: Record<string, unknown> };

describe('every answer has one error shape', () => {
  it('a service refusal becomes its HTTP error with details', async () => {
    const response = await app.inject('/refused');
    expect(response.statusCode).toBe(409);
    expect(bodyOf(response.payload)).toEqual({
      error: {
        code: 'rescan_only',
        message: 'Only pages 2, 5 may be rescanned in this packet',
        pages: [2, 5],
      },
    });
  });

  it.each([
    ['an unknown route', { method: 'GET', url: '/nowhere' }, 404, 'not_found'],
    ['a bad percent-encoding', { method: 'GET', url: '/packets/%E0%A4%A' }, 400, 'invalid_url'],
    [
      'an over-long path parameter',
      { method: 'GET', url: `/packets/${'a'.repeat(200)}` },
      414,
      'uri_too_long',
    ],
    ['a schema violation', { method: 'POST', url: '/echo', payload: { name: 'x' } }, 400, 'invalid_request'],
    [
      'an unknown field',
      { method: 'POST', url: '/echo', payload: { name: 'xy', extra: 1 } },
      400,
      'invalid_request',
    ],
    [
      'malformed JSON',
      { method: 'POST', url: '/echo', payload: '{"name":', headers: { 'content-type': 'application/json' } },
      400,
      'invalid_json',
    ],
    [
      'a body over the limit',
      { method: 'POST', url: '/echo', payload: { name: 'y'.repeat(100) } },
      413,
      'payload_too_large',
    ],
    [
      'a content type nobody parses',
      { method: 'POST', url: '/echo', payload: 'x', headers: { 'content-type': 'text/csv' } },
      415,
      'unsupported_media_type',
    ],
    ['an AppError', { method: 'GET', url: '/app-error' }, 429, 'rate_limited'],
    ['S3 unavailable', { method: 'GET', url: '/s3-down' }, 503, 'unavailable'],
    ['Redis unavailable', { method: 'GET', url: '/redis-down' }, 503, 'unavailable'],
    ['a bug', { method: 'GET', url: '/bug' }, 500, 'internal'],
  ] as const)('%s → %i %s', async (_what, request, status, code) => {
    const response = await app.inject(request as never);
    expect(response.statusCode).toBe(status);
    const body = bodyOf(response.payload);
    expect(body.error.code).toBe(code);
    expect(typeof body.error.message).toBe('string');
  });

  it('names the offending field, asks to retry when a dependency is down, and never leaks a bug', async () => {
    const invalid = await app.inject({ method: 'POST', url: '/echo', payload: { name: 'x' } });
    expect(bodyOf(invalid.payload).error.message).toMatch(/^body\.name: /);
    expect((await app.inject('/s3-down')).headers['retry-after']).toBe('2');
    expect((await app.inject('/redis-down')).headers['retry-after']).toBe('2');
    expect(bodyOf((await app.inject('/bug')).payload).error.message).toBe('Internal server error');
  });
});

describe('service refusals map to HTTP', () => {
  it.each<[Failure, number, string]>([
    [{ code: 'not_found', what: 'Packet' }, 404, 'not_found'],
    [{ code: 'packet_not_open', status: 'submitted', action: 'change_pages' }, 409, 'packet_not_open'],
    [{ code: 'packet_not_open', status: 'ready', action: 'submit' }, 409, 'packet_not_open'],
    [{ code: 'rescan_only', pages: [3] }, 409, 'rescan_only'],
    [{ code: 'pages_missing', pages: 4, missing: [2, 4], extra: [] }, 409, 'pages_missing'],
    [
      {
        code: 'image_rejected',
        rejection: { status: 415, code: 'unsupported_media_type', message: 'not an image' },
      },
      415,
      'unsupported_media_type',
    ],
    [{ code: 'not_assigned', status: 'decided', action: 'decide' }, 409, 'not_assigned'],
    [{ code: 'registrar_removed' }, 403, 'forbidden'],
  ])('%j → %i %s', (failure, status, code) => {
    const error = httpErrorOf(failure);
    expect([error.statusCode, error.code]).toEqual([status, code]);
  });

  it('says which pages are missing or beyond the count', () => {
    expect(httpErrorOf({ code: 'pages_missing', pages: 3, missing: [2], extra: [5] }).message).toBe(
      'Cannot submit 3 pages: missing pages 2; pages beyond 3: 5',
    );
  });
});
