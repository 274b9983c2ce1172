import * as fc from 'fast-check';
import { AwaitingFirstKeyError, InvalidSecretValueError, KeyrotorReaderError } from '../../../client';
import { credentialFingerprint, parseSecretValue, parseTokenValue } from '../../../client/secret-values';
import { BASE_URL, TI_LIVE_NEW, TI_LIVE_OLD, tiValue } from '../../support/fixtures';

const SECRET = 'keyrotor/acme-prod';

/** A credential-looking string with a marker no reader message contains. */
const secretArb = fc.string({ minLength: 8, maxLength: 40 }).map((s) => `SECRET§${s}`);

/** JSON objects shaped like (and unlike) keyrotor values, with the secret in some field. */
const valueWithSecret = (secret: string) =>
  fc
    .record(
      {
        provider: fc.oneof(fc.constantFrom('thought-industries', 'thinkific', 'thrive', 'boss-insights', 'imburse'), fc.constant(secret), fc.anything()),
        environment: fc.oneof(fc.constantFrom('production', 'sandbox'), fc.constant(secret), fc.anything()),
        baseUrl: fc.oneof(fc.constant(BASE_URL), fc.constant(secret), fc.webUrl(), fc.anything()),
        apiKey: fc.oneof(fc.constant(secret), fc.anything()),
        tenantId: fc.oneof(fc.constant(secret), fc.string()),
        privateKey: fc.oneof(fc.constant(secret), fc.string()),
        accessToken: fc.oneof(fc.constant(secret), fc.anything()),
        tokenType: fc.oneof(fc.constant('Bearer'), fc.constant(secret), fc.anything()),
        expiresAt: fc.oneof(fc.constant('2026-11-23T11:00:00.000Z'), fc.constant(secret), fc.anything()),
        refreshAt: fc.oneof(fc.constant(secret), fc.anything()),
        keyrotor: fc.oneof(fc.constant(secret), fc.constant('awaiting-first-key')),
        [secret]: fc.anything(),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value) ?? 'null');

/** `[secret, input]`: an input (JSON or not) that holds the secret somewhere. */
const inputWithSecret = secretArb.chain((secret) =>
  fc.tuple(fc.constant(secret), fc.oneof(valueWithSecret(secret), fc.constant(secret), fc.constant(`{"apiKey":"${secret}`))),
);

describe('Module: client/secret-values', () => {
  describe('Function: parseSecretValue', () => {
    it('accepts each provider with its credential fields', () => {
      const common = { environment: 'production', baseUrl: BASE_URL };
      const values = [
        { provider: 'thought-industries', apiKey: 'k' },
        { provider: 'thinkific', apiKey: 'k' },
        { provider: 'thrive', tenantId: 'eu-west-2_AbcdEfghI', apiKey: 'k' },
        { provider: 'boss-insights', apiKey: 'k', accountKey: 'a' },
        { provider: 'imburse', tenantId: 't', publicKey: 'p', privateKey: 's' },
      ];
      for (const value of values) expect(parseSecretValue(SECRET, JSON.stringify({ ...common, ...value }))).toMatchObject(value);
    });

    it('treats any value with keyrotor = awaiting-first-key as the bootstrap placeholder', () => {
      expect(() => parseSecretValue(SECRET, '{"keyrotor":"awaiting-first-key"}')).toThrow(AwaitingFirstKeyError);
    });

    it('returns a value or throws a reader error that never quotes the input, for any input', () => {
      fc.assert(
        fc.property(inputWithSecret, ([secret, input]) => {
          try {
            parseSecretValue(SECRET, input);
          } catch (error) {
            expect(error).toBeInstanceOf(KeyrotorReaderError);
            expect((error as Error).message).not.toContain(secret);
            expect(JSON.stringify(error)).not.toContain(secret);
          }
        }),
      );
    });
  });

  describe('Function: parseTokenValue', () => {
    it('returns a token or throws a reader error that never quotes the input, for any input', () => {
      fc.assert(
        fc.property(inputWithSecret, ([secret, input]) => {
          try {
            const { token, expiresAtMs } = parseTokenValue(SECRET, input);
            expect(Number.isFinite(expiresAtMs)).toBe(true);
            expect(Object.keys(token).sort()).toEqual(['accessToken', 'expiresAt', 'tokenType']);
          } catch (error) {
            expect(error).toBeInstanceOf(KeyrotorReaderError);
            expect((error as Error).message).not.toContain(secret);
          }
        }),
      );
    });

    it('refuses a value that is not a JSON object', () => {
      expect(() => parseTokenValue(SECRET, '"just a string"')).toThrow(InvalidSecretValueError);
    });
  });

  describe('Function: credentialFingerprint', () => {
    it('labels the key the same way whatever the metadata says, and two keys differently', () => {
      const old = credentialFingerprint(parseSecretValue(SECRET, tiValue(TI_LIVE_OLD)));

      expect(credentialFingerprint(parseSecretValue(SECRET, tiValue(TI_LIVE_OLD, { issuedAt: '2026-11-23T10:00:00Z', fingerprint: 'x' })))).toBe(old);
      expect(credentialFingerprint(parseSecretValue(SECRET, tiValue(TI_LIVE_NEW)))).not.toBe(old);
      expect(old).not.toContain(TI_LIVE_OLD);
    });

    it('tells apart multi-part credentials that differ in any part', () => {
      const boss = (apiKey: string, accountKey: string) =>
        credentialFingerprint(parseSecretValue(SECRET, JSON.stringify({ provider: 'boss-insights', environment: 'production', baseUrl: BASE_URL, apiKey, accountKey })));

      expect(boss('key-1', 'account-1')).not.toBe(boss('key-1', 'account-2'));
      expect(boss('key-1', 'account-1')).toBe(boss('key-1', 'account-1'));
    });
  });
});
