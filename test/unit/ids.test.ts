import { describe, expect, it } from 'vitest';
import {
  hashToken,
  idPattern,
  newId,
  newToken,
  newTrackingCode,
  normalizeTrackingCode,
  TRACKING_CODE_PATTERN,
} from '../../src/domain/ids.js';

describe('ids and secrets', () => {
  it('makes ids that match their own pattern and nothing path-like', () => {
    const id = newId('packet');
    expect(id).toMatch(idPattern('packet'));
    expect(idPattern('packet').test('pk_../../../../etc/passwd')).toBe(false);
    expect(idPattern('station').test(id)).toBe(false);
  });

  it('makes 256-bit tokens and stores only a SHA-256 hex digest', () => {
    const token = newToken('station');
    expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).not.toContain(token);
  });

  it('makes distinct tracking codes of 16 unambiguous symbols and reads them back as typed', () => {
    const codes = new Set(Array.from({ length: 2000 }, () => newTrackingCode()));
    expect(codes.size).toBe(2000);
    for (const code of codes) expect(code).toMatch(TRACKING_CODE_PATTERN);
    const [code] = codes;
    expect(normalizeTrackingCode(code!.toLowerCase().replaceAll('-', ' '))).toBe(code);
    expect([...codes].join('')).not.toMatch(/[ILOU]/);
  });
});
