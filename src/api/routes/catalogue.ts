import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Auth } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { commonErrors, service } from '../schemas.js';

/** The service catalogue, readable by everyone signed in (stations pick from it; desks show its names). */
export function catalogueRoutes(deps: ApiDeps, auth: Auth): FastifyPluginAsyncZod {
  const { catalogue } = deps.services;
  return async (app) => {
    app.get(
      '/v1/services',
      {
        onRequest: auth.requireRole('admin', 'station', 'registrar'),
        schema: {
          tags: ['station', 'registrar', 'admin'],
          summary: "The office's services: slug and Ukrainian and English names",
          response: { 200: z.array(service), ...commonErrors },
        },
      },
      async () => catalogue.list(),
    );
  };
}
