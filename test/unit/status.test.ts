import { describe, expect, it } from 'vitest';
import {
  canTransitionPacket,
  PACKET_STATUSES,
  packetSourcesOf,
  publicStatusOf,
} from '../../src/domain/status.js';

describe('packet statuses', () => {
  it('follow open → submitted → processing → ready → assigned → decided', () => {
    const path = ['open', 'submitted', 'processing', 'ready', 'assigned', 'decided'] as const;
    for (let i = 0; i + 1 < path.length; i++) expect(canTransitionPacket(path[i]!, path[i + 1]!)).toBe(true);
  });

  it('never skip a stage, and a decision is final', () => {
    expect(canTransitionPacket('open', 'ready')).toBe(false);
    expect(canTransitionPacket('submitted', 'assigned')).toBe(false);
    for (const to of PACKET_STATUSES) expect(canTransitionPacket('decided', to)).toBe(false);
  });

  it('let a failed packet reopen and an assigned one return for a new draw', () => {
    expect(packetSourcesOf('open')).toEqual(['failed']);
    expect(packetSourcesOf('ready')).toEqual(['processing', 'assigned']);
  });

  it('show citizens only coarse statuses', () => {
    expect(PACKET_STATUSES.map(publicStatusOf)).toEqual([
      'received',
      'received',
      'processing',
      'processing',
      'with_registrar',
      'decided',
      'processing',
    ]);
  });
});
