/**
 * Batch scanning: one continuous stream of pages, cut into packets by separator sheets. Pure rules: what a
 * separator's QR text says, how a stream of pages splits, and where a packet's ticket and service come from.
 */

/** The text of every separator sheet's QR code starts with this. */
export const SEPARATOR_PREFIX = 'SCAN-OFFICE:NEXT';

/** What a separator sheet says about the packet it starts; either part may be missing. */
export type SeparatorCode = { ticket?: string; service?: string };

/** `SCAN-OFFICE:NEXT` or `SCAN-OFFICE:NEXT?ticket=A-017&service=land-registration` (values URL-encoded). */
export function separatorText(code: SeparatorCode = {}): string {
  const params = Object.entries(code)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '')
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  return params.length === 0 ? SEPARATOR_PREFIX : `${SEPARATOR_PREFIX}?${params.join('&')}`;
}

/** The separator a QR text stands for, or undefined when the text is anything else (a QR on a citizen's form). */
export function parseSeparatorText(text: string): SeparatorCode | undefined {
  const trimmed = text.trim();
  if (trimmed === SEPARATOR_PREFIX) return {};
  if (!trimmed.startsWith(`${SEPARATOR_PREFIX}?`)) return undefined;
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(trimmed.slice(SEPARATOR_PREFIX.length + 1));
  } catch {
    return undefined;
  }
  const code: SeparatorCode = {};
  const ticket = params.get('ticket')?.trim();
  const service = params.get('service')?.trim();
  if (ticket) code.ticket = ticket;
  if (service) code.service = service;
  return code;
}

/** One page of the batch stream: `separator` is set when the page is a separator sheet. */
export type StreamPage<P> = { page: P; separator?: SeparatorCode };

/**
 * A run of pages between separators. `separator` is the sheet that opened it (absent for pages at the start of
 * the stream, before any sheet). `closed` when the next separator has been seen, so no page can be added to it.
 */
export type BatchSegment<P> = {
  separator?: { page: P; code: SeparatorCode };
  pages: P[];
  closed: boolean;
};

/**
 * Cuts the stream at separator sheets. Every segment but the last is closed; the last stays open, since more
 * pages may still come (the caller closes it when the batch is idle or marked READY). A segment may be empty
 * (two separators in a row, or a separator as the last page so far); the caller decides what that means.
 */
export function splitBatch<P>(stream: StreamPage<P>[]): BatchSegment<P>[] {
  const segments: BatchSegment<P>[] = [];
  let current: BatchSegment<P> = { pages: [], closed: false };
  for (const item of stream) {
    if (item.separator) {
      // Pages before the very first separator form a packet of their own; nothing before it, no packet.
      if (current.separator || current.pages.length > 0) segments.push({ ...current, closed: true });
      current = { separator: { page: item.page, code: item.separator }, pages: [], closed: false };
    } else {
      current.pages.push(item.page);
    }
  }
  if (current.separator || current.pages.length > 0) segments.push(current);
  return segments;
}

/** Tickets for packets whose separator names none: the prefix and a counter, `B-001`, `B-002`, … */
export const counterTicket = (prefix: string, n: number) => `${prefix}${String(n).padStart(3, '0')}`;

export type IdentityChoice = { ok: true; service: string; ticket?: string } | { ok: false; reason: string };

/**
 * A batch packet's service and ticket: the separator's, else `--batch-service` and (no `ticket` in the answer)
 * the next counter ticket, which the caller takes only then, so a counter number is spent only when needed.
 */
export function chooseBatchIdentity(
  code: SeparatorCode | undefined,
  defaultService: string | undefined,
): IdentityChoice {
  const service = code?.service ?? defaultService;
  if (!service)
    return {
      ok: false,
      reason:
        'no service for this batch packet: its separator sheet names none and the agent was started without --batch-service',
    };
  return code?.ticket ? { ok: true, service, ticket: code.ticket } : { ok: true, service };
}
