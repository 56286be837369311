import { createHash, randomBytes, randomInt } from 'node:crypto';

/**
 * Ids are random (128 bits), prefixed by kind, and restricted to [A-Za-z0-9_-], so they are safe in Redis keys,
 * S3 keys and BullMQ job ids, and anything else is rejected before it reaches storage.
 */
const ID_KINDS = { packet: 'pk', station: 'st', registrar: 'rg' } as const;
export type IdKind = keyof typeof ID_KINDS;

export const newId = (kind: IdKind) => `${ID_KINDS[kind]}_${randomBytes(16).toString('base64url')}`;
export const idPattern = (kind: IdKind) => new RegExp(`^${ID_KINDS[kind]}_[A-Za-z0-9_-]{22}$`);

/** 256-bit bearer tokens; only their SHA-256 is stored. */
export const newToken = (kind: 'station' | 'registrar') =>
  `${kind === 'station' ? 'sta' : 'reg'}_${randomBytes(32).toString('base64url')}`;
export const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** Crockford base32 without I, L, O, U: easy to read aloud and to type from a printed slip. */
const TRACKING_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TRACKING_GROUPS = 4;
const TRACKING_GROUP_LENGTH = 4;

/** 16 symbols × 5 bits = 80 random bits, shown as XXXX-XXXX-XXXX-XXXX. */
export function newTrackingCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < TRACKING_GROUPS; g++) {
    let group = '';
    for (let i = 0; i < TRACKING_GROUP_LENGTH; i++)
      group += TRACKING_ALPHABET[randomInt(TRACKING_ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}

export const TRACKING_CODE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/;

/** Accepts lowercase and missing dashes, as people type them. */
export function normalizeTrackingCode(input: string): string {
  const compact = input.toUpperCase().replace(/[\s-]/g, '');
  return compact.match(/.{1,4}/g)?.join('-') ?? '';
}
