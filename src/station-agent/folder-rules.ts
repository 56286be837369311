import path from 'node:path';
import { z } from 'zod';

/**
 * What the hot folder means: which names are packets, which files are scans and in which order they are pages.
 * Pure rules, no file system access.
 */

/** Names inside the hot folder that are the agent's own, never packets. */
export const RESERVED = {
  state: '.scan-office',
  done: 'done',
  failed: 'failed',
  batch: 'batch',
} as const;

/** Written by the operator (or the scanner software) to say "this packet is complete, send it now". */
export const READY_MARKER = 'READY';
/** A packet folder may name its ticket and service in this file instead of in its name. */
export const PACKET_FILE = 'packet.json';
export const RECEIPT_FILE = 'receipt.json';
export const REASON_FILE = 'reason.txt';
/** Separates ticket and service in a folder name: `A-017__land-registration`. */
const NAME_SEPARATOR = '__';

export type ScanKind = 'image' | 'tiff' | 'pdf';

const SCAN_EXTENSIONS: Record<string, ScanKind> = {
  '.jpg': 'image',
  '.jpeg': 'image',
  '.png': 'image',
  '.webp': 'image',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.pdf': 'pdf',
};

/**
 * The kind of scan a file holds, judged by its name; undefined for anything else. Hidden files and office-style
 * lock files (`~$…`) are never scans: scanner software and file managers leave them while they write.
 */
export function scanKindOf(fileName: string): ScanKind | undefined {
  if (fileName.startsWith('.') || fileName.startsWith('~')) return undefined;
  return SCAN_EXTENSIONS[path.extname(fileName).toLowerCase()];
}

/**
 * The same rules as the service's request schema (src/api/schemas.ts, which this separate program must not
 * import): checked here so that a typo in a folder name is reported before anything is sent. The service still
 * has the last word.
 */
export const ticketSchema = z
  .string()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} .#№_-]{0,63}$/u, 'letters, digits, space and . # № _ - (max 64)');
export const serviceSlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes (max 40)');
export const packetIdentitySchema = z.object({ ticket: ticketSchema, service: serviceSlugSchema }).strict();
export type PacketIdentity = z.infer<typeof packetIdentitySchema>;

/**
 * `<ticket>__<service>` → ticket and service. A service slug has no underscores, so the last `__` is the
 * separator and a ticket may itself contain underscores.
 */
export function parsePacketFolderName(name: string): PacketIdentity | undefined {
  const at = name.lastIndexOf(NAME_SEPARATOR);
  if (at <= 0) return undefined;
  const parsed = packetIdentitySchema.safeParse({
    ticket: name.slice(0, at),
    service: name.slice(at + NAME_SEPARATOR.length),
  });
  return parsed.success ? parsed.data : undefined;
}

/** A folder name for a packet whose identity came from elsewhere (a separator sheet, the ticket counter). */
export const packetFolderName = ({ ticket, service }: PacketIdentity) =>
  `${ticket.replaceAll(/[\\/:*?"<>|]/g, '_')}${NAME_SEPARATOR}${service}`;

export type PacketFileVerdict = { ok: true; identity: PacketIdentity } | { ok: false; reason: string };

/** Reads the text of a `packet.json`. */
export function parsePacketFile(text: string): PacketFileVerdict {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${PACKET_FILE} is not valid JSON` };
  }
  const parsed = packetIdentitySchema.safeParse(json);
  if (!parsed.success)
    return {
      ok: false,
      reason: `${PACKET_FILE}: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'file'}: ${issue.message}`).join('; ')}`,
    };
  return { ok: true, identity: parsed.data };
}

/** Whether a subfolder of the hot folder can be a packet at all (not the agent's own folders, not hidden). */
export const mayBePacketFolder = (name: string) =>
  !name.startsWith('.') && name !== RESERVED.done && name !== RESERVED.failed && name !== RESERVED.batch;

// A fixed locale: the page order must not change with the PC's language settings.
const numericCollator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/**
 * Page order of file names: numbers inside names compare as numbers (scan2 before scan10), letters ignore case;
 * names equal under those rules fall back to plain code-unit order, so the order is total and stable.
 */
export function compareFileNames(a: string, b: string): number {
  return numericCollator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

export const inPageOrder = (names: Iterable<string>): string[] => [...names].sort(compareFileNames);
