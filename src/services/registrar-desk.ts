import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fail, type Outcome, ok } from '../domain/outcome.js';
import { type PageWarning, pageWarnings } from '../domain/page-warnings.js';
import type { Packet } from '../domain/types.js';
import type { Logger } from '../infra/logger.js';
import { sha256OfFile } from '../pipeline/file-bytes.js';
import type { OcrResult } from '../pipeline/ocr.js';
import { verifyPdfSignatureFile } from '../pipeline/pades.js';
import type { PacketRepository } from '../repositories/packet-repository.js';
import type { ReadyQueueRepository } from '../repositories/ready-queue-repository.js';
import type { RegistrarRepository } from '../repositories/registrar-repository.js';
import type { ObjectStore } from '../storage/object-store.js';

export type RegistrarDeskDeps = {
  packets: PacketRepository;
  registrars: RegistrarRepository;
  readyQueue: Pick<ReadyQueueRepository, 'waitingPackets'>;
  /** RECUSAL_COOLDOWN_SECONDS. */
  recusalCooldownSeconds: number;
  store: ObjectStore;
  log: Logger;
};

export type Assignment = {
  packetId: string;
  service: string;
  ticket: string;
  pages: number;
  assignedAt: string;
  pdf: { sha256: string; bytes: number };
};

const LONG_POLL_STEP_MS = 250;

export type DeskPacket = {
  packetId: string;
  ticket: string;
  service: string;
  status: string;
  submittedAt?: string;
  assignedAt?: string;
  pdf: { sha256: string; bytes: number; pages: number };
  pages: Array<{
    n: number;
    ocrConfidence: number | null;
    blank: boolean;
    skewDeg: number;
    orientation: number;
    warnings: PageWarning[];
  }>;
};

export type DeskSignature =
  | { valid: true; signer: string; signedAt: string; coversWholeFile: true; matchesRecord: boolean }
  | { valid: false; reason: string };
const packetNotFound = fail({ code: 'not_found', what: 'Packet' });

/**
 * The back office's rules: a registrar says he is free or away, receives the packet drawn for him, reads it,
 * decides it or recuses himself. He sees only the packet drawn for him (and, afterwards, those he decided).
 */
export class RegistrarDesk {
  constructor(private readonly deps: RegistrarDeskDeps) {}

  private async own(registrarId: string, packetId: string): Promise<Outcome<Packet>> {
    const packet = await this.deps.packets.get(packetId);
    return packet?.registrarId === registrarId ? ok(packet) : packetNotFound;
  }

  /** While he holds a packet, away takes effect after it: the answer says 'busy' and `awayAfterCurrentPacket`. */
  async setStatus(
    registrarId: string,
    requested: 'free' | 'away',
  ): Promise<Outcome<{ status: string; awayAfterCurrentPacket: boolean }>> {
    const status = await this.deps.registrars.setStatus(registrarId, requested);
    if (status === 'missing' || status === 'removed') return fail({ code: 'registrar_removed' });
    this.deps.log.info({ registrarId, requested, status }, 'registrar status');
    return ok({ status, awayAfterCurrentPacket: status === 'busy' && requested === 'away' });
  }

  /** Who he is as his desk shows him: name, services, status, and whether he goes away after this packet. */
  async me(registrarId: string) {
    const registrar = await this.deps.registrars.get(registrarId);
    if (!registrar || registrar.status === 'removed') return fail({ code: 'registrar_removed' });
    const { id, name, services, status, awayAfter, cooldownUntil } = registrar;
    return ok({
      id,
      name,
      services,
      status,
      awayAfterCurrentPacket: status === 'busy' && awayAfter,
      ...(cooldownUntil && cooldownUntil > Date.now()
        ? { cooldownUntil: new Date(cooldownUntil).toISOString() }
        : {}),
    });
  }

  /** The packet drawn for him, with what each page's processing found, for the desk's side panel. */
  async packet(registrarId: string, packetId: string): Promise<Outcome<DeskPacket>> {
    const owned = await this.own(registrarId, packetId);
    if (!owned.ok) return owned;
    const packet = owned.value;
    if (!packet.pdf) return fail({ code: 'not_found', what: 'Packet PDF' });
    const pages = (await this.deps.packets.listPages(packetId)).filter(
      (page) => page.n <= (packet.pageCount ?? 0),
    );
    return ok({
      packetId,
      ticket: packet.ticket,
      service: packet.service,
      status: packet.status,
      ...(packet.submittedAt ? { submittedAt: packet.submittedAt } : {}),
      ...(packet.assignedAt ? { assignedAt: packet.assignedAt } : {}),
      pdf: { sha256: packet.pdf.sha256, bytes: packet.pdf.bytes, pages: packet.pdf.pages },
      pages: pages.map((page) => {
        const found = page.processing;
        const warnings = pageWarnings(found ?? { blank: false, ocrConfidence: null, skewDeg: 0 });
        return {
          n: page.n,
          ocrConfidence: found?.ocrConfidence ?? null,
          blank: found?.blank ?? false,
          skewDeg: found?.skewDeg ?? 0,
          orientation: found?.orientation ?? 0,
          warnings,
        };
      }),
    });
  }

  /** The signature of the stored PDF, verified now, and whether the file is the one recorded for the packet. */
  async signature(registrarId: string, packetId: string): Promise<Outcome<DeskSignature>> {
    const owned = await this.own(registrarId, packetId);
    if (!owned.ok) return owned;
    const { pdf } = owned.value;
    if (!pdf) return fail({ code: 'not_found', what: 'Packet PDF' });
    // A packet's PDF may run to hundreds of MB: checked from a temporary copy a chunk at a time, never held whole.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'scan-desk-'));
    try {
      const file = path.join(dir, 'packet.pdf');
      await pipeline(await this.deps.store.getStream(pdf.key), createWriteStream(file));
      const verification = await verifyPdfSignatureFile(file);
      if (!verification.valid) return ok(verification);
      return ok({
        valid: true,
        signer: verification.signerName,
        signedAt: verification.signedAt,
        coversWholeFile: true,
        matchesRecord: (await sha256OfFile(file)).sha256 === pdf.sha256,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async currentAssignment(registrarId: string): Promise<Assignment | undefined> {
    const registrar = await this.deps.registrars.get(registrarId);
    if (!registrar?.packetId) return undefined;
    const packet = await this.deps.packets.get(registrar.packetId);
    if (packet?.status !== 'assigned' || packet.registrarId !== registrarId || !packet.pdf) return undefined;
    return {
      packetId: packet.id,
      service: packet.service,
      ticket: packet.ticket,
      pages: packet.pdf.pages,
      assignedAt: packet.assignedAt!,
      pdf: { sha256: packet.pdf.sha256, bytes: packet.pdf.bytes },
    };
  }

  /** The packet drawn for him, waiting up to `waitSeconds` for one; `gone()` ends the wait early. */
  async waitForAssignment(
    registrarId: string,
    waitSeconds: number,
    gone: () => boolean,
  ): Promise<Assignment | undefined> {
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const assignment = await this.currentAssignment(registrarId);
      if (assignment || Date.now() >= deadline || gone()) return assignment;
      await sleep(LONG_POLL_STEP_MS);
    }
  }

  /** The signed PDF as a stream: a packet PDF can reach hundreds of MB, and several registrars read at once. */
  async openPdf(
    registrarId: string,
    packetId: string,
  ): Promise<Outcome<{ stream: Readable; sha256: string; bytes: number }>> {
    const owned = await this.own(registrarId, packetId);
    if (!owned.ok) return owned;
    const { pdf } = owned.value;
    if (!pdf) return fail({ code: 'not_found', what: 'Packet PDF' });
    const stream = await this.deps.store.getStream(pdf.key);
    this.deps.log.info({ packetId }, 'registrar downloaded the packet PDF');
    return ok({ stream, sha256: pdf.sha256, bytes: pdf.bytes });
  }

  async pageText(
    registrarId: string,
    packetId: string,
    n: number,
  ): Promise<Outcome<{ n: number; text: string; confidence: number }>> {
    const owned = await this.own(registrarId, packetId);
    if (!owned.ok) return owned;
    const page = await this.deps.packets.getPage(packetId, n);
    if (!page?.processing || n > (owned.value.pageCount ?? 0))
      return fail({ code: 'not_found', what: 'Page' });
    const ocr = JSON.parse((await this.deps.store.get(page.processing.ocrKey)).toString('utf8')) as OcrResult;
    return ok({ n: page.n, text: ocr.text, confidence: ocr.confidence });
  }

  /** Records the decision; he becomes free again (or away, if he asked). */
  async decide(
    registrarId: string,
    packetId: string,
    outcome: 'approved' | 'rejected',
    note: string,
  ): Promise<Outcome<{ outcome: 'approved' | 'rejected' }>> {
    const owned = await this.own(registrarId, packetId);
    if (!owned.ok) return owned;
    const result = await this.deps.packets.decide(
      packetId,
      registrarId,
      owned.value.drawSeq ?? 0,
      outcome,
      note,
    );
    if (result.outcome === 'not_yours') return packetNotFound;
    if (result.outcome !== 'ok')
      return fail({ code: 'not_assigned', status: result.outcome, action: 'decide' });
    this.deps.log.info({ packetId, registrarId, outcome }, 'packet decided');
    return ok({ outcome });
  }

  /**
   * Steps aside: the packet goes back and is drawn again without him. Stepping aside costs his place, so that
   * recusing cannot be used to wait for a chosen packet: he is in no draw for the cooldown, and never in the draws
   * of the packets of his services that are waiting now.
   */
  async recuse(registrarId: string, packetId: string, reason: string): Promise<Outcome<void>> {
    const { packets, registrars, readyQueue, recusalCooldownSeconds } = this.deps;
    const owned = await this.own(registrarId, packetId);
    if (!owned.ok) return owned;
    const services = (await registrars.get(registrarId))?.services ?? [];
    const waiting = (await readyQueue.waitingPackets())
      .filter((packet) => services.includes(packet.service))
      .map((packet) => packet.id);
    const { outcome, entry } = await packets.release(
      packetId,
      registrarId,
      owned.value.drawSeq ?? 0,
      'recusal',
      '',
      { cooldownUntil: Date.now() + recusalCooldownSeconds * 1000, alsoExcludedFrom: waiting },
    );
    if (outcome === 'not_yours') return packetNotFound;
    if (outcome !== 'ok') return fail({ code: 'not_assigned', status: outcome, action: 'recuse' });
    // The reason stays in the log for the administrator; the protocol records the fact, not the words.
    this.deps.log.info({ packetId, registrarId, seq: entry.seq, reason }, 'registrar recused');
    return ok(undefined);
  }
}
