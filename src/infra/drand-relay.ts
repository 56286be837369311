import type { DrawBeacon } from '../domain/protocol.js';

/** Where draws get drand rounds: a relay asked for one round of one chain. */
export interface BeaconRelay {
  round(chainHash: string, round: number): Promise<DrawBeacon>;
}

/** drand's relay answer for a round (HTTP API v1). */
type RelayRound = { round: number; randomness: string; signature: string; previous_signature?: string };

/** A drand HTTP relay (`<url>/<chainHash>/public/<round>`), e.g. https://api.drand.sh. */
export function httpBeaconRelay(url: string, timeoutMs: number): BeaconRelay {
  return {
    async round(chainHash, round) {
      const response = await fetch(`${url.replace(/\/$/, '')}/${chainHash}/public/${round}`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`relay answered ${response.status}`);
      }
      const answer = (await response.json()) as RelayRound;
      return {
        chainHash,
        round: answer.round,
        randomness: answer.randomness,
        signature: answer.signature,
        ...(answer.previous_signature ? { previousSignature: answer.previous_signature } : {}),
      };
    },
  };
}
