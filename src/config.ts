import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { RESUBMISSION_POLICIES, type ResubmissionPolicy } from './domain/draw.js';
import type { SigningSource } from './infra/signing-identity.js';
import type { PageLimits } from './pipeline/image-probe.js';

export const ROLES = ['api', 'worker', 'dispatcher', 'all'] as const;
export type Role = (typeof ROLES)[number];

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  ROLE: z.enum(ROLES).default('all'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),

  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,40}$/, 'lowercase letters, digits and dashes')
    .default('scan'),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.default(5000),

  S3_ENDPOINT: z.string().min(1).optional(),
  S3_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  S3_USE_SSL: booleanFromEnv.default(false),
  S3_ACCESS_KEY: z.string().min(1).optional(),
  S3_SECRET_KEY: z.string().min(1).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'a valid S3 bucket name')
    .default('scan-office'),
  S3_TIMEOUT_MS: positiveInt.default(5000),

  ADMIN_TOKEN: z.string().min(32, 'at least 32 characters').optional(),

  MAX_PAGE_BYTES: positiveInt.default(25 * 1024 * 1024),
  MAX_PAGE_PIXELS: positiveInt.default(60_000_000),
  MAX_DOCUMENT_BYTES: positiveInt.default(200 * 1024 * 1024),
  MAX_PAGES_PER_PACKET: z.coerce.number().int().min(1).max(500).default(500),
  MAX_PAGE_DECODED_BYTES: positiveInt.default(256 * 1024 * 1024),
  MIN_PAGE_SIDE_PX: positiveInt.default(200),
  MAX_PAGE_ASPECT: z.coerce.number().min(1).max(100).default(8),

  OCR_CONCURRENCY: positiveInt.max(64).optional(),
  OCR_RECYCLE_PAGES: positiveInt.default(200),
  OCR_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),
  OCR_LANGS: z
    .string()
    .regex(/^[a-z_]{3,8}(\+[a-z_]{3,8})*$/, 'tesseract language codes joined by +, e.g. ukr+eng')
    .default('ukr+eng'),
  OCR_MODEL: z.enum(['best_int', 'standard']).default('best_int'),
  OCR_PSM: z.coerce.number().int().min(0).max(13).default(3),
  PAGE_JPEG_QUALITY: z.coerce.number().int().min(30).max(95).default(70),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),

  OFFICE_NAME: z.string().trim().min(1).max(100).default('Model administrative office'),
  OFFICE_LOCATION: z.string().trim().min(1).max(100).default('Ukraine'),
  SIGNING_P12: z.string().min(1).optional(),
  SIGNING_P12_PASSWORD: z.string().optional(),
  SIGNING_KEY_FILE: z.string().min(1).optional(),
  SIGNING_CERT_FILE: z.string().min(1).optional(),

  DISPATCH_MIN_POOL: z.coerce.number().int().min(1).max(100).default(1),
  DISPATCH_WINDOW: z.coerce.number().int().min(1).max(100).default(3),
  DISPATCH_SWEEP_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
  DRAW_BEACON_URL: z.string().url().optional(),
  DRAW_BEACON_CHAIN: z.enum(['quicknet', 'mainnet']).default('quicknet'),
  RESUBMISSION_POLICY: z.enum(RESUBMISSION_POLICIES).default('exclude_earlier'),
  RECUSAL_COOLDOWN_SECONDS: z.coerce.number().int().min(0).max(86_400).default(900),
  CHECKPOINT_ENTRIES: z.coerce.number().int().min(1).max(1_000_000).default(100),
  CHECKPOINT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  DRAW_EPOCH_SECONDS: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(86_400),

  RATE_LIMIT_UPLOADS_PER_MINUTE: positiveInt.default(600),
  RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: positiveInt.default(120),
  REQUEST_TIMEOUT_MS: positiveInt.default(60_000),
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: positiveInt.default(1000),
  PRESSURE_MAX_HEAP_BYTES: positiveInt.default(3 * 1024 * 1024 * 1024),
  JOB_LOCK_MS: z.coerce.number().int().min(1000).default(60_000),
  JOB_STALLED_CHECK_MS: z.coerce.number().int().min(500).default(30_000),
  JOB_RETRY_WINDOW_S: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(15 * 60),
  RECONCILE_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .min(0.01)
    .max(24 * 30)
    .default(12),
  SESSION_COOKIE_SECURE: booleanFromEnv.default(false),
  /** Where citizens reach the status page (the receipt's QR code); unset, the station's own address is used. */
  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/ })
    .refine((url) => !/[?#]/.test(url), 'a base URL without query or fragment')
    .optional(),
});

export type Config = {
  role: Role;
  port: number;
  host: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  dataDir: string;
  redis: {
    /** The URL to use; when `explicit` is false it is the default and may be replaced by a spawned server. */
    url: string;
    explicit: boolean;
    prefix: string;
    /** Deadline of one command on non-blocking connections; past it the API answers 503. */
    commandTimeoutMs: number;
  };
  /** `undefined` endpoint means "start the embedded S3 server". */
  s3: {
    endpoint: string | undefined;
    port: number | undefined;
    useSsl: boolean;
    accessKey: string | undefined;
    secretKey: string | undefined;
    region: string;
    bucket: string;
    timeoutMs: number;
  };
  adminToken: string | undefined;
  limits: {
    maxPageBytes: number;
    /**
     * A page image: pixels, decoded bytes (width × height × bands × bytes per sample: what decoding costs in
     * memory), and the shape of a sheet (the shorter side at least minSidePx, the sides at most 1:maxAspect).
     */
    page: PageLimits;
    maxPagesPerPacket: number;
    /** MAX_DOCUMENT_BYTES: the largest scanner document (PDF or TIFF) one request may carry. */
    maxDocumentBytes: number;
  };
  ocr: {
    concurrency: number;
    recyclePages: number;
    /** Deadline of one OCR or orientation call, waiting for a free worker included. */
    timeoutMs: number;
    languages: string[];
    model: 'best_int' | 'standard';
    pageSegmentationMode: number;
    jpegQuality: number;
  };
  /** Where worker and dispatcher processes (which have no API) serve /metrics and /health/live. */
  metricsPort: number;
  office: { name: string; location: string; publicBaseUrl?: string };
  signing: SigningSource;
  dispatch: {
    minPool: number;
    window: number;
    sweepSeconds: number;
    epochSeconds: number;
    resubmissionPolicy: ResubmissionPolicy;
    /** After a recusal the registrar is in no draw for this long. */
    recusalCooldownSeconds: number;
    /** A drand relay whose latest round (of the pinned chain) draws mix in; none when unset. */
    beacon?: { url: string; chain: 'quicknet' | 'mainnet' };
  };
  /** A signed checkpoint once this many entries, or this long, passed since the last one (with new entries). */
  checkpoints: { everyEntries: number; everySeconds: number };
  protection: {
    uploadsPerMinute: number;
    /** Requests without a valid token (failed sign-ins, public lookups), per client address. */
    unauthenticatedPerMinute: number;
    maxEventLoopDelayMs: number;
    maxHeapBytes: number;
    requestTimeoutMs: number;
  };
  /**
   * How long a job is locked by its worker, how often dead workers' jobs are looked for (stalled jobs), and how long
   * a job whose dependencies fail (S3, Redis, a crashed worker) keeps being retried before its packet fails.
   */
  jobs: { lockMs: number; stalledCheckMs: number; retryWindowMs: number };
  /** How often the dispatcher role looks for packets without a way forward and re-drives them. */
  reconcileSeconds: number;
  /** Browser sessions: how long one lasts, and whether its cookie is sent over HTTPS only. */
  sessions: { ttlSeconds: number; secureCookie: boolean };
  cpuCount: number;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings are how shells and compose files say "unset".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.S3_ENDPOINT && (!e.S3_ACCESS_KEY || !e.S3_SECRET_KEY)) {
    problems.push('S3_ACCESS_KEY and S3_SECRET_KEY: required when S3_ENDPOINT is set');
  }
  if (e.SIGNING_P12 && (e.SIGNING_KEY_FILE || e.SIGNING_CERT_FILE)) {
    problems.push('SIGNING_P12: set either SIGNING_P12 or SIGNING_KEY_FILE with SIGNING_CERT_FILE, not both');
  }
  if (Boolean(e.SIGNING_KEY_FILE) !== Boolean(e.SIGNING_CERT_FILE)) {
    problems.push('SIGNING_KEY_FILE and SIGNING_CERT_FILE: set both or neither');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const dataDir = path.resolve(e.DATA_DIR);

  return {
    role: e.ROLE,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    dataDir,
    redis: {
      url: e.REDIS_URL ?? DEFAULT_REDIS_URL,
      explicit: e.REDIS_URL !== undefined,
      prefix: e.REDIS_PREFIX,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    },
    s3: {
      endpoint: e.S3_ENDPOINT,
      port: e.S3_PORT,
      useSsl: e.S3_USE_SSL,
      accessKey: e.S3_ACCESS_KEY,
      secretKey: e.S3_SECRET_KEY,
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      timeoutMs: e.S3_TIMEOUT_MS,
    },
    adminToken: e.ADMIN_TOKEN,
    limits: {
      maxPageBytes: e.MAX_PAGE_BYTES,
      page: {
        maxPixels: e.MAX_PAGE_PIXELS,
        maxDecodedBytes: e.MAX_PAGE_DECODED_BYTES,
        minSidePx: e.MIN_PAGE_SIDE_PX,
        maxAspect: e.MAX_PAGE_ASPECT,
      },
      maxPagesPerPacket: e.MAX_PAGES_PER_PACKET,
      maxDocumentBytes: e.MAX_DOCUMENT_BYTES,
    },
    ocr: {
      // OCR is CPU-bound: one tesseract worker per core saturates the machine without oversubscribing it.
      concurrency: e.OCR_CONCURRENCY ?? os.availableParallelism(),
      recyclePages: e.OCR_RECYCLE_PAGES,
      timeoutMs: e.OCR_TIMEOUT_MS,
      languages: e.OCR_LANGS.split('+'),
      model: e.OCR_MODEL,
      pageSegmentationMode: e.OCR_PSM,
      jpegQuality: e.PAGE_JPEG_QUALITY,
    },
    metricsPort: e.METRICS_PORT,
    office: {
      name: e.OFFICE_NAME,
      location: e.OFFICE_LOCATION,
      ...(e.PUBLIC_BASE_URL ? { publicBaseUrl: e.PUBLIC_BASE_URL } : {}),
    },
    protection: {
      uploadsPerMinute: e.RATE_LIMIT_UPLOADS_PER_MINUTE,
      unauthenticatedPerMinute: e.RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE,
      maxEventLoopDelayMs: e.PRESSURE_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapBytes: e.PRESSURE_MAX_HEAP_BYTES,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    },
    jobs: {
      lockMs: e.JOB_LOCK_MS,
      stalledCheckMs: e.JOB_STALLED_CHECK_MS,
      retryWindowMs: e.JOB_RETRY_WINDOW_S * 1000,
    },
    reconcileSeconds: e.RECONCILE_SECONDS,
    sessions: { ttlSeconds: Math.round(e.SESSION_TTL_HOURS * 3600), secureCookie: e.SESSION_COOKIE_SECURE },
    dispatch: {
      minPool: e.DISPATCH_MIN_POOL,
      window: e.DISPATCH_WINDOW,
      sweepSeconds: e.DISPATCH_SWEEP_SECONDS,
      epochSeconds: e.DRAW_EPOCH_SECONDS,
      resubmissionPolicy: e.RESUBMISSION_POLICY,
      recusalCooldownSeconds: e.RECUSAL_COOLDOWN_SECONDS,
      ...(e.DRAW_BEACON_URL
        ? {
            beacon: { url: e.DRAW_BEACON_URL, chain: e.DRAW_BEACON_CHAIN },
          }
        : {}),
    },
    checkpoints: { everyEntries: e.CHECKPOINT_ENTRIES, everySeconds: e.CHECKPOINT_SECONDS },
    signing: e.SIGNING_P12
      ? { kind: 'p12', file: e.SIGNING_P12, password: e.SIGNING_P12_PASSWORD ?? '' }
      : e.SIGNING_KEY_FILE && e.SIGNING_CERT_FILE
        ? { kind: 'pem', keyFile: e.SIGNING_KEY_FILE, certFile: e.SIGNING_CERT_FILE }
        : { kind: 'generated', dataDir, office: e.OFFICE_NAME },
    cpuCount: os.availableParallelism(),
  };
}
