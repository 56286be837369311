import type { DrawEntry } from '../../../src/domain/protocol.js';

/** A draw of `packetId` (alone in its window) among `eligible`, giving it to eligible[randomIndex]. */
export const drawEntry = (
  packetId: string,
  eligible: string[],
  fields: Partial<DrawEntry> = {},
): DrawEntry => {
  const randomIndex = fields.randomIndex ?? 0;
  return {
    type: 'draw',
    packetId,
    pdfSha256: 'b'.repeat(64),
    service: 'land',
    reason: 'ready',
    eligible,
    excluded: [],
    randomIndex,
    chosen: eligible[randomIndex]!,
    packetWindow: { packetIds: [packetId], randomIndex: 0 },
    ...fields,
  };
};
