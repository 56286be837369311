import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { runAgent } from './agent.js';
import { serviceSlugSchema, ticketSchema } from './folder-rules.js';
import { JournalCorrupt } from './journal.js';
import { createReporter } from './reporter.js';
import { DEFAULT_BACKOFF } from './retry-rules.js';
import { separatorSheetPdf, separatorSheetPng } from './separator-sheet.js';
import { GaveUp, StationRefused } from './service-client.js';

export const USAGE = `scan-office-station — sends the scans of a hot folder to the scan office service

Usage:
  scan-office-station --url URL --token-file FILE --watch DIR [options]
  scan-office-station separator [--ticket T] [--service S] --out sheet.png|sheet.pdf

Watching:
  --url URL                  the service, e.g. http://127.0.0.1:8080
  --token-file FILE          file holding the station's token (as created by POST /v1/stations)
  --watch DIR                the hot folder: one subfolder per packet, named <ticket>__<service>
                             (or with a packet.json {"ticket","service"}); pages in file-name order
  --batch DIR                folder of a continuous batch cut by separator sheets (default DIR/batch)
  --batch-service SLUG       service of batch packets whose separator sheet names none
  --batch-ticket-prefix P    tickets of batch packets whose separator names none: P001, P002, … (default B-)
  --idle SECONDS             send a packet folder without READY once nothing changed in it this long
                             (default 30; 0: only on READY)
  --settle SECONDS           a file is sent only after its size and time stayed the same this long (default 3)
  --max-backoff SECONDS      longest wait between attempts while the service is unreachable (default 30)
  --give-up-after SECONDS    stop (exit 4) when the service fails this long; default: keep trying
  --json                     one JSON object per event instead of sentences
  --help

Separator sheets:
  separator --out FILE       an A4 sheet (PNG or PDF by the name) whose QR code starts the next batch packet;
  --ticket T --service S     optional: the packet's ticket and service, printed on the sheet and in its code

A packet is sent when a file named READY appears in its folder, or when the folder was idle for --idle.
Finished packets move to DIR/done/<name>/ with receipt.json; refused ones to DIR/failed/<name>/ with reason.txt.
Progress is kept in DIR/.scan-office/: after a restart the agent continues without sending anything twice.

Exit codes: 0 stopped (SIGINT/SIGTERM), 2 bad arguments, 3 the service refused the token, 4 gave up
retrying, 5 a journal in DIR/.scan-office is damaged (nothing is guessed: check that packet by hand).
`;

const seconds = z.coerce.number().min(0).max(86_400);

const watchOptions = z
  .object({
    url: z.url({
      protocol: /^https?$/,
      error: (issue) =>
        issue.input === undefined ? 'required: the service’s address' : 'an http:// or https:// address',
    }),
    'token-file': z.string({ error: 'required: the file holding the station’s token' }).min(1),
    watch: z.string({ error: 'required: the hot folder' }).min(1),
    batch: z.string().min(1).optional(),
    'batch-service': serviceSlugSchema.optional(),
    'batch-ticket-prefix': z
      .string()
      .regex(/^[\p{L}\p{N}][\p{L}\p{N} .#№_-]{0,40}$/u, 'letters, digits, space and . # № _ -')
      .default('B-'),
    idle: seconds.default(30),
    settle: seconds.default(3),
    'max-backoff': z.coerce.number().min(1).max(3_600).default(30),
    'give-up-after': z.coerce.number().positive().optional(),
    json: z.boolean().default(false),
  })
  .strict();

const separatorOptions = z
  .object({
    out: z
      .string({ error: 'required: the file to write, ending in .png or .pdf' })
      .regex(/\.(png|pdf)$/i, 'a file name ending in .png or .pdf'),
    ticket: ticketSchema.optional(),
    service: serviceSlugSchema.optional(),
  })
  .strict();

const OPTIONS = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  watch: { type: 'string' },
  batch: { type: 'string' },
  'batch-service': { type: 'string' },
  'batch-ticket-prefix': { type: 'string' },
  idle: { type: 'string' },
  settle: { type: 'string' },
  'max-backoff': { type: 'string' },
  'give-up-after': { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  ticket: { type: 'string' },
  service: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type CliIo = { out: (text: string) => void; err: (text: string) => void; stop: AbortSignal };

class UsageError extends Error {}

function parse<T>(schema: z.ZodType<T>, values: Record<string, unknown>): T {
  const parsed = schema.safeParse(values);
  if (!parsed.success)
    throw new UsageError(
      parsed.error.issues
        .map((issue) =>
          issue.code === 'unrecognized_keys'
            ? `not an option here: ${issue.keys.map((key) => `--${key}`).join(', ')}`
            : `--${issue.path.join('.')}: ${issue.message}`,
        )
        .join('\n'),
    );
  return parsed.data;
}

/** Runs the command line; resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const { help, ...rest } = values;
    if (help) {
      io.out(USAGE);
      return 0;
    }
    const [command, ...extra] = positionals;
    if (extra.length > 0 || (command !== undefined && command !== 'separator'))
      throw new UsageError(`unknown command: ${positionals.join(' ')}`);
    if (command === 'separator') return await separator(parse(separatorOptions, rest), io);
    return await watch(parse(watchOptions, rest), io);
  } catch (error) {
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${(error as Error).message}\n\nRun with --help for the options.\n`);
      return 2;
    }
    if (error instanceof StationRefused) {
      io.err(`${error.message}\nCheck --token-file; nothing was moved or marked failed.\n`);
      return 3;
    }
    if (error instanceof JournalCorrupt) {
      io.err(`${error.message}\n`);
      return 5;
    }
    if (error instanceof GaveUp) {
      io.err(`${error.message}\nThe journal keeps the place: the next start continues from there.\n`);
      return 4;
    }
    throw error;
  }
}

async function separator(options: z.infer<typeof separatorOptions>, io: CliIo): Promise<number> {
  const code = {
    ...(options.ticket ? { ticket: options.ticket } : {}),
    ...(options.service ? { service: options.service } : {}),
  };
  const sheet = /\.pdf$/i.test(options.out) ? await separatorSheetPdf(code) : await separatorSheetPng(code);
  await writeFile(options.out, sheet);
  io.out(`separator sheet written to ${options.out}\n`);
  return 0;
}

async function watch(options: z.infer<typeof watchOptions>, io: CliIo): Promise<number> {
  let token: string;
  try {
    token = (await readFile(options['token-file'], 'utf8')).trim();
  } catch (error) {
    throw new UsageError(`--token-file: cannot read ${options['token-file']} (${(error as Error).message})`);
  }
  if (!token) throw new UsageError(`--token-file: ${options['token-file']} is empty`);
  const hotFolder = path.resolve(options.watch);
  const settleMs = options.settle * 1000;
  await runAgent(
    {
      url: options.url,
      token,
      hotFolder,
      batchDir: path.resolve(options.batch ?? path.join(hotFolder, 'batch')),
      settleMs,
      idleMs: options.idle * 1000,
      ...(options['batch-service'] ? { batchService: options['batch-service'] } : {}),
      batchTicketPrefix: options['batch-ticket-prefix'],
      backoff: { ...DEFAULT_BACKOFF, maxMs: options['max-backoff'] * 1000 },
      ...(options['give-up-after'] ? { giveUpAfterMs: options['give-up-after'] * 1000 } : {}),
      requestTimeoutMs: 10 * 60_000,
      // Look often enough that the settle time, not the polling, decides how soon a file is sent.
      pollMs: Math.min(1_000, Math.max(100, settleMs / 4)),
    },
    createReporter(options.json, io.out),
    io.stop,
  );
  return 0;
}
