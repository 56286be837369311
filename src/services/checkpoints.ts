import { type CheckpointVerification, type Trust, verifyCheckpoints } from '../domain/audit-trail.js';
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
import { signWithIdentity } from '../pipeline/plain-signature.js';
import type { ProtocolRepository } from '../repositories/protocol-repository.js';
import { checkpointKey } from '../storage/object-keys.js';
import type { ObjectStore } from '../storage/object-store.js';

export type CheckpointPolicy = { everyEntries: number; everySeconds: number };

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
      /** The epoch commitments a checkpoint signed now repeats (RandomnessEpochs.commitmentsFrom). */
      commitments: (now: Date) => Promise<Array<{ epoch: number; commitment: string }>>;
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
      epochs: await this.deps.commitments(now),
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

  /** The checkpoints checked against the entries and the office certificate (domain/audit-trail.ts). */
  async verify(entries: ProtocolEntry[], checkpoints: SignedCheckpoint[]): Promise<CheckpointVerification> {
    return verifyCheckpoints(entries, checkpoints, await this.trust());
  }

  /** Every stored checkpoint, by size. */
  async all(): Promise<SignedCheckpoint[]> {
    const sizes = await this.deps.protocol.checkpointSizes();
    const found = await Promise.all(sizes.map((size) => this.deps.protocol.checkpoint(size)));
    return found.filter((checkpoint) => checkpoint !== undefined);
  }

  get deployment(): string {
    return this.deps.deployment;
  }

  /** The certificate checkpoints are signed with: the office's. */
  async officeCertificate(): Promise<Buffer> {
    return (await this.deps.identity()).certificates[0]!;
  }

  private async trust(): Promise<Trust> {
    return { deployment: this.deps.deployment, certificate: await this.officeCertificate() };
  }
}
