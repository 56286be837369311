import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 (Certificate Transparency 2.0, section 2.1) over the protocol's entries: a checkpoint
 * signs the root of the first n entries, an inclusion proof shows that an entry is among them, and a consistency
 * proof that a later tree extends an earlier one without changing it. The split rule (the largest power of two
 * below n), the 0x00/0x01 prefixes and the proof shapes are the RFC's, so any RFC 9162 / RFC 6962 verifier agrees.
 */

export const HASH_BYTES = 32;

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** MTH({d}) = SHA-256(0x00 || d). */
export const leafHash = (data: Uint8Array): Buffer => sha256(Buffer.of(0x00), data);
/** SHA-256(0x01 || left || right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Buffer => sha256(Buffer.of(0x01), left, right);

/** The largest power of two smaller than n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes; the empty tree's root is SHA-256 of nothing. */
export function rootOf(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)));
}

/** PATH(m, D[n]): the inclusion proof of leaf `index` in the tree of `leaves`. */
export function inclusionPath(leaves: readonly Buffer[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length)
    throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`);
  if (leaves.length === 1) return [];
  const k = splitPoint(leaves.length);
  return index < k
    ? [...inclusionPath(leaves.slice(0, k), index), rootOf(leaves.slice(k))]
    : [...inclusionPath(leaves.slice(k), index - k), rootOf(leaves.slice(0, k))];
}

/** PROOF(m, D[n]): that the tree of the first `first` leaves is a prefix of the tree of `leaves`. */
export function consistencyPath(leaves: readonly Buffer[], first: number): Buffer[] {
  if (!Number.isInteger(first) || first < 0 || first > leaves.length)
    throw new RangeError(`a tree of ${first} is not a prefix of one of ${leaves.length}`);
  if (first === 0 || first === leaves.length) return [];
  return subproof(first, leaves, true);
}

function subproof(m: number, leaves: readonly Buffer[], whole: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return whole ? [] : [rootOf(leaves)];
  const k = splitPoint(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), whole), rootOf(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), rootOf(leaves.slice(0, k))];
}

const isHash = (value: Uint8Array) => value.length === HASH_BYTES;

/** RFC 9162 2.1.3.2: whether `path` proves leaf `index` (of hash `leaf`) in the tree of `size` with `root`. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !path.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else r = nodeHash(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 2.1.4.2: whether `path` proves the tree of `second` (root `secondRoot`) extends that of `first`. */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  path: readonly Uint8Array[],
): boolean {
  if (!Number.isInteger(first) || !Number.isInteger(second) || first < 0 || first > second) return false;
  if (!isHash(firstRoot) || !isHash(secondRoot) || !path.every(isHash)) return false;
  if (first === second) return path.length === 0 && Buffer.from(firstRoot).equals(secondRoot);
  if (first === 0) return path.length === 0 && Buffer.from(firstRoot).equals(rootOf([]));
  if (path.length === 0) return false;
  // A first tree that is a power of two is a node of the second: its root starts the path.
  const proof = (first & (first - 1)) === 0 ? [firstRoot, ...path] : [...path];
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(proof[0]!);
  let sr: Buffer = Buffer.from(proof[0]!);
  for (const c of proof.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else sr = nodeHash(sr, c);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(firstRoot) && sr.equals(secondRoot);
}
