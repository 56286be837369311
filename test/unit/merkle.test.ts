import { describe, expect, it } from 'vitest';
import {
  consistencyPath,
  inclusionPath,
  leafHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../src/domain/merkle.js';

// The Certificate Transparency reference vectors (RFC 6962 trees, unchanged in RFC 9162), as published with
// transparency-dev/merkle and certificate-transparency: leaves, the root of each tree size 1…8, and proofs.
const leaves = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((data) => leafHash(Buffer.from(data, 'hex')));
const roots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const inclusions = [
  {
    index: 0,
    size: 8,
    path: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    path: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
const consistencies = [
  {
    first: 2,
    second: 8,
    path: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    first: 6,
    second: 8,
    path: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    first: 2,
    second: 5,
    path: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const hex = (buffers: Buffer[]) => buffers.map((buffer) => buffer.toString('hex'));
const unhex = (values: string[]) => values.map((value) => Buffer.from(value, 'hex'));
const rootAt = (size: number) => Buffer.from(roots[size - 1]!, 'hex');

describe('the Merkle tree (RFC 9162) against the Certificate Transparency vectors', () => {
  it('has the reference root for every size, and SHA-256 of nothing when empty', () => {
    expect(rootOf([]).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    for (let size = 1; size <= 8; size++)
      expect(rootOf(leaves.slice(0, size)).toString('hex')).toBe(roots[size - 1]);
  });

  it.each(inclusions)(
    'makes and checks the reference inclusion proof of leaf $index in $size',
    ({ index, size, path }) => {
      expect(hex(inclusionPath(leaves.slice(0, size), index))).toEqual(path);
      expect(verifyInclusion(leaves[index]!, index, size, unhex(path), rootAt(size))).toBe(true);
    },
  );

  it.each(consistencies)(
    'makes and checks the reference consistency proof $first → $second',
    ({ first, second, path }) => {
      expect(hex(consistencyPath(leaves.slice(0, second), first))).toEqual(path);
      expect(verifyConsistency(first, second, rootAt(first), rootAt(second), unhex(path))).toBe(true);
    },
  );
});

describe('Merkle proofs over every tree shape up to 40 leaves', () => {
  const many = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
  const treeRoots = Array.from({ length: 41 }, (_, size) => rootOf(many.slice(0, size)));
  const flipped = (hash: Buffer) => Buffer.from(hash.map((byte, i) => (i === 5 ? byte ^ 1 : byte)));

  it('every inclusion proof verifies, and a wrong leaf, index or path does not', () => {
    for (let size = 1; size <= 40; size++)
      for (let index = 0; index < size; index++) {
        const path = inclusionPath(many.slice(0, size), index);
        const root = treeRoots[size]!;
        expect(verifyInclusion(many[index]!, index, size, path, root)).toBe(true);
        if (size === 1) continue;
        expect(verifyInclusion(many[(index + 1) % size]!, index, size, path, root)).toBe(false);
        expect(verifyInclusion(many[index]!, (index + 1) % size, size, path, root)).toBe(false);
        // (The size is bound to the root by the signed checkpoint, not by the path: only a leaf outside it fails.)
        expect(verifyInclusion(many[index]!, index, index, path, root)).toBe(false);
        expect(
          verifyInclusion(many[index]!, index, size, [...path.slice(0, -1), flipped(path.at(-1)!)], root),
        ).toBe(false);
        expect(verifyInclusion(many[index]!, index, size, path.slice(0, -1), root)).toBe(false);
      }
  });

  it('every consistency proof verifies, and a changed earlier tree or path does not', () => {
    for (let second = 1; second <= 40; second++)
      for (let first = 1; first <= second; first++) {
        const path = consistencyPath(many.slice(0, second), first);
        expect(verifyConsistency(first, second, treeRoots[first]!, treeRoots[second]!, path)).toBe(true);
        if (first === second) continue;
        // The earlier tree with its first entry rewritten: same size, other root.
        const rewritten = rootOf([leafHash(Buffer.from('forged')), ...many.slice(1, first)]);
        expect(verifyConsistency(first, second, rewritten, treeRoots[second]!, path)).toBe(false);
        expect(
          verifyConsistency(first, second, treeRoots[first]!, treeRoots[second]!, [
            ...path.slice(0, -1),
            flipped(path.at(-1)!),
          ]),
        ).toBe(false);
      }
  });
});
