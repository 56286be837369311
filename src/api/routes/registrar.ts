import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { notImplemented } from '../../domain/errors.js';
import type { Auth } from '../auth.js';

/** The registrar workflow arrives with the dispatcher (#5); until then these routes say so honestly. */
const REGISTRAR_ROUTES = [
  ['PUT', '/v1/registrar/status'],
  ['GET', '/v1/registrar/assignment'],
  ['GET', '/v1/registrar/packets/:id/pdf'],
  ['GET', '/v1/registrar/packets/:id/pages/:n/text'],
  ['POST', '/v1/registrar/packets/:id/decision'],
  ['POST', '/v1/registrar/packets/:id/recuse'],
] as const;

export function registrarRoutes(auth: Auth): FastifyPluginAsyncZod {
  return async (app) => {
    app.addHook('preHandler', auth.requireRole('registrar'));
    for (const [method, url] of REGISTRAR_ROUTES) {
      app.route({
        method,
        url,
        schema: { tags: ['registrar'], summary: 'Registrar workflow (not implemented yet)' },
        handler: async () => {
          throw notImplemented(`${method} ${url}`);
        },
      });
    }
  };
}
