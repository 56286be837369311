import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { fairnessOf } from '../../dispatch/fairness.js';
import { verifyChain } from '../../dispatch/protocol.js';
import { notFound } from '../../domain/errors.js';
import { idPattern } from '../../domain/ids.js';
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
  const { principals, packets, assignments } = deps;
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

    /**
     * An administrator cannot assign; he can only take a registrar out of the pool. If the registrar holds a
     * packet, it goes back into the queue for a new, logged draw without him.
     */
    async function takeOutOfPool(registrarId: string, reason: 'away' | 'removed'): Promise<void> {
      const registrar = await principals.getRegistrar(registrarId);
      if (!registrar || registrar.status === 'removed') throw notFound('Registrar');
      if (registrar.packetId) {
        const packet = await packets.get(registrar.packetId);
        if (packet) await assignments.release(packet.id, registrarId, packet.drawSeq ?? 0, reason, reason);
      }
      if (reason === 'removed') await principals.markRegistrarRemoved(registrarId);
      else await assignments.setRegistrarStatus(registrarId, 'away');
    }

    const registrarParams = z.object({
      id: z.string().regex(idPattern('registrar'), 'a registrar id (rg_…)'),
    });

    app.put(
      '/v1/registrars/:id/status',
      {
        schema: {
          tags: ['admin'],
          summary: 'Set a registrar away (his packet, if any, is drawn again without him)',
          params: registrarParams,
          body: z.object({ status: z.literal('away') }).strict(),
          response: { 200: registrar, 404: errorResponse, ...errors },
        },
      },
      async (request) => {
        await takeOutOfPool(request.params.id, 'away');
        request.log.info({ registrarId: request.params.id }, 'administrator set registrar away');
        return (await principals.getRegistrar(request.params.id))!;
      },
    );

    app.delete(
      '/v1/registrars/:id',
      {
        schema: {
          tags: ['admin'],
          summary: 'Remove a registrar: his token stops working, his packet is drawn again without him',
          params: registrarParams,
          response: { 204: z.null(), 404: errorResponse, ...errors },
        },
      },
      async (request, reply) => {
        await takeOutOfPool(request.params.id, 'removed');
        request.log.info({ registrarId: request.params.id }, 'administrator removed registrar');
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/audit/assignments',
      {
        schema: {
          tags: ['admin'],
          summary: 'The assignment protocol: draws, releases and decisions, hash-chained, in order',
          querystring: z
            .object({
              after: z.coerce.number().int().min(0).default(0),
              limit: z.coerce.number().int().min(1).max(1000).default(100),
            })
            .strict(),
          response: {
            200: z.object({
              entries: z.array(z.record(z.string(), z.unknown())),
              next: z.number().nullable(),
            }),
            ...errors,
          },
        },
      },
      async (request) => {
        const { after, limit } = request.query;
        const entries = await assignments.entries(after, limit);
        const head = await assignments.head();
        const last = entries.at(-1)?.seq ?? after;
        return { entries, next: last < head.seq ? last : null };
      },
    );

    app.get(
      '/v1/audit/verify',
      {
        schema: {
          tags: ['admin'],
          summary: 'Recompute the whole protocol chain: ok, or the first broken entry',
          response: { 200: z.record(z.string(), z.unknown()), ...errors },
        },
      },
      async () => {
        const entries = await assignments.entries();
        const verification = verifyChain(entries);
        const head = await assignments.head();
        // The stored head must be where the chain ends: a truncated list is a broken chain too.
        if (verification.ok && (verification.head.seq !== head.seq || verification.head.hash !== head.hash)) {
          return {
            ok: false,
            entries: entries.length,
            brokenAt: verification.head.seq + 1,
            reason: 'entries after this point are missing',
          };
        }
        return verification;
      },
    );

    app.get(
      '/v1/audit/fairness',
      {
        schema: {
          tags: ['admin'],
          summary:
            'Per service and registrar: packets received vs expected from the pools they were in, chi-square p',
          response: { 200: z.record(z.string(), z.unknown()), ...errors },
        },
      },
      async () => fairnessOf(await assignments.entries()),
    );
  };
}
