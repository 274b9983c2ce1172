import { createHash } from 'node:crypto';

const MIN_LENGTH_FOR_HINT = 16;

/**
 * A label for a credential that is safe to print: its last four characters (what platforms'
 * admin panels show, so a person can find the key) and 8 hex digits of its SHA-256, which
 * tell two keys apart without revealing either.
 * @example fingerprintOf('ti_live_a1b2c3d4e5f6g7h8i9j0') // '…i9j0#0c4f…' (shape: …XXXX#hhhhhhhh)
 */
export function fingerprintOf(credential: string): string {
  const digest = createHash('sha256').update(credential, 'utf8').digest('hex').slice(0, 8);
  // Only a long key can spare four characters; a short one is labelled by its hash alone.
  return credential.length >= MIN_LENGTH_FOR_HINT ? `…${credential.slice(-4)}#${digest}` : `#${digest}`;
}

/**
 * A fingerprint as a tag value (`keyrotor:compromised`, `keyrotor:revocation-confirmed`). Tag
 * values allow only letters, digits, spaces and `_.:/=+-@`, so `…1a2b#3f9c2e1d` is stored as
 * `...1a2b:3f9c2e1d`; compare a tag with the fingerprint through this, never with the raw form.
 */
export function fingerprintTagValue(fingerprint: string): string {
  return fingerprint
    .replace(/…/g, '...')
    .replace(/#/g, ':')
    .replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_')
    .slice(0, 256);
}
