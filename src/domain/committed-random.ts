import { createHash, createHmac } from 'node:crypto';
import { canonicalJson, type DrawEntry } from './protocol.js';

/**
 * Committed randomness for draws. Time is cut into epochs; each epoch has a secret whose SHA-256 the office signs
 * and publishes before the epoch begins, and which is revealed once it has ended. A draw's indexes are derived from
 * the epoch's secret and the draw's own inputs (the protocol head it extends, the window of packets, the drawn
 * packet and its eligible registrars), with rejection sampling, so nobody can log an index of their choosing: once
 * the secret is revealed, anyone recomputes every draw of the epoch.
 */

export type DrawPurpose = 'packet' | 'registrar';

export const epochOf = (ms: number, epochSeconds: number) => Math.floor(ms / (epochSeconds * 1000));
export const epochStartMs = (epoch: number, epochSeconds: number) => epoch * epochSeconds * 1000;
export const commitmentOf = (secretHex: string) =>
  createHash('sha256').update(Buffer.from(secretHex, 'hex')).digest('hex');

/** A uniform index in [0, n) from the secret and the inputs: 32-bit words of an HMAC, rejecting the biased top. */
export function committedIndex(secretHex: string, purpose: DrawPurpose, inputs: unknown, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`cannot draw among ${n}`);
  const accepted = Math.floor(2 ** 32 / n) * n;
  for (let counter = 0; ; counter++) {
    const word = createHmac('sha256', Buffer.from(secretHex, 'hex'))
      .update(`scan-office draw v1\n${purpose}\n${counter}\n${canonicalJson(inputs)}`, 'utf8')
      .digest()
      .readUInt32BE(0);
    if (word < accepted) return word % n;
  }
}

/**
 * What each index of a draw is derived from: fixed before the draw, and all written in its entry. A beacon round's
 * randomness, when the draw has one, joins both.
 */
export const drawInputs = {
  packet: (prevHash: string, packetIds: string[], beacon?: string) => ({
    prevHash,
    packetIds,
    ...(beacon ? { beacon } : {}),
  }),
  registrar: (
    prevHash: string,
    packetId: string,
    pdfSha256: string,
    eligible: string[],
    beacon?: string,
  ) => ({
    prevHash,
    packetId,
    pdfSha256,
    eligible,
    ...(beacon ? { beacon } : {}),
  }),
};

/** Recomputes a draw's two indexes from its epoch's revealed secret; names the first that differs. */
export function drawMismatch(entry: DrawEntry & { prevHash: string }, secretHex: string): string | undefined {
  const { packetWindow: window } = entry;
  const packetIndex = committedIndex(
    secretHex,
    'packet',
    drawInputs.packet(entry.prevHash, window.packetIds, entry.beacon?.randomness),
    window.packetIds.length,
  );
  if (packetIndex !== window.randomIndex)
    return `the packet window's index is ${window.randomIndex}; the epoch's secret gives ${packetIndex}`;
  const registrarIndex = committedIndex(
    secretHex,
    'registrar',
    drawInputs.registrar(
      entry.prevHash,
      entry.packetId,
      entry.pdfSha256,
      entry.eligible,
      entry.beacon?.randomness,
    ),
    entry.eligible.length,
  );
  if (registrarIndex !== entry.randomIndex)
    return `randomIndex is ${entry.randomIndex}; the epoch's secret gives ${registrarIndex}`;
  return undefined;
}
