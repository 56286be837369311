import { createHash } from 'node:crypto';
import { bls12_381 } from '@noble/curves/bls12-381.js';

/**
 * drand beacon rounds, checked offline. A round is a threshold BLS signature by the chain's group key over a message
 * fixed by the round number (and, on chained schemes, the previous round's signature); its randomness is the
 * SHA-256 of that signature. Nobody can sign a round ahead of the group, so a draw that mixes in a round published
 * after the draw's inputs were fixed cannot have been steered by whoever ran it, and anyone with the chain's public
 * key can check the round without asking a relay.
 */

export type BeaconScheme = 'bls-unchained-g1-rfc9380' | 'pedersen-bls-chained';

export interface BeaconChain {
  /** Hex; names the chain on relays (`/<chainHash>/public/<round>`). */
  chainHash: string;
  /** Hex, compressed: on G2 (96 bytes) for bls-unchained-g1-rfc9380, on G1 (48 bytes) for pedersen-bls-chained. */
  publicKey: string;
  scheme: BeaconScheme;
  periodSeconds: number;
  /** Unix seconds at which round 1 is published. */
  genesisSeconds: number;
}

export interface BeaconRound {
  round: number;
  /** Hex SHA-256 of the signature. */
  randomness: string;
  signature: string;
  /** Hex; chained schemes only. Round 1's is the chain's genesis seed. */
  previousSignature?: string;
}

export type BeaconVerdict = { ok: true } | { ok: false; reason: string };

/**
 * drand's `quicknet` on the League of Entropy mainnet: unchained, so a round's message is known in advance; every 3 s.
 * Its info (`/<chainHash>/info`) also gives the genesis seed f477d5c8…1c5d3e and beacon id `quicknet`, which with
 * these values hash to the chain hash (checked in the unit test).
 */
export const QUICKNET: BeaconChain = {
  chainHash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  publicKey:
    '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  scheme: 'bls-unchained-g1-rfc9380',
  periodSeconds: 3,
  genesisSeconds: 1692803367,
};

/**
 * The League of Entropy mainnet's original `default` chain: chained, every 30 s. Genesis seed 176f9349…cb390a
 * (also round 1's previous signature); with the values here it hashes to the chain hash (checked in the unit test).
 */
export const MAINNET_DEFAULT: BeaconChain = {
  chainHash: '8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce',
  publicKey:
    '868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a569937c529eeda66c7293784a9402801af31',
  scheme: 'pedersen-bls-chained',
  periodSeconds: 30,
  genesisSeconds: 1595431050,
};

// The hash-to-curve DST is the scheme's, never a library default: drand's networks have not all used the tag of the
// group they hash to (the retired `fastnet` hashed to G1 with the G2 tag).
const schemes: Record<
  BeaconScheme,
  {
    chained: boolean;
    verifySignature(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  }
> = {
  'bls-unchained-g1-rfc9380': {
    chained: false,
    verifySignature: (signature, message, publicKey) =>
      bls12_381.shortSignatures.verify(
        signature,
        bls12_381.shortSignatures.hash(message, 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_'),
        publicKey,
      ),
  },
  'pedersen-bls-chained': {
    chained: true,
    verifySignature: (signature, message, publicKey) =>
      bls12_381.longSignatures.verify(
        signature,
        bls12_381.longSignatures.hash(message, 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_'),
        publicKey,
      ),
  },
};

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

// Buffer.from(text, 'hex') stops quietly at the first bad character, so a mangled field would be checked shortened.
const isHex = (text: string) => /^(?:[0-9a-f]{2})+$/i.test(text);

/** What drand signs for a round: SHA-256 of (previous signature ‖) the round as 8 bytes big-endian. */
function signedMessage(round: number, previousSignature: Uint8Array | undefined): Buffer {
  const roundBytes = Buffer.alloc(8);
  roundBytes.writeBigUInt64BE(BigInt(round));
  return previousSignature ? sha256(previousSignature, roundBytes) : sha256(roundBytes);
}

/** Checks a round against the chain's public key and scheme, and its randomness against its signature. */
export function verifyBeaconRound(chain: BeaconChain, beacon: BeaconRound): BeaconVerdict {
  const scheme = schemes[chain.scheme];
  if (!scheme) return { ok: false, reason: `scheme ${chain.scheme} is not supported` };
  if (!Number.isSafeInteger(beacon.round) || beacon.round < 1)
    return { ok: false, reason: `round ${beacon.round} is not a positive integer` };
  if (!isHex(beacon.signature)) return { ok: false, reason: 'the signature is not hex' };
  if (scheme.chained && beacon.previousSignature === undefined)
    return { ok: false, reason: `a ${chain.scheme} round needs its previous signature` };
  if (!scheme.chained && beacon.previousSignature !== undefined)
    return { ok: false, reason: `a ${chain.scheme} round has no previous signature` };
  if (beacon.previousSignature !== undefined && !isHex(beacon.previousSignature))
    return { ok: false, reason: 'the previous signature is not hex' };

  const signature = Buffer.from(beacon.signature, 'hex');
  const expectedRandomness = sha256(signature).toString('hex');
  if (beacon.randomness.toLowerCase() !== expectedRandomness)
    return {
      ok: false,
      reason: `randomness is ${beacon.randomness}; SHA-256 of the signature is ${expectedRandomness}`,
    };

  const message = signedMessage(
    beacon.round,
    beacon.previousSignature === undefined ? undefined : Buffer.from(beacon.previousSignature, 'hex'),
  );
  let valid: boolean;
  try {
    valid = scheme.verifySignature(signature, message, Buffer.from(chain.publicKey, 'hex'));
  } catch (error) {
    // noble throws, rather than answering false, when the signature or key is not a point of the right group.
    return { ok: false, reason: `signature or public key does not decode: ${(error as Error).message}` };
  }
  if (!valid)
    return {
      ok: false,
      reason: `the signature is not the chain ${chain.chainHash}'s for round ${beacon.round}`,
    };
  return { ok: true };
}

/**
 * The latest round due by `unixMs` on the chain's schedule (round 1 at genesis, one per period). Relays serve a
 * round a moment after its time, so a caller fetching it right on the boundary may have to retry.
 */
export function roundAt(chain: BeaconChain, unixMs: number): number {
  const sinceGenesisMs = unixMs - chain.genesisSeconds * 1000;
  if (sinceGenesisMs < 0)
    throw new RangeError(`${new Date(unixMs).toISOString()} is before the chain's genesis`);
  return Math.floor(sinceGenesisMs / (chain.periodSeconds * 1000)) + 1;
}

/** Unix milliseconds at which a round is due. */
export function roundTime(chain: BeaconChain, round: number): number {
  if (!Number.isSafeInteger(round) || round < 1)
    throw new RangeError(`round ${round} is not a positive integer`);
  return (chain.genesisSeconds + (round - 1) * chain.periodSeconds) * 1000;
}

/** The chains a draw may name, by chain hash: pinned here, so that a relay cannot bring its own key. */
export const PINNED_CHAINS: ReadonlyMap<string, BeaconChain> = new Map(
  [QUICKNET, MAINNET_DEFAULT].map((chain) => [chain.chainHash, chain]),
);

/**
 * The round a draw must mix in: the first one due after the protocol entry the draw extends was written. Nobody knew
 * it when the draw's inputs were fixed, and a verifier recomputes it, so a dispatcher cannot choose among rounds.
 */
export const beaconRoundFor = (chain: BeaconChain, extendedEntryAtMs: number) =>
  roundAt(chain, extendedEntryAtMs) + 1;
