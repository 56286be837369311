import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, conflict, notFound } from '../../domain/errors.js';
import type { Packet, Page } from '../../domain/types.js';
import { MEDIA_TYPES, probeImage } from '../../pipeline/image-probe.js';
import { originalPageKey } from '../../storage/object-keys.js';
import { type Auth, principalId } from '../auth.js';
import type { AppDeps } from '../deps.js';
import { uploadRateLimit } from '../protection.js';
import {
  commonErrors,
  createdPacket,
  createPacketBody,
  errorResponse,
  packetId,
  packetView,
  pageNumber,
  storedPage,
  submitBody,
  submitted,
} from '../schemas.js';

const IMAGE_MEDIA_TYPES = Object.values(MEDIA_TYPES);
const errors = commonErrors;

export function packetRoutes(deps: AppDeps, auth: Auth): FastifyPluginAsyncZod {
  const { packets, store, jobs, metrics, config, progress } = deps;
  const maxPages = config.limits.maxPagesPerPacket;
  const pageParams = z.object({ id: packetId, n: pageNumber(maxPages) });

  /** A station sees only its own packets; anyone else's look exactly like packets that do not exist. */
  async function ownedPacket(stationId: string, id: string): Promise<Packet> {
    const packet = await packets.get(id);
    if (!packet || packet.stationId !== stationId) throw notFound('Packet');
    return packet;
  }

  const enqueuePage = (packet: Packet, page: Page) =>
    jobs.enqueue('processPage', {
      packetId: packet.id,
      n: page.n,
      sha256: page.sha256,
      originalKey: page.originalKey,
    });

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
        preHandler: auth.requireRole('station'),
        schema: {
          tags: ['station'],
          summary: 'Open a packet for a citizen’s ticket',
          body: createPacketBody,
          response: { 201: createdPacket, ...errors },
        },
      },
      async (request, reply) => {
        const packet = await packets.create({ ...request.body, stationId: principalId(request) });
        request.log.info({ packetId: packet.id }, 'packet opened');
        return reply
          .code(201)
          .send({ id: packet.id, status: packet.status, trackingCode: packet.trackingCode });
      },
    );

    app.put(
      '/v1/packets/:id/pages/:n',
      {
        preHandler: auth.requireRole('station'),
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
        const body = request.body as Buffer;
        const packet = await ownedPacket(principalId(request), id);
        const log = request.log.child({ packetId: id, page: n });

        const probe = await probeImage(body, {
          declaredMediaType: request.headers['content-type'],
          maxPixels: config.limits.maxPagePixels,
        });
        if (!probe.ok) {
          metrics.pagesUploaded.inc({ outcome: 'rejected' });
          throw new AppError(probe.rejection.status, probe.rejection.code, probe.rejection.message);
        }
        const sha256 = createHash('sha256').update(body).digest('hex');
        const page: Page = {
          n,
          status: 'stored',
          sha256,
          bytes: body.length,
          format: probe.image.format,
          width: probe.image.width,
          height: probe.image.height,
          originalKey: originalPageKey(id, n, sha256),
          storedAt: new Date().toISOString(),
        };

        const existing = await packets.getPage(id, n);
        const mayRescan = packet.status === 'failed' && packet.rescanPages?.includes(n);
        if (existing?.sha256 !== sha256 && packet.status !== 'open' && !mayRescan) {
          throw conflict(
            'packet_not_open',
            `Packet is ${packet.status}; pages can change only while it is open`,
            {
              status: packet.status,
            },
          );
        }
        if (existing?.sha256 !== sha256) {
          // Acknowledge only what is durably stored: the bytes go to S3 before the page record exists.
          await store.put(page.originalKey, body, MEDIA_TYPES[page.format], sha256);
        }
        const result = await packets.putPage(id, page);
        switch (result.outcome) {
          case 'missing':
            throw notFound('Packet');
          case 'not_open':
            throw conflict(
              'packet_not_open',
              `Packet is ${result.status}; pages can change only while it is open`,
              {
                status: result.status,
              },
            );
          case 'rescan_only':
            throw conflict(
              'rescan_only',
              `Only pages ${result.pages.join(', ')} may be rescanned in this packet`,
              {
                pages: result.pages,
              },
            );
          case 'same':
            // An idempotent retry. If the first attempt stored the page but failed before enqueuing, enqueue now;
            // the deterministic job id makes this a no-op when the job exists.
            if (result.previous.status === 'stored') await enqueuePage(packet, result.previous);
            metrics.pagesUploaded.inc({ outcome: 'unchanged' });
            return reply.code(200).send({ n, sha256, bytes: body.length });
          default:
            await enqueuePage(packet, page);
            metrics.pagesUploaded.inc({ outcome: result.outcome });
            log.info({ sha256, bytes: body.length, outcome: result.outcome }, 'page stored');
            return reply.code(201).send({ n, sha256, bytes: body.length });
        }
      },
    );

    app.delete(
      '/v1/packets/:id/pages/:n',
      {
        preHandler: auth.requireRole('station'),
        schema: {
          tags: ['station'],
          summary: 'Remove page n while the packet is open',
          params: pageParams,
          response: { 204: z.null(), ...errors },
        },
      },
      async (request, reply) => {
        const { id, n } = request.params;
        await ownedPacket(principalId(request), id);
        const outcome = await packets.deletePage(id, n);
        if (outcome === 'missing' || outcome === 'absent')
          throw notFound(outcome === 'missing' ? 'Packet' : 'Page');
        if (outcome === 'rescan_only') {
          throw conflict('rescan_only', 'Only the pages to rescan may change in this packet');
        }
        if (outcome !== 'deleted') {
          throw conflict('packet_not_open', `Packet is ${outcome}; pages can change only while it is open`, {
            status: outcome,
          });
        }
        request.log.info({ packetId: id, page: n }, 'page deleted');
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/packets/:id/submit',
      {
        preHandler: auth.requireRole('station'),
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
        const { pages } = request.body;
        await ownedPacket(principalId(request), id);
        const result = await packets.submit(id, pages);
        switch (result.outcome) {
          case 'missing':
            throw notFound('Packet');
          case 'incomplete': {
            const parts = [
              result.missing.length > 0 ? `missing pages ${result.missing.join(', ')}` : '',
              result.extra.length > 0 ? `pages beyond ${pages}: ${result.extra.join(', ')}` : '',
            ].filter(Boolean);
            throw conflict('pages_missing', `Cannot submit ${pages} pages: ${parts.join('; ')}`, {
              missing: result.missing,
              extra: result.extra,
            });
          }
          case 'not_open':
            // A retried submit of the same packet is answered like the first one.
            if (result.pageCount === pages) return reply.code(202).send({ id, status: result.status });
            throw conflict('packet_not_open', `Packet is already ${result.status}`, {
              status: result.status,
            });
          default:
            request.log.info({ packetId: id, pages }, 'packet submitted');
            // Pages may all be done already (they are processed while the operator scans): move on at once.
            await progress.advance(id);
            return reply.code(202).send({ id, status: 'submitted' as const });
        }
      },
    );

    app.get(
      '/v1/packets/:id',
      {
        preHandler: auth.requireRole('station', 'admin'),
        schema: {
          tags: ['station', 'admin'],
          summary: 'Packet status and per-page status (admin sees more)',
          params: z.object({ id: packetId }),
          response: { 200: packetView, ...errors },
        },
      },
      async (request) => {
        const principal = request.principal!;
        const packet =
          principal.role === 'station'
            ? await ownedPacket(principal.id, request.params.id)
            : await packets.get(request.params.id);
        if (!packet) throw notFound('Packet');
        const pages = (await packets.listPages(packet.id)).map(({ originalKey: _key, ...page }) => page);
        // Stations see where their packet is and the outcome, never who holds or decided it.
        const { stationId, pdf, registrarId, assignedAt, drawSeq: _seq, note: _note, ...common } = packet;
        const adminOnly = { stationId, pdf, registrarId, assignedAt };
        return { ...common, pages, ...(principal.role === 'admin' ? adminOnly : {}) };
      },
    );
  };
}
