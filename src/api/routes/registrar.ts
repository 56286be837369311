import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PAGE_WARNINGS } from '../../domain/page-warnings.js';
import { type Auth, principalId } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { unwrap } from '../outcomes.js';
import { commonErrors, packetId, pageNumber } from '../schemas.js';

const errors = commonErrors;

const assignmentView = z.object({
  packetId: z.string(),
  service: z.string(),
  ticket: z.string(),
  pages: z.number(),
  assignedAt: z.string(),
  pdf: z.object({ sha256: z.string(), bytes: z.number() }),
});

export function registrarRoutes(deps: ApiDeps, auth: Auth): FastifyPluginAsyncZod {
  const { desk } = deps.services;
  return async (app) => {
    app.addHook('onRequest', auth.requireRole('registrar'));

    app.get(
      '/v1/registrar/me',
      {
        schema: {
          tags: ['registrar'],
          summary: 'Your name, services and status (busy while you hold a packet)',
          response: {
            200: z.object({
              id: z.string(),
              name: z.string(),
              services: z.array(z.string()),
              status: z.string(),
              awayAfterCurrentPacket: z.boolean(),
              /** After a recusal: no packet is drawn for him until then. */
              cooldownUntil: z.string().optional(),
            }),
            ...errors,
          },
        },
      },
      async (request) => unwrap(await desk.me(principalId(request))),
    );

    app.get(
      '/v1/registrar/packets/:id',
      {
        schema: {
          tags: ['registrar'],
          summary: 'The packet drawn for you: ticket, service, times, and per page what processing found',
          params: z.object({ id: packetId }),
          response: {
            200: z.object({
              packetId: z.string(),
              ticket: z.string(),
              service: z.string(),
              status: z.string(),
              submittedAt: z.string().optional(),
              assignedAt: z.string().optional(),
              pdf: z.object({ sha256: z.string(), bytes: z.number(), pages: z.number() }),
              pages: z.array(
                z.object({
                  n: z.number(),
                  ocrConfidence: z.number().nullable(),
                  blank: z.boolean(),
                  skewDeg: z.number(),
                  orientation: z.number(),
                  warnings: z.array(z.enum(PAGE_WARNINGS)),
                }),
              ),
            }),
            ...errors,
          },
        },
      },
      async (request) => unwrap(await desk.packet(principalId(request), request.params.id)),
    );

    app.get(
      '/v1/registrar/packets/:id/signature',
      {
        schema: {
          tags: ['registrar'],
          summary: 'The PDF’s signature, verified by the server now: signer, time, whole file covered',
          params: z.object({ id: packetId }),
          response: {
            200: z.union([
              z.object({
                valid: z.literal(true),
                signer: z.string(),
                signedAt: z.string(),
                coversWholeFile: z.literal(true),
                matchesRecord: z.boolean(),
              }),
              z.object({ valid: z.literal(false), reason: z.string() }),
            ]),
            ...errors,
          },
        },
      },
      async (request) => unwrap(await desk.signature(principalId(request), request.params.id)),
    );

    app.put(
      '/v1/registrar/status',
      {
        schema: {
          tags: ['registrar'],
          summary:
            'Say you are free (ready for a packet) or away; while holding a packet, away takes effect after it',
          body: z.object({ status: z.enum(['free', 'away']) }).strict(),
          response: { 200: z.object({ status: z.string(), awayAfterCurrentPacket: z.boolean() }), ...errors },
        },
      },
      async (request) => unwrap(await desk.setStatus(principalId(request), request.body.status)),
    );

    app.get(
      '/v1/registrar/assignment',
      {
        schema: {
          tags: ['registrar'],
          summary: 'The packet drawn for you; 204 when none. ?wait=N long-polls up to N seconds (max 30)',
          querystring: z.object({ wait: z.coerce.number().int().min(0).max(30).default(0) }).strict(),
          response: { 200: assignmentView, 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        const assignment = await desk.waitForAssignment(
          principalId(request),
          request.query.wait,
          () => request.raw.destroyed,
        );
        return assignment ? reply.code(200).send(assignment) : reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/registrar/packets/:id/pdf',
      {
        schema: {
          tags: ['registrar'],
          summary: 'The signed packet PDF (only for the registrar it was drawn for)',
          params: z.object({ id: packetId }),
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const pdf = unwrap(await desk.openPdf(principalId(request), id));
        return reply
          .header('content-type', 'application/pdf')
          .header('content-length', pdf.bytes)
          .header('content-disposition', `attachment; filename="${id}.pdf"`)
          .header('x-content-sha256', pdf.sha256)
          .header('cache-control', 'private, no-store')
          .send(pdf.stream);
      },
    );

    app.get(
      '/v1/registrar/packets/:id/pages/:n/text',
      {
        schema: {
          tags: ['registrar'],
          summary: 'The OCR text of one page',
          params: z.object({ id: packetId, n: pageNumber(500) }),
          response: { 200: z.object({ n: z.number(), text: z.string(), confidence: z.number() }), ...errors },
        },
      },
      async (request) =>
        unwrap(await desk.pageText(principalId(request), request.params.id, request.params.n)),
    );

    app.post(
      '/v1/registrar/packets/:id/decision',
      {
        schema: {
          tags: ['registrar'],
          summary: 'Record the decision; you become free again (or away, if you asked)',
          params: z.object({ id: packetId }),
          body: z
            .object({
              outcome: z.enum(['approved', 'rejected']),
              note: z.string().trim().max(2000).optional(),
            })
            .strict(),
          response: {
            200: z.object({ id: z.string(), status: z.literal('decided'), outcome: z.string() }),
            ...errors,
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        const { outcome, note = '' } = request.body;
        unwrap(await desk.decide(principalId(request), id, outcome, note));
        return { id, status: 'decided' as const, outcome };
      },
    );

    app.post(
      '/v1/registrar/packets/:id/recuse',
      {
        schema: {
          tags: ['registrar'],
          summary: 'Step aside: the packet goes back and is drawn again without you',
          params: z.object({ id: packetId }),
          body: z.object({ reason: z.string().trim().min(3).max(500) }).strict(),
          response: { 202: z.object({ id: z.string(), status: z.literal('ready') }), ...errors },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        unwrap(await desk.recuse(principalId(request), id, request.body.reason));
        return reply.code(202).send({ id, status: 'ready' as const });
      },
    );
  };
}
