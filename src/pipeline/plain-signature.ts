import { webcrypto } from 'node:crypto';
import type { SigningIdentity } from './pades.js';

/**
 * A plain signature with the office key over a short message (a protocol checkpoint, an epoch announcement),
 * checkable with nothing but the office certificate (signedBy in domain/audit-trail.ts): RSASSA-PKCS1-v1_5 or
 * ECDSA (r‖s, as WebCrypto writes it), SHA-256.
 */
export async function signWithIdentity(message: Buffer, identity: SigningIdentity): Promise<Buffer> {
  const algorithm = identity.privateKey.algorithm as { name: string };
  const parameters =
    algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: algorithm.name };
  return Buffer.from(await webcrypto.subtle.sign(parameters, identity.privateKey, message));
}
