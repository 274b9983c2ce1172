import { createHash, createHmac } from 'node:crypto';
import * as fc from 'fast-check';
import {
  ProviderAuthError,
  ProviderError,
  ProviderPermissionError,
  ProviderRateLimitError,
  ProviderResponseError,
  ProviderUnavailableError,
  ValidationError,
} from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets, redactText } from '../../../../lambdas/core/redaction';
import { secretValueSchema } from '../../../../lambdas/core/secret-value';
import {
  ADMIN_ROLE,
  EXCHANGE_PATH,
  ImburseProvider,
  MIN_PRIVATE_KEY_BYTES,
  type ImburseProviderOptions,
  type ImburseValue,
} from '../../../../lambdas/providers/imburse';
import { bodyHash, decodePrivateKey, hmacAuthorization, signHmac } from '../../../../lambdas/providers/imburse/hmac';
import type { ProviderHttpClientOptions } from '../../../../lambdas/providers/http';
import { json, recordCall, reply, thrownBy, validationErrorOf, type RecordedCall } from '../../../support/fakes/fetch-stub';

/** Values from Imburse's own "Creating a Tenant API Key" guide. */
const DOC_PUBLIC_KEY = 'a123456b-c12c-123d-1ab4-18bd8c8e88a3';
const DOC_PRIVATE_KEY = 'AGHYR1aWYgHgyjhJLkVCd7b8XfAVeA4tuFwCQl3X64Y=';
const DOC_TENANT_ID = '88fdb12a-14dc-419c-b74c-422e2c25cfe7';
const DOC_ACCOUNT_ID = '53ca62f5-b124-447d-b593-2f7ea4fecdcc';

const BASE = 'https://sandbox-api.imbursepayments.com';
const OLD_PUBLIC = DOC_PUBLIC_KEY;
const OLD_PRIVATE = DOC_PRIVATE_KEY;
const NEW_PUBLIC = '0b7e9c1d-52a4-4f63-8e0a-7c1d2e3f4a5b';
const NEW_PRIVATE = 'ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=';
const OTHER_PUBLIC = 'f00dbabe-0000-4000-8000-00000000beef';
const ACCESS_TOKEN = 'opaque-token-Z9y8X7w6V5u4T3s2';
const NOW = Date.parse('2026-11-23T10:00:00Z');
const EPOCH = NOW / 1000;
const KEY_NAME = 'keyrotor-acme-prod-2f1c9d3e';
const KEYS_URL = `${BASE}/v1/tenant/${DOC_TENANT_ID}/keys`;

const target = { baseUrl: BASE, environment: 'production' } as const;

const value = (publicKey = OLD_PUBLIC, privateKey = OLD_PRIVATE, extra: Partial<ImburseValue> = {}): ImburseValue => ({
  provider: 'imburse',
  environment: 'production',
  baseUrl: BASE,
  tenantId: DOC_TENANT_ID,
  publicKey,
  privateKey,
  ...extra,
});

/** The documented recipe, straight from node:crypto (independent of the provider's signer). */
function recipeSignature(publicKey: string, privateKey: string, nonce: string, epoch: number, body?: string): string {
  const hash = body === undefined || body === '' ? '' : createHash('sha256').update(Buffer.from(body, 'utf8')).digest('base64');
  return createHmac('sha256', Buffer.from(privateKey, 'base64')).update(Buffer.from(`${publicKey}:${nonce}:${epoch}:${hash}`, 'utf8')).digest('base64');
}

const errorBody = (errorCode: string, message: string) => ({
  timestamp: '2026-11-23T10:00:00.000Z',
  correlationId: '6a1f0a6e-2d4b-4b8e-9a57-1f0e9c2d3b4a',
  errors: [{ errorCode, message }],
});

type Responder = (call: RecordedCall) => Response | Promise<Response>;

interface StubbedImburse {
  readonly fetch: typeof fetch;
  readonly calls: RecordedCall[];
  /** Responses to give before the normal behaviour, in order. */
  readonly queue: Responder[];
  /** The tenant's keys as the list call answers them. */
  keys: { publicKey: string; name: string; roles: string[] }[];
}

/** A `fetch` that answers like Imburse's tenant-key API (no signature checks: the recipe tests do that) and records every call. */
function stubImburse(): StubbedImburse {
  const platform: StubbedImburse = {
    calls: [],
    queue: [],
    keys: [
      { publicKey: OTHER_PUBLIC, name: 'Reporting key', roles: ['tenant-read'] },
      { publicKey: OLD_PUBLIC, name: 'Admin Key', roles: [ADMIN_ROLE, 'payments-write'] },
    ],
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const call = recordCall(input, init);
      platform.calls.push(call);
      const queued = platform.queue.shift();
      if (queued) return queued(call);
      if (call.url === `${BASE}${EXCHANGE_PATH}`) return json(200, { accessToken: ACCESS_TOKEN, expires: NOW + 900_000 });
      if (call.url === KEYS_URL && call.method === 'GET') return json(200, platform.keys);
      if (call.url === KEYS_URL && call.method === 'POST') {
        const { name, roles } = JSON.parse(call.body ?? '{}') as { name: string; roles: string[] };
        return json(201, { tenantId: DOC_TENANT_ID, accountId: DOC_ACCOUNT_ID, name, publicKey: NEW_PUBLIC, privateKey: NEW_PRIVATE, roles });
      }
      if (call.url.startsWith(`${KEYS_URL}/`) && call.method === 'DELETE') return new Response(null, { status: 204 });
      return json(404, errorBody('NotFound', 'No route.'));
    }) as typeof fetch,
  };
  return platform;
}

function nonces(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String((n += 1)).padStart(12, '0')}`;
}

function makeProvider(platform: StubbedImburse, http: Omit<ProviderHttpClientOptions, 'provider'> = {}, options: ImburseProviderOptions = {}): ImburseProvider {
  return new ImburseProvider({ fetch: platform.fetch, sleep: async () => undefined, ...http }, { now: () => NOW, newNonce: nonces(), ...options });
}

/** Splits `Hmac {publicKey}:{nonce}:{epoch}:{signature}`. */
function parseHmac(header: string | undefined): { publicKey: string; nonce: string; epoch: number; signature: string } {
  const match = /^Hmac ([^:]+):([^:]+):(\d+):([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) throw new Error(`not an Hmac header: ${header}`);
  return { publicKey: match[1], nonce: match[2], epoch: Number(match[3]), signature: match[4] };
}

beforeEach(() => clearRegisteredSecrets());

describe('Module: imburse/hmac', () => {
  describe('Function: signHmac', () => {
    it('matches the recipe computed with node:crypto for a request without a body (bodyHash is empty)', () => {
      // Prepare
      const input = { publicKey: DOC_PUBLIC_KEY, privateKey: DOC_PRIVATE_KEY, nonce: '3f0c2a8e-6b1d-4c7e-9a53-2d8f1e0b7c64', epoch: 1_700_000_000 };

      // Act
      const signature = signHmac(input);

      // Assess
      expect(signature).toBe(recipeSignature(input.publicKey, input.privateKey, input.nonce, input.epoch));
      expect(signature).toBe(
        createHmac('sha256', Buffer.from(DOC_PRIVATE_KEY, 'base64'))
          .update(`${DOC_PUBLIC_KEY}:3f0c2a8e-6b1d-4c7e-9a53-2d8f1e0b7c64:1700000000:`)
          .digest('base64'),
      );
    });

    it('matches the recipe for a request with a JSON body', () => {
      const body = JSON.stringify({ name: 'Admin Key', roles: ['tenant-admin'] });
      const input = { publicKey: DOC_PUBLIC_KEY, privateKey: DOC_PRIVATE_KEY, nonce: '3f0c2a8e-6b1d-4c7e-9a53-2d8f1e0b7c64', epoch: 1_700_000_000, body };

      expect(signHmac(input)).toBe(recipeSignature(input.publicKey, input.privateKey, input.nonce, input.epoch, body));
    });

    it.each([
      ['no body', undefined, 'HkazwH6tqUYT1q7APEtq873WEqToUxjPrns/2ww9OF4='],
      ['a JSON body', '{"name":"Admin Key","roles":["tenant-admin"]}', 'Go1pIt2QCPwpnLgnsN24w5QT4hZT8RXXCfNe16dOaW0='],
      ['a non-ASCII body (hashed as UTF-8)', 'café ✓', 'JHqQvoDHBOzTWORNmxGq6midn9S5NUBnh2kFTzGzKUs='],
    ])('reproduces a vector computed outside Node (Python hmac/hashlib) for %s', (_what, body, expected) => {
      const signature = signHmac({ publicKey: DOC_PUBLIC_KEY, privateKey: DOC_PRIVATE_KEY, nonce: '3f0c2a8e-6b1d-4c7e-9a53-2d8f1e0b7c64', epoch: 1_700_000_000, body });

      expect(signature).toBe(expected);
    });

    it('treats an empty body as no body', () => {
      const input = { publicKey: DOC_PUBLIC_KEY, privateKey: DOC_PRIVATE_KEY, nonce: 'n-1', epoch: 1 };

      expect(signHmac({ ...input, body: '' })).toBe(signHmac(input));
    });

    it('matches the recipe for any key, nonce, epoch and body', () => {
      fc.assert(
        fc.property(
          fc.uuid(),
          fc.uint8Array({ minLength: 16, maxLength: 64 }),
          fc.uuid(),
          fc.integer({ min: 0, max: 4_102_444_800 }),
          fc.option(fc.string({ unit: 'grapheme', maxLength: 200 }), { nil: undefined }),
          (publicKey, keyBytes, nonce, epoch, body) => {
            const privateKey = Buffer.from(keyBytes).toString('base64');
            expect(signHmac({ publicKey, privateKey, nonce, epoch, body })).toBe(recipeSignature(publicKey, privateKey, nonce, epoch, body));
          },
        ),
      );
    });

    it('changes with the nonce, the epoch, the body and the key', () => {
      const base = { publicKey: DOC_PUBLIC_KEY, privateKey: DOC_PRIVATE_KEY, nonce: 'n-1', epoch: 1_700_000_000, body: '{}' };
      const signatures = new Set([
        signHmac(base),
        signHmac({ ...base, nonce: 'n-2' }),
        signHmac({ ...base, epoch: base.epoch + 1 }),
        signHmac({ ...base, body: '{ }' }),
        signHmac({ ...base, privateKey: NEW_PRIVATE }),
        signHmac({ ...base, publicKey: NEW_PUBLIC }),
      ]);

      expect(signatures.size).toBe(6);
    });

    it.each([
      ['a private key that is not base64', { privateKey: 'not base64!!' }, 'privateKey:'],
      ['an empty private key', { privateKey: '' }, 'privateKey:'],
      ['a private key with a stray padding', { privateKey: 'QUJD=' }, 'privateKey:'],
      ['a public key holding ":"', { publicKey: 'a:b' }, 'publicKey:'],
      ['a nonce with a space', { nonce: 'a b' }, 'nonce:'],
      ['a fractional epoch', { epoch: 1.5 }, 'epoch:'],
      ['a negative epoch', { epoch: -1 }, 'epoch:'],
    ])('throws a TypeError for %s, naming the field without quoting it', (_what, override, field) => {
      const input = { publicKey: DOC_PUBLIC_KEY, privateKey: DOC_PRIVATE_KEY, nonce: 'n-1', epoch: 1, ...override };

      expect(() => signHmac(input)).toThrow(TypeError);
      expect(() => signHmac(input)).toThrow(field);
      try {
        signHmac(input);
      } catch (error) {
        for (const field of Object.values(override)) if (typeof field === 'string' && field.length > 0) expect((error as Error).message).not.toContain(field);
      }
    });
  });

  describe('Function: hmacAuthorization', () => {
    it('returns "Hmac {publicKey}:{nonce}:{epoch}:{signature}"', () => {
      const input = { publicKey: DOC_PUBLIC_KEY, privateKey: DOC_PRIVATE_KEY, nonce: '3f0c2a8e-6b1d-4c7e-9a53-2d8f1e0b7c64', epoch: 1_700_000_000 };

      expect(hmacAuthorization(input)).toBe(`Hmac ${DOC_PUBLIC_KEY}:3f0c2a8e-6b1d-4c7e-9a53-2d8f1e0b7c64:1700000000:HkazwH6tqUYT1q7APEtq873WEqToUxjPrns/2ww9OF4=`);
    });
  });

  describe('Function: bodyHash', () => {
    it('returns Base64(SHA256(UTF-8 body)), or the empty string without a body', () => {
      expect(bodyHash(undefined)).toBe('');
      expect(bodyHash('')).toBe('');
      expect(bodyHash('café ✓')).toBe('PBW7sGcux/hDvgVnfc4bDC+35koWYY5Jjey73zts1uI=');
    });
  });

  describe('Function: decodePrivateKey', () => {
    it('decodes padded and unpadded base64', () => {
      expect(decodePrivateKey(DOC_PRIVATE_KEY)).toHaveLength(32);
      expect(decodePrivateKey(DOC_PRIVATE_KEY.replace(/=+$/, ''))).toEqual(decodePrivateKey(DOC_PRIVATE_KEY));
    });

    it.each(['', '====', 'abc$', 'QUJD=', 'Q', 'a b c d', 'QUJDRA-_'])('refuses %j', (input) => {
      expect(decodePrivateKey(input)).toBeUndefined();
    });
  });
});

describe('Class: ImburseProvider', () => {
  let platform: StubbedImburse;
  let provider: ImburseProvider;

  beforeEach(() => {
    platform = stubImburse();
    provider = makeProvider(platform);
  });

  describe('Properties', () => {
    it('declares what the Imburse API allows', () => {
      expect(provider.id).toBe('imburse');
      expect(provider.displayName).toBe('Imburse');
      expect(provider.capabilities).toEqual({ issueByApi: true, revokeByApi: true, listKeys: true, shortLivedTokens: true, twoLiveKeys: true });
    });

    it('uses the public key as the key id', () => {
      expect(provider.keyIdOf(value())).toBe(OLD_PUBLIC);
    });

    it('builds values the secret schema accepts', () => {
      expect(secretValueSchema.safeParse(value()).success).toBe(true);
    });
  });

  describe('Property: manual', () => {
    it('tells a person how to create the key in the portal and hand it over', () => {
      const text = provider.manual.issue({ secretName: 'keyrotor/acme-prod', baseUrl: BASE, environment: 'production', keyName: KEY_NAME });

      expect(text).toContain('Imburse portal');
      expect(text).toContain(`"${KEY_NAME}"`);
      expect(text).toContain('same roles');
      expect(text).toContain('shown only once');
      expect(text).toContain('npx keyrotor submit keyrotor/acme-prod');
      expect(text).toContain('"tenantId"');
      expect(text).toContain('"privateKey"');
    });

    it('tells a person which old key to delete, by fingerprint', () => {
      const text = provider.manual.revoke({ secretName: 'keyrotor/acme-prod', baseUrl: BASE, fingerprint: '…88a3#1a2b3c4d' });

      expect(text).toContain('Delete the old Tenant API key …88a3#1a2b3c4d of keyrotor/acme-prod');
      expect(text).toContain('Imburse portal');
      expect(text).toContain('401');
    });
  });

  describe('Method: parseSubmission', () => {
    it('returns tenantId, publicKey and privateKey', () => {
      const input = JSON.stringify({ tenantId: DOC_TENANT_ID, publicKey: NEW_PUBLIC, privateKey: NEW_PRIVATE });

      expect(provider.parseSubmission(`\n${input}\n`)).toEqual({ tenantId: DOC_TENANT_ID, publicKey: NEW_PUBLIC, privateKey: NEW_PRIVATE });
    });

    it("accepts the portal's create response as it is (extra fields ignored)", () => {
      const input = JSON.stringify({ tenantId: DOC_TENANT_ID, accountId: DOC_ACCOUNT_ID, name: 'Admin Key', publicKey: NEW_PUBLIC, privateKey: NEW_PRIVATE, roles: ['tenant-admin'] });

      expect(provider.parseSubmission(input)).toEqual({ tenantId: DOC_TENANT_ID, publicKey: NEW_PUBLIC, privateKey: NEW_PRIVATE });
    });

    it('registers the private key as a secret', () => {
      provider.parseSubmission(JSON.stringify({ tenantId: DOC_TENANT_ID, publicKey: NEW_PUBLIC, privateKey: NEW_PRIVATE }));

      expect(redactText(`x ${NEW_PRIVATE} y`)).toBe('x [REDACTED] y');
    });

    it.each([
      ['a raw key', NEW_PRIVATE, ['must be the JSON object {"tenantId":"…","publicKey":"…","privateKey":"…"}']],
      ['broken JSON', `{"privateKey":"${NEW_PRIVATE}"`, ['must be the JSON object']],
      ['a JSON array', '[]', ['must be the JSON object']],
      ['an empty object', '{}', ['tenantId: is missing', 'publicKey: is missing', 'privateKey: is missing']],
      ['a numeric private key', `{"tenantId":"t","publicKey":"${NEW_PUBLIC}","privateKey":12345678901234}`, ['privateKey: is missing']],
      ['a public key that is not a uuid', `{"tenantId":"t","publicKey":"key-1","privateKey":"${NEW_PRIVATE}"}`, ['publicKey: must be a uuid']],
      ['a private key that is not base64', `{"tenantId":"t","publicKey":"${NEW_PUBLIC}","privateKey":"secret!secret!secret"}`, ['privateKey: must be base64']],
      ['a private key of 12 bytes', `{"tenantId":"t","publicKey":"${NEW_PUBLIC}","privateKey":"c2VjcmV0c2VjcmV0"}`, [`privateKey: must decode to at least ${MIN_PRIVATE_KEY_BYTES} bytes`]],
      ['a tenant id with a space', `{"tenantId":"a b","publicKey":"${NEW_PUBLIC}","privateKey":"${NEW_PRIVATE}"}`, ['tenantId: must be']],
    ])('throws ValidationError for %s', (_what, input, issues) => {
      const error = validationErrorOf(() => provider.parseSubmission(input));

      expect(error.issues).toHaveLength(issues.length);
      issues.forEach((issue, index) => expect(error.issues[index]).toContain(issue));
      expect(error.message).toMatch(/^submitted credential is invalid: /);
      expect(error.cause).toBeUndefined();
    });

    it('never echoes the input in its error', () => {
      const inputs = [
        `{"privateKey":"${NEW_PRIVATE}"`,
        `{"tenantId":"t","publicKey":"${NEW_PUBLIC}","privateKey":"secret!secret!secret"}`,
        `{"tenantId":"t","publicKey":"not-a-uuid-secret","privateKey":"c2VjcmV0c2VjcmV0"}`,
      ];
      for (const input of inputs) {
        const error = validationErrorOf(() => provider.parseSubmission(input));
        expect(error.message).not.toContain(NEW_PRIVATE);
        expect(error.message).not.toContain('secret');
        expect(error.message).not.toContain('c2VjcmV0c2VjcmV0');
      }
    });

    it('returns a well-formed credential or throws a ValidationError that does not quote it, for any input', () => {
      const field = fc.oneof(fc.string({ maxLength: 60 }), fc.base64String({ maxLength: 60 }), fc.uuid(), fc.constant(NEW_PRIVATE), fc.integer());
      const submission = fc.record({ tenantId: field, publicKey: field, privateKey: field }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.json(), submission), (input) => {
          let result: Partial<ImburseValue>;
          try {
            result = provider.parseSubmission(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            const message = (error as ValidationError).message;
            let privateKey: unknown;
            try {
              privateKey = (JSON.parse(input) as { privateKey?: unknown }).privateKey;
            } catch {
              privateKey = undefined;
            }
            if (typeof privateKey === 'string' && privateKey.length >= 8) expect(message).not.toContain(privateKey);
            if (input.trim().length >= 8) expect(message).not.toContain(input.trim());
            return;
          }
          expect(provider.formatProblems(value(result.publicKey, result.privateKey))).toEqual([]);
          expect(typeof result.tenantId).toBe('string');
        }),
      );
    });
  });

  describe('Method: formatProblems', () => {
    it('returns no problems for a uuid public key and a 32-byte base64 private key, in either environment', () => {
      expect(provider.formatProblems(value())).toEqual([]);
      expect(provider.formatProblems(value(NEW_PUBLIC.toUpperCase(), NEW_PRIVATE.replace(/=$/, ''), { environment: 'sandbox' }))).toEqual([]);
    });

    it.each([
      ['a public key that is not a uuid', value('admin-key', OLD_PRIVATE), ['publicKey: must be a uuid (8-4-4-4-12 hexadecimal digits) as the Imburse portal shows it']],
      ['a private key that is not base64', value(OLD_PUBLIC, 'secret-with-dashes-and!'), ['privateKey: must be base64 (A–Z, a–z, 0–9, +, /, optional = padding) as the Imburse portal shows it']],
      ['a private key of 15 bytes', value(OLD_PUBLIC, Buffer.alloc(15, 7).toString('base64')), ['privateKey: must decode to at least 16 bytes (the portal issues 32)']],
      ['both', value('x', '!'), ['publicKey: must be a uuid', 'privateKey: must be base64']],
    ])('reports %s without quoting it', (_what, input, expected) => {
      const problems = provider.formatProblems(input);

      expect(problems).toHaveLength(expected.length);
      expected.forEach((problem, index) => expect(problems[index]).toContain(problem));
      expect(problems.join(' ')).not.toContain(input.privateKey.length > 2 ? input.privateKey : '\u0000');
    });

    it('accepts a 16-byte private key', () => {
      expect(provider.formatProblems(value(OLD_PUBLIC, Buffer.alloc(16, 7).toString('base64')))).toEqual([]);
    });
  });

  describe('Method: verify', () => {
    it('exchanges a signature for a token with one POST {baseUrl}/v1/identity/hmac and no body', async () => {
      // Act
      const result = await provider.verify(value(), target);

      // Assess
      expect(result).toEqual({ checked: `POST ${BASE}/v1/identity/hmac → 200` });
      expect(platform.calls).toHaveLength(1);
      const [call] = platform.calls;
      expect(call.method).toBe('POST');
      expect(call.url).toBe(`${BASE}/v1/identity/hmac`);
      expect(call.body).toBeUndefined();
      expect(call.headers.authorization).toMatch(/^Hmac [0-9a-f-]{36}:[^:\s]+:\d+:[A-Za-z0-9+/]{43}=$/);
    });

    it('signs with the value\'s key pair, a fresh nonce and the current epoch, as the recipe says', async () => {
      await provider.verify(value(), target);

      const header = parseHmac(platform.calls[0].headers.authorization);
      expect(header.publicKey).toBe(OLD_PUBLIC);
      expect(header.nonce).toBe('00000000-0000-4000-8000-000000000001');
      expect(header.epoch).toBe(EPOCH);
      expect(header.signature).toBe(recipeSignature(OLD_PUBLIC, OLD_PRIVATE, header.nonce, header.epoch));
    });

    it('rounds the epoch down to whole seconds', async () => {
      const p = makeProvider(platform, {}, { now: () => NOW + 999 });

      await p.verify(value(), target);

      expect(parseHmac(platform.calls[0].headers.authorization).epoch).toBe(EPOCH);
    });

    it('uses a new random nonce (a uuid) by default, never the same twice', async () => {
      const p = new ImburseProvider({ fetch: platform.fetch });

      await p.verify(value(), target);
      await p.verify(value(), target);

      const [first, second] = platform.calls.map((call) => parseHmac(call.headers.authorization));
      expect(first.nonce).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(second.nonce).not.toBe(first.nonce);
      expect(Math.abs(first.epoch - Date.now() / 1000)).toBeLessThan(5);
    });

    it('never reuses a token: each verify, and each key, signs its own exchange', async () => {
      await provider.verify(value(), target);
      await provider.verify(value(NEW_PUBLIC, NEW_PRIVATE), target);
      await provider.verify(value(), target);

      const headers = platform.calls.map((call) => parseHmac(call.headers.authorization));
      expect(headers.map((h) => h.publicKey)).toEqual([OLD_PUBLIC, NEW_PUBLIC, OLD_PUBLIC]);
      expect(headers[1].signature).toBe(recipeSignature(NEW_PUBLIC, NEW_PRIVATE, headers[1].nonce, headers[1].epoch));
      expect(new Set(headers.map((h) => h.nonce)).size).toBe(3);
    });

    it('calls the target base URL without a doubled slash', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }));

      await provider.verify(value(), { baseUrl: 'http://127.0.0.1:4010/', environment: 'sandbox' });

      expect(platform.calls[0].url).toBe('http://127.0.0.1:4010/v1/identity/hmac');
    });

    it('throws ProviderAuthError with errors[0].message for a refused signature, after one call', async () => {
      // Prepare
      platform.queue.push(reply(401, errorBody('InvalidSignature', 'The signature does not match the request.')));

      // Act
      const error = await thrownBy(() => provider.verify(value(), target));

      // Assess
      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error).toMatchObject({ provider: 'imburse', status: 401, platformMessage: 'The signature does not match the request.' });
      expect(platform.calls).toHaveLength(1);
    });

    it('throws ProviderPermissionError for 403', async () => {
      platform.queue.push(reply(403, errorBody('Forbidden', 'Key disabled.')));

      await expect(provider.verify(value(), target)).rejects.toThrow(ProviderPermissionError);
    });

    it('repeats a 429 after its Retry-After (the platform did not process it), then succeeds', async () => {
      const sleeps: number[] = [];
      const p = makeProvider(platform, { sleep: async (ms) => void sleeps.push(ms) });
      platform.queue.push(reply(429, errorBody('RateLimited', 'Too many requests.'), { 'retry-after': '2' }));

      await p.verify(value(), target);

      expect(platform.calls).toHaveLength(2);
      expect(sleeps).toEqual([2000]);
    });

    it('throws ProviderRateLimitError when the platform keeps answering 429', async () => {
      const p = makeProvider(platform, { maxAttempts: 2 });
      platform.queue.push(reply(429, errorBody('RateLimited', 'x'), { 'retry-after': '1' }), reply(429, errorBody('RateLimited', 'x'), { 'retry-after': '1' }));

      await expect(p.verify(value(), target)).rejects.toThrow(ProviderRateLimitError);
      expect(platform.calls).toHaveLength(2);
    });

    it.each([500, 502, 503])(
      'repeats the exchange after %i with a fresh nonce and signature (a repeated nonce would be refused as a replay)',
      async (status) => {
        platform.queue.push(reply(status, errorBody('ServerError', 'Try later.')));

        await provider.verify(value(), target);

        expect(platform.calls).toHaveLength(2);
        const [first, second] = platform.calls.map((c) => String(c.headers.authorization).split(':'));
        expect(first?.[1]).not.toBe(second?.[1]); // nonce
        expect(first?.[3]).not.toBe(second?.[3]); // signature
      },
    );

    it('throws ProviderUnavailableError after one attempt when the platform cannot be reached', async () => {
      const p = makeProvider({
        ...platform,
        fetch: (async () => {
          throw new TypeError('fetch failed');
        }) as typeof fetch,
      });

      await expect(p.verify(value(), target)).rejects.toMatchObject({ name: 'ProviderUnavailableError', provider: 'imburse' });
    });

    it.each([
      ['HTML', () => new Response('<html>Sign in</html>', { status: 200, headers: { 'content-type': 'text/html' } })],
      ['no accessToken', reply(200, { expires: NOW })],
      ['a numeric accessToken', reply(200, { accessToken: 42, expires: NOW })],
      ['an accessToken with a line break', reply(200, { accessToken: 'abc\ndef', expires: NOW })],
      ['no expires', reply(200, { accessToken: ACCESS_TOKEN })],
      ['expires as text', reply(200, { accessToken: ACCESS_TOKEN, expires: 'soon' })],
      ['an array', reply(200, [])],
    ])('throws ProviderResponseError for a 200 with %s, without quoting the token', async (_what, responder) => {
      platform.queue.push(responder);

      const error = await thrownBy(() => provider.verify(value(), target));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).not.toContain(ACCESS_TOKEN);
    });

    it('throws ValidationError, without calling the platform or quoting the key, for a private key it cannot sign with', async () => {
      const error = await thrownBy(() => provider.verify(value(OLD_PUBLIC, 'secret key with spaces'), target));

      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain('privateKey: must be base64');
      expect(error.message).not.toContain('secret key');
      expect(platform.calls).toHaveLength(0);
    });

    it('keeps the private key out of the error when the platform echoes it', async () => {
      platform.queue.push(reply(401, errorBody('InvalidSignature', `Key ${OLD_PRIVATE} is wrong`)));

      const error = (await thrownBy(() => provider.verify(value(), target))) as ProviderAuthError;

      expect(error.message).not.toContain(OLD_PRIVATE);
      expect(error.platformMessage).toBe('Key [REDACTED] is wrong');
    });
  });

  describe('Method: mintAccessToken', () => {
    it('returns the token and its expiry as ISO 8601', async () => {
      const token = await provider.mintAccessToken(value(), target);

      expect(token).toEqual({ accessToken: ACCESS_TOKEN, expiresAt: new Date(NOW + 900_000).toISOString() });
      expect(redactText(ACCESS_TOKEN)).toBe('[REDACTED]');
    });
  });

  describe('Method: issueKey', () => {
    const issue = (p: ImburseProvider = provider, current: ImburseValue = value()) => p.issueKey({ current, target, keyName: KEY_NAME });

    it('exchanges, lists the keys, and creates one named keyName with the current key\'s roles', async () => {
      // Act
      await issue();

      // Assess
      expect(platform.calls.map((call) => `${call.method} ${call.url}`)).toEqual([`POST ${BASE}/v1/identity/hmac`, `GET ${KEYS_URL}`, `POST ${KEYS_URL}`]);
      const [exchange, list, create] = platform.calls;
      expect(exchange.headers.authorization).toMatch(/^Hmac /);
      expect(list.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(create.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
      expect(create.headers['content-type']).toBe('application/json');
      expect(JSON.parse(create.body as string)).toEqual({ name: KEY_NAME, roles: [ADMIN_ROLE, 'payments-write'] });
    });

    it('returns the current value with the new key pair, the public key as providerKeyId', async () => {
      const current = value(OLD_PUBLIC, OLD_PRIVATE, { fingerprint: '…88a3#00000000', issuedAt: '2026-08-01T00:00:00Z', expiresAt: '2026-11-01T00:00:00Z', note: 'kept' } as Partial<ImburseValue>);

      const issued = await issue(provider, current);

      expect(issued).toEqual({
        providerKeyId: NEW_PUBLIC,
        value: { provider: 'imburse', environment: 'production', baseUrl: BASE, tenantId: DOC_TENANT_ID, publicKey: NEW_PUBLIC, privateKey: NEW_PRIVATE, providerKeyId: NEW_PUBLIC, note: 'kept' },
      });
      expect(secretValueSchema.safeParse(issued.value).success).toBe(true);
    });

    it('registers the new private key as a secret as soon as it is read', async () => {
      await issue();

      expect(redactText(`leak ${NEW_PRIVATE}`)).toBe('leak [REDACTED]');
    });

    it('finds the current key in the list whatever the case of its uuid', async () => {
      platform.keys = [{ publicKey: OLD_PUBLIC.toUpperCase(), name: 'Admin Key', roles: ['tenant-admin'] }];

      await issue();

      expect(JSON.parse(platform.calls[2].body as string)).toEqual({ name: KEY_NAME, roles: ['tenant-admin'] });
    });

    it('throws ProviderResponseError, creating nothing, when the list does not show the current key', async () => {
      platform.keys = [{ publicKey: OTHER_PUBLIC, name: 'Other', roles: ['tenant-admin'] }];

      const error = await thrownBy(() => issue());

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toContain(`does not list the current key ${OLD_PUBLIC}`);
      expect(error.message).toContain('tenantId');
      expect(platform.calls.filter((call) => call.method === 'POST' && call.url === KEYS_URL)).toHaveLength(0);
    });

    it('throws ProviderResponseError for a list that is not the documented array', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(200, { keys: platform.keys }));

      await expect(issue()).rejects.toThrow(ProviderResponseError);
      expect(platform.calls).toHaveLength(2);
    });

    it('throws ProviderPermissionError naming tenant-admin when the current key may not create keys', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(200, platform.keys), reply(403, errorBody('Forbidden', 'Insufficient role.')));

      const error = await thrownBy(() => issue());

      expect(error).toBeInstanceOf(ProviderPermissionError);
      expect(error.message).toContain('"tenant-admin" role');
      expect(error.message).toContain(OLD_PUBLIC);
    });

    it('sends the create request once when it answers 500 (the key may exist)', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(200, platform.keys), reply(500, errorBody('InternalServerError', 'Oops.')));

      const error = await thrownBy(() => issue());

      expect(error).toBeInstanceOf(ProviderUnavailableError);
      expect(platform.calls.filter((call) => call.method === 'POST' && call.url === KEYS_URL)).toHaveLength(1);
    });

    it('sends the create request once when the connection drops', async () => {
      let creates = 0;
      const p = makeProvider({
        ...platform,
        fetch: (async (input: string | URL | Request, init?: RequestInit) => {
          if (String(input) === KEYS_URL && init?.method === 'POST') {
            creates += 1;
            throw new TypeError('fetch failed');
          }
          return platform.fetch(input, init);
        }) as typeof fetch,
      });

      await expect(issue(p)).rejects.toThrow(ProviderUnavailableError);
      expect(creates).toBe(1);
    });

    it('repeats a create that answered 429 (not processed)', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(200, platform.keys), reply(429, errorBody('RateLimited', 'Slow down.'), { 'retry-after': '1' }));

      const issued = await issue();

      expect(issued.providerKeyId).toBe(NEW_PUBLIC);
      expect(platform.calls.filter((call) => call.method === 'POST' && call.url === KEYS_URL)).toHaveLength(2);
    });

    it('repeats the list call after a 503 (it is a read)', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(503, errorBody('ServiceUnavailable', 'Busy.')));

      await issue();

      expect(platform.calls.map((call) => call.method)).toEqual(['POST', 'GET', 'GET', 'POST']);
    });

    it.each([
      ['no privateKey', { publicKey: NEW_PUBLIC }],
      ['a privateKey that is not base64', { publicKey: NEW_PUBLIC, privateKey: `${NEW_PRIVATE}!` }],
      ['no publicKey', { privateKey: NEW_PRIVATE }],
      ['a publicKey that is not a uuid', { publicKey: 'x', privateKey: NEW_PRIVATE }],
    ])('throws ProviderResponseError naming the key to delete for a 201 with %s, never quoting the private key', async (_what, body) => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(200, platform.keys), reply(201, body));

      const error = await thrownBy(() => issue());

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toMatch(new RegExp(`named "${KEY_NAME}"|${NEW_PUBLIC}`));
      expect(error.message).toContain('delete');
      expect(error.message).not.toContain(NEW_PRIVATE);
    });

    it('refuses an empty keyName before calling the platform', async () => {
      await expect(provider.issueKey({ current: value(), target, keyName: ' ' })).rejects.toThrow(ValidationError);
      expect(platform.calls).toHaveLength(0);
    });
  });

  describe('Method: revokeKey', () => {
    const revoke = (providerKeyId = NEW_PUBLIC, authenticateWith = value()) => provider.revokeKey({ authenticateWith, providerKeyId, target });

    it('exchanges, then deletes /v1/tenant/{tenantId}/keys/{publicKey} with the token', async () => {
      const outcome = await revoke(OTHER_PUBLIC);

      expect(outcome).toBe('revoked');
      expect(platform.calls.map((call) => `${call.method} ${call.url}`)).toEqual([`POST ${BASE}/v1/identity/hmac`, `DELETE ${KEYS_URL}/${OTHER_PUBLIC}`]);
      expect(platform.calls[1].headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    });

    it('answers already-revoked for a 404 once the list confirms the key is gone', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(404, errorBody('KeyNotFound', 'The API key was not found.')));

      const outcome = await revoke(NEW_PUBLIC);

      expect(outcome).toBe('already-revoked');
      expect(platform.calls.map((call) => call.method)).toEqual(['POST', 'DELETE', 'GET']);
    });

    it('throws ProviderResponseError for a 404 while the key is still listed (wrong tenant or URL must not pass for revoked)', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(404, errorBody('NotFound', 'No route.')));

      const error = await thrownBy(() => revoke(OTHER_PUBLIC));

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect(error.message).toContain(`still lists key ${OTHER_PUBLIC}`);
    });

    it.each([OLD_PUBLIC, OLD_PUBLIC.toUpperCase()])('refuses to delete the key it authenticates with (%s), without calling the platform', async (id) => {
      const error = await thrownBy(() => revoke(id));

      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toContain('is the key this call would authenticate with');
      expect(platform.calls).toHaveLength(0);
    });

    it('refuses an empty providerKeyId', async () => {
      await expect(revoke('')).rejects.toThrow(ValidationError);
      expect(platform.calls).toHaveLength(0);
    });

    it('throws ProviderPermissionError naming tenant-admin for 403', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(403, errorBody('Forbidden', 'Insufficient role.')));

      const error = await thrownBy(() => revoke());

      expect(error).toBeInstanceOf(ProviderPermissionError);
      expect(error.message).toContain('"tenant-admin" role');
    });

    it('repeats a DELETE that answered 503 (deleting twice is harmless)', async () => {
      platform.queue.push(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 1 }), reply(503, errorBody('ServiceUnavailable', 'Busy.')));

      await expect(revoke()).resolves.toBe('revoked');
      expect(platform.calls.map((call) => call.method)).toEqual(['POST', 'DELETE', 'DELETE']);
    });

    it('throws ProviderAuthError when the authenticating key is refused', async () => {
      platform.queue.push(reply(401, errorBody('UnknownKey', 'The API key is unknown.')));

      await expect(revoke()).rejects.toThrow(ProviderAuthError);
      expect(platform.calls).toHaveLength(1);
    });

    it('encodes the key id in the path', async () => {
      await revoke('a/b?c');

      expect(platform.calls[1].url).toBe(`${KEYS_URL}/a%2Fb%3Fc`);
    });
  });

  describe('Method: listKeys', () => {
    it('returns every key as active, with its name and roles, never key material', async () => {
      platform.keys = [
        { publicKey: OLD_PUBLIC, name: 'Admin Key', roles: ['tenant-admin'] },
        { publicKey: NEW_PUBLIC, name: KEY_NAME, roles: ['tenant-admin'], privateKey: NEW_PRIVATE } as never,
      ];

      const keys = await provider.listKeys({ authenticateWith: value(), target });

      expect(keys).toEqual([
        { providerKeyId: OLD_PUBLIC, name: 'Admin Key', active: true, roles: ['tenant-admin'] },
        { providerKeyId: NEW_PUBLIC, name: KEY_NAME, active: true, roles: ['tenant-admin'] },
      ]);
      expect(platform.calls.map((call) => call.method)).toEqual(['POST', 'GET']);
    });

    it.each([
      ['an entry without publicKey', [{ name: 'x', roles: [] }]],
      ['an entry with roles as text', [{ publicKey: OLD_PUBLIC, roles: 'tenant-admin' }]],
      ['a null entry', [null]],
    ])('throws ProviderResponseError for %s (a skipped entry could hide a live key)', async (_what, body) => {
      platform.keys = body as never;

      await expect(provider.listKeys({ authenticateWith: value(), target })).rejects.toThrow(ProviderResponseError);
    });
  });

  describe('Property: errors from garbage platform responses', () => {
    const garbageResponse: fc.Arbitrary<Responder> = fc.oneof(
      // What a working platform answers, so runs get past the exchange.
      { weight: 2, arbitrary: fc.constant(reply(200, { accessToken: ACCESS_TOKEN, expires: NOW + 900_000 })) },
      { weight: 2, arbitrary: fc.constant(reply(200, [{ publicKey: OLD_PUBLIC, name: 'Admin Key', roles: ['tenant-admin'] }])) },
      { weight: 1, arbitrary: fc.constant(reply(201, { publicKey: NEW_PUBLIC, privateKey: NEW_PRIVATE, roles: ['tenant-admin'] })) },
      { weight: 3, arbitrary: fc.record({
        status: fc.constantFrom(200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504),
        body: fc.oneof(
          fc.json(),
          fc.string({ maxLength: 100 }),
          fc.constant(JSON.stringify(errorBody('InvalidSignature', `bad key ${OLD_PRIVATE}`))),
          fc.constant(JSON.stringify({ message: `token ${ACCESS_TOKEN} and key ${OLD_PRIVATE}` })),
          fc.constant(JSON.stringify({ errors: [{ message: OLD_PRIVATE.replace(/\//g, '\\/') }] })),
          fc.constant(JSON.stringify({ publicKey: 'x', privateKey: NEW_PRIVATE, message: 'created' })),
          fc.constant(JSON.stringify({ accessToken: ACCESS_TOKEN })),
          fc.constant(JSON.stringify([{ publicKey: OLD_PUBLIC }])),
          fc.anything().map((anything) => JSON.stringify(anything) ?? 'null'),
        ),
        retryAfter: fc.option(fc.constantFrom('0', '1', '99999', 'soon', 'Wed, 21 Oct 2015 07:28:00 GMT'), { nil: undefined }),
      }).map(
        ({ status, body, retryAfter }): Responder =>
          () =>
            new Response([204, 205, 304].includes(status) ? null : body, { status, headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter } }),
      ) },
      {
        weight: 1,
        arbitrary: fc.constant((() => {
          throw new TypeError(`invalid header value ${OLD_PRIVATE}`);
        }) as Responder),
      },
    );

    it('rejects with a ProviderError or ValidationError that never holds a private key or a served token, for any responses', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('verify', 'issueKey', 'revokeKey', 'listKeys', 'mintAccessToken'),
          fc.array(garbageResponse, { minLength: 1, maxLength: 8 }),
          async (operation, responses) => {
            clearRegisteredSecrets();
            let tokenServed = false;
            const served = [...responses];
            const fetchGarbage = (async (input: string | URL | Request, init?: RequestInit) => {
              const next = served.shift() ?? reply(503, {});
              const response = await next({ url: String(input), method: init?.method ?? 'GET', headers: {}, body: undefined });
              const text = await response.clone().text();
              if (text.includes(ACCESS_TOKEN) && /"accessToken"/.test(text)) tokenServed = true;
              return response;
            }) as typeof fetch;
            const p = new ImburseProvider({ fetch: fetchGarbage, sleep: async () => undefined, maxAttempts: 2 }, { now: () => NOW, newNonce: nonces() });
            const current = value();
            const run = {
              verify: () => p.verify(current, target),
              issueKey: () => p.issueKey({ current, target, keyName: KEY_NAME }),
              revokeKey: () => p.revokeKey({ authenticateWith: current, providerKeyId: OTHER_PUBLIC, target }),
              listKeys: () => p.listKeys({ authenticateWith: current, target }),
              mintAccessToken: () => p.mintAccessToken(current, target),
            }[operation];

            let error: unknown;
            try {
              await run();
              return;
            } catch (caught) {
              error = caught;
            }
            expect(error instanceof ProviderError || error instanceof ValidationError).toBe(true);
            const texts: string[] = [];
            for (let e: unknown = error; e instanceof Error; e = e.cause) {
              texts.push(e.message, String((e as { platformMessage?: unknown }).platformMessage ?? ''));
            }
            const all = texts.join('\n');
            expect(all).not.toContain(OLD_PRIVATE);
            expect(all).not.toContain(NEW_PRIVATE);
            if (tokenServed) expect(all).not.toContain(ACCESS_TOKEN);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
