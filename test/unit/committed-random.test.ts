import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  commitmentOf,
  committedIndex,
  drawInputs,
  drawMismatch,
  epochOf,
  epochStartMs,
} from '../../src/domain/committed-random.js';
import { chiSquarePValue } from '../../src/domain/fairness.js';
import { drawEntry } from './fakes/draw-entry.js';

const secret = `${'c0ffee'.repeat(10)}beef`;
const head = 'a'.repeat(64);

describe('committed draw indexes', () => {
  it('are the same for the same secret and inputs, and change with either', () => {
    const inputs = drawInputs.registrar(head, 'pk_1', 'b'.repeat(64), ['rg_a', 'rg_b', 'rg_c']);
    const index = committedIndex(secret, 'registrar', inputs, 3);
    expect(committedIndex(secret, 'registrar', inputs, 3)).toBe(index);
    const others = Array.from({ length: 40 }, (_, i) =>
      committedIndex(secret, 'registrar', { ...inputs, prevHash: `${i}` }, 3),
    );
    expect(new Set(others).size).toBe(3);
    const otherSecrets = Array.from({ length: 40 }, (_, i) =>
      committedIndex(`${'0'.repeat(62)}${i.toString(16).padStart(2, '0')}`, 'registrar', inputs, 3),
    );
    expect(new Set(otherSecrets).size).toBe(3);
  });

  it('are uniform: 21 000 draws over 7 give chi-square p > 0.001', () => {
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 21_000; i++) counts[committedIndex(secret, 'packet', { i }, 7)]!++;
    const chiSquare = counts.reduce((sum, observed) => sum + (observed - 3000) ** 2 / 3000, 0);
    expect(chiSquarePValue(chiSquare, 6)).toBeGreaterThan(0.001);
  });

  it('name the epoch a time falls in, and commit to a secret by its SHA-256', () => {
    expect(epochOf(Date.UTC(2026, 11, 2, 23, 59), 86_400)).toBe(epochOf(Date.UTC(2026, 11, 2), 86_400));
    expect(epochStartMs(epochOf(Date.UTC(2026, 11, 2, 12), 86_400), 86_400)).toBe(Date.UTC(2026, 11, 2));
    expect(commitmentOf(secret)).toBe(createHash('sha256').update(Buffer.from(secret, 'hex')).digest('hex'));
  });
});

describe('a logged draw checked against its epoch secret', () => {
  const eligible = ['rg_a', 'rg_b', 'rg_c', 'rg_d'];
  const packetIds = ['pk_1', 'pk_2'];
  const packetIndex = committedIndex(secret, 'packet', drawInputs.packet(head, packetIds), 2);
  const packetId = packetIds[packetIndex]!;
  const randomIndex = committedIndex(
    secret,
    'registrar',
    drawInputs.registrar(head, packetId, 'b'.repeat(64), eligible),
    4,
  );
  const honest = {
    ...drawEntry(packetId, eligible, {
      randomIndex,
      packetWindow: { packetIds, randomIndex: packetIndex },
      epoch: 1,
    }),
    prevHash: head,
  };

  it('holds when made from the secret', () => {
    expect(drawMismatch(honest, secret)).toBeUndefined();
  });

  it('fails when the registrar index was chosen, the window index was chosen, or the secret is another', () => {
    const other = (randomIndex + 1) % 4;
    expect(drawMismatch({ ...honest, randomIndex: other, chosen: eligible[other]! }, secret)).toMatch(
      /randomIndex/,
    );
    expect(
      drawMismatch({ ...honest, packetWindow: { packetIds, randomIndex: 1 - packetIndex } }, secret),
    ).toMatch(/window/);
    // Most other secrets disagree on one of the two indexes (1 in 8 agree by chance on both).
    const disagreeing = Array.from({ length: 16 }, (_, i) =>
      drawMismatch(honest, `${'1'.repeat(62)}${i.toString(16).padStart(2, '0')}`),
    ).filter(Boolean);
    expect(disagreeing.length).toBeGreaterThan(8);
  });
});
