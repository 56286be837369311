import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idPattern } from '../../domain/ids.js';
import type { Auth } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { unwrap } from '../outcomes.js';
import {
  anomalyReport,
  chainVerification,
  consistencyProof,
  createdRegistrar,
  createdStation,
  createRegistrarBody,
  createServiceBody,
  createStationBody,
  errorResponse,
  fairnessReport,
  inclusionProof,
  officeNow,
  packetId,
  protocolExport,
  randomnessEpoch,
  registrar,
  service,
  signedCheckpoint,
  station,
} from '../schemas.js';

const errors = { 400: errorResponse, 401: errorResponse, 403: errorResponse };
/** Why an administrator takes a registrar out of the pool: recorded and counted, never shown to the public. */
const adminReason = z.string().max(500);
const registrarParams = z.object({ id: z.string().regex(idPattern('registrar'), 'a registrar id (rg_…)') });

export function adminRoutes(deps: ApiDeps, auth: Auth): FastifyPluginAsyncZod {
  const { administration, audit, recovery, catalogue, office } = deps.services;
  return async (app) => {
    app.addHook('onRequest', auth.requireRole('admin'));

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
        const { station: created, token } = await administration.createStation(request.body.name);
        return reply.code(201).send({ ...created, token });
      },
    );

    app.get(
      '/v1/stations',
      {
        schema: { tags: ['admin'], summary: 'List stations', response: { 200: z.array(station), ...errors } },
      },
      async () => administration.listStations(),
    );

    app.delete(
      '/v1/stations/:id',
      {
        schema: {
          tags: ['admin'],
          summary: 'Remove a station: its token and sessions stop working; its packets go on',
          params: z.object({ id: z.string().regex(idPattern('station'), 'a station id (st_…)') }),
          response: { 204: z.null(), 404: errorResponse, ...errors },
        },
      },
      async (request, reply) => {
        unwrap(await administration.removeStation(request.params.id));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/services',
      {
        schema: {
          tags: ['admin'],
          summary: "Add a service to the office's catalogue (slug and its Ukrainian and English names)",
          body: createServiceBody,
          response: { 201: service, 409: errorResponse, ...errors },
        },
      },
      async (request, reply) =>
        reply.code(201).send(unwrap(await catalogue.create(request.body.slug, request.body.names))),
    );

    app.post(
      '/v1/registrars',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create a registrar for some services; the token is shown only in this answer',
          body: createRegistrarBody,
          response: { 201: createdRegistrar, 422: errorResponse, ...errors },
        },
      },
      async (request, reply) => {
        const { registrar: created, token } = unwrap(
          await administration.createRegistrar(request.body.name, request.body.services),
        );
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
      async () => administration.listRegistrars(),
    );

    app.put(
      '/v1/registrars/:id/status',
      {
        schema: {
          tags: ['admin'],
          summary: 'Set a registrar away, saying why (holding a packet, he goes away once it is done)',
          params: registrarParams,
          body: z.object({ status: z.literal('away'), reason: adminReason }).strict(),
          response: {
            200: registrar.extend({ awayAfterCurrentPacket: z.boolean() }),
            404: errorResponse,
            422: errorResponse,
            ...errors,
          },
        },
      },
      async (request) =>
        unwrap(await administration.takeOutOfPool(request.params.id, 'away', request.body.reason)),
    );

    app.delete(
      '/v1/registrars/:id',
      {
        schema: {
          tags: ['admin'],
          summary:
            'Remove a registrar, saying why: his token stops working, his packet is drawn again without him',
          params: registrarParams,
          body: z.object({ reason: adminReason }).strict(),
          response: { 204: z.null(), 404: errorResponse, 422: errorResponse, ...errors },
        },
      },
      async (request, reply) => {
        unwrap(await administration.takeOutOfPool(request.params.id, 'removed', request.body.reason));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/packets/:id/retry',
      {
        schema: {
          tags: ['admin'],
          summary: 'Run processing or bundling of a failed packet again (never assigns anyone)',
          params: z.object({ id: packetId }),
          response: {
            202: z.object({
              id: z.string(),
              status: z.literal('submitted'),
              requeuedPages: z.array(z.number()),
            }),
            404: errorResponse,
            409: errorResponse,
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const retried = unwrap(await recovery.retry(request.params.id));
        return reply.code(202).send({ id: request.params.id, ...retried });
      },
    );

    app.get(
      '/v1/office',
      {
        schema: {
          tags: ['admin'],
          summary: 'The office now: registrars per service, waiting and starved packets, job queue depths',
          response: { 200: officeNow, ...errors },
        },
      },
      async () => office.now(),
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
      async (request) => audit.entries(request.query.after, request.query.limit),
    );

    app.get(
      '/v1/audit/verify',
      {
        schema: {
          tags: ['admin'],
          summary: 'Recompute the whole protocol chain: ok, or the first broken entry',
          response: { 200: chainVerification, ...errors },
        },
      },
      async () => audit.verify(),
    );

    const treeSize = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

    app.get(
      '/v1/audit/checkpoint',
      {
        schema: {
          tags: ['admin'],
          summary:
            'The latest signed checkpoint of the protocol (RFC 9162 root over the entries), or the one of ?size',
          querystring: z.object({ size: treeSize.optional() }).strict(),
          response: { 200: signedCheckpoint, 404: errorResponse, ...errors },
        },
      },
      async (request) => unwrap(await audit.checkpoint(request.query.size)),
    );

    app.get(
      '/v1/audit/proof/:seq',
      {
        schema: {
          tags: ['admin'],
          summary:
            'Inclusion proof (RFC 9162) of entry :seq in the tree of the first ?size entries (default: all)',
          params: z.object({ seq: treeSize }),
          querystring: z.object({ size: treeSize.optional() }).strict(),
          response: { 200: inclusionProof, 404: errorResponse, ...errors },
        },
      },
      async (request) => unwrap(await audit.inclusionProof(request.params.seq, request.query.size)),
    );

    app.get(
      '/v1/audit/consistency',
      {
        schema: {
          tags: ['admin'],
          summary: 'Consistency proof (RFC 9162): the first ?to entries extend the first ?from, unchanged',
          querystring: z.object({ from: treeSize, to: treeSize }).strict(),
          response: { 200: consistencyProof, 404: errorResponse, ...errors },
        },
      },
      async (request) => unwrap(await audit.consistencyProof(request.query.from, request.query.to)),
    );

    app.get(
      '/v1/audit/epoch/:epoch',
      {
        schema: {
          tags: ['admin'],
          summary:
            'A randomness epoch: the signed commitment to its secret (made before it began) and, once over, the secret',
          params: z.object({ epoch: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
          response: { 200: randomnessEpoch, 404: errorResponse, ...errors },
        },
      },
      async (request) => unwrap(await audit.epoch(request.params.epoch)),
    );

    app.get(
      '/v1/audit/export',
      {
        schema: {
          tags: ['admin'],
          summary:
            'The whole protocol with its signed checkpoints, epoch announcements and revealed secrets and the office certificate, for `npm run audit`',
          response: { 200: protocolExport, ...errors },
        },
      },
      async () => audit.export(),
    );

    app.get(
      '/v1/audit/anomalies',
      {
        schema: {
          tags: ['admin'],
          summary:
            'Collusion analytics: station × registrar pairs, recusal rates, free toggles around ready packets, removals around draws (Holm-corrected), and administrators’ actions',
          querystring: z.object({ alpha: z.coerce.number().gt(0).lt(1).optional() }).strict(),
          response: { 200: anomalyReport, ...errors },
        },
      },
      async (request) => audit.anomalies(request.query.alpha),
    );

    app.get(
      '/v1/audit/fairness',
      {
        schema: {
          tags: ['admin'],
          summary:
            'Per service and registrar: packets received vs expected from the pools they were in, chi-square p',
          response: { 200: fairnessReport, ...errors },
        },
      },
      async () => audit.fairness(),
    );
  };
}
