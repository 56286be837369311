import { leafHash } from './merkle.js';
import { canonicalJson, type ProtocolEntry } from './protocol.js';

/**
 * A checkpoint: the office's signed statement of what the protocol held at a size. Whoever keeps one (an auditor,
 * a newspaper, another office) can later prove that any protocol shown to them extends it unchanged, so rewriting
 * the past needs the office's signing key and not only write access to Redis and S3.
 */
export type CheckpointBody = {
  /** The deployment (REDIS_PREFIX) whose protocol this is. */
  deployment: string;
  /** Entries 1…treeSize are the tree's leaves. */
  treeSize: number;
  /** RFC 9162 root over the entries' canonical JSON, hex. */
  rootHash: string;
  /** The hash-chain head at treeSize: the same state seen through the chain. */
  headHash: string;
  at: string;
  /** The randomness epochs announced by then from the current one on, with their commitments. */
  epochs?: Array<{ epoch: number; commitment: string }>;
};

export type SignedCheckpoint = {
  body: CheckpointBody;
  /** Over checkpointMessage(body): RSASSA-PKCS1-v1_5 or ECDSA (IEEE P1363) with SHA-256, base64. */
  signature: string;
  /** The signer's certificate, DER, base64: the office certificate that signs packet PDFs. */
  certificate: string;
};

/** What is signed: a fixed label (so the signature means nothing elsewhere), then the body's canonical JSON. */
export const checkpointMessage = (body: CheckpointBody) =>
  Buffer.from(`scan-office protocol checkpoint v1\n${canonicalJson(body)}`, 'utf8');

/** The Merkle leaf of an entry: its canonical JSON, hash included. */
export const protocolLeaf = (entry: ProtocolEntry) => leafHash(Buffer.from(canonicalJson(entry), 'utf8'));

/** The office's advance statement of an epoch's randomness: the SHA-256 of the secret its draws will use. */
export type EpochAnnouncementBody = {
  deployment: string;
  epoch: number;
  epochSeconds: number;
  /** SHA-256 of the epoch's secret, hex. */
  commitment: string;
  announcedAt: string;
};

export type SignedEpochAnnouncement = {
  body: EpochAnnouncementBody;
  signature: string;
  certificate: string;
};

export const epochAnnouncementMessage = (body: EpochAnnouncementBody) =>
  Buffer.from(`scan-office randomness epoch v1\n${canonicalJson(body)}`, 'utf8');
