import { z } from 'zod';
import { idPattern } from '../domain/ids.js';
import { PAGE_WARNINGS } from '../domain/page-warnings.js';
import { PACKET_STATUSES, PAGE_STATUSES, PUBLIC_STATUSES } from '../domain/status.js';
import { IMAGE_FORMATS, REGISTRAR_STATUSES } from '../domain/types.js';

/** Request and response schemas: one source for validation, TypeScript types and the OpenAPI document. */

const displayName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');
const serviceSlug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a service slug: lowercase letters, digits, dashes (max 40)');
/** Office queue tickets such as "A-017" or "№ 12/3"; letters of any script, digits and a few separators. */
const ticket = z
  .string()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} .#№_-]{0,63}$/u, 'letters, digits, space and . # № _ - (max 64)');

export const packetId = z.string().regex(idPattern('packet'), 'a packet id (pk_…)');
export const pageNumber = (max: number) => z.coerce.number().int().min(1).max(max);

export const errorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string() }).loose(),
});

/** The error answers most authenticated routes can give, for the OpenAPI document. */
export const commonErrors = {
  400: errorResponse,
  401: errorResponse,
  403: errorResponse,
  404: errorResponse,
  409: errorResponse,
};

export const createServiceBody = z
  .object({ slug: serviceSlug, names: z.object({ uk: displayName, en: displayName }).strict() })
  .strict();
export const service = z.object({
  slug: z.string(),
  names: z.object({ uk: z.string(), en: z.string() }),
  createdAt: z.string(),
});

export const createStationBody = z.object({ name: displayName }).strict();
export const station = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });
export const createdStation = station.extend({ token: z.string() });

export const createRegistrarBody = z
  .object({ name: displayName, services: z.array(serviceSlug).min(1).max(50) })
  .strict();
export const registrar = z.object({
  id: z.string(),
  name: z.string(),
  services: z.array(z.string()),
  status: z.enum(REGISTRAR_STATUSES),
  createdAt: z.string(),
});
export const createdRegistrar = registrar.extend({ token: z.string() });

export const createPacketBody = z
  .object({
    ticket,
    service: serviceSlug,
    /** The tracking code of an earlier, rejected packet this one resubmits (same service). */
    resubmissionOf: z.string().min(8).max(32).optional(),
  })
  .strict();
export const createdPacket = z.object({
  id: z.string(),
  status: z.enum(PACKET_STATUSES),
  trackingCode: z.string(),
});

export const storedPage = z.object({ n: z.number(), sha256: z.string(), bytes: z.number() });

export const submitBody = (maxPages: number) =>
  z.object({ pages: z.number().int().min(1).max(maxPages) }).strict();
export const submitted = z.object({ id: z.string(), status: z.enum(PACKET_STATUSES) });

/** The pipeline's summary of a page; storage keys are internal and left out. */
export const pageProcessingView = z.object({
  orientation: z.number(),
  skewDeg: z.number(),
  blank: z.boolean(),
  ocrConfidence: z.number().nullable(),
  dpi: z.number(),
  colour: z.boolean(),
  width: z.number(),
  height: z.number(),
  imageTurnDeg: z.number().optional(),
  imageFormat: z.enum(['jpeg', 'png']).optional(),
  ms: z.record(z.string(), z.number()),
  processedSha256: z.string(),
  processedBytes: z.number(),
  finishedAt: z.string(),
});

export const pageView = z.object({
  n: z.number(),
  status: z.enum(PAGE_STATUSES),
  sha256: z.string(),
  bytes: z.number(),
  format: z.enum(IMAGE_FORMATS),
  width: z.number(),
  height: z.number(),
  storedAt: z.string(),
  failure: z.string().optional(),
  /** The scanner document the page came in: its SHA-256 and the page's place in it. */
  source: z.object({ document: z.string(), index: z.number() }).optional(),
  processing: pageProcessingView.optional(),
  /** What a person should look at twice (processed pages only). */
  warnings: z.array(z.enum(PAGE_WARNINGS)),
});

export const packetView = z.object({
  id: z.string(),
  ticket: z.string(),
  service: z.string(),
  status: z.enum(PACKET_STATUSES),
  trackingCode: z.string(),
  createdAt: z.string(),
  submittedAt: z.string().optional(),
  pageCount: z.number().optional(),
  failure: z.string().optional(),
  rescanPages: z.array(z.number()).optional(),
  readyAt: z.string().optional(),
  pages: z.array(pageView),
  /** Admin view only. */
  stationId: z.string().optional(),
  pdf: z.object({ key: z.string(), sha256: z.string(), bytes: z.number(), pages: z.number() }).optional(),
  registrarId: z.string().optional(),
  assignedAt: z.string().optional(),
  /** What the reconciler repaired on this packet (admin view only). */
  repairs: z.array(z.object({ at: z.string(), kind: z.string(), detail: z.string() })).optional(),
  outcome: z.enum(['approved', 'rejected']).optional(),
  decidedAt: z.string().optional(),
});

export const packetSummary = packetView.pick({
  id: true,
  ticket: true,
  service: true,
  status: true,
  trackingCode: true,
  createdAt: true,
  submittedAt: true,
  pageCount: true,
  rescanPages: true,
});

export const receipt = z.object({
  office: z.string(),
  ticket: z.string(),
  service: z.object({ slug: z.string(), names: z.object({ uk: z.string(), en: z.string() }) }),
  submittedAt: z.string(),
  pageCount: z.number(),
  trackingCode: z.string(),
  trackingUrl: z.string(),
});

export const trackingParams = z.object({ trackingCode: z.string().min(8).max(32) });
export const trackingView = z.object({
  status: z.enum(PUBLIC_STATUSES),
  outcome: z.enum(['approved', 'rejected']).optional(),
});

const serviceNames = z.object({ uk: z.string(), en: z.string() });
export const officeNow = z.object({
  at: z.string(),
  minPool: z.number(),
  services: z.array(
    z.object({
      slug: z.string(),
      names: serviceNames,
      registrars: z.array(
        z.object({ id: z.string(), name: z.string(), status: z.enum(['free', 'busy', 'away']) }),
      ),
      free: z.number(),
      busy: z.number(),
      away: z.number(),
      waiting: z.array(
        z.object({
          packetId: z.string(),
          readySince: z.string(),
          waitedSeconds: z.number(),
          eligible: z.number(),
          starved: z.boolean(),
        }),
      ),
    }),
  ),
  queues: z.array(
    z.object({
      name: z.string(),
      waiting: z.number(),
      active: z.number(),
      delayed: z.number(),
      failed: z.number(),
    }),
  ),
});

export const fairnessReport = z.object({
  services: z.array(
    z.object({
      service: z.string(),
      draws: z.number(),
      chiSquare: z.number(),
      degreesOfFreedom: z.number(),
      pValue: z.number().nullable(),
      registrars: z.array(
        z.object({
          registrarId: z.string(),
          received: z.number(),
          expected: z.number(),
          low: z.number(),
          high: z.number(),
        }),
      ),
    }),
  ),
});

export const chainVerification = z.union([
  z.object({
    ok: z.literal(true),
    entries: z.number(),
    head: z.object({ seq: z.number(), hash: z.string() }),
    /** Entries found the same in the S3 mirror, and entries not copied there yet. */
    mirror: z.object({ mirrored: z.number(), behind: z.number() }),
    /** Signed checkpoints that hold, and how many entries the largest covers. */
    checkpoints: z.object({ signed: z.number(), coveredEntries: z.number() }),
    /** Draws recomputed from revealed epoch secrets; of epochs not over; of epochs not announced in advance. */
    draws: z.object({
      verified: z.number(),
      pending: z.number(),
      uncommitted: z.number(),
      /** Of them, draws that mixed in a drand round verified against its pinned chain. */
      beacons: z.number(),
    }),
    /** Exclusions earlier entries justify, and `away` ones of registrars the log has not seen yet (created away). */
    exclusions: z.object({ justified: z.number(), notInLog: z.number() }),
  }),
  z.object({ ok: z.literal(false), entries: z.number(), brokenAt: z.number(), reason: z.string() }),
]);

const hexHash = z.string().regex(/^[0-9a-f]{64}$/);

export const signedCheckpoint = z.object({
  body: z.object({
    deployment: z.string(),
    treeSize: z.number(),
    rootHash: hexHash,
    headHash: hexHash,
    at: z.string(),
    /** The randomness epochs announced by then, from the current one on, with their commitments. */
    epochs: z.array(z.object({ epoch: z.number(), commitment: hexHash })).optional(),
  }),
  signature: z.string(),
  certificate: z.string(),
});

export const inclusionProof = z.object({
  seq: z.number(),
  treeSize: z.number(),
  leafHash: hexHash,
  path: z.array(hexHash),
});

export const consistencyProof = z.object({ from: z.number(), to: z.number(), path: z.array(hexHash) });

export const randomnessEpoch = z.object({
  announcement: z.object({
    body: z.object({
      deployment: z.string(),
      epoch: z.number(),
      epochSeconds: z.number(),
      commitment: hexHash,
      announcedAt: z.string(),
    }),
    signature: z.string(),
    certificate: z.string(),
  }),
  secret: hexHash.optional(),
});

export const protocolExport = z.object({
  format: z.literal('scan-office-protocol-export/1'),
  deployment: z.string(),
  exportedAt: z.string(),
  certificate: z.string(),
  entries: z.array(z.record(z.string(), z.unknown())),
  checkpoints: z.array(signedCheckpoint),
  epochs: z.array(randomnessEpoch.extend({ epoch: z.number() })),
});

const finding = z.object({
  subject: z.record(z.string(), z.string()),
  statistic: z.record(z.string(), z.unknown()),
  pValue: z.number(),
  adjustedPValue: z.number(),
  flagged: z.boolean(),
  entries: z.array(z.number()),
});

export const anomalyReport = z.object({
  alpha: z.number(),
  correction: z.object({ method: z.literal('holm'), family: z.string(), tests: z.number() }),
  flagged: z.number(),
  pairs: z.array(finding),
  recusals: z.array(finding),
  freeToggles: z.array(finding),
  removals: z.array(finding),
  /** Administrators taking registrars out of the pool, with their reasons: counted here, newest last. */
  administratorActions: z.object({
    count: z.number(),
    releasedPackets: z.number(),
    latest: z.array(
      z.object({
        at: z.string(),
        registrarId: z.string(),
        action: z.enum(['away', 'removed']),
        reason: z.string(),
        released: z.object({ packetId: z.string(), seq: z.number() }).optional(),
        awayAfterPacket: z.boolean().optional(),
      }),
    ),
  }),
});
