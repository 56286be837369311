export const PACKET_STATUSES = [
  'open',
  'submitted',
  'processing',
  'ready',
  'assigned',
  'decided',
  'failed',
] as const;
export type PacketStatus = (typeof PACKET_STATUSES)[number];

export const PAGE_STATUSES = ['stored', 'processing', 'done', 'failed'] as const;
export type PageStatus = (typeof PAGE_STATUSES)[number];

/**
 * Every allowed packet transition. `failed → open` reopens a packet for rescanning the failed pages; `failed →
 * submitted` is an administrator's retry (processing or bundling again); `assigned → ready` returns a packet for a
 * new draw (recusal, registrar away).
 */
const PACKET_TRANSITIONS: Record<PacketStatus, readonly PacketStatus[]> = {
  open: ['submitted'],
  submitted: ['processing', 'failed'],
  processing: ['ready', 'failed'],
  ready: ['assigned'],
  assigned: ['decided', 'ready'],
  decided: [],
  failed: ['open', 'submitted'],
};

const PAGE_TRANSITIONS: Record<PageStatus, readonly PageStatus[]> = {
  // → stored: queued again under a new run (the reconciler, after its job was lost; an administrator's retry).
  stored: ['processing', 'failed', 'stored'],
  // processing → processing: a job that stalled (its worker died) runs again from the start.
  processing: ['processing', 'done', 'failed', 'stored'],
  done: [],
  failed: ['stored'],
};

export const canTransitionPacket = (from: PacketStatus, to: PacketStatus) =>
  PACKET_TRANSITIONS[from].includes(to);
export const canTransitionPage = (from: PageStatus, to: PageStatus) => PAGE_TRANSITIONS[from].includes(to);

export const pageSourcesOf = (to: PageStatus): PageStatus[] =>
  PAGE_STATUSES.filter((from) => canTransitionPage(from, to));

/** The statuses from which a packet may move to `to`, for compare-and-set scripts. */
export const packetSourcesOf = (to: PacketStatus): PacketStatus[] =>
  PACKET_STATUSES.filter((from) => canTransitionPacket(from, to));

export const PUBLIC_STATUSES = ['received', 'processing', 'with_registrar', 'decided'] as const;
export type PublicStatus = (typeof PUBLIC_STATUSES)[number];

/** What a citizen's tracking code shows: coarse, and never who holds the packet. */
export function publicStatusOf(status: PacketStatus): PublicStatus {
  switch (status) {
    case 'open':
    case 'submitted':
      return 'received';
    case 'processing':
    case 'ready':
    case 'failed':
      return 'processing';
    case 'assigned':
      return 'with_registrar';
    case 'decided':
      return 'decided';
  }
}
