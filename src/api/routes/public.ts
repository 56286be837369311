import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiDeps } from '../deps.js';
import { unwrap } from '../outcomes.js';
import { errorResponse, trackingParams, trackingView } from '../schemas.js';

/** Everything here is unauthenticated, so it answers with as little as possible. */
export function publicRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const { tracking } = deps.services;
  return async (app) => {
    app.get(
      '/v1/track/:trackingCode',
      {
        schema: {
          tags: ['public'],
          summary: 'What a citizen sees for a tracking code: a coarse status and, once decided, the outcome',
          params: trackingParams,
          response: { 200: trackingView, 400: errorResponse, 404: errorResponse },
        },
      },
      async (request) => unwrap(await tracking.status(request.params.trackingCode)),
    );
  };
}
