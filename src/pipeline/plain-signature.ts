import { verify, webcrypto, X509Certificate } from 'node:crypto';
import type { SigningIdentity } from './pades.js';

/**
 * A plain signature with the office key over a short message (a protocol checkpoint), checkable with nothing but
 * the office certificate: RSASSA-PKCS1-v1_5 or ECDSA (r‖s, as WebCrypto writes it), SHA-256.
 */
export async function signWithIdentity(message: Buffer, identity: SigningIdentity): Promise<Buffer> {
  const algorithm = identity.privateKey.algorithm as { name: string };
  const parameters =
    algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: algorithm.name };
  return Buffer.from(await webcrypto.subtle.sign(parameters, identity.privateKey, message));
}

/** Whether `signature` over `message` was made with the key of `certificateDer`. */
export function signedBy(message: Buffer, signature: Buffer, certificateDer: Buffer): boolean {
  try {
    const publicKey = new X509Certificate(certificateDer).publicKey;
    return verify(
      'sha256',
      message,
      publicKey.asymmetricKeyType === 'ec' ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
      signature,
    );
  } catch {
    return false;
  }
}
