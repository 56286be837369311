import { createHash } from 'node:crypto';

/**
 * The assignment protocol: an append-only, hash-chained list of everything that decides who handles a packet.
 * Each entry's hash is SHA-256 over its canonical JSON (keys sorted, no whitespace) including `prevHash`, so
 * editing, inserting or removing any entry breaks every hash after it, and anyone can re-check the chain.
 */

export const DRAW_REASONS = ['ready', 'registrar_free', 'recusal', 'away'] as const;
export type DrawReason = (typeof DRAW_REASONS)[number];

export const EXCLUSION_REASONS = ['busy', 'away', 'removed', 'recused', 'decided_same_ticket'] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

export type DrawEntry = {
  type: 'draw';
  packetId: string;
  pdfSha256: string;
  service: string;
  reason: DrawReason;
  /** Free registrars of the service who may take the packet, sorted. */
  eligible: string[];
  /** Everyone else serving the service, with why they were not in the draw. */
  excluded: Array<{ registrarId: string; reason: ExclusionReason }>;
  randomIndex: number;
  chosen: string;
  /** When several waiting packets could be served: the oldest ones considered, and which one was drawn. */
  packetWindow: { packetIds: string[]; randomIndex: number };
  /** The release entry that sent this packet back for a new draw, if any. */
  previousSeq?: number;
};

export type ReleaseEntry = {
  type: 'release';
  packetId: string;
  registrarId: string;
  reason: 'recusal' | 'away' | 'removed';
  /** The draw being undone. */
  drawSeq: number;
};

export type DecisionEntry = {
  type: 'decision';
  packetId: string;
  registrarId: string;
  outcome: 'approved' | 'rejected';
  drawSeq: number;
};

export type EntryBody = DrawEntry | ReleaseEntry | DecisionEntry;
export type ProtocolEntry = EntryBody & { seq: number; at: string; prevHash: string; hash: string };
export type ChainHead = { seq: number; hash: string };

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level: one byte string per value, whoever serializes it. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

export const hashEntry = (entry: Omit<ProtocolEntry, 'hash'>) =>
  createHash('sha256').update(canonicalJson(entry), 'utf8').digest('hex');

/** The next entry after `head`, sealed with its hash. */
export function sealEntry(body: EntryBody, head: ChainHead, at: Date): ProtocolEntry {
  const unsealed = { ...body, seq: head.seq + 1, at: at.toISOString(), prevHash: head.hash };
  return { ...unsealed, hash: hashEntry(unsealed) };
}

export type ChainVerification =
  | { ok: true; entries: number; head: ChainHead }
  | { ok: false; entries: number; brokenAt: number; reason: string };

/** Recomputes the whole chain; points at the first entry whose sequence, link or hash is wrong. */
export function verifyChain(entries: ProtocolEntry[]): ChainVerification {
  let head: ChainHead = { seq: 0, hash: GENESIS_HASH };
  for (const [index, entry] of entries.entries()) {
    const broken = (reason: string): ChainVerification => ({
      ok: false,
      entries: entries.length,
      brokenAt: index + 1,
      reason,
    });
    if (entry.seq !== head.seq + 1) return broken(`sequence ${entry.seq} where ${head.seq + 1} was expected`);
    if (entry.prevHash !== head.hash) return broken('prevHash does not match the previous entry');
    const { hash, ...unsealed } = entry;
    if (hashEntry(unsealed) !== hash) return broken('the entry was changed after it was written');
    head = { seq: entry.seq, hash };
  }
  return { ok: true, entries: entries.length, head };
}
