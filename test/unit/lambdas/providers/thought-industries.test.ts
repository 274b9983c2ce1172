import * as fc from 'fast-check';
import {
  ProviderAuthError,
  ProviderResponseError,
  ProviderUnavailableError,
  ValidationError,
} from '../../../../lambdas/core/errors';
import { clearRegisteredSecrets } from '../../../../lambdas/core/redaction';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import {
  KEY_PREFIX,
  ThoughtIndustriesProvider,
  VERIFY_PATH,
  type ThoughtIndustriesValue,
} from '../../../../lambdas/providers/thought-industries';
import { json, validationErrorOf } from '../../../support/fakes/fetch-stub';
import { stubThoughtIndustries, UNAUTHORIZED_BODY } from '../../../support/fakes/platform-fetch';
import { BASE_URL, TI_LIVE_NEW, TI_LIVE_OLD, TI_TEST_KEY } from '../../../support/fixtures';

const value = (apiKey: string, environment: 'production' | 'sandbox' = 'production'): ThoughtIndustriesValue => ({
  provider: 'thought-industries',
  environment,
  baseUrl: BASE_URL,
  apiKey,
});

const target = { baseUrl: BASE_URL, environment: 'production' } as const;

describe('Class: ThoughtIndustriesProvider', () => {
  let provider: ThoughtIndustriesProvider;

  beforeEach(() => {
    clearRegisteredSecrets();
    provider = new ThoughtIndustriesProvider({ sleep: async () => undefined });
  });

  describe('Property: capabilities', () => {
    it('declares that keys are issued and revoked by a person, not by API', () => {
      expect(provider.id).toBe('thought-industries');
      expect(provider.displayName).toBe('Thought Industries');
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
    it('tells a person where to create the key, what to name it and how to hand it over', () => {
      // Act
      const text = provider.manual.issue({ secretName: 'keyrotor/acme-prod', baseUrl: BASE_URL, environment: 'production', keyName: 'keyrotor-2026-11-23' });

      // Assess
      expect(text).toContain(`admin panel of ${BASE_URL}`);
      expect(text).toContain('Settings → Security/API Keys');
      expect(text).toContain('"keyrotor-2026-11-23"');
      expect(text).toContain('must start with ti_live_ (production)');
      expect(text).toContain('npx keyrotor submit keyrotor/acme-prod');
      expect(text).toMatch(/hidden prompt|stdin/);
    });

    it('names the sandbox prefix for a sandbox secret', () => {
      const text = provider.manual.issue({ secretName: 'keyrotor/acme-sbx', baseUrl: BASE_URL, environment: 'sandbox', keyName: 'k' });

      expect(text).toContain('must start with ti_test_ (sandbox)');
      expect(text).not.toContain('ti_live_');
    });

    it('tells a person which old key to remove, by fingerprint', () => {
      const text = provider.manual.revoke({ secretName: 'keyrotor/acme-prod', baseUrl: BASE_URL, fingerprint: '…0001#1a2b3c4d' });

      expect(text).toContain('Remove the old API key …0001#1a2b3c4d of keyrotor/acme-prod');
      expect(text).toContain('Settings → Security/API Keys');
      expect(text).toContain(BASE_URL);
      expect(text).toContain('401');
    });
  });

  describe('Method: parseSubmission', () => {
    it('returns a raw key as apiKey', () => {
      expect(provider.parseSubmission(TI_LIVE_NEW)).toEqual({ apiKey: TI_LIVE_NEW });
    });

    it('trims the whitespace and newline a paste or a pipe adds', () => {
      expect(provider.parseSubmission(`  ${TI_LIVE_NEW}\r\n`)).toEqual({ apiKey: TI_LIVE_NEW });
    });

    it('reads apiKey from JSON and ignores other fields', () => {
      const input = JSON.stringify({ apiKey: TI_TEST_KEY, note: 'from the admin panel' });

      expect(provider.parseSubmission(`\n${input}\n`)).toEqual({ apiKey: TI_TEST_KEY });
    });

    it('accepts keys of 8 and of 512 printable characters', () => {
      expect(provider.parseSubmission('ti_live_')).toEqual({ apiKey: 'ti_live_' });
      const long = `ti_live_${'A'.repeat(504)}`;
      expect(provider.parseSubmission(long)).toEqual({ apiKey: long });
    });

    it.each([
      ['an empty input', '', 'apiKey: is missing'],
      ['only whitespace', ' \n\t ', 'apiKey: is missing'],
      ['JSON without apiKey', '{"key":"ti_live_abcdefgh1234"}', 'apiKey: is missing'],
      ['JSON with an empty apiKey', '{"apiKey":""}', 'apiKey: is missing'],
      ['JSON with a numeric apiKey', '{"apiKey":12345678901}', 'apiKey: is missing'],
      ['broken JSON', '{"apiKey":"ti_live_secretsecret123"', 'is neither a raw API key nor valid JSON'],
      ['a key with a space in it', 'ti_live_abc def12345', 'apiKey: must be 8 to 512 printable characters'],
      ['a key shorter than 8 characters', 'ti_abc', 'apiKey: must be 8 to 512 printable characters'],
      ['a key longer than 512 characters', `ti_live_${'B'.repeat(505)}`, 'apiKey: must be 8 to 512 printable characters'],
      ['a key with a non-ASCII character', 'ti_live_clé12345678', 'apiKey: must be 8 to 512 printable characters'],
      ['JSON whose apiKey has spaces', '{"apiKey":"ti_live_abc def12345"}', 'apiKey: must be 8 to 512 printable characters'],
    ])('throws ValidationError for %s', (_what, input, issue) => {
      const error = validationErrorOf(() => provider.parseSubmission(input));

      expect(error.issues).toHaveLength(1);
      expect(error.issues[0]).toContain(issue);
      expect(error.message).toMatch(/^submitted credential is invalid: /);
    });

    it('never echoes the input in its error', () => {
      const inputs = ['{"apiKey":"ti_live_secretsecret123"', 'ti_live_secret secret123', `ti_live_${'S'.repeat(600)}`, '{"apiKey":"ti_live_has space 123"}'];

      for (const input of inputs) {
        const error = validationErrorOf(() => provider.parseSubmission(input));
        expect(error.message).not.toContain('secret');
        expect(error.message).not.toContain('SSSSSSSS');
        expect(error.message).not.toContain('has space');
        expect(error.cause).toBeUndefined();
      }
    });

    it('returns the trimmed input or throws a ValidationError that does not quote it, for any input', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 600 }), fc.json(), fc.string({ unit: 'binary', maxLength: 64 })), (input) => {
          let result: Partial<ThoughtIndustriesValue>;
          try {
            result = provider.parseSubmission(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            const trimmed = input.trim();
            if (trimmed.length >= 8) expect((error as ValidationError).message).not.toContain(trimmed);
            return;
          }
          expect(typeof result.apiKey).toBe('string');
          expect(result.apiKey).toMatch(/^[\x21-\x7e]{8,512}$/);
        }),
      );
    });
  });

  describe('Method: formatProblems', () => {
    it('returns no problems for a ti_live_ key in a production secret', () => {
      expect(provider.formatProblems(value(TI_LIVE_OLD), 'production')).toEqual([]);
    });

    it('returns no problems for a ti_test_ key in a sandbox secret', () => {
      expect(provider.formatProblems(value(TI_TEST_KEY, 'sandbox'), 'sandbox')).toEqual([]);
    });

    it('refuses a sandbox key in a production secret', () => {
      const problems = provider.formatProblems(value(TI_TEST_KEY), 'production');

      expect(problems).toEqual([
        'apiKey: is a sandbox key (ti_test_…) but the secret is production; a production secret needs a ti_live_ key',
      ]);
    });

    it('refuses a production key in a sandbox secret', () => {
      const problems = provider.formatProblems(value(TI_LIVE_NEW, 'sandbox'), 'sandbox');

      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('is a production key (ti_live_…) but the secret is sandbox');
    });

    it.each(['tk_live_abcdefgh1234', 'TI_LIVE_ABCDEFGH1234', 'abcdefgh12345678', 'ti_prod_abcdefgh1234'])('refuses the unknown prefix of %s without echoing it', (apiKey) => {
      const problems = provider.formatProblems(value(apiKey), 'production');

      expect(problems).toEqual(['apiKey: must start with ti_live_ (production) or ti_test_ (sandbox)']);
      expect(problems.join(' ')).not.toContain(apiKey);
    });

    it('never quotes the key', () => {
      for (const [apiKey, environment] of [
        [TI_TEST_KEY, 'production'],
        [TI_LIVE_NEW, 'sandbox'],
      ] as const) {
        expect(provider.formatProblems(value(apiKey), environment).join(' ')).not.toContain(apiKey.slice(8));
      }
    });

    it('exports the documented prefixes', () => {
      expect(KEY_PREFIX).toEqual({ production: 'ti_live_', sandbox: 'ti_test_' });
    });
  });

  describe('Method: verify', () => {
    it('sends GET {baseUrl}/incoming/v2/users?limit=1 with the key as a Bearer token', async () => {
      // Prepare
      const platform = stubThoughtIndustries([TI_LIVE_NEW]);
      const ti = new ThoughtIndustriesProvider({ fetch: platform.fetch, sleep: async () => undefined });

      // Act
      const result = await ti.verify(value(TI_LIVE_NEW), target);

      // Assess
      expect(VERIFY_PATH).toBe('/incoming/v2/users?limit=1');
      expect(platform.calls).toEqual([{ url: `${BASE_URL}/incoming/v2/users?limit=1`, method: 'GET', authorization: `Bearer ${TI_LIVE_NEW}` }]);
      expect(result).toEqual({ checked: `GET ${BASE_URL}/incoming/v2/users → 200` });
      expect(result.checked).not.toContain(TI_LIVE_NEW);
    });

    it('calls the target base URL, not the one in the value', async () => {
      const platform = stubThoughtIndustries([TI_TEST_KEY]);
      const ti = new ThoughtIndustriesProvider({ fetch: platform.fetch });

      await ti.verify(value(TI_TEST_KEY), { baseUrl: 'http://127.0.0.1:4010', environment: 'sandbox' });

      expect(platform.calls[0].url).toBe('http://127.0.0.1:4010/incoming/v2/users?limit=1');
    });

    it('throws ProviderAuthError with the platform message for a rejected key, after one call', async () => {
      // Prepare
      const platform = stubThoughtIndustries([TI_LIVE_NEW]);
      const ti = new ThoughtIndustriesProvider({ fetch: platform.fetch, sleep: async () => undefined });

      // Act
      const result = ti.verify(value(TI_LIVE_OLD), target);

      // Assess
      await expect(result).rejects.toThrow(ProviderAuthError);
      await expect(result).rejects.toMatchObject({
        provider: 'thought-industries',
        status: 401,
        platformMessage: UNAUTHORIZED_BODY.message,
      });
      expect(platform.calls).toHaveLength(1);
    });

    it('keeps the key out of the error when the platform echoes it', async () => {
      const platform = stubThoughtIndustries();
      platform.queue.push(() => json(401, { error: 'unauthorized', message: `API key ${TI_LIVE_OLD} is invalid` }));
      const ti = new ThoughtIndustriesProvider({ fetch: platform.fetch });

      const error = (await ti.verify(value(TI_LIVE_OLD), target).catch((e: unknown) => e)) as ProviderAuthError;

      expect(error).toBeInstanceOf(ProviderAuthError);
      expect(error.message).not.toContain(TI_LIVE_OLD);
      expect(error.message).not.toContain(TI_LIVE_OLD.slice(8));
      expect(error.platformMessage).toBe('API key [REDACTED] is invalid');
    });

    it('throws ProviderResponseError for a 2xx that is not the JSON API', async () => {
      const platform = stubThoughtIndustries([TI_LIVE_NEW]);
      platform.queue.push(() => new Response('<html>Sign in</html>', { status: 200, headers: { 'content-type': 'text/html' } }));
      const ti = new ThoughtIndustriesProvider({ fetch: platform.fetch });

      await expect(ti.verify(value(TI_LIVE_NEW), target)).rejects.toThrow(ProviderResponseError);
    });

    it('retries a 503 with the HTTP options it was built with', async () => {
      const platform = stubThoughtIndustries([TI_LIVE_NEW]);
      platform.queue.push(() => json(503, {}));
      const sleeps: number[] = [];
      const ti = new ThoughtIndustriesProvider({ fetch: platform.fetch, baseBackoffMs: 10, random: () => 1, sleep: async (ms) => void sleeps.push(ms) });

      await ti.verify(value(TI_LIVE_NEW), target);

      expect(platform.calls).toHaveLength(2);
      expect(sleeps).toEqual([10]);
    });

    it('reports an unreachable platform as ProviderUnavailableError from thought-industries', async () => {
      const ti = new ThoughtIndustriesProvider({
        fetch: (async () => {
          throw new TypeError('fetch failed');
        }) as typeof fetch,
        maxAttempts: 1,
      });

      await expect(ti.verify(value(TI_LIVE_NEW), target)).rejects.toMatchObject({
        name: 'ProviderUnavailableError',
        provider: 'thought-industries',
      });
      await expect(ti.verify(value(TI_LIVE_NEW), target)).rejects.toThrow(ProviderUnavailableError);
    });
  });
});

describe('Function: createProviderRegistry', () => {
  it('returns the Thought Industries provider', () => {
    const registry = createProviderRegistry();

    const provider = registry.get('thought-industries');

    expect(provider).toBeInstanceOf(ThoughtIndustriesProvider);
    expect(provider.id).toBe('thought-industries');
  });

  it('returns the same instance on every call', () => {
    const registry = createProviderRegistry();

    expect(registry.get('thought-industries')).toBe(registry.get('thought-industries'));
  });

  it('gives each registry its own instances', () => {
    expect(createProviderRegistry().get('thought-industries')).not.toBe(createProviderRegistry().get('thought-industries'));
  });

  it('builds providers with the HTTP options it was given', async () => {
    // Prepare
    const platform = stubThoughtIndustries([TI_LIVE_NEW]);
    const registry = createProviderRegistry({ fetch: platform.fetch });

    // Act
    await registry.get('thought-industries').verify(value(TI_LIVE_NEW), target);

    // Assess
    expect(platform.calls).toHaveLength(1);
  });

});
