import { type BeaconChain, roundTime, verifyBeaconRound } from '../domain/drand-beacon.js';
import type { DrawBeacon } from '../domain/protocol.js';
import type { Logger } from '../infra/logger.js';

export type BeaconOptions = {
  /** A drand relay's base URL (DRAW_BEACON_URL). */
  url: string;
  /** The pinned chain whose rounds are accepted (DRAW_BEACON_CHAIN). */
  chain: BeaconChain;
  /** A round older than this when the draw is made is not used (DRAW_BEACON_MAX_AGE_SECONDS). */
  maxAgeSeconds: number;
  timeoutMs: number;
};

/** drand's relay answer for a round (HTTP API v1). */
type RelayRound = { round: number; randomness: string; signature: string; previous_signature?: string };

/**
 * The public randomness beacon draws mix in: the latest round of a pinned drand chain, fetched from a relay and
 * verified against the chain's key before use. Nobody, the office included, knows a round before drand publishes
 * it, so with a beacon an operator who knows the epoch secret still cannot compute a draw ahead. A relay that
 * cannot be reached, or answers a round that does not verify or is stale, leaves the draw to the epoch secret alone,
 * logged; the entry then has no beacon.
 */
export class RandomnessBeacon {
  private cached?: DrawBeacon;

  constructor(
    private readonly options: BeaconOptions,
    private readonly log: Logger,
  ) {}

  async current(now = Date.now()): Promise<DrawBeacon | undefined> {
    const { chain, maxAgeSeconds } = this.options;
    const fresh = (beacon: DrawBeacon) => now - roundTime(chain, beacon.round) <= maxAgeSeconds * 1000;
    // A round lasts a period: within it, the round fetched last is still the latest.
    if (this.cached && now < roundTime(chain, this.cached.round + 1) && fresh(this.cached))
      return this.cached;
    try {
      const beacon = await this.fetchLatest();
      const verdict = verifyBeaconRound(chain, beacon);
      if (!verdict.ok) throw new Error(`round ${beacon.round} refused: ${verdict.reason}`);
      if (roundTime(chain, beacon.round) > now) throw new Error(`round ${beacon.round} is not due yet`);
      if (!fresh(beacon)) throw new Error(`round ${beacon.round} is older than ${maxAgeSeconds} s`);
      this.cached = beacon;
      return beacon;
    } catch (error) {
      this.log.warn(
        { err: error, chainHash: chain.chainHash },
        'randomness beacon unavailable; drawing on the epoch secret alone',
      );
      return undefined;
    }
  }

  private async fetchLatest(): Promise<DrawBeacon> {
    const { url, chain, timeoutMs } = this.options;
    const response = await fetch(`${url.replace(/\/$/, '')}/${chain.chainHash}/public/latest`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`relay answered ${response.status}`);
    const round = (await response.json()) as RelayRound;
    return {
      chainHash: chain.chainHash,
      round: round.round,
      randomness: round.randomness,
      signature: round.signature,
      ...(round.previous_signature ? { previousSignature: round.previous_signature } : {}),
    };
  }
}
