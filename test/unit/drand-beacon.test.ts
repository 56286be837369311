import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type BeaconChain,
  type BeaconRound,
  MAINNET_DEFAULT,
  QUICKNET,
  roundAt,
  roundTime,
  verifyBeaconRound,
} from '../../src/domain/drand-beacon.js';

/** Real rounds of the two League of Entropy mainnet chains; where they were copied from is in each file. */
interface RoundsFixture {
  source: string;
  chain: BeaconChain & { genesisSeed: string; beaconId: string };
  rounds: BeaconRound[];
}
const fixture = (name: string): RoundsFixture =>
  JSON.parse(readFileSync(new URL(`../fixtures/drand/${name}-rounds.json`, import.meta.url), 'utf8'));
const quicknet = fixture('quicknet');
const mainnet = fixture('mainnet-default');

/** drand's chain hash (Info.Hash in drand/drand): what a relay's URL names, computed from the chain's info. */
function drandChainHash({
  periodSeconds,
  genesisSeconds,
  publicKey,
  genesisSeed,
  beaconId,
}: RoundsFixture['chain']) {
  const schedule = Buffer.alloc(12);
  schedule.writeUInt32BE(periodSeconds, 0);
  schedule.writeBigInt64BE(BigInt(genesisSeconds), 4);
  const hash = createHash('sha256')
    .update(schedule)
    .update(Buffer.from(publicKey, 'hex'))
    .update(Buffer.from(genesisSeed, 'hex'));
  if (beaconId !== 'default') hash.update(beaconId);
  return hash.digest('hex');
}

const sha256Hex = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');
const flipLastBit = (hex: string) => hex.slice(0, -1) + (Number.parseInt(hex.slice(-1), 16) ^ 1).toString(16);
/** A round whose signature is replaced and whose randomness is made to match, so only the BLS check can refuse it. */
const withSignature = (beacon: BeaconRound, signature: string): BeaconRound => ({
  ...beacon,
  signature,
  randomness: sha256Hex(signature),
});

// drand's retired `fastnet` and its unchained testnet: real keys of the same groups as ours, for other chains' keys.
const fastnetKey =
  'a0b862a7527fee3a731bcb59280ab6abd62d5c0b6ea03dc4ddf6612fdfc9d01f01c31542541771903475eb1ec6615f8d0df0b8b6dce385811d6dcf8cbefb8759e5e616a3dfd054c928940766d9a5b9db91e3b697e5d70a975181e007f87fca5e';
const unchainedTestnetKey =
  '8200fc249deb0148eb918d6e213980c5d01acd7fc251900d9260136da3b54836ce125172399ddc69c4e3e11429b62c11';

describe.each([
  { name: 'quicknet', chain: QUICKNET, stored: quicknet, otherKey: fastnetKey },
  { name: 'mainnet default', chain: MAINNET_DEFAULT, stored: mainnet, otherKey: unchainedTestnetKey },
])('drand $name', ({ chain, stored, otherKey }) => {
  const [first, second] = stored.rounds as [BeaconRound, BeaconRound];

  it('the pinned chain is the stored chain info, and that info hashes to its chain hash', () => {
    const { genesisSeed: _seed, beaconId: _id, ...info } = stored.chain;
    expect(chain).toEqual(info);
    expect(drandChainHash(stored.chain)).toBe(chain.chainHash);
  });

  it.each(stored.rounds.map((beacon) => [beacon.round, beacon] as const))(
    'real round %i verifies',
    (_, beacon) => {
      expect(verifyBeaconRound(chain, beacon)).toEqual({ ok: true });
    },
  );

  it('refuses a round whose signature was tampered with, even with randomness to match', () => {
    const verdict = verifyBeaconRound(chain, withSignature(second, flipLastBit(second.signature)));
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) });
  });

  it("refuses another real round's signature passed off as this round's", () => {
    const verdict = verifyBeaconRound(chain, withSignature(second, first.signature));
    expect(verdict).toEqual({
      ok: false,
      reason: `the signature is not the chain ${chain.chainHash}'s for round ${second.round}`,
    });
  });

  it('refuses tampered randomness, naming the randomness the signature gives', () => {
    const verdict = verifyBeaconRound(chain, { ...second, randomness: flipLastBit(second.randomness) });
    expect(verdict).toEqual({
      ok: false,
      reason: `randomness is ${flipLastBit(second.randomness)}; SHA-256 of the signature is ${second.randomness}`,
    });
  });

  it('refuses a real round under another round number', () => {
    const verdict = verifyBeaconRound(chain, { ...second, round: second.round + 1 });
    expect(verdict).toEqual({
      ok: false,
      reason: `the signature is not the chain ${chain.chainHash}'s for round ${second.round + 1}`,
    });
  });

  it("refuses a real round checked against another chain's key", () => {
    const verdict = verifyBeaconRound({ ...chain, publicKey: otherKey }, second);
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringMatching(/signature is not the chain/) });
  });

  it('puts round 1 at genesis and each next round one period later, as its stored rounds', () => {
    const genesisMs = chain.genesisSeconds * 1000;
    const periodMs = chain.periodSeconds * 1000;
    expect(roundTime(chain, 1)).toBe(genesisMs);
    expect(roundAt(chain, genesisMs)).toBe(1);
    expect(roundAt(chain, genesisMs + periodMs - 1)).toBe(1);
    expect(roundAt(chain, genesisMs + periodMs)).toBe(2);
    for (const { round } of stored.rounds) {
      expect(roundTime(chain, round)).toBe(genesisMs + (round - 1) * periodMs);
      expect(roundAt(chain, roundTime(chain, round))).toBe(round);
    }
    for (const { round } of stored.rounds.filter(({ round }) => round > 1))
      expect(roundAt(chain, roundTime(chain, round) - 1)).toBe(round - 1);
  });

  it('has no round before genesis, and no round 0', () => {
    expect(() => roundAt(chain, chain.genesisSeconds * 1000 - 1)).toThrow(RangeError);
    expect(() => roundTime(chain, 0)).toThrow(RangeError);
  });
});

describe('drand chains with different schemes', () => {
  const quicknetRound = quicknet.rounds[1]!;
  const mainnetRound = mainnet.rounds[1]!;

  it("refuse each other's rounds", () => {
    expect(verifyBeaconRound(MAINNET_DEFAULT, quicknetRound)).toEqual({
      ok: false,
      reason: 'a pedersen-bls-chained round needs its previous signature',
    });
    expect(verifyBeaconRound(QUICKNET, mainnetRound)).toEqual({
      ok: false,
      reason: 'a bls-unchained-g1-rfc9380 round has no previous signature',
    });
    const { previousSignature: _previous, ...unchained } = mainnetRound;
    expect(verifyBeaconRound(QUICKNET, unchained)).toMatchObject({ ok: false });
  });

  it('chained: refuse a round whose previous signature is not the one it signed over', () => {
    const verdict = verifyBeaconRound(MAINNET_DEFAULT, {
      ...mainnetRound,
      previousSignature: mainnetRound.signature,
    });
    expect(verdict).toMatchObject({ ok: false, reason: expect.stringMatching(/signature is not the chain/) });
  });

  it('chained: the stored consecutive rounds link, round 1 to the genesis seed', () => {
    const [round1, round2, round3] = mainnet.rounds;
    expect(round1?.previousSignature).toBe(mainnet.chain.genesisSeed);
    expect(round2?.previousSignature).toBe(round1?.signature);
    expect(round3?.previousSignature).toBe(round2?.signature);
  });

  it('refuse fields that are not hex rather than check a shortened value', () => {
    expect(
      verifyBeaconRound(QUICKNET, { ...quicknetRound, signature: `${quicknetRound.signature}zz` }),
    ).toEqual({
      ok: false,
      reason: 'the signature is not hex',
    });
  });
});
