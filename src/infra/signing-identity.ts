// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createPrivateKey, KeyObject, randomBytes, webcrypto } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import forge from 'node-forge';
import type { SigningIdentity } from '../pipeline/pades.js';
import type { Logger } from './logger.js';

export type SigningSource =
  | { kind: 'pem'; keyFile: string; certFile: string }
  | { kind: 'p12'; file: string; password: string }
  | { kind: 'generated'; dataDir: string; office: string };

const pemBlocks = (text: string, label: string) =>
  [...text.matchAll(new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`, 'g'))].map((m) =>
    Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'),
  );

/** WebCrypto import parameters for the key types we sign with. */
function importParameters(key: KeyObject): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : undefined;
    if (namedCurve) return { name: 'ECDSA', namedCurve };
  }
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType} (use RSA, ECDSA P-256 or P-384)`);
}

async function identityFrom(keyPem: string, certificates: Buffer[]): Promise<SigningIdentity> {
  if (certificates.length === 0) throw new Error('no certificate found');
  const key = createPrivateKey(keyPem);
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    key.export({ type: 'pkcs8', format: 'der' }),
    importParameters(key),
    false,
    ['sign'],
  );
  return { privateKey, certificates };
}

function fromP12(der: Buffer, password: string): { keyPem: string; certificates: Buffer[] } {
  const p12 = forge.pkcs12.pkcs12FromAsn1(
    forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary'))),
    password,
  );
  const bagsOf = (type: string) => p12.getBags({ bagType: type })[type] ?? [];
  const keyBag = [...bagsOf(forge.pki.oids.pkcs8ShroudedKeyBag!), ...bagsOf(forge.pki.oids.keyBag!)][0];
  if (!keyBag?.key) throw new Error('the PKCS#12 file holds no private key');
  const certificates = bagsOf(forge.pki.oids.certBag!)
    .flatMap((bag) => (bag.cert ? [bag.cert] : []))
    .map((cert) => Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'));
  return { keyPem: forge.pki.privateKeyToPem(keyBag.key), certificates };
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

/** A self-signed ECDSA P-256 certificate for the office, clearly marked as not for production. */
async function generateDevelopmentIdentity(dir: string, office: string): Promise<void> {
  x509.cryptoProvider.set(webcrypto as never);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = new Date();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: `01${randomBytes(15).toString('hex')}`,
    name: `CN=${office} - development only - not for production, O=${office}`,
    notBefore: now,
    notAfter: new Date(now.getTime() + 5 * 365 * 24 * 3600 * 1000),
    signingAlgorithm: algorithm,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
        true,
      ),
    ],
  });
  const keyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  await mkdir(path.dirname(dir), { recursive: true });
  await mkdir(dir, { mode: 0o700 });
  await writeFile(path.join(dir, 'key.pem'), keyPem, { mode: 0o600, flag: 'wx' });
  await writeFile(path.join(dir, 'cert.pem'), certificate.toString('pem'), { flag: 'wx' });
}

/** Loads the packet-signing key and certificate chain; on first start without one, generates a development pair. */
export async function loadSigningIdentity(source: SigningSource, log: Logger): Promise<SigningIdentity> {
  switch (source.kind) {
    case 'pem': {
      const [keyPem, certPem] = await Promise.all([
        readFile(source.keyFile, 'utf8'),
        readFile(source.certFile, 'utf8'),
      ]);
      return identityFrom(keyPem, pemBlocks(certPem, 'CERTIFICATE'));
    }
    case 'p12': {
      const { keyPem, certificates } = fromP12(await readFile(source.file), source.password);
      return identityFrom(keyPem, certificates);
    }
    case 'generated': {
      const dir = path.join(source.dataDir, 'signing');
      const keyFile = path.join(dir, 'key.pem');
      const certFile = path.join(dir, 'cert.pem');
      if (!(await exists(keyFile))) {
        // Several containers may share DATA_DIR and start together: build the pair aside, and let one atomic
        // rename decide which pair everyone uses.
        const staging = `${dir}.staging-${process.pid}-${randomBytes(4).toString('hex')}`;
        await generateDevelopmentIdentity(staging, source.office);
        try {
          await rename(staging, dir);
          log.warn(
            { certFile },
            'generated a self-signed DEVELOPMENT signing certificate; set SIGNING_P12 or SIGNING_KEY_FILE/SIGNING_CERT_FILE in production',
          );
        } catch (error) {
          await rm(staging, { recursive: true, force: true });
          if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
        }
      }
      return loadSigningIdentity({ kind: 'pem', keyFile, certFile }, log);
    }
  }
}
