import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notFound } from '../../domain/errors.js';
import { normalizeTrackingCode, TRACKING_CODE_PATTERN } from '../../domain/ids.js';
import { publicStatusOf } from '../../domain/status.js';
import type { AppDeps } from '../deps.js';
import { errorResponse, trackingParams, trackingView } from '../schemas.js';

/** Everything here is unauthenticated, so it answers with as little as possible. */
export function publicRoutes(deps: AppDeps): FastifyPluginAsyncZod {
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
      async (request) => {
        const code = normalizeTrackingCode(request.params.trackingCode);
        const packet = TRACKING_CODE_PATTERN.test(code)
          ? await deps.packets.findByTrackingCode(code)
          : undefined;
        if (!packet) throw notFound('Tracking code');
        return {
          status: publicStatusOf(packet.status),
          ...(packet.outcome ? { outcome: packet.outcome } : {}),
        };
      },
    );
  };
}
