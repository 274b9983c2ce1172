import { createHash } from 'node:crypto';
import * as fc from 'fast-check';
import { fingerprintOf } from '../../../../lambdas/core/fingerprint';
import { TI_LIVE_NEW, TI_LIVE_OLD } from '../../../support/fixtures';

const sha8 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 8);

describe('Function: fingerprintOf', () => {
  it('returns the last four characters and 8 hex digits of the SHA-256 for a long key', () => {
    expect(fingerprintOf('ti_live_a1b2c3d4e5f6g7h8i9j0')).toBe('…i9j0#26127881');
  });

  it('matches the documented shape …XXXX#hhhhhhhh', () => {
    expect(fingerprintOf(TI_LIVE_OLD)).toMatch(/^…0001#[0-9a-f]{8}$/);
  });

  it('is stable, so two runs name the same key the same way', () => {
    expect(fingerprintOf(TI_LIVE_OLD)).toBe(fingerprintOf(TI_LIVE_OLD));
  });

  it('tells apart keys that end in the same four characters', () => {
    const a = 'ti_live_AAAAAAAAAAAAAAAA1234';
    const b = 'ti_live_BBBBBBBBBBBBBBBB1234';

    expect(fingerprintOf(a).slice(0, 5)).toBe(fingerprintOf(b).slice(0, 5));
    expect(fingerprintOf(a)).not.toBe(fingerprintOf(b));
  });

  it('tells the fixture keys apart', () => {
    expect(fingerprintOf(TI_LIVE_OLD)).not.toBe(fingerprintOf(TI_LIVE_NEW));
  });

  it('shows the last four characters from 16 characters on', () => {
    const sixteen = 'abcdefghijkl1234';

    expect(fingerprintOf(sixteen)).toBe(`…1234#${sha8(sixteen)}`);
  });

  it('labels a key shorter than 16 characters by its hash alone', () => {
    const fifteen = 'abcdefghijk1234';

    expect(fingerprintOf(fifteen)).toBe(`#${sha8(fifteen)}`);
    expect(fingerprintOf(fifteen)).not.toContain('1234');
  });

  it('labels an empty credential by the hash of nothing', () => {
    expect(fingerprintOf('')).toBe('#e3b0c442');
  });

  it('hashes the UTF-8 bytes of the credential', () => {
    const key = 'clé-secrète-€€€€-0001';

    expect(fingerprintOf(key)).toBe(`…0001#${sha8(key)}`);
  });

  describe('properties', () => {
    it('never reveals more than the last four characters of any credential', () => {
      fc.assert(
        fc.property(fc.string({ minLength: 0, maxLength: 200 }), (credential) => {
          const fingerprint = fingerprintOf(credential);
          const at = fingerprint.lastIndexOf('#');
          const hint = fingerprint.slice(0, at);
          const digest = fingerprint.slice(at + 1);

          expect(digest).toMatch(/^[0-9a-f]{8}$/);
          expect(hint).toBe(credential.length >= 16 ? `…${credential.slice(-4)}` : '');
        }),
      );
    });
  });
});
