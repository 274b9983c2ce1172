import * as fc from 'fast-check';
import {
  KeyrotorError,
  ProviderAuthError,
  ProviderPermissionError,
  ProviderRateLimitError,
  ProviderResponseError,
  ProviderUnavailableError,
  SecretStateError,
  ValidationError,
} from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets, redactText } from '../../../../lambdas/core/redaction';
import { API_KEYS_PATH, BossInsightsProvider, type BossInsightsValue } from '../../../../lambdas/providers/boss-insights';
import type { ProviderHttpClientOptions } from '../../../../lambdas/providers/http';
import { json, PLATFORM_STATUSES, recordCall, validationErrorOf, type RecordedCall } from '../../../support/fakes/fetch-stub';

const BASE_URL = 'https://acme.bossinsights.example';
const LIST_URL = `${BASE_URL}/api/admin/api-keys`;
const OLD_KEY = 'biOLDoldOLDold0000000001';
const NEW_KEY = 'biNEWnewNEWnew0000000002';
const ACCOUNT_KEY = 'acctACCTacct000000000003';
/** base64("biOLDoldOLDold0000000001:"), written out so the exact header bytes are pinned. */
const OLD_BASIC = 'Basic YmlPTERvbGRPTERvbGQwMDAwMDAwMDAxOg==';
const OLD_ID = 'key_0001';
const NEW_ID = 'key_0002';
const target = { baseUrl: BASE_URL, environment: 'production' } as const;

const value = (overrides: Partial<BossInsightsValue> = {}): BossInsightsValue => ({
  provider: 'boss-insights',
  environment: 'production',
  baseUrl: BASE_URL,
  apiKey: OLD_KEY,
  accountKey: ACCOUNT_KEY,
  providerKeyId: OLD_ID,
  ...overrides,
});

const record = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  name: `name-${id}`,
  scopes: ['admin', 'read:companies'],
  active: true,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

const list = (...records: unknown[]) => json(200, { data: records });
const platformError = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  json(status, { error: { code, message } }, headers);

type Answer = Response | Error | ((call: RecordedCall) => Response);

/** A `fetch` that answers from a script, in order, and records each call; a call beyond the script fails. */
function scriptedFetch(...answers: Answer[]) {
  const calls: RecordedCall[] = [];
  const queue = [...answers];
  const stub = (async (input: string | URL | Request, init?: RequestInit) => {
    const call = recordCall(input, init);
    calls.push(call);
    const next = queue.shift();
    if (next === undefined) throw new Error('unexpected call');
    if (next instanceof Error) throw next;
    return typeof next === 'function' ? next(call) : next;
  }) as typeof globalThis.fetch;
  return { fetch: stub, calls };
}

function providerWith(fetch: typeof globalThis.fetch, options: Omit<ProviderHttpClientOptions, 'provider' | 'fetch'> = {}): BossInsightsProvider {
  return new BossInsightsProvider({ fetch, sleep: async () => undefined, ...options });
}

describe('Class: BossInsightsProvider', () => {
  let provider: BossInsightsProvider;

  beforeEach(() => {
    clearRegisteredSecrets();
    provider = new BossInsightsProvider({ sleep: async () => undefined });
  });

  describe('Property: capabilities', () => {
    it('declares that keys are issued, revoked and listed by API, two at a time', () => {
      expect(provider.id).toBe('boss-insights');
      expect(provider.displayName).toBe('Boss Insights');
      expect(provider.capabilities).toEqual({
        issueByApi: true,
        revokeByApi: true,
        listKeys: true,
        shortLivedTokens: false,
        twoLiveKeys: true,
      });
      expect(API_KEYS_PATH).toBe('/api/admin/api-keys');
    });
  });

  describe('Property: manual', () => {
    it('tells a person where to create the key, what to name it and how to hand it over', () => {
      const text = provider.manual.issue({ secretName: 'keyrotor/acme-bi', baseUrl: BASE_URL, environment: 'production', keyName: 'keyrotor-2026-11-23' });

      expect(text).toContain(`Administration Portal of ${BASE_URL}`);
      expect(text).toContain('API → API Keys → Add API Key');
      expect(text).toContain('"keyrotor-2026-11-23"');
      expect(text).toContain('same scopes');
      expect(text).toContain('Active = Yes');
      expect(text).toContain('npx keyrotor submit keyrotor/acme-bi');
      expect(text).toContain('"accountKey"');
    });

    it('tells a person which old key to inactivate, by fingerprint', () => {
      const text = provider.manual.revoke({ secretName: 'keyrotor/acme-bi', baseUrl: BASE_URL, fingerprint: '…0001#1a2b3c4d' });

      expect(text).toContain('Inactivate the old API key …0001#1a2b3c4d of keyrotor/acme-bi');
      expect(text).toContain('Active = No');
      expect(text).toContain(BASE_URL);
      expect(text).toContain('401');
    });
  });

  describe('Method: keyIdOf', () => {
    it('returns the value providerKeyId', () => {
      expect(provider.keyIdOf(value())).toBe(OLD_ID);
      expect(provider.keyIdOf(value({ providerKeyId: undefined }))).toBeUndefined();
    });
  });

  describe('Method: parseSubmission', () => {
    it('returns apiKey, accountKey and providerKeyId from JSON and ignores other fields', () => {
      const input = JSON.stringify({ apiKey: NEW_KEY, accountKey: ACCOUNT_KEY, providerKeyId: NEW_ID, note: 'from the portal' });

      expect(provider.parseSubmission(`\n  ${input}\r\n`)).toEqual({ apiKey: NEW_KEY, accountKey: ACCOUNT_KEY, providerKeyId: NEW_ID });
    });

    it('leaves providerKeyId out when it is not given', () => {
      const result = provider.parseSubmission(JSON.stringify({ apiKey: NEW_KEY, accountKey: ACCOUNT_KEY }));

      expect(result).toEqual({ apiKey: NEW_KEY, accountKey: ACCOUNT_KEY });
      expect('providerKeyId' in result).toBe(false);
    });

    it.each([
      ['an empty input', '', ['must be the JSON object']],
      ['a raw key', NEW_KEY, ['must be the JSON object']],
      ['broken JSON', `{"apiKey":"${NEW_KEY}"`, ['must be the JSON object']],
      ['a JSON array', `[{"apiKey":"${NEW_KEY}"}]`, ['must be the JSON object']],
      ['JSON without either key', '{}', ['apiKey: is missing', 'accountKey: is missing']],
      ['JSON without accountKey', `{"apiKey":"${NEW_KEY}"}`, ['accountKey: is missing']],
      ['JSON with a numeric apiKey', `{"apiKey":123456789012,"accountKey":"${ACCOUNT_KEY}"}`, ['apiKey: is missing']],
      ['an apiKey with a space', `{"apiKey":"biNEW new 0000002","accountKey":"${ACCOUNT_KEY}"}`, ['apiKey: must be 8 to 512 printable characters']],
      ['a short accountKey', `{"apiKey":"${NEW_KEY}","accountKey":"acct"}`, ['accountKey: must be 8 to 512 printable characters']],
      ['a numeric providerKeyId', `{"apiKey":"${NEW_KEY}","accountKey":"${ACCOUNT_KEY}","providerKeyId":2}`, ['providerKeyId: must be the key']],
      ['an empty providerKeyId', `{"apiKey":"${NEW_KEY}","accountKey":"${ACCOUNT_KEY}","providerKeyId":""}`, ['providerKeyId: must be the key']],
    ])('throws ValidationError for %s', (_what, input, issues) => {
      const error = validationErrorOf(() => provider.parseSubmission(input));

      expect(error.issues).toHaveLength(issues.length);
      issues.forEach((issue, index) => expect(error.issues[index]).toContain(issue));
      expect(error.message).toMatch(/^submitted credential is invalid: /);
    });

    it('never echoes the input in its error', () => {
      const inputs = [
        `{"apiKey":"${NEW_KEY}"`,
        NEW_KEY,
        `{"apiKey":"${NEW_KEY} x","accountKey":"${ACCOUNT_KEY} y"}`,
        `{"apiKey":"${NEW_KEY}","accountKey":"${ACCOUNT_KEY}","providerKeyId":"has space"}`,
      ];

      for (const input of inputs) {
        const error = validationErrorOf(() => provider.parseSubmission(input));
        expect(error.message).not.toContain(NEW_KEY);
        expect(error.message).not.toContain(ACCOUNT_KEY);
        expect(error.message).not.toContain('has space');
        expect(error.cause).toBeUndefined();
      }
    });

    it('returns well-formed credentials or throws a ValidationError that quotes none of them, for any input', () => {
      const field = fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[\x21-\x7e]{8,40}$/), fc.integer(), fc.constant(undefined));
      const submission = fc
        .record({ apiKey: field, accountKey: field, providerKeyId: field }, { requiredKeys: [] })
        .map((fields) => JSON.stringify(fields));
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.json(), submission), (input) => {
          let result: Partial<BossInsightsValue>;
          try {
            result = provider.parseSubmission(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            const message = (error as ValidationError).message;
            const parsed = (() => {
              try {
                return JSON.parse(input) as Record<string, unknown>;
              } catch {
                return undefined;
              }
            })();
            for (const name of ['apiKey', 'accountKey'] as const) {
              const secret = typeof parsed === 'object' && parsed !== null ? parsed[name] : undefined;
              if (typeof secret === 'string' && secret.length >= 8) expect(message).not.toContain(secret);
            }
            if (input.trim().length >= 8) expect(message).not.toContain(input.trim());
            return;
          }
          expect(result.apiKey).toMatch(/^[\x21-\x7e]{8,512}$/);
          expect(result.accountKey).toMatch(/^[\x21-\x7e]{8,512}$/);
        }),
      );
    });
  });

  describe('Method: formatProblems', () => {
    it('returns no problems for a well-formed value, in either environment', () => {
      expect(provider.formatProblems(value())).toEqual([]);
      expect(provider.formatProblems(value({ environment: 'sandbox', providerKeyId: undefined }))).toEqual([]);
    });

    it.each([
      ['an empty apiKey', { apiKey: '' }, ['apiKey: is empty']],
      ['a whitespace accountKey', { accountKey: '   ' }, ['accountKey: is empty']],
      ['an apiKey with a space', { apiKey: `${OLD_KEY} x` }, ['apiKey: must be printable ASCII characters with no spaces']],
      ['a non-ASCII accountKey', { accountKey: 'acctclé000000' }, ['accountKey: must be printable ASCII characters with no spaces']],
      ['an empty providerKeyId', { providerKeyId: ' ' }, ["providerKeyId: is empty; remove it or set it to the key's id"]],
    ])('reports %s without quoting it', (_what, overrides, problems) => {
      const result = provider.formatProblems(value(overrides as Partial<BossInsightsValue>));

      expect(result).toHaveLength(problems.length);
      problems.forEach((problem, index) => expect(result[index]).toContain(problem));
      expect(result.join(' ')).not.toContain(OLD_KEY);
      expect(result.join(' ')).not.toContain('acctclé');
    });
  });

  describe('Method: verify', () => {
    it('lists the keys with Basic auth (key as user name, empty password) and the Account-Key header', async () => {
      // Prepare
      const platform = scriptedFetch(list(record(OLD_ID)));

      // Act
      const result = await providerWith(platform.fetch).verify(value(), target);

      // Assess
      expect(platform.calls).toHaveLength(1);
      expect(platform.calls[0]).toMatchObject({ url: LIST_URL, method: 'GET', body: undefined });
      expect(platform.calls[0].headers.authorization).toBe(OLD_BASIC);
      expect(platform.calls[0].headers['account-key']).toBe(ACCOUNT_KEY);
      expect(result).toEqual({ checked: `GET ${BASE_URL}/api/admin/api-keys → 200` });
    });

    it('calls the target base URL without a doubled slash', async () => {
      const platform = scriptedFetch(list());

      await providerWith(platform.fetch).verify(value(), { baseUrl: 'http://127.0.0.1:4010/', environment: 'sandbox' });

      expect(platform.calls[0].url).toBe('http://127.0.0.1:4010/api/admin/api-keys');
    });

    it('throws ProviderAuthError for a rejected key or account key, after one call', async () => {
      const platform = scriptedFetch(platformError(401, 'unauthorized', 'Invalid API key.'));

      const result = providerWith(platform.fetch).verify(value(), target);

      await expect(result).rejects.toThrow(ProviderAuthError);
      await expect(result).rejects.toMatchObject({ provider: 'boss-insights', status: 401 });
      expect(platform.calls).toHaveLength(1);
    });

    it('throws ProviderPermissionError for a 403', async () => {
      const platform = scriptedFetch(platformError(403, 'forbidden', 'Scope missing.'));

      await expect(providerWith(platform.fetch).verify(value(), target)).rejects.toThrow(ProviderPermissionError);
    });

    it('waits as Retry-After asks on a 429 and tries again', async () => {
      // Prepare
      const platform = scriptedFetch(platformError(429, 'rate_limited', 'Slow down.', { 'retry-after': '2' }), list());
      const sleeps: number[] = [];

      // Act
      await providerWith(platform.fetch, { sleep: async (ms) => void sleeps.push(ms) }).verify(value(), target);

      // Assess
      expect(platform.calls).toHaveLength(2);
      expect(sleeps).toEqual([2000]);
    });

    it('throws ProviderRateLimitError when Retry-After is longer than it may wait', async () => {
      const platform = scriptedFetch(platformError(429, 'rate_limited', 'Slow down.', { 'retry-after': '3600' }));

      const error = await providerWith(platform.fetch).verify(value(), target).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderRateLimitError);
      expect(error).toMatchObject({ retryAfterMs: 3_600_000 });
      expect(platform.calls).toHaveLength(1);
    });

    it('retries a 503 and throws ProviderUnavailableError when it persists', async () => {
      const platform = scriptedFetch(json(503, {}), json(502, {}), json(500, {}));

      await expect(providerWith(platform.fetch, { maxAttempts: 3 }).verify(value(), target)).rejects.toThrow(ProviderUnavailableError);
      expect(platform.calls).toHaveLength(3);
    });

    it('throws ProviderResponseError with status 404 for an unknown route', async () => {
      const platform = scriptedFetch(platformError(404, 'not_found', 'No route.'));

      await expect(providerWith(platform.fetch).verify(value(), target)).rejects.toMatchObject({ name: 'ProviderResponseError', status: 404 });
    });

    it.each([
      ['HTML', new Response('<html>Sign in</html>', { status: 200, headers: { 'content-type': 'text/html' } })],
      ['an object without data', json(200, { keys: [] })],
      ['a list entry without id', json(200, { data: [{ name: 'x', scopes: [], active: true }] })],
      ['a list entry whose active is not a boolean', json(200, { data: [record(OLD_ID, { active: 'yes' })] })],
      ['a list entry whose scopes are not strings', json(200, { data: [record(OLD_ID, { scopes: [1] })] })],
    ])('throws ProviderResponseError for a 200 with %s', async (_what, response) => {
      const platform = scriptedFetch(response);

      await expect(providerWith(platform.fetch).verify(value(), target)).rejects.toThrow(ProviderResponseError);
    });

    it('keeps the key, the account key and the encoded header out of the error when the platform echoes them', async () => {
      const echo = `key ${OLD_KEY} account ${ACCOUNT_KEY} header ${OLD_BASIC.slice(6)}`;
      const platform = scriptedFetch(json(401, { message: echo }));

      const error = (await providerWith(platform.fetch).verify(value(), target).catch((e: unknown) => e)) as ProviderAuthError;

      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error.platformMessage).toBe('key [REDACTED] account [REDACTED] header [REDACTED]');
      for (const secret of [OLD_KEY, ACCOUNT_KEY, OLD_BASIC.slice(6)]) expect(error.message).not.toContain(secret);
    });
  });

  describe('Method: listKeys', () => {
    it('returns each key with its id, name, active flag and scopes', async () => {
      const platform = scriptedFetch(list(record(OLD_ID), record(NEW_ID, { active: false, scopes: ['read:companies'] })));

      const keys = await providerWith(platform.fetch).listKeys({ authenticateWith: value(), target });

      expect(keys).toEqual([
        { providerKeyId: OLD_ID, name: `name-${OLD_ID}`, active: true, scopes: ['admin', 'read:companies'], createdAt: '2026-01-01T00:00:00.000Z' },
        { providerKeyId: NEW_ID, name: `name-${NEW_ID}`, active: false, scopes: ['read:companies'], createdAt: '2026-01-01T00:00:00.000Z' },
      ]);
      expect(platform.calls[0].headers.authorization).toBe(OLD_BASIC);
    });

    it('accepts keys listed without a name or creation date', async () => {
      const platform = scriptedFetch(list({ id: OLD_ID, scopes: ['admin'], active: true }));

      expect(await providerWith(platform.fetch).listKeys({ authenticateWith: value(), target })).toEqual([{ providerKeyId: OLD_ID, active: true, scopes: ['admin'] }]);
    });
  });

  describe('Method: issueKey', () => {
    const issue = (p: BossInsightsProvider, current = value()) => p.issueKey({ current, target, keyName: 'keyrotor-2026-11-23-abcd' });
    const created = (overrides: Record<string, unknown> = {}) =>
      json(201, { id: NEW_ID, name: 'keyrotor-2026-11-23-abcd', scopes: ['admin', 'read:companies'], active: true, key: NEW_KEY, ...overrides });

    it('creates a key named keyName with the current key scopes and returns it as the new value', async () => {
      // Prepare
      const platform = scriptedFetch(list(record('key_other', { scopes: ['read:all'] }), record(OLD_ID)), created());
      const current = value({ fingerprint: '…0001#00000000', issuedAt: '2026-01-01T00:00:00.000Z', note: 'kept' } as Partial<BossInsightsValue>);

      // Act
      const issued = await issue(providerWith(platform.fetch), current);

      // Assess
      expect(platform.calls.map((call) => `${call.method} ${call.url}`)).toEqual([`GET ${LIST_URL}`, `POST ${LIST_URL}`]);
      const post = platform.calls[1];
      expect(post.headers.authorization).toBe(OLD_BASIC);
      expect(post.headers['account-key']).toBe(ACCOUNT_KEY);
      expect(post.headers['content-type']).toBe('application/json');
      expect(post.body).toBe('{"name":"keyrotor-2026-11-23-abcd","scopes":["admin","read:companies"],"active":true}');
      expect(issued).toEqual({
        value: { provider: 'boss-insights', environment: 'production', baseUrl: BASE_URL, apiKey: NEW_KEY, accountKey: ACCOUNT_KEY, providerKeyId: NEW_ID, note: 'kept' },
        providerKeyId: NEW_ID,
      });
    });

    it('registers the new key as a secret at once', async () => {
      const platform = scriptedFetch(list(record(OLD_ID)), created());

      await issue(providerWith(platform.fetch));

      expect(redactText(`new key ${NEW_KEY}`)).toBe('new key [REDACTED]');
    });

    it.each([
      ['missing', undefined],
      ['blank', '  '],
    ])('throws ValidationError without calling the platform when providerKeyId is %s', async (_what, providerKeyId) => {
      const platform = scriptedFetch();

      const error = await issue(providerWith(platform.fetch), value({ providerKeyId })).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([
        "providerKeyId: is required to copy the current key's scopes; set it to the key's id from the admin panel (API → API Keys)",
      ]);
      expect(platform.calls).toHaveLength(0);
    });

    it('throws ValidationError without calling the platform for an empty keyName', async () => {
      const platform = scriptedFetch();

      await expect(providerWith(platform.fetch).issueKey({ current: value(), target, keyName: ' ' })).rejects.toThrow(ValidationError);
      expect(platform.calls).toHaveLength(0);
    });

    it('throws ValidationError and creates nothing when providerKeyId names no key of the account', async () => {
      const platform = scriptedFetch(list(record('key_other')));

      const error = await issue(providerWith(platform.fetch)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]).toContain('providerKeyId: names no API key of this account');
      expect(platform.calls).toHaveLength(1);
    });

    it('throws ValidationError and creates nothing when providerKeyId names an inactive key', async () => {
      const platform = scriptedFetch(list(record(OLD_ID, { active: false })));

      const error = await issue(providerWith(platform.fetch)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]).toContain('names an inactive key');
      expect(platform.calls).toHaveLength(1);
    });

    it('throws ProviderResponseError and creates nothing when the current key is listed without scopes', async () => {
      const platform = scriptedFetch(list(record(OLD_ID, { scopes: [] })));

      await expect(issue(providerWith(platform.fetch))).rejects.toThrow(ProviderResponseError);
      expect(platform.calls).toHaveLength(1);
    });

    it('throws ProviderPermissionError naming the admin scope when the current key may not create keys', async () => {
      const platform = scriptedFetch(list(record(OLD_ID, { scopes: ['read:companies'] })), platformError(403, 'forbidden', 'Scope missing.'));

      const error = await issue(providerWith(platform.fetch)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderPermissionError);
      expect((error as Error).message).toContain('"admin" scope');
      expect(platform.calls).toHaveLength(2);
    });

    it('throws ProviderAuthError when the current key is rejected', async () => {
      const platform = scriptedFetch(platformError(401, 'unauthorized', 'Invalid API key.'));

      await expect(issue(providerWith(platform.fetch))).rejects.toThrow(ProviderAuthError);
    });

    it.each([
      ['a 500', () => json(500, { error: { code: 'internal_error', message: 'Oops.' } })],
      ['a 503 with Retry-After', () => json(503, {}, { 'retry-after': '1' })],
      ['a dropped connection', () => new TypeError('fetch failed')],
    ])('sends the POST once and throws ProviderUnavailableError after %s', async (_what, failure) => {
      // Prepare
      const platform = scriptedFetch(list(record(OLD_ID)), failure(), created());

      // Act
      const result = issue(providerWith(platform.fetch));

      // Assess
      await expect(result).rejects.toThrow(ProviderUnavailableError);
      expect(platform.calls.filter((call) => call.method === 'POST')).toHaveLength(1);
    });

    it('repeats the POST after a 429, which the platform did not process', async () => {
      const platform = scriptedFetch(list(record(OLD_ID)), platformError(429, 'rate_limited', 'Slow down.', { 'retry-after': '1' }), created());

      const issued = await issue(providerWith(platform.fetch));

      expect(issued.providerKeyId).toBe(NEW_ID);
      expect(platform.calls.filter((call) => call.method === 'POST')).toHaveLength(2);
    });

    it.each([
      ['without the key', created({ key: undefined })],
      ['with an empty key', created({ key: '' })],
      ['without an id', created({ id: undefined })],
      ['with a body that is not JSON', new Response('created', { status: 201 })],
    ])('throws ProviderResponseError naming the key to clean up for a 201 %s', async (_what, response) => {
      const platform = scriptedFetch(list(record(OLD_ID)), response);

      const error = await issue(providerWith(platform.fetch)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect((error as Error).message).not.toContain(NEW_KEY);
    });

    it('names the orphan by keyName when the id is missing, without quoting the key', async () => {
      const platform = scriptedFetch(list(record(OLD_ID)), created({ id: undefined }));

      const error = (await issue(providerWith(platform.fetch)).catch((e: unknown) => e)) as Error;

      expect(error.message).toContain('"keyrotor-2026-11-23-abcd"');
      expect(error.message).not.toContain(NEW_KEY);
    });
  });

  describe('Method: revokeKey', () => {
    const newValue = () => value({ apiKey: NEW_KEY, providerKeyId: NEW_ID });
    const revoke = (p: BossInsightsProvider, providerKeyId = OLD_ID, authenticateWith = newValue()) => p.revokeKey({ authenticateWith, providerKeyId, target });

    it('sets Active = No on the key with a PATCH authenticated by the other key', async () => {
      // Prepare
      const platform = scriptedFetch(list(record(OLD_ID), record(NEW_ID)), json(200, record(OLD_ID, { active: false })));

      // Act
      const result = await revoke(providerWith(platform.fetch));

      // Assess
      expect(result).toBe('revoked');
      expect(platform.calls.map((call) => `${call.method} ${call.url}`)).toEqual([`GET ${LIST_URL}`, `PATCH ${LIST_URL}/key_0001`]);
      const patch = platform.calls[1];
      expect(patch.body).toBe('{"active":false}');
      expect(patch.headers['content-type']).toBe('application/json');
      expect(patch.headers.authorization).toBe(`Basic ${Buffer.from(`${NEW_KEY}:`).toString('base64')}`);
      expect(patch.headers['account-key']).toBe(ACCOUNT_KEY);
    });

    it('encodes the id in the path', async () => {
      const platform = scriptedFetch(list(record('key/../x')), json(200, record('key/../x', { active: false })));

      await revoke(providerWith(platform.fetch), 'key/../x');

      expect(platform.calls[1].url).toBe(`${LIST_URL}/key%2F..%2Fx`);
    });

    it('answers already-revoked without a write when the key is already inactive', async () => {
      const platform = scriptedFetch(list(record(OLD_ID, { active: false }), record(NEW_ID)));

      expect(await revoke(providerWith(platform.fetch))).toBe('already-revoked');
      expect(platform.calls).toHaveLength(1);
    });

    it('answers already-revoked without a write when the key is not listed', async () => {
      const platform = scriptedFetch(list(record(NEW_ID)));

      expect(await revoke(providerWith(platform.fetch))).toBe('already-revoked');
      expect(platform.calls).toHaveLength(1);
    });

    it('answers already-revoked when the PATCH answers 404', async () => {
      const platform = scriptedFetch(list(record(OLD_ID)), platformError(404, 'not_found', 'API key not found.'));

      expect(await revoke(providerWith(platform.fetch))).toBe('already-revoked');
      expect(platform.calls).toHaveLength(2);
    });

    it('refuses to revoke the key it authenticates with, without calling the platform', async () => {
      const platform = scriptedFetch();

      const error = await revoke(providerWith(platform.fetch), OLD_ID, value()).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(SecretStateError);
      expect((error as Error).message).toContain('it is the key this call authenticates with');
      expect(platform.calls).toHaveLength(0);
    });

    it('throws ValidationError for an empty providerKeyId', async () => {
      await expect(revoke(providerWith(scriptedFetch().fetch), ' ')).rejects.toThrow(ValidationError);
    });

    it('throws ProviderPermissionError naming the admin scope for a 403', async () => {
      const platform = scriptedFetch(list(record(OLD_ID)), platformError(403, 'forbidden', 'Scope missing.'));

      const error = await revoke(providerWith(platform.fetch)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderPermissionError);
      expect((error as Error).message).toContain('"admin" scope');
    });

    it('repeats the PATCH after a 503, since inactivating twice is harmless', async () => {
      const platform = scriptedFetch(list(record(OLD_ID)), json(503, {}), json(200, record(OLD_ID, { active: false })));

      expect(await revoke(providerWith(platform.fetch))).toBe('revoked');
      expect(platform.calls.filter((call) => call.method === 'PATCH')).toHaveLength(2);
    });

    it('throws ProviderResponseError when the PATCH answers 200 but the key is still active', async () => {
      const platform = scriptedFetch(list(record(OLD_ID)), json(200, record(OLD_ID)));

      await expect(revoke(providerWith(platform.fetch))).rejects.toThrow(ProviderResponseError);
    });

    it('throws ProviderRateLimitError when the platform keeps answering 429', async () => {
      const limited = () => platformError(429, 'rate_limited', 'Slow down.', { 'retry-after': '1' });
      const platform = scriptedFetch(list(record(OLD_ID)), limited(), limited());

      await expect(revoke(providerWith(platform.fetch, { maxAttempts: 2 }))).rejects.toThrow(ProviderRateLimitError);
    });
  });

  describe('Property: garbage from the platform', () => {
    const SECRETS = [OLD_KEY, ACCOUNT_KEY, OLD_BASIC.slice(6)];
    const secret = fc.constantFrom(...SECRETS);
    const text = fc.oneof(fc.string({ maxLength: 30 }), secret, fc.tuple(fc.string({ maxLength: 10 }), secret).map(([a, s]) => `${a}${s}`));
    const listEntry = fc.record(
      {
        id: fc.oneof(text, fc.constant(OLD_ID), fc.integer()),
        name: fc.oneof(text, fc.constant(null)),
        scopes: fc.oneof(fc.array(text, { maxLength: 3 }), fc.jsonValue()),
        active: fc.oneof(fc.boolean(), fc.jsonValue()),
        key: text,
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.json({ maxDepth: 3 }),
      fc.record({ data: fc.array(listEntry, { maxLength: 4 }) }).map((b) => JSON.stringify(b)),
      fc.record({ message: text, error: fc.oneof(text, fc.record({ code: text, message: text })) }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
      fc.record({ id: fc.oneof(text, fc.integer()), key: text, active: fc.jsonValue() }, { requiredKeys: [] }).map((b) => JSON.stringify(b)),
    );
    const response = fc.record({
      status: fc.constantFrom(...PLATFORM_STATUSES),
      body,
      retryAfter: fc.option(fc.oneof(fc.constantFrom('0', '1', '120', 'soon'), text), { nil: undefined }),
    });

    it('answers, or throws a KeyrotorError that quotes no secret, for any responses', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(response, { minLength: 8, maxLength: 8 }), fc.constantFrom('verify', 'listKeys', 'issueKey', 'revokeKey'), async (responses, method) => {
          clearRegisteredSecrets();
          const platform = scriptedFetch(
            ...responses.map(({ status, body: payload, retryAfter }) => () => {
              const headers: Record<string, string> = { 'content-type': 'application/json' };
              // Header values must be ByteStrings; a secret in one is still a realistic echo.
              if (retryAfter !== undefined && /^[\x20-\x7e]*$/.test(retryAfter)) headers['retry-after'] = retryAfter;
              return new Response(status === 204 ? null : payload, { status, headers });
            }),
          );
          const p = providerWith(platform.fetch, { maxRetryAfterMs: 1000 });
          const current = value();
          const other = value({ apiKey: NEW_KEY, providerKeyId: NEW_ID });
          const run: Record<string, () => Promise<unknown>> = {
            verify: () => p.verify(current, target),
            listKeys: () => p.listKeys({ authenticateWith: current, target }),
            issueKey: () => p.issueKey({ current, target, keyName: 'keyrotor-fuzz' }),
            revokeKey: () => p.revokeKey({ authenticateWith: current, providerKeyId: NEW_ID, target }),
          };
          let error: unknown;
          try {
            await run[method]();
          } catch (caught) {
            error = caught;
          }
          if (error === undefined) return;
          expect(error).toBeInstanceOf(KeyrotorError);
          const message = (error as Error).message;
          for (const known of [...SECRETS, other.apiKey]) expect(message).not.toContain(known);
          expect(String((error as Error).cause ?? '')).not.toContain(OLD_KEY);
        }),
        { numRuns: 300 },
      );
    });
  });
});
