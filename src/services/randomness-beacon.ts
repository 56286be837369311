import { setTimeout as sleep } from 'node:timers/promises';
import { type BeaconChain, beaconRoundFor, roundTime, verifyBeaconRound } from '../domain/drand-beacon.js';
import type { DrawBeacon } from '../domain/protocol.js';
import type { BeaconRelay } from '../infra/drand-relay.js';
import type { Logger } from '../infra/logger.js';

/** Relays publish a round a moment after its time. */
const PUBLICATION_SLACK_MS = 500;

/**
 * The public randomness beacon draws mix in: for a draw extending a protocol entry, the first round of a pinned drand
 * chain after that entry was written (domain/drand-beacon.ts beaconRoundFor), so nobody (the office included) could
 * know it when the inputs of the draw were fixed, and nobody can pick another: verifiers recompute which round it
 * must be. The dispatcher waits for that round when it is not out yet, fetches it from a relay and verifies it
 * against the chain's key. A relay that cannot be reached, or answers a round that does not verify, leaves the draw
 * to the epoch secret alone, logged (counted as such by the verifiers), and is not asked again for `quietMs`.
 */
export class RandomnessBeacon {
  private quietUntil = 0;

  constructor(
    private readonly deps: { chain: BeaconChain; relay: BeaconRelay; quietMs: number; log: Logger },
  ) {}

  async roundFor(extendedEntryAt: string): Promise<DrawBeacon | undefined> {
    const { chain, relay, log } = this.deps;
    if (Date.now() < this.quietUntil) return undefined;
    const round = beaconRoundFor(chain, Date.parse(extendedEntryAt));
    const wait = roundTime(chain, round) + PUBLICATION_SLACK_MS - Date.now();
    if (wait > 0) await sleep(wait);
    try {
      const beacon = await relay.round(chain.chainHash, round);
      if (beacon.round !== round) throw new Error(`asked for round ${round}, got ${beacon.round}`);
      const verdict = verifyBeaconRound(chain, beacon);
      if (!verdict.ok) throw new Error(`round ${round} refused: ${verdict.reason}`);
      return beacon;
    } catch (error) {
      this.quietUntil = Date.now() + this.deps.quietMs;
      log.warn(
        { err: error, chainHash: chain.chainHash, round },
        'randomness beacon unavailable; drawing on the epoch secret alone',
      );
      return undefined;
    }
  }
}
