import * as fc from 'fast-check';
import {
  KeyrotorError,
  ProviderAuthError,
  ProviderRateLimitError,
  ProviderResponseError,
  ProviderUnavailableError,
  ValidationError,
} from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets, REDACTED, redactText } from '../../../../lambdas/core/redaction';
import {
  GENERATE_API_KEY_MUTATION,
  TENANTS_URL,
  ThriveAdminTokenError,
  ThriveProvider,
  VERIFY_PATH,
  type ThriveProviderOptions,
  type ThriveValue,
} from '../../../../lambdas/providers/thrive';
import { reply, stubFetch, validationErrorOf } from '../../../support/fakes/fetch-stub';

const TENANT_ID = 'eu-west-2_AbcdEfghI';
/** Fake keys and tokens that match no credential pattern of the redaction module on their own. */
const KEY_OLD = 'thrive0KEY0old0000000000001';
const KEY_NEW = 'thrive0KEY0new0000000000002';
const ADMIN_TOKEN = 'adminSESSIONtoken0123456789abcdef';
const CORRELATION_ID = '6f1c2b9e-3d4a-4c5b-9e8f-0a1b2c3d4e5f';
const BASE_URL = 'https://acme.api.learn.link';
const VALID_UNTIL = '2027-11-23T10:00:00.000Z';
const production = { baseUrl: BASE_URL, environment: 'production' } as const;
const sandbox = { baseUrl: BASE_URL, environment: 'sandbox' } as const;

const value = (apiKey: string, extra: Record<string, unknown> = {}): ThriveValue => ({
  provider: 'thrive',
  environment: 'production',
  baseUrl: BASE_URL,
  tenantId: TENANT_ID,
  apiKey,
  ...extra,
});

const generated = (apiKey = KEY_NEW, validUntil: unknown = VALID_UNTIL) => reply(200, { data: { generateApiKey: { validUntil, apiKey } } });
const unauthenticated = reply(200, { errors: [{ message: 'Token has expired.', extensions: { code: 'UNAUTHENTICATED' } }], data: null });

const providerWith = (options: ThriveProviderOptions = {}): ThriveProvider => new ThriveProvider({ sleep: async () => undefined, ...options });

const issueRequest = (overrides: Partial<{ current: ThriveValue; adminToken: string; correlationId: string; target: typeof production | typeof sandbox }> = {}) => ({
  current: value(KEY_OLD, { issuedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-12-01T00:00:00.000Z', fingerprint: '…0001#aaaaaaaa' }),
  target: production,
  keyName: 'keyrotor-2026-11-23',
  adminToken: ADMIN_TOKEN,
  correlationId: CORRELATION_ID,
  ...overrides,
});

/** `data.generateApiKey.apiKey` of a response body, if it has one. */
function returnedKey(body: string): unknown {
  try {
    return (JSON.parse(body) as { data?: { generateApiKey?: { apiKey?: unknown } } } | null)?.data?.generateApiKey?.apiKey;
  } catch {
    return undefined;
  }
}

/** Every message in an error and its causes. */
function messagesOf(error: unknown): string {
  const out: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(' | ');
}

describe('Class: ThriveProvider', () => {
  let provider: ThriveProvider;

  beforeEach(() => {
    clearRegisteredSecrets();
    provider = providerWith();
  });

  describe('Property: capabilities', () => {
    it('declares that keys need a person (admin token) to be issued, cannot be revoked by API, and mint short-lived tokens', () => {
      expect(provider.id).toBe('thrive');
      expect(provider.displayName).toBe('Thrive');
      expect(provider.capabilities).toEqual({
        issueByApi: false,
        revokeByApi: false,
        listKeys: false,
        shortLivedTokens: true,
        twoLiveKeys: true,
      });
      expect(typeof provider.issueKeyWithAdminToken).toBe('function');
    });
  });

  describe('Property: manual', () => {
    it('tells a person how to copy the admin token and correlation id and how to hand them over', () => {
      // Act
      const text = provider.manual.issue({ secretName: 'keyrotor/thrive-prod', baseUrl: BASE_URL, environment: 'production', keyName: 'keyrotor-2026-11-23' });

      // Assess
      expect(text).toContain('DevTools → Network → the user?AuthorityToken request');
      expect(text).toContain('Authorization');
      expect(text).toContain('Correlation-Id');
      expect(text).toContain('60 minutes');
      expect(text).toContain('npx keyrotor submit keyrotor/thrive-prod --admin-token --correlation-id <Correlation-Id>');
      expect(text).toContain('https://tenant.api.link/tenants');
      expect(text).toMatch(/hidden prompt|stdin/);
    });

    it('names the staging endpoint for a sandbox secret', () => {
      const text = provider.manual.issue({ secretName: 's', baseUrl: BASE_URL, environment: 'sandbox', keyName: 'k' });

      expect(text).toContain('https://tenant.api.learnstaging.link/tenants');
      expect(text).not.toContain('https://tenant.api.link/');
    });

    it('says that keyrotor cannot revoke Thrive keys and whom to ask', () => {
      const text = provider.manual.revoke({ secretName: 'keyrotor/thrive-prod', baseUrl: BASE_URL, fingerprint: '…0001#1a2b3c4d' });

      expect(text).toContain('cannot be revoked by keyrotor');
      expect(text).toContain('Thrive support or your Thrive admin');
      expect(text).toContain('…0001#1a2b3c4d of keyrotor/thrive-prod');
    });
  });

  describe('Method: parseSubmission', () => {
    it('returns a raw key as apiKey alone (the tenant stays the current one)', () => {
      expect(provider.parseSubmission(` ${KEY_NEW}\n`)).toEqual({ apiKey: KEY_NEW });
    });

    it('reads tenantId and apiKey from JSON', () => {
      expect(provider.parseSubmission(JSON.stringify({ tenantId: TENANT_ID, apiKey: KEY_NEW, note: 'x' }))).toEqual({ tenantId: TENANT_ID, apiKey: KEY_NEW });
      expect(provider.parseSubmission(JSON.stringify({ apiKey: KEY_NEW }))).toEqual({ apiKey: KEY_NEW });
    });

    it.each([
      ['an empty input', '', ['apiKey: is missing']],
      ['broken JSON', '{"apiKey":"thriveSecretSecret01"', ['is neither a raw API key nor valid JSON']],
      ['a key with a space', 'thrive Secret Secret01', ['apiKey: must be 8 to 1024 printable characters']],
      ['a malformed tenantId', '{"tenantId":"acme","apiKey":"thrive0KEY0new0000000000002"}', ['tenantId: must look like <region>_<id>']],
      ['a numeric tenantId and no key', '{"tenantId":42}', ['apiKey: is missing', 'tenantId: must look like <region>_<id>']],
    ])('throws ValidationError for %s', (_what, input, issues) => {
      const error = validationErrorOf(() => provider.parseSubmission(input));

      expect(error.issues).toHaveLength(issues.length);
      issues.forEach((issue, i) => expect(error.issues[i]).toContain(issue));
      expect(error.message).not.toContain('Secret');
    });

    it('returns well-formed fields or a ValidationError that does not quote the input, for any input', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.json(), fc.record({ tenantId: fc.string(), apiKey: fc.string() }).map((r) => JSON.stringify(r))), (input) => {
          let result: Partial<ThriveValue>;
          try {
            result = provider.parseSubmission(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            if (input.trim().length >= 8) expect((error as Error).message).not.toContain(input.trim());
            return;
          }
          expect(result.apiKey).toMatch(/^[\x21-\x7e]{8,1024}$/);
          if (result.tenantId !== undefined) expect(result.tenantId).toMatch(/^[a-z]{2}-[a-z]+-\d_[A-Za-z0-9]+$/);
        }),
      );
    });
  });

  describe('Method: formatProblems', () => {
    it('returns no problems for a well-formed value', () => {
      expect(provider.formatProblems(value(KEY_OLD), 'production')).toEqual([]);
      expect(provider.formatProblems(value(KEY_OLD, { tenantsUrl: 'http://127.0.0.1:4010/tenants' }), 'sandbox')).toEqual([]);
    });

    it.each(['acme', 'eu-west-2', 'EU-WEST-2_Abc', 'eu-west-2_', 'eu-west-2_abc:def'])('refuses the tenant id %s', (tenantId) => {
      expect(provider.formatProblems(value(KEY_OLD, { tenantId }), 'production')).toEqual([
        'tenantId: must look like <region>_<id>, e.g. eu-west-2_AbcdEfghI (the id in your Thrive logo URL)',
      ]);
    });

    it('refuses a malformed key without quoting it', () => {
      const problems = provider.formatProblems(value('thrive secret key'), 'production');

      expect(problems).toHaveLength(1);
      expect(problems[0]).not.toContain('thrive secret key');
    });

    it('refuses a tenantsUrl that is not https, and one of the other environment', () => {
      expect(provider.formatProblems(value(KEY_OLD, { tenantsUrl: 'http://tenant.example.com/tenants' }), 'production')).toEqual([
        'tenantsUrl: must use https:// (plain http:// is allowed only for loopback hosts)',
      ]);
      expect(provider.formatProblems(value(KEY_OLD, { tenantsUrl: TENANTS_URL.sandbox }), 'production')).toEqual([
        'tenantsUrl: is the sandbox endpoint but the secret is production; use https://tenant.api.link/tenants or leave it out',
      ]);
      expect(provider.formatProblems(value(KEY_OLD, { tenantsUrl: 42 }), 'sandbox')).toEqual(['tenantsUrl: must be a string']);
    });
  });

  describe('Method: verify', () => {
    it('sends GET {baseUrl}/rest/v1/users?page=1&perPage=1 with HTTP Basic tenantId:apiKey', async () => {
      // Prepare
      const platform = stubFetch(reply(200, { users: [{ id: 'u1' }] }));
      const thrive = providerWith({ fetch: platform.fetch });

      // Act
      const result = await thrive.verify(value(KEY_NEW), production);

      // Assess
      expect(VERIFY_PATH).toBe('/rest/v1/users?page=1&perPage=1');
      expect(platform.calls).toEqual([
        {
          url: 'https://acme.api.learn.link/rest/v1/users?page=1&perPage=1',
          method: 'GET',
          // base64("eu-west-2_AbcdEfghI:thrive0KEY0new0000000000002")
          headers: { accept: 'application/json', authorization: 'Basic ZXUtd2VzdC0yX0FiY2RFZmdoSTp0aHJpdmUwS0VZMG5ldzAwMDAwMDAwMDAwMDI=' },
          body: undefined,
        },
      ]);
      expect(result).toEqual({ checked: 'GET https://acme.api.learn.link/rest/v1/users → 200' });
    });

    it('throws ProviderAuthError for a rejected key, after one call', async () => {
      const platform = stubFetch(reply(401, { message: 'Unauthorized' }));

      const result = providerWith({ fetch: platform.fetch }).verify(value(KEY_OLD), production);

      await expect(result).rejects.toThrow(ProviderAuthError);
      await expect(result).rejects.toMatchObject({ provider: 'thrive', platformMessage: 'Unauthorized' });
      expect(platform.calls).toHaveLength(1);
    });

    it('keeps the key and the encoded Basic credentials out of the error when the platform echoes them', async () => {
      const basic = Buffer.from(`${TENANT_ID}:${KEY_OLD}`).toString('base64');
      const platform = stubFetch(reply(401, { message: `bad credentials ${basic} (${KEY_OLD})` }));

      const error = (await providerWith({ fetch: platform.fetch })
        .verify(value(KEY_OLD), production)
        .catch((e: unknown) => e)) as ProviderAuthError;

      expect(error.platformMessage).toBe('bad credentials [REDACTED] ([REDACTED])');
      expect(error.message).not.toContain(KEY_OLD);
      expect(error.message).not.toContain(basic);
    });

    it('honours Retry-After on a 429', async () => {
      const platform = stubFetch(reply(429, {}, { 'retry-after': '3' }), reply(200, { users: [] }));
      const sleeps: number[] = [];

      await providerWith({ fetch: platform.fetch, sleep: async (ms) => void sleeps.push(ms) }).verify(value(KEY_NEW), production);

      expect(sleeps).toEqual([3000]);
      expect(platform.calls).toHaveLength(2);
    });

    it('throws ProviderResponseError for a 200 that is not JSON', async () => {
      const platform = stubFetch(() => new Response('<html/>', { status: 200 }));

      await expect(providerWith({ fetch: platform.fetch }).verify(value(KEY_NEW), production)).rejects.toThrow(ProviderResponseError);
    });
  });

  describe('Method: issueKeyWithAdminToken', () => {
    it('POSTs the documented mutation to the production tenants endpoint with the admin token and correlation id', async () => {
      // Prepare
      const platform = stubFetch(generated());
      const thrive = providerWith({ fetch: platform.fetch });

      // Act
      await thrive.issueKeyWithAdminToken(issueRequest());

      // Assess
      expect(platform.calls).toEqual([
        {
          url: 'https://tenant.api.link/tenants',
          method: 'POST',
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${ADMIN_TOKEN}`,
            'correlation-id': CORRELATION_ID,
            'content-type': 'application/json',
          },
          body: '{"query":"mutation { generateApiKey(tokenType: \\"permanent\\", services: [\\"api-service\\"]) { validUntil, apiKey } }"}',
        },
      ]);
      expect(GENERATE_API_KEY_MUTATION).toBe('mutation { generateApiKey(tokenType: "permanent", services: ["api-service"]) { validUntil, apiKey } }');
    });

    it('uses the staging endpoint for a sandbox secret, and the value\'s tenantsUrl when it has one', async () => {
      const platform = stubFetch(generated());
      const thrive = providerWith({ fetch: platform.fetch });

      await thrive.issueKeyWithAdminToken(issueRequest({ target: sandbox }));
      await thrive.issueKeyWithAdminToken(issueRequest({ current: value(KEY_OLD, { tenantsUrl: 'http://127.0.0.1:4010/tenants' }), target: sandbox }));

      expect(platform.calls.map((c) => c.url)).toEqual(['https://tenant.api.learnstaging.link/tenants', 'http://127.0.0.1:4010/tenants']);
      expect(TENANTS_URL).toEqual({ production: 'https://tenant.api.link/tenants', sandbox: 'https://tenant.api.learnstaging.link/tenants' });
    });

    it.each([
      ['"Bearer " and spaces', `  Bearer ${ADMIN_TOKEN}\n`, ` ${CORRELATION_ID} `],
      ['the header names as DevTools shows them', `Authorization: Bearer ${ADMIN_TOKEN}`, `Correlation-Id: ${CORRELATION_ID}`],
      ['lower-case header names without "Bearer "', `authorization:${ADMIN_TOKEN}`, `correlation-id:${CORRELATION_ID}`],
    ])('strips %s copied with the values', async (_what, adminToken, correlationId) => {
      const platform = stubFetch(generated());

      await providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(issueRequest({ adminToken, correlationId }));

      expect(platform.calls[0].headers.authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
      expect(platform.calls[0].headers['correlation-id']).toBe(CORRELATION_ID);
    });

    it('returns the current value with the new key and validUntil as expiresAt, dropping what described the old key', async () => {
      const platform = stubFetch(generated(KEY_NEW, '2027-11-23T10:00:00+01:00'));
      const request = issueRequest({ current: value(KEY_OLD, { fingerprint: '…0001#aaaaaaaa', providerKeyId: 'x', issuedAt: '2026-01-01T00:00:00.000Z', appNote: 'kept' }) });

      const issued = await providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(request);

      expect(issued).toEqual({
        value: {
          provider: 'thrive',
          environment: 'production',
          baseUrl: BASE_URL,
          tenantId: TENANT_ID,
          apiKey: KEY_NEW,
          expiresAt: '2027-11-23T09:00:00.000Z',
          appNote: 'kept',
        },
      });
      expect(issued.providerKeyId).toBeUndefined();
    });

    it('registers the admin token and the new key as secrets at once', async () => {
      const platform = stubFetch(generated());

      await providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(issueRequest());

      expect(redactText(`token ${ADMIN_TOKEN} made ${KEY_NEW}`)).toBe(`token ${REDACTED} made ${REDACTED}`);
    });

    it('keeps a new key whose validUntil it cannot read, without an expiry', async () => {
      const platform = stubFetch(generated(KEY_NEW, 'next year'));

      const issued = await providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(issueRequest());

      expect(issued.value.apiKey).toBe(KEY_NEW);
      expect(issued.value.expiresAt).toBeUndefined();
    });

    it('keeps a key Thrive returned even when the answer also carries errors', async () => {
      const platform = stubFetch(reply(200, { data: { generateApiKey: { validUntil: VALID_UNTIL, apiKey: KEY_NEW } }, errors: [{ message: 'partial', extensions: { code: 'UNAUTHENTICATED' } }] }));

      const issued = await providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(issueRequest());

      expect(issued.value).toMatchObject({ apiKey: KEY_NEW, expiresAt: VALID_UNTIL });
    });

    it('reads validUntil given as epoch seconds', async () => {
      const platform = stubFetch(generated(KEY_NEW, 1_826_791_200));

      const issued = await providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(issueRequest());

      expect(issued.value.expiresAt).toBe('2027-11-21T10:00:00.000Z');
    });

    it.each([
      ['HTTP 401', reply(401, { message: 'Token has expired.' })],
      ['a GraphQL UNAUTHENTICATED error in a 200', unauthenticated],
    ])('throws ThriveAdminTokenError (a ProviderAuthError) for %s, saying to copy a fresh token', async (_what, responder) => {
      // Prepare
      const platform = stubFetch(responder);

      // Act
      const error = await providerWith({ fetch: platform.fetch })
        .issueKeyWithAdminToken(issueRequest())
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ThriveAdminTokenError);
      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error).toMatchObject({ name: 'ThriveAdminTokenError', provider: 'thrive', status: 401, platformMessage: 'Token has expired.' });
      expect((error as Error).message).toBe(
        'Thrive refused the admin token (Token has expired.): it has expired or is invalid (admin tokens last 60 minutes). ' +
          'Copy a fresh Authorization value and Correlation-Id (open your Thrive Learn page, then Chrome DevTools → Network → ' +
          'the user?AuthorityToken request → its Authorization and Correlation-Id request headers) and run the submit again straight away.',
      );
      expect(platform.calls).toHaveLength(1);
    });

    it('keeps the admin token out of the error when Thrive echoes it', async () => {
      const platform = stubFetch(reply(200, { errors: [{ message: `jwt ${ADMIN_TOKEN} expired`, extensions: { code: 'UNAUTHENTICATED' } }] }));

      const error = await providerWith({ fetch: platform.fetch })
        .issueKeyWithAdminToken(issueRequest())
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ThriveAdminTokenError);
      expect(messagesOf(error)).not.toContain(ADMIN_TOKEN);
      expect((error as ThriveAdminTokenError).platformMessage).toBe('jwt [REDACTED] expired');
    });

    it('throws ProviderResponseError for another GraphQL error, with its message', async () => {
      const platform = stubFetch(reply(200, { errors: [{ message: 'Service api-service is not enabled.', extensions: { code: 'FORBIDDEN' } }], data: null }));

      const error = await providerWith({ fetch: platform.fetch })
        .issueKeyWithAdminToken(issueRequest())
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect((error as Error).message).toBe('generateApiKey failed at POST https://tenant.api.link/tenants: Service api-service is not enabled.');
    });

    it.each([
      ['no data', reply(200, { data: null })],
      ['an empty apiKey', generated('')],
      ['an apiKey with spaces', generated('a key with spaces')],
      ['a body that is not JSON', () => new Response('ok', { status: 200 })],
      ['a JSON array', reply(200, [])],
    ])('throws ProviderResponseError for a 200 with %s', async (_what, responder) => {
      const platform = stubFetch(responder);

      await expect(providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(issueRequest())).rejects.toThrow(ProviderResponseError);
    });

    it('does not repeat the POST after a 5xx or a network failure: Thrive may have made a key', async () => {
      const failing = stubFetch(reply(502, {}));
      await expect(providerWith({ fetch: failing.fetch }).issueKeyWithAdminToken(issueRequest())).rejects.toThrow(ProviderUnavailableError);
      expect(failing.calls).toHaveLength(1);

      let calls = 0;
      const dropping = providerWith({
        fetch: (async () => {
          calls += 1;
          throw new TypeError('socket hang up');
        }) as typeof fetch,
      });
      await expect(dropping.issueKeyWithAdminToken(issueRequest())).rejects.toThrow(ProviderUnavailableError);
      expect(calls).toBe(1);
    });

    it('repeats the POST after a 429, which Thrive did not process, honouring Retry-After', async () => {
      const platform = stubFetch(reply(429, {}, { 'retry-after': '2' }), generated());
      const sleeps: number[] = [];

      const issued = await providerWith({ fetch: platform.fetch, sleep: async (ms) => void sleeps.push(ms) }).issueKeyWithAdminToken(issueRequest());

      expect(issued.value.apiKey).toBe(KEY_NEW);
      expect(sleeps).toEqual([2000]);
      expect(platform.calls).toHaveLength(2);
    });

    it('gives up with ProviderRateLimitError when Retry-After is too long', async () => {
      const platform = stubFetch(reply(429, {}, { 'retry-after': '3600' }));

      await expect(providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(issueRequest())).rejects.toThrow(ProviderRateLimitError);
    });

    it.each([
      ['an empty admin token', { adminToken: '' }, 'adminToken: is missing'],
      ['only "Bearer "', { adminToken: 'Bearer ' }, 'adminToken: is missing'],
      ['an admin token with a line break', { adminToken: `${ADMIN_TOKEN}\nx-evil: 1` }, 'adminToken: must be 8 to 8192 printable characters'],
      ['an empty correlation id', { correlationId: '' }, 'correlationId: is missing'],
      ['a correlation id with a line break', { correlationId: 'abc\r\nx-evil: 1' }, 'correlationId: must be 1 to 256'],
      ['a tenantsUrl over plain http', { current: value(KEY_OLD, { tenantsUrl: 'http://tenant.example.com/tenants' }) }, 'tenantsUrl: must use https://'],
    ])('throws ValidationError for %s without calling Thrive', async (_what, overrides, issue) => {
      const platform = stubFetch(generated());

      const error = await providerWith({ fetch: platform.fetch })
        .issueKeyWithAdminToken(issueRequest(overrides))
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]).toContain(issue);
      expect((error as Error).message).not.toContain(ADMIN_TOKEN);
      expect(platform.calls).toHaveLength(0);
    });

    it('answers any platform response with a key or a typed error that never holds the admin token or a new key', async () => {
      const secretish = fc.constantFrom(ADMIN_TOKEN, KEY_NEW, `Bearer ${ADMIN_TOKEN}`);
      const graphqlBody = fc
        .record(
          {
            errors: fc.array(
              fc.record({
                message: fc.oneof(fc.string({ maxLength: 40 }), secretish.map((s) => `bad ${s}`)),
                extensions: fc.record({ code: fc.constantFrom('UNAUTHENTICATED', 'FORBIDDEN', 'INTERNAL_SERVER_ERROR', 'X') }, { requiredKeys: [] }),
              }, { requiredKeys: [] }),
              { maxLength: 3 },
            ),
            data: fc.oneof(
              fc.constant(null),
              fc.record({ generateApiKey: fc.record({ apiKey: fc.oneof(fc.constant(KEY_NEW), fc.string({ maxLength: 20 }), fc.integer()), validUntil: fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.constant(VALID_UNTIL)) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
            ),
          },
          { requiredKeys: [] },
        )
        .map((body) => JSON.stringify(body));
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503),
          fc.oneof(fc.string({ maxLength: 200 }), fc.json(), graphqlBody, secretish.map((s) => `{"message":"${s}"}`), secretish.map((s) => `oops ${s} oops`)),
          async (status, body) => {
            clearRegisteredSecrets();
            const platform = stubFetch(() => new Response(body, { status, headers: { 'retry-after': '0' } }));
            try {
              const issued = await providerWith({ fetch: platform.fetch }).issueKeyWithAdminToken(issueRequest());
              expect(issued.value.apiKey).toMatch(/^[\x21-\x7e]{8,1024}$/);
              expect(issued.value.apiKey).not.toBe(KEY_OLD);
            } catch (error) {
              expect(error).toBeInstanceOf(KeyrotorError);
              const text = messagesOf(error);
              expect(text).not.toContain(ADMIN_TOKEN);
              // A key Thrive handed back must not leak, even when the rest of the answer is unusable.
              if (status < 300 && returnedKey(body) === KEY_NEW) expect(text).not.toContain(KEY_NEW);
            }
            expect(platform.calls.length).toBeLessThanOrEqual(4);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
