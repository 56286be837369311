import {
  type CheckpointBody,
  checkpointMessage,
  protocolLeaf,
  type SignedCheckpoint,
} from '../domain/checkpoint.js';
import { consistencyPath, inclusionPath, rootOf } from '../domain/merkle.js';
import type { ProtocolEntry } from '../domain/protocol.js';
import type { Logger } from '../infra/logger.js';
import type { SigningIdentity } from '../pipeline/pades.js';
import { signedBy, signWithIdentity } from '../pipeline/plain-signature.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';
import { checkpointKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';

export type CheckpointPolicy = { everyEntries: number; everySeconds: number };

export type CheckpointVerification =
  | { ok: true; checkpoints: number; coveredEntries: number }
  | { ok: false; brokenAt: number; reason: string };

export type InclusionProof = { seq: number; treeSize: number; leafHash: string; path: string[] };
export type ConsistencyProof = { from: number; to: number; path: string[] };

const hex = (hashes: Buffer[]) => hashes.map((hash) => hash.toString('hex'));

/**
 * Signed checkpoints over the protocol's Merkle tree (RFC 9162): the dispatcher signs one every `everyEntries`
 * entries or `everySeconds` (when there are new entries) with the office key, kept in Redis and, written once, in
 * S3; the audit checks every checkpoint's signature against the office certificate and its root against the
 * entries, and answers inclusion and consistency proofs.
 */
export class Checkpoints {
  constructor(
    private readonly deps: {
      protocol: ProtocolRepository;
      store: ObjectStore;
      deployment: string;
      identity: () => Promise<SigningIdentity>;
      policy: CheckpointPolicy;
      log: Logger;
    },
  ) {}

  /** Signs a checkpoint of the whole protocol when one is due; returns it, or undefined. */
  async signIfDue(now = new Date()): Promise<SignedCheckpoint | undefined> {
    const { protocol, policy } = this.deps;
    const head = await protocol.head();
    const latest = await protocol.checkpoint();
    const signedSize = latest?.body.treeSize ?? 0;
    if (head.seq <= signedSize) return undefined;
    const due =
      latest === undefined ||
      head.seq - signedSize >= policy.everyEntries ||
      now.getTime() - Date.parse(latest.body.at) >= policy.everySeconds * 1000;
    if (!due) return undefined;
    const entries = await protocol.entries(0, head.seq);
    const identity = await this.deps.identity();
    const body: CheckpointBody = {
      deployment: this.deps.deployment,
      treeSize: entries.length,
      rootHash: rootOf(entries.map(protocolLeaf)).toString('hex'),
      headHash: entries.at(-1)!.hash,
      at: now.toISOString(),
    };
    const signed: SignedCheckpoint = {
      body,
      signature: (await signWithIdentity(checkpointMessage(body), identity)).toString('base64'),
      certificate: identity.certificates[0]!.toString('base64'),
    };
    const key = checkpointKey(this.deps.deployment, body.treeSize);
    if (!(await this.deps.store.stat(key)))
      await this.deps.store.put(key, Buffer.from(JSON.stringify(signed)), 'application/json');
    await protocol.addCheckpoint(signed);
    this.deps.log.info({ treeSize: body.treeSize, rootHash: body.rootHash }, 'protocol checkpoint signed');
    return signed;
  }

  /** The checkpoint of `size`, or the latest. */
  checkpoint(size?: number): Promise<SignedCheckpoint | undefined> {
    return this.deps.protocol.checkpoint(size);
  }

  /** That entry `seq` is in the tree of `treeSize` entries (default: all). Undefined when out of range. */
  async inclusionProof(seq: number, treeSize?: number): Promise<InclusionProof | undefined> {
    const leaves = (await this.deps.protocol.entries(0, treeSize ?? Number.MAX_SAFE_INTEGER)).map(
      protocolLeaf,
    );
    if ((treeSize !== undefined && leaves.length < treeSize) || seq < 1 || seq > leaves.length)
      return undefined;
    return {
      seq,
      treeSize: leaves.length,
      leafHash: leaves[seq - 1]!.toString('hex'),
      path: hex(inclusionPath(leaves, seq - 1)),
    };
  }

  /** That the tree of `to` entries extends the tree of `from`. Undefined when out of range. */
  async consistencyProof(from: number, to: number): Promise<ConsistencyProof | undefined> {
    const leaves = (await this.deps.protocol.entries(0, to)).map(protocolLeaf);
    if (leaves.length < to || from < 1 || from > to) return undefined;
    return { from, to, path: hex(consistencyPath(leaves, from)) };
  }

  /**
   * Every checkpoint must be signed by the office certificate, cover no more entries than there are, and have the
   * root of the entries it covers; points at the first entry no valid checkpoint vouches for as it is now.
   */
  async verify(entries: ProtocolEntry[]): Promise<CheckpointVerification> {
    const office = (await this.deps.identity()).certificates[0]!;
    const leaves = entries.map(protocolLeaf);
    let covered = 0;
    const sizes = await this.deps.protocol.checkpointSizes();
    for (const size of sizes) {
      const checkpoint = await this.deps.protocol.checkpoint(size);
      const broken = (reason: string): CheckpointVerification => ({
        ok: false,
        brokenAt: covered + 1,
        reason,
      });
      if (!checkpoint) return broken(`checkpoint ${size} is listed but missing`);
      const { body } = checkpoint;
      if (!Buffer.from(checkpoint.certificate, 'base64').equals(office))
        return broken(`checkpoint ${size} is not signed with the office certificate`);
      if (!signedBy(checkpointMessage(body), Buffer.from(checkpoint.signature, 'base64'), office))
        return broken(`checkpoint ${size} has an invalid signature`);
      if (body.treeSize !== size || body.deployment !== this.deps.deployment)
        return broken(`checkpoint ${size} is about another protocol`);
      if (size > leaves.length)
        return {
          ok: false,
          brokenAt: leaves.length + 1,
          reason: `checkpoint ${size} signed entries that are gone`,
        };
      if (rootOf(leaves.slice(0, size)).toString('hex') !== body.rootHash)
        return broken(`entries ${covered + 1}–${size} are not the ones checkpoint ${size} signed`);
      covered = size;
    }
    return { ok: true, checkpoints: sizes.length, coveredEntries: covered };
  }
}
