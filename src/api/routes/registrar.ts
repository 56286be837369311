import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, conflict, notFound } from '../../domain/errors.js';
import type { Packet } from '../../domain/types.js';
import type { OcrResult } from '../../pipeline/ocr.js';
import { type Auth, principalId } from '../auth.js';
import type { AppDeps } from '../deps.js';
import { commonErrors, packetId, pageNumber } from '../schemas.js';

const errors = commonErrors;
const LONG_POLL_STEP_MS = 250;

const assignmentView = z.object({
  packetId: z.string(),
  service: z.string(),
  ticket: z.string(),
  pages: z.number(),
  assignedAt: z.string(),
  pdf: z.object({ sha256: z.string(), bytes: z.number() }),
});

export function registrarRoutes(deps: AppDeps, auth: Auth): FastifyPluginAsyncZod {
  const { packets, principals, assignments, store } = deps;

  /** A registrar sees only the packet drawn for him (and, afterwards, the ones he decided); others look absent. */
  async function ownPacket(registrarId: string, id: string): Promise<Packet> {
    const packet = await packets.get(id);
    if (!packet || packet.registrarId !== registrarId) throw notFound('Packet');
    return packet;
  }

  async function currentAssignment(registrarId: string) {
    const registrar = await principals.getRegistrar(registrarId);
    if (!registrar?.packetId) return undefined;
    const packet = await packets.get(registrar.packetId);
    if (packet?.status !== 'assigned' || packet.registrarId !== registrarId || !packet.pdf) return undefined;
    return {
      packetId: packet.id,
      service: packet.service,
      ticket: packet.ticket,
      pages: packet.pdf.pages,
      assignedAt: packet.assignedAt!,
      pdf: { sha256: packet.pdf.sha256, bytes: packet.pdf.bytes },
    };
  }

  return async (app) => {
    app.addHook('preHandler', auth.requireRole('registrar'));

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
      async (request) => {
        const requested = request.body.status;
        const status = await assignments.setRegistrarStatus(principalId(request), requested);
        if (status === 'missing' || status === 'removed')
          throw new AppError(403, 'forbidden', 'This registrar was removed');
        request.log.info({ registrarId: principalId(request), requested, status }, 'registrar status');
        return { status, awayAfterCurrentPacket: status === 'busy' && requested === 'away' };
      },
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
        const registrarId = principalId(request);
        const deadline = Date.now() + request.query.wait * 1000;
        for (;;) {
          const assignment = await currentAssignment(registrarId);
          if (assignment) return reply.code(200).send(assignment);
          if (Date.now() >= deadline || request.raw.destroyed) return reply.code(204).send(null);
          await sleep(LONG_POLL_STEP_MS);
        }
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
        const packet = await ownPacket(principalId(request), request.params.id);
        if (!packet.pdf) throw notFound('Packet PDF');
        // Streamed, not buffered: a packet PDF can reach hundreds of MB, and several registrars download at once.
        const pdf = await store.getStream(packet.pdf.key);
        request.log.info({ packetId: packet.id }, 'registrar downloaded the packet PDF');
        return reply
          .header('content-type', 'application/pdf')
          .header('content-length', packet.pdf.bytes)
          .header('content-disposition', `attachment; filename="${packet.id}.pdf"`)
          .header('x-content-sha256', packet.pdf.sha256)
          .header('cache-control', 'private, no-store')
          .send(pdf);
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
      async (request) => {
        const packet = await ownPacket(principalId(request), request.params.id);
        const page = await packets.getPage(packet.id, request.params.n);
        if (!page?.processing || request.params.n > (packet.pageCount ?? 0)) throw notFound('Page');
        const ocr = JSON.parse((await store.get(page.processing.ocrKey)).toString('utf8')) as OcrResult;
        return { n: page.n, text: ocr.text, confidence: ocr.confidence };
      },
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
        const registrarId = principalId(request);
        const packet = await ownPacket(registrarId, request.params.id);
        const { outcome } = await assignments.decide(
          packet.id,
          registrarId,
          packet.drawSeq ?? 0,
          request.body.outcome,
          request.body.note ?? '',
        );
        if (outcome === 'not_yours') throw notFound('Packet');
        if (outcome !== 'ok')
          throw conflict('not_assigned', `Packet is ${outcome}; it cannot be decided now`, {
            status: outcome,
          });
        request.log.info(
          { packetId: packet.id, registrarId, outcome: request.body.outcome },
          'packet decided',
        );
        return { id: packet.id, status: 'decided' as const, outcome: request.body.outcome };
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
        const registrarId = principalId(request);
        const packet = await ownPacket(registrarId, request.params.id);
        const { outcome, entry } = await assignments.release(
          packet.id,
          registrarId,
          packet.drawSeq ?? 0,
          'recusal',
          '',
        );
        if (outcome === 'not_yours') throw notFound('Packet');
        if (outcome !== 'ok')
          throw conflict('not_assigned', `Packet is ${outcome}; recusal is no longer possible`, {
            status: outcome,
          });
        // The reason stays in the log for the administrator; the protocol records the fact, not the words.
        request.log.info(
          { packetId: packet.id, registrarId, seq: entry.seq, reason: request.body.reason },
          'registrar recused',
        );
        return reply.code(202).send({ id: packet.id, status: 'ready' as const });
      },
    );
  };
}
