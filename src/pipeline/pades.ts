import { createHash, webcrypto } from 'node:crypto';
import { pdflibAddPlaceholder } from '@signpdf/placeholder-pdf-lib';
import { SUBFILTER_ETSI_CADES_DETACHED } from '@signpdf/utils';
import * as asn1js from 'asn1js';
import { PDFArray, PDFDict, type PDFDocument, PDFName, type PDFObject, type PDFRef } from 'pdf-lib';
import * as pkijs from 'pkijs';
import { type Bytes, bytesOf, sha256Of, windowsAt, withFile, writeAt } from './file-bytes.js';

/**
 * PAdES baseline B-B (ETSI EN 319 142-1): /SubFilter /ETSI.CAdES.detached, a detached CMS SignedData over the whole
 * file except /Contents, SHA-256, with exactly the signed attributes content-type, message-digest and ESS
 * signing-certificate-v2 (no CMS signing-time: the time is /M in the signature dictionary).
 * @signpdf/placeholder-pdf-lib adds the placeholder; the document is signed here, in its file, a chunk at a time.
 * The CMS is built here with pkijs, because @signpdf/signer-p12 makes plain PKCS#7 (signing-time, no
 * signing-certificate-v2).
 */

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  commonName: '2.5.4.3',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha256: '2.16.840.1.101.3.4.2.1',
  ecdsaPrefix: '1.2.840.10045.4.',
  rsaEncryption: '1.2.840.113549.1.1.1',
} as const;

// pkijs's types expect the DOM's Crypto; Node's webcrypto is the same API.
const crypto = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as never });

export type SigningIdentity = {
  privateKey: webcrypto.CryptoKey;
  /** DER certificates, signer first, then any chain. */
  certificates: Buffer[];
};

export type SignatureInfo = {
  reason: string;
  name: string;
  location: string;
  contactInfo: string;
  signingTime: Date;
};

/** Room for the CMS: an RSA-4096 chain of three certificates fits. */
const SIGNATURE_LENGTH = 16_384;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();
const arrayBufferOf = (bytes: Uint8Array) =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

/**
 * Adds the signature dictionary and an invisible signature field to a document before it is saved. Returns the
 * dictionary's reference, to find its placeholder in the written file.
 */
export function addSignaturePlaceholder(pdf: PDFDocument, info: SignatureInfo): PDFRef {
  pdflibAddPlaceholder({
    pdfDoc: pdf,
    reason: info.reason,
    name: info.name,
    location: info.location,
    contactInfo: info.contactInfo,
    signingTime: info.signingTime,
    signatureLength: SIGNATURE_LENGTH,
    subFilter: SUBFILTER_ETSI_CADES_DETACHED,
  });
  // The field just added is the form's last; its value is the signature dictionary.
  const fields = pdf.catalog.lookup(PDFName.of('AcroForm'), PDFDict).lookup(PDFName.of('Fields'), PDFArray);
  return fields.lookup(fields.size() - 1, PDFDict).get(PDFName.of('V')) as PDFRef;
}

/** Where a written signature dictionary's /ByteRange array and /Contents string sit in the file, [start, end). */
export type SignaturePlaceholder = { byteRange: [number, number]; contents: [number, number] };

/** The placeholder in the signature dictionary `dictionary`, written to the file at offset `at`. */
export function signaturePlaceholderIn(dictionary: PDFObject, at: number): SignaturePlaceholder {
  const bytes = Buffer.alloc(dictionary.sizeInBytes());
  dictionary.copyBytesInto(bytes, 0);
  const span = (keyword: string, open: string, close: string, from = 0): [number, number] => {
    const key = bytes.indexOf(keyword, from, 'latin1');
    const start = key === -1 ? -1 : bytes.indexOf(open, key + keyword.length, 'latin1');
    const end = start === -1 ? -1 : bytes.indexOf(close, start, 'latin1');
    if (end === -1) throw new Error(`no ${keyword} placeholder in the signature dictionary`);
    return [at + start, at + end + 1];
  };
  const byteRange = span('/ByteRange', '[', ']');
  return { byteRange, contents: span('/Contents', '<', '>', byteRange[1] - at) };
}

/** ESS SigningCertificateV2 (RFC 5035) naming the signer's certificate by its SHA-256 and issuer/serial. */
function signingCertificateV2(certificate: pkijs.Certificate, der: Buffer): asn1js.Sequence {
  const issuerSerial = new asn1js.Sequence({
    value: [
      new pkijs.GeneralNames({
        names: [new pkijs.GeneralName({ type: 4, value: certificate.issuer })],
      }).toSchema(),
      certificate.serialNumber,
    ],
  });
  // hashAlgorithm is omitted: SHA-256 is its DEFAULT.
  const essCertIdV2 = new asn1js.Sequence({
    value: [new asn1js.OctetString({ valueHex: arrayBufferOf(sha256(der)) }), issuerSerial],
  });
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] });
}

/** Builds the detached CAdES signature over content of this SHA-256 (the PDF without its /Contents value). */
export async function cadesDetachedSignature(digest: Buffer, identity: SigningIdentity): Promise<Buffer> {
  const [signerDer, ...chain] = identity.certificates;
  if (!signerDer) throw new Error('no signing certificate');
  const certificate = pkijs.Certificate.fromBER(signerDer);
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    signerInfos: [
      new pkijs.SignerInfo({
        version: 1,
        sid: new pkijs.IssuerAndSerialNumber({
          issuer: certificate.issuer,
          serialNumber: certificate.serialNumber,
        }),
        signedAttrs: new pkijs.SignedAndUnsignedAttributes({
          type: 0,
          attributes: [
            new pkijs.Attribute({
              type: OID.contentType,
              values: [new asn1js.ObjectIdentifier({ value: OID.data })],
            }),
            new pkijs.Attribute({
              type: OID.messageDigest,
              values: [new asn1js.OctetString({ valueHex: arrayBufferOf(digest) })],
            }),
            new pkijs.Attribute({
              type: OID.signingCertificateV2,
              values: [signingCertificateV2(certificate, signerDer)],
            }),
          ],
        }),
      }),
    ],
    certificates: [certificate, ...chain.map((der) => pkijs.Certificate.fromBER(der))],
  });
  await signedData.sign(identity.privateKey as never, 0, 'SHA-256', undefined, crypto);
  const contentInfo = new pkijs.ContentInfo({
    contentType: OID.signedData,
    content: signedData.toSchema(true),
  });
  return Buffer.from(contentInfo.toSchema().toBER(false));
}

/**
 * Signs a PDF file in place, reading it a chunk at a time: fills /ByteRange (same width, space-padded), hashes
 * everything but /Contents, and writes the CMS into /Contents, zero-padded in hex to the placeholder's size.
 */
export async function signPdfFile(
  file: string,
  placeholder: SignaturePlaceholder,
  identity: SigningIdentity,
): Promise<void> {
  await withFile(file, 'r+', async (bytes, handle) => {
    const [gapStart, gapEnd] = placeholder.contents;
    const [rangeStart, rangeEnd] = placeholder.byteRange;
    const byteRange = `[0 ${gapStart} ${gapEnd} ${bytes.size - gapEnd}]`;
    if (byteRange.length > rangeEnd - rangeStart)
      throw new Error('the byte range is wider than its placeholder');
    await writeAt(handle, Buffer.from(byteRange.padEnd(rangeEnd - rangeStart, ' '), 'latin1'), rangeStart);
    const digest = await sha256Of(bytes, [
      [0, gapStart],
      [gapEnd, bytes.size],
    ]);
    const hex = (await cadesDetachedSignature(digest, identity)).toString('hex');
    const room = gapEnd - gapStart - 2;
    if (hex.length > room)
      throw new Error(`the signature needs ${hex.length} hex digits, the placeholder has ${room}`);
    await writeAt(handle, Buffer.from(hex.padEnd(room, '0'), 'latin1'), gapStart + 1);
  });
}

/** True when the bytes are one DER object that re-encodes to exactly the same bytes. */
function isStrictDer(bytes: Uint8Array): boolean {
  const parsed = asn1js.fromBER(arrayBufferOf(bytes));
  if (parsed.offset !== bytes.byteLength) return false;
  return Buffer.from(parsed.result.toBER(false)).equals(Buffer.from(bytes));
}

export type VerificationResult =
  | {
      valid: true;
      subFilter: string;
      signerSubject: string;
      /** The signer certificate's common name. */
      signerName: string;
      /** /M of the signature dictionary, ISO 8601. */
      signedAt: string;
      signedAttributes: string[];
      coversWholeFile: true;
    }
  | { valid: false; reason: string };

const fail = (reason: string): VerificationResult => ({ valid: false, reason });

/**
 * A PDF may be larger than the longest string V8 makes (512 MB: a 500-page packet of 1.1 MB scans) and is often a
 * file too large to hold, so it is never read whole. Each search finds its keyword a chunk at a time and reads only a
 * short window after it; the signed ranges are hashed a chunk at a time.
 */
const SEARCH_WINDOW = 256;
/** /Contents holds a hex CMS of a few KB; a gap past this is not a signature this service made. */
const MAX_CONTENTS_BYTES = 1024 * 1024;

/** `pattern` (anchored at the keyword) at the first occurrence of `keyword` where it matches, or the last with `last`. */
async function matchAtKeyword(
  pdf: Bytes,
  keyword: string,
  pattern: RegExp,
  last = false,
): Promise<RegExpMatchArray | undefined> {
  for await (const window of windowsAt(pdf, keyword, SEARCH_WINDOW, last)) {
    const match = window.match(pattern);
    if (match) return match;
  }
  return undefined;
}

/**
 * Checks a signed PDF without external tools: the byte range covers everything but /Contents, the digest matches,
 * the CMS signature verifies against the embedded certificate, signing-certificate-v2 names that certificate,
 * and there is no CMS signing-time.
 */
export function verifyPdfSignature(pdf: Buffer): Promise<VerificationResult> {
  return verifySignature(bytesOf(pdf));
}

/** The same checks on a PDF file, read a chunk at a time. */
export function verifyPdfSignatureFile(file: string): Promise<VerificationResult> {
  return withFile(file, 'r', verifySignature);
}

async function verifySignature(pdf: Bytes): Promise<VerificationResult> {
  const rangeMatch = await matchAtKeyword(
    pdf,
    '/ByteRange',
    /^\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/,
    true,
  );
  if (!rangeMatch) return fail('no /ByteRange');
  const [a, b, c, d] = rangeMatch.slice(1).map(Number) as [number, number, number, number];
  if (a !== 0 || c + d !== pdf.size || b >= c) return fail('the byte range does not cover the whole file');
  if (c - b > MAX_CONTENTS_BYTES) return fail('the byte range gap is larger than any signature');
  const gap = (await pdf.read(b, c)).toString('latin1');
  if (!/^<[0-9a-fA-F]+>$/.test(gap)) return fail('the byte range gap is not exactly the /Contents value');
  const subFilter = (await matchAtKeyword(pdf, '/SubFilter', /^\/SubFilter\s*\/([A-Za-z0-9.]+)/))?.[1] ?? '';
  if (subFilter !== SUBFILTER_ETSI_CADES_DETACHED) return fail(`/SubFilter is ${subFilter || 'missing'}`);
  const signingTime = await matchAtKeyword(
    pdf,
    '/M',
    /^\/M\s*\(D:(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/,
  );
  if (!signingTime) return fail('no signing time /M in the signature dictionary');
  const [, year, month, day, hour, minute, second] = signingTime;
  // pdf-lib writes /M in UTC (…Z).
  const signedAt = `${year}-${month}-${day}T${hour}:${minute}:${second}Z`;

  const contents = Buffer.from(gap.slice(1, -1), 'hex');
  let signedData: pkijs.SignedData;
  let der: Buffer;
  try {
    const parsed = asn1js.fromBER(arrayBufferOf(contents));
    if (parsed.offset === -1) throw new Error(parsed.result.error);
    der = contents.subarray(0, parsed.offset);
    signedData = new pkijs.SignedData({ schema: new pkijs.ContentInfo({ schema: parsed.result }).content });
  } catch (error) {
    return fail(`the signature is not a CMS SignedData: ${(error as Error).message}`);
  }
  // The signature protects the signed attributes, not the whole container: hold the unsigned parts to exactly what
  // a B-B signer writes, so that no byte of the file can change unnoticed.
  if (contents.subarray(der.length).some((byte) => byte !== 0))
    return fail('non-zero bytes after the CMS in /Contents');
  const reEncoded = Buffer.from(
    new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) })
      .toSchema()
      .toBER(false),
  );
  if (!reEncoded.equals(der)) return fail('the CMS is not in canonical DER');
  const signerInfo = signedData.signerInfos[0];
  const attributes = signerInfo?.signedAttrs?.attributes ?? [];
  const types = attributes.map((attribute) => attribute.type);
  if (types.includes(OID.signingTime)) return fail('the CMS carries a signing-time attribute');
  for (const required of [OID.contentType, OID.messageDigest, OID.signingCertificateV2]) {
    if (!types.includes(required)) return fail(`the signed attribute ${required} is missing`);
  }
  const contentTypeAttribute = attributes.find((attribute) => attribute.type === OID.contentType)!;
  const signedContentType = (contentTypeAttribute.values[0] as asn1js.ObjectIdentifier).valueBlock.toString();
  if (signedData.encapContentInfo.eContentType !== OID.data || signedContentType !== OID.data) {
    return fail('the content type is not id-data in both the CMS and its signed attribute');
  }
  const digestAlgorithms = signedData.digestAlgorithms.map((algorithm) => algorithm.algorithmId);
  if (digestAlgorithms.join() !== OID.sha256 || signerInfo?.digestAlgorithm.algorithmId !== OID.sha256) {
    return fail('the digest algorithm is not SHA-256 throughout');
  }
  if (signedData.version !== 1 || signerInfo.version !== 1 || signedData.signerInfos.length !== 1) {
    return fail('unexpected CMS or signer version, or more than one signer');
  }
  const digestParamsOk = [...signedData.digestAlgorithms, signerInfo.digestAlgorithm].every(
    (algorithm) =>
      algorithm.algorithmParams === undefined || algorithm.algorithmParams instanceof asn1js.Null,
  );
  if (!digestParamsOk) return fail('SHA-256 parameters must be absent or NULL');
  if (
    signerInfo.signatureAlgorithm.algorithmId.startsWith(OID.ecdsaPrefix) &&
    !isStrictDer(signerInfo.signature.valueBlock.valueHexView)
  ) {
    return fail('the ECDSA signature value is not strict DER');
  }

  // SignedData.verify hashes the content itself, which means holding all of it. Its steps are taken here instead:
  // the signer's certificate by issuer and serial, the ranges' digest against message-digest, then the signature
  // over the signed attributes.
  const sid = signerInfo.sid;
  if (!(sid instanceof pkijs.IssuerAndSerialNumber))
    return fail('the signer is not named by issuer and serial');
  const signerCertificate = signedData.certificates?.find(
    (certificate): certificate is pkijs.Certificate =>
      certificate instanceof pkijs.Certificate &&
      certificate.issuer.isEqual(sid.issuer) &&
      certificate.serialNumber.isEqual(sid.serialNumber),
  );
  if (!signerCertificate) return fail('the CMS carries no certificate of its signer');
  const messageDigest = attributes.find((attribute) => attribute.type === OID.messageDigest)!.values[0];
  const digest = await sha256Of(pdf, [
    [a, a + b],
    [c, c + d],
  ]);
  if (!(messageDigest instanceof asn1js.OctetString) || !digest.equals(messageDigest.valueBlock.valueHexView))
    return fail('the signed message-digest is not the digest of the byte range');
  const verified = await crypto
    .verifyWithPublicKey(
      signerInfo.signedAttrs!.encodedValue,
      signerInfo.signature,
      signerCertificate.subjectPublicKeyInfo,
      signerInfo.signatureAlgorithm,
      // As SignedData.verify does: rsaEncryption names no hash of its own.
      signerInfo.signatureAlgorithm.algorithmId === OID.rsaEncryption ? 'SHA-256' : undefined,
    )
    .catch((error: unknown) => String(error));
  if (verified !== true) return fail(`the CMS signature does not verify${verified ? `: ${verified}` : ''}`);

  const signerDer = Buffer.from(signerCertificate.toSchema().toBER(false));
  // The signer identifier is not signed; it must name the certificate byte for byte, not merely match it by value.
  const sameIssuer = Buffer.from(sid.issuer.valueBeforeDecode).equals(
    Buffer.from(signerCertificate.issuer.valueBeforeDecode),
  );
  if (!sameIssuer) return fail('the signer identifier does not name the certificate exactly');
  const essAttribute = attributes.find((attribute) => attribute.type === OID.signingCertificateV2)!;
  const essCertId = (essAttribute.values[0] as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  const firstId = essCertId.valueBlock.value[0] as asn1js.Sequence;
  const certHash = Buffer.from((firstId.valueBlock.value[0] as asn1js.OctetString).valueBlock.valueHexView);
  if (!certHash.equals(sha256(signerDer)))
    return fail('signing-certificate-v2 does not name the signing certificate');

  const subject = signerCertificate.subject.typesAndValues;
  return {
    valid: true,
    subFilter,
    signerSubject: subject.map((tv) => `${tv.type}=${tv.value.valueBlock.value}`).join(', '),
    signerName: String(subject.find((tv) => tv.type === OID.commonName)?.value.valueBlock.value ?? ''),
    signedAt,
    signedAttributes: types,
    coversWholeFile: true,
  };
}
