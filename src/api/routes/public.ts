import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { unwrap } from '../outcomes.js';
import { errorResponse, trackingParams, trackingView } from '../schemas.js';

/** Everything here is unauthenticated, so it answers with as little as possible. */
/** `countAnonymous`: every public lookup counts against the caller's address, with failed sign-ins. */
export function publicRoutes(
  deps: ApiDeps,
  countAnonymous: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
): FastifyPluginAsyncZod {
  const { tracking } = deps.services;
  return async (app) => {
    app.get(
      '/v1/track/:trackingCode',
      {
        onRequest: countAnonymous,
        schema: {
          tags: ['public'],
          summary: 'What a citizen sees for a tracking code: a coarse status and, once decided, the outcome',
          params: trackingParams,
          response: { 200: trackingView, 400: errorResponse, 404: errorResponse, 429: errorResponse },
        },
      },
      async (request) => unwrap(await tracking.status(request.params.trackingCode)),
    );
  };
}
