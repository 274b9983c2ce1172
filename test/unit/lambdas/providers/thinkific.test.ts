import * as fc from 'fast-check';
import {
  KeyrotorError,
  ProviderAuthError,
  ProviderRateLimitError,
  ProviderResponseError,
  ProviderUnavailableError,
  ValidationError,
} from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import {
  EXPIRES_AT_REQUIRED,
  parseExpiryDate,
  ThinkificProvider,
  VERIFY_PATH,
  type ThinkificProviderOptions,
  type ThinkificValue,
} from '../../../../lambdas/providers/thinkific';
import { PLATFORM_STATUSES, reply, stubFetch, validationErrorOf } from '../../../support/fakes/fetch-stub';

/** Fake tokens: they match no credential pattern of the redaction module, so only the provider can keep them out of messages. */
const TOKEN_OLD = 'thkOLDtokenOLDtoken0000000000001';
const TOKEN_NEW = 'thkNEWtokenNEWtoken0000000000002';
const BASE_URL = 'https://api.thinkific.com';
const NOW = Date.parse('2026-11-23T10:00:00Z');
const target = { baseUrl: BASE_URL, environment: 'production' } as const;

const value = (apiKey: string): ThinkificValue => ({ provider: 'thinkific', environment: 'production', baseUrl: BASE_URL, apiKey });

const USERS_PAGE = { items: [{ id: 1, email: 'student@example.com' }], meta: { pagination: { current_page: 1, total_items: 1 } } };

function providerWith(options: ThinkificProviderOptions = {}): ThinkificProvider {
  return new ThinkificProvider({ now: () => NOW, sleep: async () => undefined, ...options });
}

describe('Class: ThinkificProvider', () => {
  let provider: ThinkificProvider;

  beforeEach(() => {
    clearRegisteredSecrets();
    provider = providerWith();
  });

  describe('Property: capabilities', () => {
    it('declares that tokens are issued and removed by a person, and that two may be live at once', () => {
      expect(provider.id).toBe('thinkific');
      expect(provider.displayName).toBe('Thinkific');
      expect(provider.capabilities).toEqual({
        issueByApi: false,
        revokeByApi: false,
        listKeys: false,
        shortLivedTokens: false,
        twoLiveKeys: true,
      });
    });
  });

  describe('Property: manual', () => {
    it('tells a person where to create the token, what to name it, and to pass its expiry date', () => {
      // Act
      const text = provider.manual.issue({ secretName: 'keyrotor/school-prod', baseUrl: BASE_URL, environment: 'production', keyName: 'keyrotor-2026-11-23' });

      // Assess
      expect(text).toContain('Settings → Code & analytics → API Access Tokens → Add API access token');
      expect(text).toContain('unique name "keyrotor-2026-11-23"');
      expect(text).toContain('choose an expiry date and pass it with --expires-at');
      expect(text).toContain('npx keyrotor submit keyrotor/school-prod --expires-at YYYY-MM-DD');
      expect(text).toContain('shown only once');
      expect(text).toMatch(/hidden prompt|stdin/);
    });

    it('tells a person which token to remove, and that removal cuts access at once', () => {
      const text = provider.manual.revoke({ secretName: 'keyrotor/school-prod', baseUrl: BASE_URL, fingerprint: '…0001#1a2b3c4d' });

      expect(text).toContain('click Remove next to token …0001#1a2b3c4d of keyrotor/school-prod');
      expect(text).toContain('Settings → Code & analytics → API Access Tokens');
      expect(text).toContain('at once');
      expect(text).toContain('401');
    });
  });

  describe('Method: parseSubmission', () => {
    it('returns a raw token with the end of the given day (UTC) as expiresAt', () => {
      // Act
      const result = provider.parseSubmission(TOKEN_NEW, { expiresAt: '2027-02-28' });

      // Assess
      expect(result).toEqual({ apiKey: TOKEN_NEW, expiresAt: '2027-02-28T23:59:59.999Z' });
    });

    it('trims the whitespace and newline a paste or a pipe adds, and reads apiKey from JSON', () => {
      expect(provider.parseSubmission(`  ${TOKEN_NEW}\r\n`, { expiresAt: '2027-01-01' })).toEqual({ apiKey: TOKEN_NEW, expiresAt: '2027-01-01T23:59:59.999Z' });
      expect(provider.parseSubmission(`\n${JSON.stringify({ apiKey: TOKEN_NEW, note: 'x' })}\n`, { expiresAt: '2027-01-01' })).toEqual({
        apiKey: TOKEN_NEW,
        expiresAt: '2027-01-01T23:59:59.999Z',
      });
    });

    it('normalises a full ISO 8601 date-time with an offset to UTC', () => {
      expect(provider.parseSubmission(TOKEN_NEW, { expiresAt: '2027-03-01T09:30:00+02:00' }).expiresAt).toBe('2027-03-01T07:30:00.000Z');
      expect(provider.parseSubmission(TOKEN_NEW, { expiresAt: '2027-03-01T09:30Z' }).expiresAt).toBe('2027-03-01T09:30:00.000Z');
      expect(provider.parseSubmission(TOKEN_NEW, { expiresAt: '2027-03-01T09:30:00.25z' }).expiresAt).toBe('2027-03-01T09:30:00.250Z');
    });

    it('accepts today, whose end is still ahead, and refuses yesterday', () => {
      expect(provider.parseSubmission(TOKEN_NEW, { expiresAt: '2026-11-23' }).expiresAt).toBe('2026-11-23T23:59:59.999Z');

      const error = validationErrorOf(() => provider.parseSubmission(TOKEN_NEW, { expiresAt: '2026-11-22' }));

      expect(error.issues).toEqual([
        'expiresAt: 2026-11-22T23:59:59.999Z is not in the future; pass the expiry date of the new token chosen in the admin dashboard',
      ]);
    });

    it('refuses an instant that has just passed, by the clock it was given', () => {
      const error = validationErrorOf(() => provider.parseSubmission(TOKEN_NEW, { expiresAt: '2026-11-23T10:00:00Z' }));

      expect(error.issues[0]).toContain('is not in the future');
    });

    it.each([undefined, '', '   '])('requires expiresAt (given %p), saying how to pass it', (expiresAt) => {
      const error = validationErrorOf(() => provider.parseSubmission(TOKEN_NEW, expiresAt === undefined ? undefined : { expiresAt }));

      expect(error.issues).toEqual([EXPIRES_AT_REQUIRED]);
      expect(EXPIRES_AT_REQUIRED).toBe(
        'expiresAt: is required for Thinkific — pass the expiry date chosen in the admin dashboard with --expires-at YYYY-MM-DD',
      );
      expect(error.message).toBe(`submitted credential is invalid: ${EXPIRES_AT_REQUIRED}`);
    });

    it('reports a bad token and a missing expiry together', () => {
      const error = validationErrorOf(() => provider.parseSubmission(''));

      expect(error.issues).toEqual(['apiKey: is missing', EXPIRES_AT_REQUIRED]);
    });

    it.each([
      ['an empty input', '', 'apiKey: is missing'],
      ['JSON without apiKey', '{"token":"thkNEWtokenNEWtoken0000000000002"}', 'apiKey: is missing'],
      ['JSON with a numeric apiKey', '{"apiKey":123456789012345678}', 'apiKey: is missing'],
      ['broken JSON', '{"apiKey":"thkSecretSecretSecret0001"', 'is neither a raw API access token nor valid JSON'],
      ['a token with "Bearer " in front', `Bearer ${TOKEN_NEW}`, 'apiKey: paste the token alone, without "Bearer "'],
      ['a token with a space in it', 'thkSecret SecretSecret0001', 'apiKey: must be 16 to 4096 printable characters'],
      ['a token shorter than 16 characters', 'thkShort0001', 'apiKey: must be 16 to 4096 printable characters'],
      ['a token with a non-ASCII character', 'thkSecrétSecretSecret0001', 'apiKey: must be 16 to 4096 printable characters'],
    ])('throws ValidationError for %s', (_what, input, issue) => {
      const error = validationErrorOf(() => provider.parseSubmission(input, { expiresAt: '2027-01-01' }));

      expect(error.issues).toHaveLength(1);
      expect(error.issues[0]).toContain(issue);
      expect(error.message).toMatch(/^submitted credential is invalid: /);
    });

    it.each(['2027-02-29', '2027-13-01', '2027-00-10', '2027-04-31', '2027-01-01T24:00:00Z', '2027-01-01T10:60Z', '2027-01-01T10:00:00', '01/02/2027', 'tomorrow', '2027-1-1'])(
      'refuses the malformed expiry date %s',
      (expiresAt) => {
        const error = validationErrorOf(() => provider.parseSubmission(TOKEN_NEW, { expiresAt }));

        expect(error.issues).toHaveLength(1);
        expect(error.issues[0]).toMatch(/^expiresAt: (is not a real calendar date|must be a date YYYY-MM-DD or an ISO 8601 date-time with a time zone)/);
      },
    );

    it('accepts 29 February in a leap year', () => {
      expect(provider.parseSubmission(TOKEN_NEW, { expiresAt: '2028-02-29' }).expiresAt).toBe('2028-02-29T23:59:59.999Z');
    });

    it('never echoes the token, nor a token pasted into --expires-at by mistake', () => {
      const cases: [string, string][] = [
        ['{"apiKey":"thkSecretSecretSecret0001"', '2027-01-01'],
        ['thkSecret SecretSecret0001', '2027-01-01'],
        [`Bearer ${TOKEN_NEW}`, '2027-01-01'],
        [TOKEN_NEW, TOKEN_OLD],
      ];

      for (const [input, expiresAt] of cases) {
        const error = validationErrorOf(() => provider.parseSubmission(input, { expiresAt }));
        expect(error.message).not.toContain('Secret');
        expect(error.message).not.toContain(TOKEN_NEW);
        expect(error.message).not.toContain(TOKEN_OLD);
        expect(error.cause).toBeUndefined();
      }
    });

    it('returns a well-formed token and a future ISO date, or a ValidationError that quotes neither input, for any input', () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.string({ maxLength: 300 }), fc.json(), fc.string({ unit: 'binary', maxLength: 64 })),
          fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10))), { nil: undefined }),
          (input, expiresAt) => {
            let result: Partial<ThinkificValue>;
            try {
              result = provider.parseSubmission(input, { expiresAt });
            } catch (error) {
              expect(error).toBeInstanceOf(ValidationError);
              const message = (error as ValidationError).message;
              if (input.trim().length >= 16) expect(message).not.toContain(input.trim());
              return;
            }
            expect(result.apiKey).toMatch(/^[\x21-\x7e]{16,4096}$/);
            expect(Date.parse(result.expiresAt!)).toBeGreaterThan(NOW);
            expect(new Date(result.expiresAt!).toISOString()).toBe(result.expiresAt);
          },
        ),
      );
    });
  });

  describe('Function: parseExpiryDate', () => {
    it('returns the end of the day for a date and the instant for a date-time', () => {
      expect(parseExpiryDate('2027-12-31')).toEqual({ iso: '2027-12-31T23:59:59.999Z' });
      expect(parseExpiryDate(' 2027-12-31T23:00:00-01:30 ')).toEqual({ iso: '2028-01-01T00:30:00.000Z' });
    });

    it('says what is wrong without quoting the input', () => {
      const result = parseExpiryDate('thkSecretSecretSecret0001');

      expect(result).toEqual({ problem: 'expiresAt: must be a date YYYY-MM-DD or an ISO 8601 date-time with a time zone (e.g. 2027-01-31T12:00:00Z)' });
    });
  });

  describe('Method: formatProblems', () => {
    it('returns no problems for a well-formed token in either environment', () => {
      expect(provider.formatProblems(value(TOKEN_OLD))).toEqual([]);
      expect(provider.formatProblems({ ...value(TOKEN_OLD), environment: 'sandbox' })).toEqual([]);
    });

    it.each(['short', 'has a space in it 00000', `x${'y'.repeat(4096)}`])('refuses malformed token #%# without quoting it', (apiKey) => {
      const problems = provider.formatProblems(value(apiKey));

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^apiKey: must be 16 to 4096 printable characters/);
      expect(problems[0]).not.toContain(apiKey);
    });
  });

  describe('Method: verify', () => {
    it('sends GET {baseUrl}/api/public/v1/users?limit=1 with the token as a Bearer token', async () => {
      // Prepare
      const platform = stubFetch(reply(200, USERS_PAGE));
      const thinkific = providerWith({ fetch: platform.fetch });

      // Act
      const result = await thinkific.verify(value(TOKEN_NEW), target);

      // Assess
      expect(VERIFY_PATH).toBe('/api/public/v1/users?limit=1');
      expect(platform.calls).toEqual([
        {
          url: 'https://api.thinkific.com/api/public/v1/users?limit=1',
          method: 'GET',
          headers: { accept: 'application/json', authorization: `Bearer ${TOKEN_NEW}` },
          body: undefined,
        },
      ]);
      expect(result).toEqual({ checked: 'GET https://api.thinkific.com/api/public/v1/users → 200' });
    });

    it('calls the target base URL, not the one in the value', async () => {
      const platform = stubFetch(reply(200, USERS_PAGE));

      await providerWith({ fetch: platform.fetch }).verify(value(TOKEN_NEW), { baseUrl: 'http://127.0.0.1:4010', environment: 'sandbox' });

      expect(platform.calls[0].url).toBe('http://127.0.0.1:4010/api/public/v1/users?limit=1');
    });

    it('throws ProviderAuthError with the platform message for a rejected token, after one call', async () => {
      // Prepare
      const platform = stubFetch(reply(401, { error: 'Authentication Error' }));
      const thinkific = providerWith({ fetch: platform.fetch });

      // Act
      const result = thinkific.verify(value(TOKEN_OLD), target);

      // Assess
      await expect(result).rejects.toThrow(ProviderAuthError);
      await expect(result).rejects.toMatchObject({ provider: 'thinkific', status: 401, platformMessage: 'Authentication Error' });
      expect(platform.calls).toHaveLength(1);
    });

    it('keeps the token out of the error when the platform echoes it', async () => {
      const platform = stubFetch(reply(401, { error: `token ${TOKEN_OLD} has expired` }));

      const error = (await providerWith({ fetch: platform.fetch })
        .verify(value(TOKEN_OLD), target)
        .catch((e: unknown) => e)) as ProviderAuthError;

      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error.message).not.toContain(TOKEN_OLD);
      expect(error.platformMessage).toBe('token [REDACTED] has expired');
    });

    it('honours Retry-After on a 429 and then succeeds', async () => {
      // Prepare
      const platform = stubFetch(reply(429, { error: 'Too Many Requests' }, { 'retry-after': '7' }), reply(200, USERS_PAGE));
      const sleeps: number[] = [];
      const thinkific = providerWith({ fetch: platform.fetch, sleep: async (ms) => void sleeps.push(ms) });

      // Act
      await thinkific.verify(value(TOKEN_NEW), target);

      // Assess
      expect(sleeps).toEqual([7000]);
      expect(platform.calls).toHaveLength(2);
    });

    it('fails fast with ProviderRateLimitError when Retry-After is longer than it may wait', async () => {
      const platform = stubFetch(reply(429, {}, { 'retry-after': '120' }));

      const error = await providerWith({ fetch: platform.fetch }).verify(value(TOKEN_NEW), target).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderRateLimitError);
      expect(error).toMatchObject({ retryAfterMs: 120_000 });
      expect(platform.calls).toHaveLength(1);
    });

    it('retries a 503 and reports an unreachable platform as ProviderUnavailableError', async () => {
      const flaky = stubFetch(reply(503, {}), reply(200, USERS_PAGE));
      await providerWith({ fetch: flaky.fetch }).verify(value(TOKEN_NEW), target);
      expect(flaky.calls).toHaveLength(2);

      const down = providerWith({
        fetch: (async () => {
          throw new TypeError('fetch failed');
        }) as typeof fetch,
        maxAttempts: 1,
      });
      await expect(down.verify(value(TOKEN_NEW), target)).rejects.toThrow(ProviderUnavailableError);
    });

    it.each([
      ['an HTML page', () => new Response('<html>Sign in</html>', { status: 200 })],
      ['JSON without items', reply(200, { users: [] })],
      ['a JSON array', reply(200, [])],
      ['null', reply(200, null)],
    ])('throws ProviderResponseError for a 200 that is %s', async (_what, responder) => {
      const platform = stubFetch(responder);

      const error = await providerWith({ fetch: platform.fetch }).verify(value(TOKEN_NEW), target).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ProviderResponseError);
      expect((error as Error).message).not.toContain(TOKEN_NEW);
    });

    it('answers any platform response with success or a typed error that never holds the token', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...PLATFORM_STATUSES),
          fc.oneof(
            fc.string({ maxLength: 200 }),
            fc.json(),
            fc.constant(`{"error":"bad token ${TOKEN_NEW}"}`),
            fc.constant(`{"message":"Bearer ${TOKEN_NEW}","errors":[{"message":"${TOKEN_NEW}"}]}`),
            fc.string({ maxLength: 50 }).map((s) => `${s}${TOKEN_NEW}${s}`),
          ),
          fc.option(fc.oneof(fc.string({ maxLength: 10 }), fc.nat({ max: 100 }).map(String)), { nil: undefined }),
          async (status, body, retryAfter) => {
            const headers: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': retryAfter.replace(/[^\x20-\x7e]/g, '') };
            const platform = stubFetch(() => new Response(status === 204 ? null : body, { status, headers }));
            try {
              const result = await providerWith({ fetch: platform.fetch }).verify(value(TOKEN_NEW), target);
              expect(result.checked).not.toContain(TOKEN_NEW);
            } catch (error) {
              expect(error).toBeInstanceOf(KeyrotorError);
              expect((error as Error).message).not.toContain(TOKEN_NEW);
              expect(String((error as Error).cause ?? '')).not.toContain(TOKEN_NEW);
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});

describe('Class: ThinkificProvider (verify-only submissions)', () => {
  it('does not require an expiry date when a token is only being checked', () => {
    const provider = new ThinkificProvider({ now: () => Date.parse('2026-11-23T00:00:00Z') });
    const token = 'thinkificTOKENabcdef0123456789';
    expect(provider.parseSubmission(token, { verifyOnly: true })).toEqual({ apiKey: token });
    expect(() => provider.parseSubmission(token, {})).toThrow(/expiresAt: is required for Thinkific/);
  });
});
