import { createHash } from 'node:crypto';

/**
 * The assignment protocol: an append-only, hash-chained list of everything that decides who handles a packet.
 * Each entry's hash is SHA-256 over its canonical JSON (keys sorted, no whitespace) including `prevHash`, so
 * editing, inserting or removing any entry breaks every hash after it, and anyone can re-check the chain.
 */

export const DRAW_REASONS = ['ready', 'registrar_free', 'recusal', 'away'] as const;
export type DrawReason = (typeof DRAW_REASONS)[number];

/**
 * Why a registrar serving the service was not in a draw. `recused`: he stepped aside from this packet, or it was
 * waiting when he stepped aside from another; `cooldown`: he recused recently; `decided_earlier_submission`: he
 * decided a packet this one resubmits (RESUBMISSION_POLICY exclude_earlier); `not_earlier_decider`: under
 * same_registrar, the packet waits for who decided the earlier submission.
 */
export const EXCLUSION_REASONS = [
  'busy',
  'away',
  'removed',
  'recused',
  'cooldown',
  'decided_earlier_submission',
  'not_earlier_decider',
] as const;
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
  /** The randomness epoch whose committed secret derived both indexes (committed-random.ts). */
  epoch?: number;
  /** A drand round mixed into both indexes (DRAW_BEACON_URL): the latest published when the draw was made. */
  beacon?: DrawBeacon;
  /** The station that scanned the packet: who sent what to whom is what collusion analytics look at. */
  stationId?: string;
  /** When the packet became ready: its place in the queue, and how long it waited. */
  readyAt?: string;
  /** The earlier packet this one resubmits (marked by the station), whose deciders the resubmission policy uses. */
  resubmissionOf?: string;
  /** RESUBMISSION_POLICY as the draw applied it (draw.ts), with resubmissionOf. */
  resubmissionPolicy?: 'exclude_earlier' | 'same_registrar' | 'random';
};

export type DrawBeacon = {
  chainHash: string;
  round: number;
  randomness: string;
  signature: string;
  previousSignature?: string;
};

export type ReleaseEntry = {
  type: 'release';
  packetId: string;
  registrarId: string;
  /** recusal: his own; removed: by an administrator (with a reason kept for the office); away: by the reconciler. */
  reason: 'recusal' | 'away' | 'removed';
  /** The draw being undone. */
  drawSeq: number;
  /** A recusal also excludes him from the packets waiting at that moment: their ids. */
  alsoExcludedFrom?: string[];
  /** A recusal: until then he is in no draw. */
  cooldownUntil?: string;
};

export type DecisionEntry = {
  type: 'decision';
  packetId: string;
  registrarId: string;
  outcome: 'approved' | 'rejected';
  drawSeq: number;
};

/**
 * A registrar turning free or away (himself, or an administrator), or removed: who may be in a draw is then in the
 * log, so every eligible and excluded registrar of a draw can be checked against it. Asked while he holds a packet
 * (`afterPacket`), away takes effect when the packet is done, and free cancels that.
 */
export type StatusEntry = {
  type: 'status';
  registrarId: string;
  status: 'free' | 'away' | 'removed';
  by: 'registrar' | 'administrator';
  afterPacket?: true;
};

export type EntryBody = DrawEntry | ReleaseEntry | DecisionEntry | StatusEntry;
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

const isIndexOf = (index: number, list: readonly unknown[]) =>
  Number.isInteger(index) && index >= 0 && index < list.length;

/**
 * What a well-linked entry may still get wrong: a chain rewritten consistently keeps every hash right, so the
 * entries must also agree with themselves and with the entries before them. A draw's chosen registrar is the
 * eligible one its index names, nobody is both eligible and excluded, and the drawn packet is the one its window
 * index names; a release or decision refers to an earlier draw of the same packet to the same registrar.
 */
function inconsistencyOf(entry: ProtocolEntry, chain: readonly ProtocolEntry[]): string | undefined {
  if (entry.type === 'draw') {
    if (!isIndexOf(entry.randomIndex, entry.eligible))
      return `randomIndex ${entry.randomIndex} is outside the ${entry.eligible.length} eligible registrars`;
    if (entry.eligible[entry.randomIndex] !== entry.chosen)
      return `chosen ${entry.chosen} is not eligible[${entry.randomIndex}] (${entry.eligible[entry.randomIndex]})`;
    if (new Set(entry.eligible).size !== entry.eligible.length) return 'a registrar is eligible twice';
    const excluded = entry.excluded.find(({ registrarId }) => entry.eligible.includes(registrarId));
    if (excluded) return `${excluded.registrarId} is both eligible and excluded`;
    const window = entry.packetWindow;
    if (
      !isIndexOf(window.randomIndex, window.packetIds) ||
      window.packetIds[window.randomIndex] !== entry.packetId
    )
      return `the packet window's index ${window.randomIndex} does not name the drawn packet`;
    return undefined;
  }
  if (entry.type === 'status') return undefined;
  // Sequence numbers were checked to run 1, 2, 3…: entry n sits at n - 1.
  const draw = entry.drawSeq < entry.seq ? chain[entry.drawSeq - 1] : undefined;
  if (
    draw?.type !== 'draw' ||
    draw.seq !== entry.drawSeq ||
    draw.packetId !== entry.packetId ||
    draw.chosen !== entry.registrarId
  )
    return `${entry.type} refers to draw ${entry.drawSeq}, which did not give ${entry.packetId} to ${entry.registrarId}`;
  return undefined;
}

/**
 * Recomputes the whole chain; points at the first entry whose sequence, link or hash is wrong, or that contradicts
 * itself or the draw it refers to.
 */
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
    const inconsistency = inconsistencyOf(entry, entries);
    if (inconsistency) return broken(inconsistency);
    head = { seq: entry.seq, hash };
  }
  return { ok: true, entries: entries.length, head };
}
