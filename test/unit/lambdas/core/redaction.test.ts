import * as fc from 'fast-check';
import {
  clearRegisteredSecrets,
  isSecretField,
  REDACTED,
  redactingReplacer,
  redactText,
  registerSecret,
} from '../../../../lambdas/core/redaction';
import { credentialStrings, parseSecretValue } from '../../../../lambdas/core/secret-value';
import { TI_LIVE_NEW, TI_LIVE_OLD } from '../../../support/fixtures';

/** Characters API keys and tokens are made of (RFC 6750 b64token plus `:`). */
const CREDENTIAL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=:'.split('');
const credential = (minLength = 8) =>
  fc
    .array(fc.constantFrom(...CREDENTIAL_CHARS), { minLength, maxLength: 64 })
    .map((chars) => chars.join(''))
    // A "secret" spelled like the marker itself cannot be told apart from it.
    .filter((value) => value !== 'REDACTED');

describe('Function: redactText', () => {
  beforeEach(() => {
    clearRegisteredSecrets();
  });

  it('replaces every occurrence of a registered secret', () => {
    // Prepare
    const secret = 'sk-PlainSecretValue9f8e7d6c';
    registerSecret(secret);

    // Act
    const out = redactText(`first ${secret}, second ${secret}${secret}.`);

    // Assess
    expect(out).toBe(`first ${REDACTED}, second ${REDACTED}${REDACTED}.`);
  });

  it('leaves text without secrets unchanged', () => {
    registerSecret('sk-PlainSecretValue9f8e7d6c');

    expect(redactText('rotation of keyrotor/acme-prod finished (…0002#1a2b3c4d)')).toBe('rotation of keyrotor/acme-prod finished (…0002#1a2b3c4d)');
  });

  it('registers several values at once and skips undefined and short ones', () => {
    // Prepare
    registerSecret('longenough-1', undefined, 'short7!', 'longenough-2');

    // Act
    const out = redactText('longenough-1 short7! longenough-2');

    // Assess
    expect(out).toBe(`${REDACTED} short7! ${REDACTED}`);
  });

  it('registers a value of exactly 8 characters', () => {
    registerSecret('Ab3$Xy9!');

    expect(redactText('key=Ab3$Xy9!')).toBe(`key=${REDACTED}`);
  });

  it('treats a registered value literally, not as a pattern', () => {
    registerSecret('a.b*c+d?e(f)[g]');

    expect(redactText('a.b*c+d?e(f)[g] and aXbbbcd')).toBe(`${REDACTED} and aXbbbcd`);
  });

  it('forgets registered values after clearRegisteredSecrets', () => {
    registerSecret('sk-PlainSecretValue9f8e7d6c');

    clearRegisteredSecrets();

    expect(redactText('sk-PlainSecretValue9f8e7d6c')).toBe('sk-PlainSecretValue9f8e7d6c');
  });

  it('redacts all of a longer secret that contains a shorter one, whatever the order they were registered in', () => {
    // Prepare: e.g. an account key that happens to be part of a longer key
    const short = 'ABCDEFGH';
    const long = 'XYZ-ABCDEFGH-0123456789';
    registerSecret(short, long);

    // Act
    const out = redactText(`Authorization ${long} / ${short}`);

    // Assess
    expect(out).toBe(`Authorization ${REDACTED} / ${REDACTED}`);
    expect(out).not.toContain('0123456789');
  });

  describe('credential-shaped text (nothing registered)', () => {
    it('redacts a Thought Industries key but keeps its public prefix', () => {
      expect(redactText(`key ${TI_LIVE_OLD} and ti_test_ABCD1234`)).toBe(`key ti_live_${REDACTED} and ti_test_${REDACTED}`);
    });

    it('leaves a bare prefix or a too-short suffix alone', () => {
      expect(redactText('keys start with ti_live_ or ti_test_abc')).toBe('keys start with ti_live_ or ti_test_abc');
    });

    it.each(['Bearer', 'bearer', 'Basic', 'HMAC'])('redacts the token after %s', (scheme) => {
      expect(redactText(`Authorization: ${scheme}   dGVuYW50OmtleQ==`)).toBe(`Authorization: ${scheme} ${REDACTED}`);
    });

    it('redacts a Bearer token made of any RFC 6750 characters, including underscores', () => {
      // Prepare
      const token = 'abc_defghijkl_mnop-qrst.uvw~xyz+012/345=';

      // Act
      const out = redactText(`header authorization: Bearer ${token}`);

      // Assess
      expect(out).toBe(`header authorization: Bearer ${REDACTED}`);
    });

    it('redacts a Thought Industries key sent as a Bearer token', () => {
      const out = redactText(`Authorization: Bearer ${TI_LIVE_NEW}`);

      expect(out).not.toContain(TI_LIVE_NEW.slice(8));
      expect(out).toContain(REDACTED);
    });

    it('does not treat the words in a sentence as a token', () => {
      expect(redactText('Basic auth is not used')).toBe('Basic auth is not used');
    });
  });

  describe('bounds', () => {
    it('keeps at most 1000 secrets and forgets the oldest first', () => {
      // Prepare
      const secrets = Array.from({ length: 1001 }, (_, i) => `secret-${String(i).padStart(6, '0')}`);

      // Act
      registerSecret(...secrets);

      // Assess
      expect(redactText(secrets[0])).toBe(secrets[0]);
      expect(redactText(secrets[1])).toBe(REDACTED);
      expect(redactText(secrets[1000])).toBe(REDACTED);
    });

    it('does not forget another secret when a known one is registered again', () => {
      // Prepare
      const secrets = Array.from({ length: 1000 }, (_, i) => `secret-${String(i).padStart(6, '0')}`);
      registerSecret(...secrets);

      // Act
      registerSecret(secrets[999]);

      // Assess
      expect(redactText(secrets[0])).toBe(REDACTED);
    });

    it('counts a secret registered again as recently used', () => {
      // Prepare
      const secrets = Array.from({ length: 1000 }, (_, i) => `secret-${String(i).padStart(6, '0')}`);
      registerSecret(...secrets);

      // Act: the oldest is used again, then a new one arrives
      registerSecret(secrets[0]);
      registerSecret('secret-new-000');

      // Assess
      expect(redactText(secrets[0])).toBe(REDACTED);
      expect(redactText(secrets[1])).toBe(secrets[1]);
      expect(redactText('secret-new-000')).toBe(REDACTED);
    });
  });

  describe('properties', () => {
    it('never lets a registered secret survive, whatever surrounds it', () => {
      fc.assert(
        fc.property(credential(), fc.string(), fc.string(), fc.string(), (secret, before, between, after) => {
          clearRegisteredSecrets();
          registerSecret(secret);

          const out = redactText(`${before}${secret}${between}${secret}${after}`);

          expect(out).not.toContain(secret);
        }),
      );
    });

    it('never lets any of several registered secrets survive, even when they overlap', () => {
      fc.assert(
        fc.property(fc.array(credential(), { minLength: 1, maxLength: 5 }), fc.array(fc.string(), { maxLength: 6 }), (secrets, fillers) => {
          clearRegisteredSecrets();
          registerSecret(...secrets);
          // Secrets embedded in each other as well as side by side
          const text = secrets.map((s, i) => `${fillers[i] ?? ''}${s}${secrets[(i + 1) % secrets.length].slice(0, 5)}`).join(fillers[5] ?? ' ');

          const out = redactText(`${text} ${secrets.join('')}`);

          for (const secret of secrets) expect(out).not.toContain(secret);
        }),
      );
    });

    it('returns text that holds no registered secret unchanged unless it looks like a credential', () => {
      fc.assert(
        fc.property(credential(), fc.string(), (secret, text) => {
          fc.pre(!text.includes(secret) && !/ti_(live|test)_|bearer|basic|hmac/i.test(text));
          clearRegisteredSecrets();
          registerSecret(secret);

          expect(redactText(text)).toBe(text);
        }),
      );
    });
  });
});

describe('Function: isSecretField', () => {
  it.each([
    'apiKey',
    'api_key',
    'api-key',
    'APIKEY',
    'privateKey',
    'private_key',
    'clientSecret',
    'client_secret',
    'accessToken',
    'adminToken',
    'refresh_token',
    'SecretString',
    'SecretBinary',
    'password',
    'Authorization',
    'credential',
    'token',
  ])('is true for %s', (name) => {
    expect(isSecretField(name)).toBe(true);
  });

  it.each(['publicKey', 'tenantId', 'provider', 'baseUrl', 'fingerprint', 'providerKeyId', 'apiKeyId', 'tokenExpiresAt', 'secretName', 'keyName', ''])(
    'is false for %s',
    (name) => {
      expect(isSecretField(name)).toBe(false);
    },
  );

  it('is true for every credential field of every provider in the secret schema', () => {
    // Prepare: one value per provider, with a distinct marker in each field
    const base = { environment: 'production', baseUrl: 'https://x.example.com' };
    const values = [
      { provider: 'thought-industries', apiKey: 'cred-apiKey-0001' },
      { provider: 'thinkific', apiKey: 'cred-apiKey-0002' },
      { provider: 'thrive', tenantId: 'eu-west-2_AbcdEfghI', apiKey: 'cred-apiKey-0003' },
      { provider: 'boss-insights', apiKey: 'cred-apiKey-0004', accountKey: 'cred-accountKey-0005' },
      { provider: 'imburse', tenantId: 't-1', publicKey: 'pub-1', privateKey: 'cred-privateKey-0006' },
    ].map((fields) => ({ ...base, ...fields }));

    for (const raw of values) {
      // Act
      const parsed = parseSecretValue(JSON.stringify(raw));
      const secretFields = Object.entries(parsed)
        .filter(([, v]) => typeof v === 'string' && credentialStrings(parsed).includes(v))
        .map(([k]) => k);

      // Assess
      expect(secretFields.length).toBeGreaterThan(0);
      for (const field of secretFields) expect({ provider: raw.provider, field, secret: isSecretField(field) }).toEqual({ provider: raw.provider, field, secret: true });
    }
  });
});

describe('Function: redactingReplacer', () => {
  beforeEach(() => {
    clearRegisteredSecrets();
  });

  it('redacts secret fields at any depth and keeps the rest', () => {
    // Prepare
    const entry = {
      message: 'verify failed',
      secret: 'keyrotor/acme-prod',
      request: { method: 'GET', headers: { Authorization: 'Bearer abcdefghijkl', accept: 'application/json' } },
      value: { provider: 'thought-industries', apiKey: TI_LIVE_OLD, nested: [{ privateKey: '-----BEGIN-----' }, { client_secret: 'cs' }] },
      count: 3,
    };

    // Act
    const out = JSON.parse(JSON.stringify(entry, redactingReplacer)) as typeof entry;

    // Assess
    expect(out).toEqual({
      message: 'verify failed',
      secret: 'keyrotor/acme-prod',
      request: { method: 'GET', headers: { Authorization: REDACTED, accept: 'application/json' } },
      value: { provider: 'thought-industries', apiKey: REDACTED, nested: [{ privateKey: REDACTED }, { client_secret: REDACTED }] },
      count: 3,
    });
  });

  it('redacts a secret field that holds an object or a number as a whole', () => {
    const out = JSON.parse(JSON.stringify({ credential: { user: 'u', pass: 'p' }, token: 12345678 }, redactingReplacer));

    expect(out).toEqual({ credential: REDACTED, token: REDACTED });
  });

  it('keeps empty, null and absent secret fields as they are, so their absence stays visible', () => {
    const out = JSON.parse(JSON.stringify({ apiKey: '', privateKey: null, token: undefined }, redactingReplacer));

    expect(out).toEqual({ apiKey: '', privateKey: null });
  });

  it('scrubs registered secrets and credential shapes from strings in ordinary fields and arrays', () => {
    // Prepare
    registerSecret('sk-PlainSecretValue9f8e7d6c');
    const entry = { error: { message: 'platform said: sk-PlainSecretValue9f8e7d6c is bad', hints: [`try ${TI_LIVE_NEW}`, 'ok'] } };

    // Act
    const text = JSON.stringify(entry, redactingReplacer);

    // Assess
    expect(JSON.parse(text)).toEqual({ error: { message: `platform said: ${REDACTED} is bad`, hints: [`try ti_live_${REDACTED}`, 'ok'] } });
  });

  it('scrubs a string at the root', () => {
    registerSecret('sk-PlainSecretValue9f8e7d6c');

    expect(JSON.stringify('x sk-PlainSecretValue9f8e7d6c', redactingReplacer)).toBe(`"x ${REDACTED}"`);
  });

  it('never lets a registered secret through, however deeply it is nested', () => {
    fc.assert(
      fc.property(credential(), fc.jsonValue({ maxDepth: 4 }), fc.string(), (secret, shape, prefix) => {
        clearRegisteredSecrets();
        registerSecret(secret);
        // Plant the secret in every string leaf and under a key named after it
        const plant = (node: unknown): unknown => {
          if (typeof node === 'string') return `${prefix}${secret}${node}`;
          if (Array.isArray(node)) return [...node.map(plant), secret];
          if (node !== null && typeof node === 'object') return { ...Object.fromEntries(Object.entries(node).map(([k, v]) => [k, plant(v)])), note: secret };
          return node;
        };

        const out = JSON.parse(JSON.stringify({ root: plant(shape), apiKey: secret }, redactingReplacer)) as unknown;

        // Assess every string that came out (checking the JSON text would also match across escapes)
        const leaves = (node: unknown): string[] =>
          typeof node === 'string' ? [node] : node !== null && typeof node === 'object' ? Object.values(node).flatMap(leaves) : [];
        for (const leaf of leaves(out)) expect(leaf).not.toContain(secret);
      }),
    );
  });
});
