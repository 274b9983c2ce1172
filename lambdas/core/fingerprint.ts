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
