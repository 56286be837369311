import {
  canTransitionPacket,
  canTransitionPage,
  type PacketStatus,
  type PageStatus,
} from '../../../src/domain/status.js';
import type { Packet, PacketPdf, Page } from '../../../src/domain/types.js';
import type { PacketRepository, PageRun } from '../../../src/repositories/packet-repository.js';

type Records = Pick<PacketRepository, 'get' | 'listPages' | 'updatePage' | 'transition' | 'markReady'>;

/**
 * Packet and page records in memory with the same compare-and-set rules as the Redis scripts (transitions from
 * domain/status, a page update only for the same upload), for testing services without Redis.
 */
export class MemoryPacketRecords implements Records {
  readonly packets = new Map<string, Packet>();
  readonly pages = new Map<string, Map<number, Page>>();

  add(packet: Packet, pages: Page[] = []): void {
    this.packets.set(packet.id, structuredClone(packet));
    this.pages.set(packet.id, new Map(pages.map((page) => [page.n, structuredClone(page)])));
  }

  async get(id: string): Promise<Packet | undefined> {
    const packet = this.packets.get(id);
    return packet && structuredClone(packet);
  }

  async listPages(packetId: string): Promise<Page[]> {
    return [...(this.pages.get(packetId)?.values() ?? [])]
      .map((page) => structuredClone(page))
      .sort((a, b) => a.n - b.n);
  }

  async updatePage(
    packetId: string,
    { n, sha256, run }: PageRun,
    status: PageStatus,
    fields: Partial<Omit<Page, 'n' | 'sha256' | 'status' | 'run'>> = {},
  ): Promise<'ok' | 'stale' | PageStatus> {
    const page = this.pages.get(packetId)?.get(n);
    if (!page || page.sha256 !== sha256 || page.run !== run) return 'stale';
    if (!canTransitionPage(page.status, status)) return page.status;
    Object.assign(page, structuredClone(fields), { status });
    return 'ok';
  }

  async transition(
    packetId: string,
    to: PacketStatus,
    fields: { failure?: string; rescanPages?: number[] } = {},
  ): Promise<'ok' | 'missing' | PacketStatus> {
    const packet = this.packets.get(packetId);
    if (!packet) return 'missing';
    if (!canTransitionPacket(packet.status, to)) return packet.status;
    Object.assign(packet, fields, { status: to });
    return 'ok';
  }

  async markReady(packetId: string, readyAt: Date, pdf: PacketPdf): Promise<string> {
    const packet = this.packets.get(packetId);
    if (!packet) return 'missing';
    if (packet.status !== 'processing') return packet.status;
    Object.assign(packet, { status: 'ready', readyAt: readyAt.toISOString(), pdf });
    return 'ok';
  }
}
