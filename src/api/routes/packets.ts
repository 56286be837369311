import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MEDIA_TYPES } from '../../pipeline/image-probe.js';
import { type Auth, principalId } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { unwrap } from '../outcomes.js';
import { uploadRateLimit } from '../protection.js';
import {
  commonErrors,
  createdPacket,
  createPacketBody,
  errorResponse,
  packetId,
  packetSummary,
  packetView,
  pageNumber,
  pageView,
  receipt,
  storedPage,
  submitBody,
  submitted,
} from '../schemas.js';

const IMAGE_MEDIA_TYPES = Object.values(MEDIA_TYPES);
const errors = commonErrors;

export function packetRoutes(deps: ApiDeps, auth: Auth): FastifyPluginAsyncZod {
  const { config } = deps;
  const { intake } = deps.services;
  const maxPages = config.limits.maxPagesPerPacket;
  const pageParams = z.object({ id: packetId, n: pageNumber(maxPages) });

  return async (app) => {
    // Page bodies are raw image bytes, limited by MAX_PAGE_BYTES; the bytes decide the format, not this header.
    app.addContentTypeParser(
      IMAGE_MEDIA_TYPES,
      { parseAs: 'buffer', bodyLimit: config.limits.maxPageBytes },
      (_request, body, done) => done(null, body),
    );

    app.post(
      '/v1/packets',
      {
        onRequest: auth.requireRole('station'),
        schema: {
          tags: ['station'],
          summary: 'Open a packet for a citizen’s ticket (or a resubmission of an earlier, decided packet)',
          body: createPacketBody,
          response: { 201: createdPacket, 422: errorResponse, ...errors },
        },
      },
      async (request, reply) => {
        const packet = unwrap(await intake.open(principalId(request), request.body));
        return reply
          .code(201)
          .send({ id: packet.id, status: packet.status, trackingCode: packet.trackingCode });
      },
    );

    app.put(
      '/v1/packets/:id/pages/:n',
      {
        onRequest: auth.requireRole('station'),
        bodyLimit: config.limits.maxPageBytes,
        config: { rateLimit: uploadRateLimit(deps) },
        schema: {
          tags: ['station'],
          summary: 'Upload (or rescan) page n as a raw image body',
          description: `Body: image/jpeg, image/png, image/tiff or image/webp, at most ${config.limits.maxPageBytes} bytes.`,
          params: pageParams,
          response: {
            200: storedPage,
            201: storedPage,
            413: errorResponse,
            415: errorResponse,
            422: errorResponse,
            ...errors,
          },
        },
      },
      async (request, reply) => {
        const { id, n } = request.params;
        const stored = unwrap(
          await intake.putPage(
            principalId(request),
            id,
            n,
            request.body as Buffer,
            request.headers['content-type'],
          ),
        );
        const { created, ...page } = stored;
        return reply.code(created ? 201 : 200).send(page);
      },
    );

    app.delete(
      '/v1/packets/:id/pages/:n',
      {
        onRequest: auth.requireRole('station'),
        schema: {
          tags: ['station'],
          summary: 'Remove page n while the packet is open',
          params: pageParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        unwrap(await intake.deletePage(principalId(request), request.params.id, request.params.n));
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/packets/:id/pages/order',
      {
        onRequest: auth.requireRole('station'),
        schema: {
          tags: ['station'],
          summary: 'Renumber the pages 1…k in the order given, in one step',
          description:
            'Name every page of the packet once, as you saw it ({n, sha256}), in its new order. If the pages changed ' +
            'meanwhile nothing moves and the answer (409 pages_changed) lists the pages the packet has.',
          params: z.object({ id: packetId }),
          body: z
            .object({
              order: z
                .array(
                  z.object({ n: pageNumber(maxPages), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
                )
                .min(1)
                .max(maxPages),
            })
            .strict(),
          response: { 200: z.object({ pages: z.array(pageView) }), ...errors },
        },
      },
      async (request) =>
        unwrap(await intake.reorderPages(principalId(request), request.params.id, request.body.order)),
    );

    app.get(
      '/v1/packets/:id/pages/:n/thumbnail',
      {
        onRequest: auth.requireRole('station'),
        schema: {
          tags: ['station'],
          summary: 'A small upright JPEG of a processed page (404 until the page is processed)',
          params: pageParams,
          response: { 200: z.any().describe('image/jpeg'), 304: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        const { id, n } = request.params;
        const { image, etag } = unwrap(await intake.thumbnail(principalId(request), id, n));
        reply.header('etag', etag).header('cache-control', 'private, no-cache');
        if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
        return reply.type('image/jpeg').send(image);
      },
    );

    app.get(
      '/v1/packets/:id/receipt',
      {
        onRequest: auth.requireRole('station'),
        schema: {
          tags: ['station'],
          summary:
            'The citizen’s receipt for a submitted packet: ticket, service, pages and the tracking link',
          params: z.object({ id: packetId }),
          response: { 200: receipt, ...errors },
        },
      },
      async (request) =>
        unwrap(
          await intake.receipt(
            principalId(request),
            request.params.id,
            `${request.protocol}://${request.host}`,
          ),
        ),
    );

    app.get(
      '/v1/packets',
      {
        onRequest: auth.requireRole('station', 'admin'),
        schema: {
          tags: ['station', 'admin'],
          summary:
            'Recent packets (a station: its own; an administrator: the office’s), or the one with a code',
          querystring: z.object({ trackingCode: z.string().min(8).max(32).optional() }).strict(),
          response: { 200: z.array(packetSummary), ...errors },
        },
      },
      async (request) => intake.list(request.principal!, request.query),
    );

    app.post(
      '/v1/packets/:id/submit',
      {
        onRequest: auth.requireRole('station'),
        schema: {
          tags: ['station'],
          summary: 'Seal the packet: pages 1…N must all be present',
          params: z.object({ id: packetId }),
          body: submitBody(maxPages),
          response: { 202: submitted, ...errors },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const { status } = unwrap(await intake.submit(principalId(request), id, request.body.pages));
        return reply.code(202).send({ id, status });
      },
    );

    app.get(
      '/v1/packets/:id',
      {
        onRequest: auth.requireRole('station', 'admin'),
        schema: {
          tags: ['station', 'admin'],
          summary: 'Packet status and per-page status (admin sees more)',
          params: z.object({ id: packetId }),
          response: { 200: packetView, ...errors },
        },
      },
      async (request) => unwrap(await intake.view(request.principal!, request.params.id)),
    );
  };
}
