import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notImplemented } from '../../domain/errors.js';
import type { Auth } from '../auth.js';
import type { AppDeps } from '../deps.js';
import {
  createdRegistrar,
  createdStation,
  createRegistrarBody,
  createStationBody,
  errorResponse,
  registrar,
  station,
} from '../schemas.js';

const errors = { 400: errorResponse, 401: errorResponse, 403: errorResponse };

export function adminRoutes(deps: AppDeps, auth: Auth): FastifyPluginAsyncZod {
  const { principals } = deps;
  return async (app) => {
    app.addHook('preHandler', auth.requireRole('admin'));

    app.post(
      '/v1/stations',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create a scanner station; its token is shown only in this answer',
          body: createStationBody,
          response: { 201: createdStation, ...errors },
        },
      },
      async (request, reply) => {
        const { station: created, token } = await principals.createStation(request.body.name);
        request.log.info({ stationId: created.id }, 'station created');
        return reply.code(201).send({ ...created, token });
      },
    );

    app.get(
      '/v1/stations',
      {
        schema: { tags: ['admin'], summary: 'List stations', response: { 200: z.array(station), ...errors } },
      },
      async () => principals.listStations(),
    );

    app.post(
      '/v1/registrars',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create a registrar for some services; the token is shown only in this answer',
          body: createRegistrarBody,
          response: { 201: createdRegistrar, ...errors },
        },
      },
      async (request, reply) => {
        const { registrar: created, token } = await principals.createRegistrar(
          request.body.name,
          [...new Set(request.body.services)].sort(),
        );
        request.log.info({ registrarId: created.id }, 'registrar created');
        return reply.code(201).send({ ...created, token });
      },
    );

    app.get(
      '/v1/registrars',
      {
        schema: {
          tags: ['admin'],
          summary: 'List registrars with their status',
          response: { 200: z.array(registrar), ...errors },
        },
      },
      async () => principals.listRegistrars(),
    );

    // The assignment protocol arrives with the dispatcher (#5).
    for (const path of ['/v1/audit/assignments', '/v1/audit/verify']) {
      app.get(
        path,
        { schema: { tags: ['admin'], summary: 'Assignment protocol (not implemented yet)' } },
        async () => {
          throw notImplemented(`GET ${path}`);
        },
      );
    }
  };
}
