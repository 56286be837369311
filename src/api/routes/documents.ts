import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DOCUMENT_MEDIA_TYPES, type DocumentKind } from '../../pipeline/document.js';
import { type Auth, principalId } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { AppError } from '../http-error.js';
import { unwrap } from '../outcomes.js';
import { uploadRateLimit } from '../protection.js';
import { receiveToFile } from '../receive-file.js';
import { commonErrors, errorResponse, packetId, pageNumber } from '../schemas.js';

const documentAnswer = z.object({
  document: z.object({ sha256: z.string(), bytes: z.number(), pages: z.number() }),
  pages: z.array(z.object({ n: z.number(), sha256: z.string(), bytes: z.number() })),
});

/**
 * Scanner documents: a multi-page PDF or TIFF as the scanner wrote it. In a plugin of its own, so its body parsers
 * hand over the raw stream (streamed to a temporary file) while single-page uploads keep theirs (buffered, small).
 */
export function documentRoutes(deps: ApiDeps, auth: Auth): FastifyPluginAsyncZod {
  const { intake } = deps.services;
  const { maxDocumentBytes, maxPagesPerPacket } = deps.config.limits;
  const kinds = Object.entries(DOCUMENT_MEDIA_TYPES) as Array<[DocumentKind, string]>;
  return async (app) => {
    for (const [, mediaType] of kinds)
      app.addContentTypeParser(mediaType, (_request, payload, done) => done(null, payload));

    app.post(
      '/v1/packets/:id/documents',
      {
        onRequest: auth.requireRole('station'),
        config: { rateLimit: uploadRateLimit(deps) },
        schema: {
          tags: ['station'],
          summary:
            'Add a scanner’s multi-page PDF or TIFF: its pages go after the highest page (or from ?at=n on)',
          description:
            `Body: application/pdf or image/tiff, at most ${maxDocumentBytes} bytes, streamed. 201 with the pages ` +
            'it gave; the same document again answers 200 with the same pages. If any page cannot be used, nothing ' +
            'is added and the error names the page.',
          params: z.object({ id: packetId }),
          querystring: z.object({ at: pageNumber(maxPagesPerPacket).optional() }).strict(),
          response: {
            200: documentAnswer,
            201: documentAnswer,
            413: errorResponse,
            415: errorResponse,
            422: errorResponse,
            ...commonErrors,
          },
        },
      },
      async (request, reply) => {
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > maxDocumentBytes)
          throw new AppError(
            413,
            'payload_too_large',
            `The document is larger than ${maxDocumentBytes} bytes`,
          );
        const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
        const kind = kinds.find(([, type]) => type === mediaType)![0];
        const received = await receiveToFile(request.body as Readable, maxDocumentBytes);
        try {
          const { created, document } = unwrap(
            await intake.addDocument(
              principalId(request),
              request.params.id,
              { ...received, kind },
              request.query.at,
            ),
          );
          return reply.code(created ? 201 : 200).send({
            document: { sha256: document.sha256, bytes: document.bytes, pages: document.pages.length },
            pages: document.pages,
          });
        } finally {
          await received.discard();
        }
      },
    );
  };
}
