import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { ConfigError } from '../../../lambdas/core/errors';
import { PROVIDER_IDS } from '../../../lambdas/core/contracts';
import {
  DEFAULT_ARCHIVE_RETENTION_DAYS,
  DEFAULT_EVENTS,
  DEFAULT_GRACE_PERIOD_HOURS,
  DEFAULT_READER_CACHE_TTL_SECONDS,
  DEFAULT_ROTATION_INTERVAL_DAYS,
  DEFAULT_TOKEN_REFRESH,
  eventsProblems,
  loadConfig,
  oauthClientSecretNameFor,
  parseConfig,
  runbookBaseUrlProblem,
  secretNameFor,
  SUPPORTED_PROVIDER_IDS,
  thriveTokenUrl,
  tokenRefreshProblems,
  tokenSecretNameFor,
  TOKEN_GRANT_BY_PROVIDER,
  TOKEN_PROVIDER_IDS,
  type KeyrotorConfig,
  type TokenConfig,
} from '../../../lib/config';

/** A minimal valid config; tests change one thing at a time. */
function validInput(): Record<string, unknown> {
  return {
    alerts: { emails: ['secops@example.com'] },
    credentials: [
      { id: 'acme-prod', provider: 'thought-industries', environment: 'production', baseUrl: 'https://acme.thoughtindustries.com' },
      { id: 'acme-sandbox', provider: 'thought-industries', environment: 'sandbox', baseUrl: 'https://acme-sandbox.thoughtindustries.com' },
    ],
  };
}

/** A valid config with `patch` applied to credential `index`. */
function withCredential(index: number, patch: Record<string, unknown>): Record<string, unknown> {
  const input = validInput();
  const credentials = input.credentials as Record<string, unknown>[];
  credentials[index] = { ...credentials[index], ...patch };
  return input;
}

/** An Imburse credential that imburse-hmac tokens can name. */
const PAYMENTS_CREDENTIAL = { id: 'payments', provider: 'imburse', environment: 'sandbox', baseUrl: 'https://sandbox-api.imburse.net' };

/** A Thrive client-credentials token whose token URL is derived from baseUrl and tenantId. */
const THRIVE_TOKEN = {
  id: 'learn-token',
  provider: 'thrive',
  environment: 'production',
  grant: 'client-credentials',
  baseUrl: 'https://acme.api.learn.link/',
  tenantId: 'eu-west-2_AbcdEfghI',
};

/** A Thought Industries client-credentials token with every optional field. */
const TI_TOKEN = {
  id: 'acme-token',
  provider: 'thought-industries',
  environment: 'production',
  grant: 'client-credentials',
  tokenUrl: 'https://acme.thoughtindustries.com/oauth/token',
  scopes: ['users:read', 'courses:read'],
  clientAuth: 'body',
  description: 'Acme enterprise API',
};

/** An Imburse token minted from PAYMENTS_CREDENTIAL. */
const IMBURSE_TOKEN = { id: 'payments-token', provider: 'imburse', environment: 'sandbox', grant: 'imburse-hmac', credential: 'payments' };

/** A valid config with the Imburse credential and `tokens` (by default one of each kind). */
function withTokens(tokens: Record<string, unknown>[] = [THRIVE_TOKEN, TI_TOKEN, IMBURSE_TOKEN], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const input = validInput();
  // Copies, so a test may change its input without touching the shared examples.
  return { ...input, credentials: [...(input.credentials as unknown[]), { ...PAYMENTS_CREDENTIAL }], tokens: tokens.map((token) => ({ ...token })), ...extra };
}

/** A config of one of each token kind with `patch` applied to the token at `index` (0 Thrive, 1 TI, 2 Imburse). */
function withToken(index: number, patch: Record<string, unknown>): Record<string, unknown> {
  const tokens: Record<string, unknown>[] = [{ ...THRIVE_TOKEN }, { ...TI_TOKEN }, { ...IMBURSE_TOKEN }];
  tokens[index] = { ...tokens[index], ...patch };
  return withTokens(tokens);
}

/** The issues parseConfig reports for `input` (fails the test when it does not throw ConfigError). */
function issuesOf(input: unknown): readonly string[] {
  try {
    parseConfig(input, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected parseConfig to throw a ConfigError');
}

describe('Function: parseConfig', () => {
  describe('with a valid config', () => {
    it('returns the credentials with the default 90-day interval, 24-hour grace period and 300-second reader TTL applied', () => {
      // Prepare
      const input = validInput();

      // Act
      const config = parseConfig(input);

      // Assess
      expect(config).toEqual<KeyrotorConfig>({
        alerts: { emails: ['secops@example.com'] },
        defaults: { rotationIntervalDays: 90, gracePeriodHours: 24 },
        reader: { cacheTtlSeconds: 300 },
        credentials: [
          {
            id: 'acme-prod',
            provider: 'thought-industries',
            environment: 'production',
            baseUrl: 'https://acme.thoughtindustries.com',
            rotationIntervalDays: 90,
          },
          {
            id: 'acme-sandbox',
            provider: 'thought-industries',
            environment: 'sandbox',
            baseUrl: 'https://acme-sandbox.thoughtindustries.com',
            rotationIntervalDays: 90,
          },
        ],
        tokens: [],
        tokenRefresh: { rateMinutes: 5, renewAtFraction: 0.75, jitterFraction: 0.05, concurrency: 4 },
        events: { archiveRetentionDays: 365 },
        sweep: { scheduleExpression: 'cron(0 6 * * ? *)', warningDays: [14, 7, 3, 1], stuckAfterHours: 24, concurrency: 20 },
      });
      expect(DEFAULT_ROTATION_INTERVAL_DAYS).toBe(90);
      expect(DEFAULT_GRACE_PERIOD_HOURS).toBe(24);
      expect(DEFAULT_READER_CACHE_TTL_SECONDS).toBe(300);
    });

    it.each(['thought-industries', 'thinkific', 'thrive', 'boss-insights', 'imburse'])('accepts the provider %s', (provider) => {
      // Prepare
      const input = withCredential(1, { provider });

      // Act
      const config = parseConfig(input);

      // Assess
      expect(config.credentials[1]?.provider).toBe(provider);
    });

    it('supports every provider keyrotor knows', () => {
      // Assess
      expect([...SUPPORTED_PROVIDER_IDS].sort()).toEqual([...PROVIDER_IDS].sort());
    });

    it('takes the grace period and the reader cache TTL from the file', () => {
      // Prepare
      const input = { ...validInput(), defaults: { gracePeriodHours: 72 }, reader: { cacheTtlSeconds: 900 } };

      // Act
      const config = parseConfig(input);

      // Assess
      expect(config.defaults).toEqual({ rotationIntervalDays: 90, gracePeriodHours: 72 });
      expect(config.reader).toEqual({ cacheTtlSeconds: 900 });
    });

    it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
      ['the shortest grace period with a cache just below it', { gracePeriodHours: 1 }, { cacheTtlSeconds: 3599 }],
      ['the longest grace period with the longest cache', { gracePeriodHours: 2160 }, { cacheTtlSeconds: 86_400 }],
      ['the default grace period with a cache just below it', {}, { cacheTtlSeconds: 86_399 }],
      ['the shortest grace period with the default cache', { gracePeriodHours: 1 }, {}],
      ['the shortest cache', { gracePeriodHours: 1 }, { cacheTtlSeconds: 1 }],
    ])('accepts %s', (_case, defaults, reader) => {
      // Prepare
      const input = { ...validInput(), defaults, reader };

      // Act & Assess
      expect(() => parseConfig(input)).not.toThrow();
    });

    it('applies defaults.rotationIntervalDays unless a credential sets its own', () => {
      // Prepare
      const input = { ...withCredential(1, { rotationIntervalDays: 7 }), defaults: { rotationIntervalDays: 30 } };

      // Act
      const config = parseConfig(input);

      // Assess
      expect(config.defaults.rotationIntervalDays).toBe(30);
      expect(config.credentials.map((c) => c.rotationIntervalDays)).toEqual([30, 7]);
    });

    it('accepts the interval limits 1 and 1000 days', () => {
      // Prepare
      const input = withCredential(0, { rotationIntervalDays: 1 });
      (input.credentials as Record<string, unknown>[])[1]!.rotationIntervalDays = 1000;

      // Act
      const config = parseConfig(input);

      // Assess
      expect(config.credentials.map((c) => c.rotationIntervalDays)).toEqual([1, 1000]);
    });

    it('treats alerts as optional and allows an empty address list', () => {
      // Prepare
      const { alerts: _alerts, ...withoutAlerts } = validInput();

      // Act & Assess
      expect(parseConfig(withoutAlerts).alerts.emails).toEqual([]);
      expect(parseConfig({ ...withoutAlerts, alerts: { emails: [] } }).alerts.emails).toEqual([]);
    });

    it('keeps the description and drops a trailing slash from the base URL', () => {
      // Prepare
      const input = withCredential(0, { baseUrl: 'https://acme.thoughtindustries.com/', description: 'Acme portal' });

      // Act
      const [credential] = parseConfig(input).credentials;

      // Assess
      expect(credential).toMatchObject({ baseUrl: 'https://acme.thoughtindustries.com', description: 'Acme portal' });
    });

    it('accepts plain http:// for loopback hosts (local platform sandboxes)', () => {
      // Prepare
      const input = withCredential(1, { baseUrl: 'http://127.0.0.1:8080' });

      // Act & Assess
      expect(parseConfig(input).credentials[1]?.baseUrl).toBe('http://127.0.0.1:8080');
    });
  });

  describe('with an invalid field', () => {
    it.each<[string, Record<string, unknown>, string]>([
      ['a missing id', { id: undefined }, 'credentials[1].id: is required'],
      ['an id with capitals', { id: 'Acme' }, 'credentials[1].id: must be 1 to 63 lowercase letters'],
      ['an id starting with a hyphen', { id: '-acme' }, 'credentials[1].id: must be 1 to 63'],
      ['an id longer than 63 characters', { id: 'a'.repeat(64) }, 'credentials[1].id: must be 1 to 63'],
      ['an id that is a number', { id: 42 }, 'credentials[1].id: must be a string, not a number'],
      ['a missing provider', { provider: undefined }, 'credentials[1].provider: is required'],
      ['an unknown provider', { provider: 'moodle' }, 'credentials[1].provider: unknown provider "moodle"; must be one of "thought-industries", "thrive", "thinkific", "boss-insights", "imburse"'],
      ['a provider id in the wrong case', { provider: 'Imburse' }, 'credentials[1].provider: unknown provider "Imburse"'],
      ['a missing environment', { environment: undefined }, 'credentials[1].environment: is required'],
      ['an unknown environment', { environment: 'staging' }, 'credentials[1].environment: must be one of "production", "sandbox"'],
      ['a missing baseUrl', { baseUrl: undefined }, 'credentials[1].baseUrl: is required'],
      ['a relative baseUrl', { baseUrl: 'acme.thoughtindustries.com' }, 'credentials[1].baseUrl: must be an absolute URL'],
      ['an http:// baseUrl on a public host', { baseUrl: 'http://acme.thoughtindustries.com' }, 'credentials[1].baseUrl: must use https:// (plain http:// is allowed only for loopback hosts)'],
      ['a baseUrl with credentials', { baseUrl: 'https://user:pw@acme.thoughtindustries.com' }, 'credentials[1].baseUrl: must not contain credentials'],
      ['a baseUrl with a query', { baseUrl: 'https://acme.thoughtindustries.com/?a=1' }, 'credentials[1].baseUrl: must not contain a query string or fragment'],
      ['a baseUrl that cannot be a tag value', { baseUrl: 'https://acme.thoughtindustries.com/a%20b' }, "credentials[1].baseUrl: must be at most 256 characters of letters, digits and _.:/=+-@ because it is stored in the secret's keyrotor:base-url tag"],
      ['an interval of 0', { rotationIntervalDays: 0 }, 'credentials[1].rotationIntervalDays: must be a whole number of days from 1 to 1000 (the Secrets Manager limit)'],
      ['an interval of 1001', { rotationIntervalDays: 1001 }, 'credentials[1].rotationIntervalDays: must be a whole number of days from 1 to 1000'],
      ['a fractional interval', { rotationIntervalDays: 2.5 }, 'credentials[1].rotationIntervalDays: must be a whole number of days from 1 to 1000'],
      ['an interval given as a string', { rotationIntervalDays: '90' }, 'credentials[1].rotationIntervalDays: must be a number, not a string'],
      ['an empty description', { description: '' }, 'credentials[1].description: must not be empty'],
      ['an unknown key', { rotateEvery: 90 }, 'credentials[1].rotateEvery: is not a known field'],
    ])('reports %s, naming the field', (_case, patch, expected) => {
      // Prepare
      const input = withCredential(1, patch);

      // Act
      const issues = issuesOf(input);

      // Assess
      expect(issues).toHaveLength(1);
      expect(issues[0]).toContain(expected);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['no credentials', { credentials: [] }, 'credentials: must list at least one credential'],
      ['missing credentials', { credentials: undefined }, 'credentials: is required'],
      ['credentials that are not a list', { credentials: {} }, 'credentials: must be an array, not an object'],
      ['credential that is not an object', { credentials: ['acme'] }, 'credentials[0]: must be an object, not a string'],
      ['invalid e-mail address', { alerts: { emails: ['secops'] } }, 'alerts.emails[0]: is not a valid e-mail address'],
      ['e-mail list that is not a list', { alerts: { emails: 'secops@example.com' } }, 'alerts.emails: must be an array, not a string'],
      ['unknown key in alerts', { alerts: { emails: [], slack: 'x' } }, 'alerts.slack: is not a known field'],
      ['invalid default interval', { defaults: { rotationIntervalDays: -1 } }, 'defaults.rotationIntervalDays: must be a whole number of days from 1 to 1000'],
      ['unknown key in defaults', { defaults: { gracePeriodDays: 3 } }, 'defaults.gracePeriodDays: is not a known field'],
      ['a grace period of 0 hours', { defaults: { gracePeriodHours: 0 } }, 'defaults.gracePeriodHours: must be a whole number of hours from 1 to 2160 (90 days)'],
      ['a grace period of 2161 hours', { defaults: { gracePeriodHours: 2161 } }, 'defaults.gracePeriodHours: must be a whole number of hours from 1 to 2160'],
      ['a fractional grace period', { defaults: { gracePeriodHours: 1.5 } }, 'defaults.gracePeriodHours: must be a whole number of hours'],
      ['a grace period given as a string', { defaults: { gracePeriodHours: '24' } }, 'defaults.gracePeriodHours: must be a number, not a string'],
      ['a cache TTL of 0 seconds', { reader: { cacheTtlSeconds: 0 } }, 'reader.cacheTtlSeconds: must be a whole number of seconds from 1 to 86400 (one day)'],
      ['a cache TTL over a day', { reader: { cacheTtlSeconds: 86_401 } }, 'reader.cacheTtlSeconds: must be a whole number of seconds from 1 to 86400'],
      ['a fractional cache TTL', { reader: { cacheTtlSeconds: 0.5 } }, 'reader.cacheTtlSeconds: must be a whole number of seconds'],
      ['a reader that is not an object', { reader: 300 }, 'reader: must be an object, not a number'],
      ['unknown key in reader', { reader: { ttl: 300 } }, 'reader.ttl: is not a known field'],
      ['unknown top-level key', { version: 2 }, 'version: is not a known field'],
      ['unknown key that is not a plain word', { 'dry run': true }, '["dry run"]: is not a known field'],
    ])('reports %s, naming the field', (_case, patch, expected) => {
      // Prepare
      const input = { ...validInput(), ...patch };

      // Act
      const issues = issuesOf(input);

      // Assess
      expect(issues).toHaveLength(1);
      expect(issues[0]).toContain(expected);
    });

    it.each([null, [], 'config', 42])('reports a top level that is not an object (%p)', (input) => {
      // Act
      const issues = issuesOf(input);

      // Assess
      expect(issues).toEqual([expect.stringMatching(/^\(top level\): must be an object, not /)]);
    });
  });

  describe('with a grace period not longer than the reader cache TTL', () => {
    it.each<[string, Record<string, unknown>, Record<string, unknown>, string]>([
      [
        'a grace period equal to the TTL',
        { gracePeriodHours: 1 },
        { cacheTtlSeconds: 3600 },
        'defaults.gracePeriodHours: 1 hour (3600 s) must be longer than reader.cacheTtlSeconds (3600 s), or a reader may still use an old key from its cache after it is revoked; raise defaults.gracePeriodHours or lower reader.cacheTtlSeconds',
      ],
      [
        'a grace period shorter than the TTL',
        { gracePeriodHours: 2 },
        { cacheTtlSeconds: 7201 },
        'defaults.gracePeriodHours: 2 hours (7200 s) must be longer than reader.cacheTtlSeconds (7201 s), or a reader may still use an old key from its cache after it is revoked; raise defaults.gracePeriodHours or lower reader.cacheTtlSeconds',
      ],
      [
        'the default grace period against a day-long TTL',
        {},
        { cacheTtlSeconds: 86_400 },
        'defaults.gracePeriodHours: 24 hours (86400 s, the default) must be longer than reader.cacheTtlSeconds (86400 s), or a reader may still use an old key from its cache after it is revoked; raise defaults.gracePeriodHours or lower reader.cacheTtlSeconds',
      ],
    ])('rejects %s, naming both fields', (_case, defaults, reader, expected) => {
      // Prepare
      const input = { ...validInput(), defaults, reader };

      // Act
      const issues = issuesOf(input);

      // Assess
      expect(issues).toEqual([expected]);
    });

    it('says nothing about the pair while either value is itself invalid (that value\'s own problem is reported)', () => {
      // Prepare
      const input = { ...validInput(), defaults: { gracePeriodHours: 1 }, reader: { cacheTtlSeconds: 100_000 } };

      // Act
      const issues = issuesOf(input);

      // Assess
      expect(issues).toEqual([expect.stringMatching(/^reader\.cacheTtlSeconds: must be a whole number of seconds/)]);
    });
  });

  describe('with event and alert settings', () => {
    it('archives events for 365 days and links no runbooks by default', () => {
      // Act
      const config = parseConfig(validInput());

      // Assess
      expect(config.events).toEqual({ archiveRetentionDays: 365 });
      expect(DEFAULT_ARCHIVE_RETENTION_DAYS).toBe(365);
      expect(DEFAULT_EVENTS).toEqual({ archiveRetentionDays: 365 });
      expect(config.alerts).toEqual({ emails: ['secops@example.com'] });
      expect('runbookBaseUrl' in config.alerts).toBe(false);
    });

    it.each([1, 90, 3650])('takes an archive retention of %i days from the file', (days) => {
      // Prepare
      const input = { ...validInput(), events: { archiveRetentionDays: days } };

      // Act & Assess
      expect(parseConfig(input).events).toEqual({ archiveRetentionDays: days });
    });

    it('treats an empty events section as the defaults', () => {
      // Act & Assess
      expect(parseConfig({ ...validInput(), events: {} }).events).toEqual({ archiveRetentionDays: 365 });
    });

    it('refuses 0 days, EventBridge\'s "keep forever", and says why', () => {
      // Act
      const issues = issuesOf({ ...validInput(), events: { archiveRetentionDays: 0 } });

      // Assess
      expect(issues).toEqual([
        'events.archiveRetentionDays: must be a whole number of days from 1 to 3650 (ten years). ' +
          '0, which EventBridge takes as "keep forever", is not accepted: a never-trimmed archive grows and is billed without end, ' +
          'and an audit trail needs a retention period someone chose; give the longest you need',
      ]);
    });

    it.each<[string, unknown, string]>([
      ['more than ten years', 3651, 'events.archiveRetentionDays: must be a whole number of days from 1 to 3650 (ten years)'],
      ['a negative retention', -1, 'events.archiveRetentionDays: must be a whole number of days from 1 to 3650'],
      ['a fractional retention', 30.5, 'events.archiveRetentionDays: must be a whole number of days from 1 to 3650'],
      ['a retention given as a string', '365', 'events.archiveRetentionDays: must be a number, not a string'],
    ])('reports %s, naming the field', (_case, archiveRetentionDays, expected) => {
      // Act
      const issues = issuesOf({ ...validInput(), events: { archiveRetentionDays } });

      // Assess
      expect(issues).toHaveLength(1);
      expect(issues[0]).toContain(expected);
    });

    it.each<[string, unknown, string]>([
      ['an events section that is not an object', 365, 'events: must be an object, not a number'],
      ['an unknown key in events', { archiveRetentionDays: 30, busName: 'x' }, 'events.busName: is not a known field'],
    ])('reports %s', (_case, events, expected) => {
      // Act & Assess
      expect(issuesOf({ ...validInput(), events })).toEqual([expect.stringContaining(expected)]);
    });

    it.each([
      ['https://github.com/acme/keyrotor/blob/main', 'https://github.com/acme/keyrotor/blob/main'],
      ['https://github.com/acme/keyrotor/blob/main/', 'https://github.com/acme/keyrotor/blob/main'],
      ['https://runbooks.example.com', 'https://runbooks.example.com'],
    ])('takes the runbook base URL %s (without a trailing slash)', (runbookBaseUrl, expected) => {
      // Prepare
      const input = { ...validInput(), alerts: { emails: [], runbookBaseUrl } };

      // Act & Assess
      expect(parseConfig(input).alerts).toEqual({ emails: [], runbookBaseUrl: expected });
    });

    it.each<[string, unknown, string]>([
      ['an http:// URL', 'http://runbooks.example.com', 'alerts.runbookBaseUrl: must use https:// (plain http:// is allowed only for loopback hosts)'],
      [
        'an http:// loopback URL (fine for a platform sandbox, useless in an alert)',
        'http://127.0.0.1:8080',
        'alerts.runbookBaseUrl: must use https:// (people open runbook links from alerts on their own machines, so a loopback address does not work)',
      ],
      ['a relative URL', 'docs/runbooks', 'alerts.runbookBaseUrl: must be an absolute URL such as https://github.com/<org>/keyrotor/blob/main'],
      ['a URL with a query', 'https://github.com/acme/keyrotor?tab=readme', 'alerts.runbookBaseUrl: must not contain a query string or fragment'],
      ['a URL with credentials', 'https://user:pw@runbooks.example.com', 'alerts.runbookBaseUrl: must not contain credentials'],
      ['a URL with a space', 'https://runbooks.example.com/a b', 'alerts.runbookBaseUrl: must not contain spaces or line breaks'],
      ['another scheme', 'ftp://runbooks.example.com', 'alerts.runbookBaseUrl: must use https:// (no other scheme is accepted)'],
      ['a number', 42, 'alerts.runbookBaseUrl: must be a string, not a number'],
    ])('reports a runbook base URL that is %s', (_case, runbookBaseUrl, expected) => {
      // Act & Assess
      expect(issuesOf({ ...validInput(), alerts: { emails: [], runbookBaseUrl } })).toEqual([expected]);
    });
  });

  describe('with duplicates', () => {
    it('reports a duplicate credential id naming both indexes', () => {
      // Prepare
      const input = withCredential(1, { id: 'acme-prod' });

      // Act
      const issues = issuesOf(input);

      // Assess
      expect(issues).toEqual(['credentials[1].id: duplicates credentials[0].id ("acme-prod")']);
    });

    it('reports a duplicate e-mail address regardless of case', () => {
      // Prepare
      const input = { ...validInput(), alerts: { emails: ['secops@example.com', 'SecOps@example.com'] } };

      // Act
      const issues = issuesOf(input);

      // Assess
      expect(issues).toEqual(['alerts.emails[1]: duplicates alerts.emails[0] ("secops@example.com")']);
    });
  });

  describe('with tokens', () => {
    it('resolves each kind of token: Thrive\'s derived token URL, the basic client authentication default, the Imburse credential', () => {
      // Act
      const config = parseConfig(withTokens());

      // Assess
      expect(config.tokens).toEqual<TokenConfig[]>([
        {
          id: 'learn-token',
          provider: 'thrive',
          environment: 'production',
          grant: 'client-credentials',
          tokenUrl: 'https://acme.api.learn.link/oauth2/token/eu-west-2_AbcdEfghI',
          clientAuth: 'basic',
        },
        {
          id: 'acme-token',
          provider: 'thought-industries',
          environment: 'production',
          grant: 'client-credentials',
          tokenUrl: 'https://acme.thoughtindustries.com/oauth/token',
          scopes: ['users:read', 'courses:read'],
          clientAuth: 'body',
          description: 'Acme enterprise API',
        },
        { id: 'payments-token', provider: 'imburse', environment: 'sandbox', grant: 'imburse-hmac', credential: 'payments' },
      ]);
      expect(config.tokenRefresh).toEqual(DEFAULT_TOKEN_REFRESH);
    });

    it('keeps a Thrive token URL given as tokenUrl as it is', () => {
      // Prepare
      const input = withToken(0, { baseUrl: undefined, tenantId: undefined, tokenUrl: 'https://auth.example.com/oauth2/token/' });

      // Act & Assess
      expect(parseConfig(input).tokens[0]).toMatchObject({ tokenUrl: 'https://auth.example.com/oauth2/token/' });
    });

    it('derives Thrive\'s token URL as {baseUrl}/oauth2/token/{tenantId}', () => {
      // Act & Assess
      expect(thriveTokenUrl('https://acme.api.learn.link//', 'eu-west-2_AbcdEfghI')).toBe('https://acme.api.learn.link/oauth2/token/eu-west-2_AbcdEfghI');
    });

    it('accepts plain http:// token URLs on loopback hosts (local sandboxes)', () => {
      // Prepare
      const input = withToken(1, { tokenUrl: 'http://127.0.0.1:9000/oauth/token' });

      // Act & Assess
      expect(parseConfig(input).tokens[1]).toMatchObject({ tokenUrl: 'http://127.0.0.1:9000/oauth/token' });
    });

    it('treats tokens and tokenRefresh as optional, and allows an empty token list', () => {
      // Act & Assess
      expect(parseConfig(validInput()).tokens).toEqual([]);
      expect(parseConfig(withTokens([])).tokens).toEqual([]);
    });

    it('takes the refresher settings from the file and defaults the rest', () => {
      // Prepare
      const input = withTokens(undefined, { tokenRefresh: { rateMinutes: 1, renewAtFraction: 0.5 } });

      // Act & Assess
      expect(parseConfig(input).tokenRefresh).toEqual({ rateMinutes: 1, renewAtFraction: 0.5, jitterFraction: 0.05, concurrency: 4 });
      expect(DEFAULT_TOKEN_REFRESH).toEqual({ rateMinutes: 5, renewAtFraction: 0.75, jitterFraction: 0.05, concurrency: 4 });
    });

    it.each<[string, Record<string, unknown>]>([
      ['the lowest limits', { rateMinutes: 1, renewAtFraction: 0.5, jitterFraction: 0, concurrency: 1 }],
      ['the highest limits that stay below the whole lifetime', { rateMinutes: 60, renewAtFraction: 0.8, jitterFraction: 0.19, concurrency: 20 }],
      ['the latest renewal without jitter', { renewAtFraction: 0.95, jitterFraction: 0 }],
    ])('accepts %s', (_case, tokenRefresh) => {
      // Act & Assess
      expect(() => parseConfig(withTokens(undefined, { tokenRefresh }))).not.toThrow();
    });

    it('lists the providers with tokens and the grant each mints with', () => {
      // Assess
      expect(TOKEN_GRANT_BY_PROVIDER).toEqual({ 'thought-industries': 'client-credentials', thrive: 'client-credentials', imburse: 'imburse-hmac' });
      expect([...TOKEN_PROVIDER_IDS]).toEqual(['thought-industries', 'thrive', 'imburse']);
    });

    it.each<[string, number, Record<string, unknown>, string]>([
      ['a missing id', 1, { id: undefined }, 'tokens[1].id: is required'],
      ['an id with capitals', 1, { id: 'Acme' }, 'tokens[1].id: must be 1 to 63 lowercase letters, digits or hyphens, starting with a letter or digit (it names the secrets keyrotor/<id>/token and keyrotor/<id>/client)'],
      ['a missing provider', 1, { provider: undefined }, 'tokens[1].provider: is required'],
      ['a provider without tokens', 1, { provider: 'thinkific' }, 'tokens[1].provider: thinkific has no access tokens for keyrotor to refresh; must be one of "thought-industries", "thrive", "imburse"'],
      ['an unknown provider', 1, { provider: 'moodle' }, 'tokens[1].provider: unknown token provider "moodle"; must be one of "thought-industries", "thrive", "imburse"'],
      ['a missing environment', 1, { environment: undefined }, 'tokens[1].environment: is required'],
      ['an unknown environment', 1, { environment: 'staging' }, 'tokens[1].environment: must be one of "production", "sandbox"'],
      ['a missing grant', 1, { grant: undefined }, 'tokens[1].grant: is required'],
      ['an unknown grant', 1, { grant: 'password' }, 'tokens[1].grant: must be one of "client-credentials", "imburse-hmac"'],
      ['a relative tokenUrl', 1, { tokenUrl: '/oauth/token' }, 'tokens[1].tokenUrl: must be an absolute URL'],
      ['an http:// tokenUrl on a public host', 1, { tokenUrl: 'http://acme.thoughtindustries.com/oauth/token' }, 'tokens[1].tokenUrl: must use https:// (plain http:// is allowed only for loopback hosts)'],
      ['a tokenUrl with a query', 1, { tokenUrl: 'https://acme.thoughtindustries.com/oauth/token?tenant=1' }, 'tokens[1].tokenUrl: must not contain a query string or fragment'],
      ['a tokenUrl with a fragment', 1, { tokenUrl: 'https://acme.thoughtindustries.com/oauth/token#x' }, 'tokens[1].tokenUrl: must not contain a query string or fragment'],
      ['a tokenUrl that cannot be a tag value', 1, { tokenUrl: `https://acme.thoughtindustries.com/${'t'.repeat(250)}` }, "tokens[1].tokenUrl: must be at most 256 characters of letters, digits and _.:/=+-@ because it is stored in the token secret's keyrotor:token-url tag"],
      ['an empty scope list', 1, { scopes: [] }, 'tokens[1].scopes: must list at least one scope (leave the field out to request none)'],
      ['a scope with a space', 1, { scopes: ['users:read courses:read'] }, 'tokens[1].scopes[0]: must be one or more letters, digits or _.:/=+-@, without spaces (list each scope separately)'],
      ['an empty scope', 1, { scopes: ['users:read', ''] }, 'tokens[1].scopes[1]: must be one or more letters, digits or _.:/=+-@, without spaces'],
      ['a scope that is not a string', 1, { scopes: [7] }, 'tokens[1].scopes[0]: must be a string, not a number'],
      ['scopes too long for a tag value together', 1, { scopes: ['a'.repeat(200), 'b'.repeat(56)] }, "tokens[1].scopes: must be at most 256 characters of letters, digits and _.:/=+-@ when joined with spaces, because they are stored in the token secret's keyrotor:token-scopes tag"],
      ['an unknown clientAuth', 1, { clientAuth: 'post' }, 'tokens[1].clientAuth: must be "basic" (HTTP Basic, client_secret_basic) or "body" (client_secret_post)'],
      ['a Thrive tenantId of the wrong shape', 0, { tenantId: 'acme' }, 'tokens[0].tenantId: must look like <region>_<id>, e.g. eu-west-2_AbcdEfghI'],
      ['a Thrive baseUrl on plain http://', 0, { baseUrl: 'http://acme.api.learn.link' }, 'tokens[0].baseUrl: must use https://'],
      ['an empty credential', 2, { credential: '' }, 'tokens[2].credential: must not be empty'],
      ['an unknown key', 1, { audience: 'api' }, 'tokens[1].audience: is not a known field'],
    ])('reports %s, naming the field', (_case, index, patch, expected) => {
      // Act
      const issues = issuesOf(withToken(index, patch));

      // Assess
      expect(issues).toHaveLength(1);
      expect(issues[0]).toContain(expected);
    });

    it.each<[string, number, Record<string, unknown>, string[]]>([
      ['an Imburse token with the client-credentials grant', 2, { grant: 'client-credentials' }, ['tokens[2].grant: imburse tokens are minted with "imburse-hmac", not "client-credentials"']],
      ['a Thrive token with the imburse-hmac grant', 0, { grant: 'imburse-hmac' }, ['tokens[0].grant: thrive tokens are minted with "client-credentials", not "imburse-hmac"']],
      ['a Thought Industries token with the imburse-hmac grant', 1, { grant: 'imburse-hmac' }, ['tokens[1].grant: thought-industries tokens are minted with "client-credentials", not "imburse-hmac"']],
      ['a Thought Industries token without tokenUrl', 1, { tokenUrl: undefined }, ['tokens[1].tokenUrl: is required for thought-industries tokens: keyrotor takes the OAuth token URL of your instance from config']],
      [
        'a Thought Industries token with Thrive\'s fields',
        1,
        { baseUrl: 'https://acme.thoughtindustries.com', tenantId: 'eu-west-2_AbcdEfghI' },
        ['tokens[1].baseUrl: is only for thrive tokens (to derive tokenUrl); give tokenUrl instead', 'tokens[1].tenantId: is only for thrive tokens (to derive tokenUrl); give tokenUrl instead'],
      ],
      ['a Thrive token with neither tokenUrl nor baseUrl and tenantId', 0, { baseUrl: undefined, tenantId: undefined }, ['tokens[0].tokenUrl: is required for thrive tokens, unless baseUrl and tenantId are given to derive it as {baseUrl}/oauth2/token/{tenantId}']],
      ['a Thrive token with baseUrl but no tenantId', 0, { tenantId: undefined }, ['tokens[0].tenantId: is required for a thrive token without tokenUrl (the token URL is {baseUrl}/oauth2/token/{tenantId})']],
      ['a Thrive token with tenantId but no baseUrl', 0, { baseUrl: undefined }, ['tokens[0].baseUrl: is required for a thrive token without tokenUrl (the token URL is {baseUrl}/oauth2/token/{tenantId})']],
      [
        'a Thrive token with tokenUrl and baseUrl and tenantId',
        0,
        { tokenUrl: 'https://acme.api.learn.link/oauth2/token/eu-west-2_AbcdEfghI' },
        [
          'tokens[0].baseUrl: must be left out when tokenUrl is given (baseUrl and tenantId only derive the token URL)',
          'tokens[0].tenantId: must be left out when tokenUrl is given (baseUrl and tenantId only derive the token URL)',
        ],
      ],
      [
        'a Thrive base URL that derives a token URL too long for a tag value',
        0,
        { baseUrl: `https://${'a'.repeat(210)}.api.learn.link` },
        ["tokens[0].baseUrl: with tenantId it derives a token URL longer than 256 characters or with characters other than letters, digits and _.:/=+-@, but the token URL is stored in the token secret's keyrotor:token-url tag"],
      ],
      ['a client-credentials token naming a credential', 1, { credential: 'payments' }, ['tokens[1].credential: is only for imburse-hmac tokens; a client-credentials token is minted from its own OAuth client secret keyrotor/<id>/client']],
      ['an imburse-hmac token without a credential', 2, { credential: undefined }, ['tokens[2].credential: is required for imburse-hmac tokens: the id of the imburse entry in credentials whose tenant key mints the token']],
      ['an imburse-hmac token naming no configured credential', 2, { credential: 'payment' }, ['tokens[2].credential: no entry in credentials has the id "payment"; name the imburse credential that mints the token']],
      ['an imburse-hmac token naming a credential of another provider', 2, { credential: 'acme-prod' }, ['tokens[2].credential: credentials[0] ("acme-prod") is a "thought-industries" credential; an imburse-hmac token is minted from an imburse one']],
      ['an imburse-hmac token of another environment than its credential', 2, { environment: 'production' }, ['tokens[2].environment: must be "sandbox", the environment of credentials[2] ("payments"), which mints the token']],
      [
        'an imburse-hmac token with client-credentials fields',
        2,
        { tokenUrl: 'https://sandbox-api.imburse.net/token', scopes: ['a'], clientAuth: 'basic' },
        [
          "tokens[2].tokenUrl: is only for client-credentials tokens (an imburse-hmac token is minted from its credential's tenant key)",
          "tokens[2].scopes: is only for client-credentials tokens (an imburse-hmac token is minted from its credential's tenant key)",
          "tokens[2].clientAuth: is only for client-credentials tokens (an imburse-hmac token is minted from its credential's tenant key)",
        ],
      ],
    ])('rejects %s, naming the field', (_case, index, patch, expected) => {
      // Act
      const issues = issuesOf(withToken(index, patch));

      // Assess
      expect(issues).toEqual(expected);
    });

    it('judges an imburse-hmac token\'s credential even when that credential has problems of its own', () => {
      // Prepare
      const input = withToken(2, { environment: 'production' });
      (input.credentials as Record<string, unknown>[])[2]!.baseUrl = 'http://sandbox-api.imburse.net';

      // Act
      const issues = issuesOf(input);

      // Assess
      expect(issues).toEqual([
        'credentials[2].baseUrl: must use https:// (plain http:// is allowed only for loopback hosts)',
        'tokens[2].environment: must be "sandbox", the environment of credentials[2] ("payments"), which mints the token',
      ]);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['a token id that is also a credential id', { id: 'acme-prod' }, 'tokens[1].id: duplicates credentials[0].id ("acme-prod")'],
      ['a token id that another token has', { id: 'learn-token' }, 'tokens[1].id: duplicates tokens[0].id ("learn-token")'],
    ])('reports %s, naming both entries', (_case, patch, expected) => {
      // Act
      const issues = issuesOf(withToken(1, patch));

      // Assess
      expect(issues).toEqual([expected]);
    });

    it.each<[string, Record<string, unknown>, string]>([
      ['a rate of 0 minutes', { rateMinutes: 0 }, 'tokenRefresh.rateMinutes: must be a whole number of minutes from 1 to 60'],
      ['a rate of 61 minutes', { rateMinutes: 61 }, 'tokenRefresh.rateMinutes: must be a whole number of minutes from 1 to 60'],
      ['a fractional rate', { rateMinutes: 2.5 }, 'tokenRefresh.rateMinutes: must be a whole number of minutes from 1 to 60'],
      ['a rate given as a string', { rateMinutes: '5' }, 'tokenRefresh.rateMinutes: must be a number, not a string'],
      ['a renewal fraction below 0.5', { renewAtFraction: 0.49 }, "tokenRefresh.renewAtFraction: must be a number from 0.5 to 0.95 (the share of a token's lifetime after which it is renewed)"],
      ['a renewal fraction above 0.95', { renewAtFraction: 0.96, jitterFraction: 0 }, 'tokenRefresh.renewAtFraction: must be a number from 0.5 to 0.95'],
      ['a negative jitter', { jitterFraction: -0.01 }, "tokenRefresh.jitterFraction: must be a number from 0 to 0.2 (the share of a token's lifetime added at random to spread renewals)"],
      ['a jitter above 0.2', { jitterFraction: 0.21 }, 'tokenRefresh.jitterFraction: must be a number from 0 to 0.2'],
      ['a concurrency of 0', { concurrency: 0 }, 'tokenRefresh.concurrency: must be a whole number from 1 to 20 (tokens renewed at once)'],
      ['a concurrency of 21', { concurrency: 21 }, 'tokenRefresh.concurrency: must be a whole number from 1 to 20'],
      ['an unknown key', { rate: 5 }, 'tokenRefresh.rate: is not a known field'],
      [
        'a renewal fraction and jitter that reach the whole lifetime',
        { renewAtFraction: 0.8, jitterFraction: 0.2 },
        'tokenRefresh.jitterFraction: renewAtFraction (0.8) + jitterFraction (0.2) must be less than 1, or a token could be planned for renewal after it expires; lower one of them',
      ],
      [
        'a late renewal fraction with the default jitter',
        { renewAtFraction: 0.95 },
        'tokenRefresh.jitterFraction: renewAtFraction (0.95) + jitterFraction (0.05, the default) must be less than 1, or a token could be planned for renewal after it expires; lower one of them',
      ],
    ])('reports %s, naming the field', (_case, tokenRefresh, expected) => {
      // Act
      const issues = issuesOf(withTokens(undefined, { tokenRefresh }));

      // Assess
      expect(issues).toHaveLength(1);
      expect(issues[0]).toContain(expected);
    });

    it.each<[string, unknown, string]>([
      ['tokens that are not a list', {}, 'tokens: must be an array, not an object'],
      ['a token that is not an object', ['acme'], 'tokens[0]: must be an object, not a string'],
      ['tokenRefresh that is not an object', 5, 'tokenRefresh: must be an object, not a number'],
    ])('reports %s', (_case, value, expected) => {
      // Prepare
      const key = expected.startsWith('tokenRefresh') ? 'tokenRefresh' : 'tokens';

      // Act & Assess
      expect(issuesOf({ ...validInput(), [key]: value })).toEqual([expected]);
    });
  });

  it('reports every problem at once, duplicates included', () => {
    // Prepare
    const input = {
      alerts: { emails: ['not-an-address'] },
      defaults: { rotationIntervalDays: 0, gracePeriodHours: 1 },
      reader: { cacheTtlSeconds: 3600 },
      surprise: true,
      credentials: [
        { id: 'acme', provider: 'moodle', environment: 'production', baseUrl: 'http://acme.example.com' },
        { id: 'acme', provider: 'thought-industries', environment: 'prod', baseUrl: 'https://acme.example.com', rotationIntervalDays: 5000 },
      ],
      tokens: [
        { id: 'acme', provider: 'thrive', environment: 'production', grant: 'client-credentials', tenantId: 'eu-west-2_AbcdEfghI', scopes: [] },
        { id: 'pay', provider: 'imburse', environment: 'sandbox', grant: 'imburse-hmac', credential: 'acme' },
      ],
      tokenRefresh: { rateMinutes: 0, renewAtFraction: 0.9, jitterFraction: 0.2 },
    };

    // Act
    const issues = issuesOf(input);

    // Assess
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^alerts\.emails\[0\]: /),
        expect.stringMatching(/^defaults\.rotationIntervalDays: /),
        expect.stringMatching(/^surprise: /),
        expect.stringMatching(/^credentials\[0\]\.provider: unknown provider "moodle"/),
        'credentials[0].baseUrl: must use https:// (plain http:// is allowed only for loopback hosts)',
        expect.stringMatching(/^credentials\[1\]\.environment: /),
        expect.stringMatching(/^credentials\[1\]\.rotationIntervalDays: /),
        'credentials[1].id: duplicates credentials[0].id ("acme")',
        expect.stringMatching(/^defaults\.gracePeriodHours: 1 hour \(3600 s\) must be longer than reader\.cacheTtlSeconds \(3600 s\)/),
        expect.stringMatching(/^tokens\[0\]\.scopes: must list at least one scope/),
        'tokens[0].id: duplicates credentials[0].id ("acme")',
        expect.stringMatching(/^tokens\[0\]\.baseUrl: is required for a thrive token without tokenUrl/),
        'tokens[1].credential: credentials[0] ("acme") is a "moodle" credential; an imburse-hmac token is minted from an imburse one',
        expect.stringMatching(/^tokenRefresh\.rateMinutes: /),
        expect.stringMatching(/^tokenRefresh\.jitterFraction: renewAtFraction \(0\.9\) \+ jitterFraction \(0\.2\) must be less than 1/),
      ]),
    );
    expect(issues).toHaveLength(15);
  });

  it('names the source and lists each issue in the error message', () => {
    // Prepare
    const input = withCredential(0, { baseUrl: 'http://acme.thoughtindustries.com' });

    // Act & Assess
    expect(() => parseConfig(input, 'prod.json')).toThrow(
      'prod.json is invalid:\n  - credentials[0].baseUrl: must use https:// (plain http:// is allowed only for loopback hosts)',
    );
  });

  describe('property: arbitrary input', () => {
    it('never throws anything but a ConfigError with at least one issue', () => {
      fc.assert(
        fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (input) => {
          try {
            parseConfig(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            expect((error as ConfigError).issues.length).toBeGreaterThan(0);
          }
        }),
        { numRuns: 500 },
      );
    });

    it('never throws anything but a ConfigError for configs with arbitrary field values', () => {
      const anyValue = fc.oneof(fc.jsonValue(), fc.constant(undefined));
      const credential = fc.record(
        { id: anyValue, provider: anyValue, environment: anyValue, baseUrl: anyValue, rotationIntervalDays: anyValue, description: anyValue },
        { requiredKeys: [] },
      );
      const defaults = fc.oneof(
        anyValue,
        fc.record({ rotationIntervalDays: anyValue, gracePeriodHours: fc.oneof(anyValue, fc.integer({ min: -5, max: 2200 })) }, { requiredKeys: [] }),
      );
      const reader = fc.oneof(anyValue, fc.record({ cacheTtlSeconds: fc.oneof(anyValue, fc.integer({ min: -5, max: 90_000 })) }, { requiredKeys: [] }));
      // Token fields draw from near-valid values too, so the cross-field rules see every combination.
      const nearly = <T>(...values: T[]) => fc.oneof(anyValue, fc.constantFrom(...values));
      const token = fc.record(
        {
          id: fc.oneof(anyValue, fc.constantFrom('acme', 'token-a', 'token-b')),
          provider: nearly(...PROVIDER_IDS),
          environment: nearly('production', 'sandbox'),
          grant: nearly('client-credentials', 'imburse-hmac'),
          tokenUrl: nearly('https://acme.example.com/oauth/token', 'http://acme.example.com/token'),
          scopes: fc.oneof(anyValue, fc.array(fc.oneof(fc.string(), fc.constantFrom('read', 'api:write')))),
          clientAuth: nearly('basic', 'body'),
          baseUrl: nearly('https://acme.api.learn.link', `https://${'a'.repeat(240)}.example.com`),
          tenantId: nearly('eu-west-2_AbcdEfghI'),
          credential: nearly('acme', 'payments'),
          description: anyValue,
        },
        { requiredKeys: [] },
      );
      const tokenRefresh = fc.oneof(
        anyValue,
        fc.record(
          {
            rateMinutes: fc.oneof(anyValue, fc.integer({ min: -1, max: 61 })),
            renewAtFraction: fc.oneof(anyValue, fc.double({ min: 0.4, max: 1, noNaN: true })),
            jitterFraction: fc.oneof(anyValue, fc.double({ min: -0.1, max: 0.3, noNaN: true })),
            concurrency: fc.oneof(anyValue, fc.integer({ min: 0, max: 21 })),
          },
          { requiredKeys: [] },
        ),
      );
      const events = fc.oneof(anyValue, fc.record({ archiveRetentionDays: fc.oneof(anyValue, fc.integer({ min: -1, max: 3651 })) }, { requiredKeys: [] }));
      const config = fc.record(
        {
          alerts: fc.record(
            {
              emails: fc.oneof(fc.array(fc.oneof(fc.emailAddress(), fc.string())), anyValue),
              runbookBaseUrl: fc.oneof(anyValue, fc.webUrl(), fc.constantFrom('https://github.com/acme/keyrotor/blob/main', 'http://127.0.0.1:8080')),
            },
            { requiredKeys: ['emails'] },
          ),
          defaults,
          reader,
          credentials: fc.array(credential),
          tokens: fc.oneof(anyValue, fc.array(token, { maxLength: 4 })),
          tokenRefresh,
          events,
        },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(config, (input) => {
          try {
            parseConfig(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            for (const issue of (error as ConfigError).issues) {
              // Each issue is one line that starts with the path of a field of the config.
              expect(issue).toMatch(/^(\(top level\)|alerts|defaults|reader|credentials|tokens|tokenRefresh|events|\[")[^\n]*: \S[^\n]*$/);
            }
          }
        }),
        { numRuns: 500 },
      );
    });

    it('accepts every well-formed config and is idempotent on its own output', () => {
      const credential = fc.record(
        {
          id: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/),
          provider: fc.constantFrom(...PROVIDER_IDS),
          environment: fc.constantFrom('production', 'sandbox'),
          baseUrl: fc.domain().map((domain) => `https://${domain}`),
          rotationIntervalDays: fc.integer({ min: 1, max: 1000 }),
        },
        { requiredKeys: ['id', 'provider', 'environment', 'baseUrl'] },
      );
      // The reader's cache TTL is drawn below the grace period, which the cross-field rule demands.
      const timings = fc.integer({ min: 1, max: 2160 }).chain((gracePeriodHours) =>
        fc.record({
          gracePeriodHours: fc.constant(gracePeriodHours),
          cacheTtlSeconds: fc.integer({ min: 1, max: Math.min(86_400, gracePeriodHours * 3600 - 1) }),
        }),
      );
      // A token of each kind; an imburse-hmac one is tied to the first credential below.
      const scopes = fc.array(fc.stringMatching(/^[a-z][a-z0-9:/._-]{0,20}$/), { minLength: 1, maxLength: 4 });
      const clientCredentialsToken = fc.oneof(
        fc.record(
          {
            provider: fc.constant('thought-industries'),
            grant: fc.constant('client-credentials'),
            tokenUrl: fc.domain().map((domain) => `https://${domain}/oauth/token`),
            scopes,
            clientAuth: fc.constantFrom('basic', 'body'),
          },
          { requiredKeys: ['provider', 'grant', 'tokenUrl'] },
        ),
        fc.record(
          {
            provider: fc.constant('thrive'),
            grant: fc.constant('client-credentials'),
            baseUrl: fc.domain().map((domain) => `https://${domain}`),
            tenantId: fc.constantFrom('eu-west-2_AbcdEfghI', 'us-east-1_Z9'),
            scopes,
          },
          { requiredKeys: ['provider', 'grant', 'baseUrl', 'tenantId'] },
        ),
      );
      const config = fc.record({
        credentials: fc.uniqueArray(credential, { minLength: 1, maxLength: 5, selector: (c) => c.id }),
        tokens: fc.array(fc.oneof(clientCredentialsToken, fc.constant(undefined)), { maxLength: 3 }),
        refresh: fc.record({
          rateMinutes: fc.integer({ min: 1, max: 60 }),
          renewAtFraction: fc.double({ min: 0.5, max: 0.95, noNaN: true }),
          jitterFraction: fc.double({ min: 0, max: 0.2, noNaN: true }),
          concurrency: fc.integer({ min: 1, max: 20 }),
        }).filter((refresh) => refresh.renewAtFraction + refresh.jitterFraction < 1),
        rotationIntervalDays: fc.integer({ min: 1, max: 1000 }),
        timings,
        archiveRetentionDays: fc.integer({ min: 1, max: 3650 }),
        runbookBaseUrl: fc.domain().map((domain) => `https://${domain}/runbooks`),
      }).map(({ credentials, tokens, refresh, rotationIntervalDays, timings: { gracePeriodHours, cacheTtlSeconds }, archiveRetentionDays, runbookBaseUrl }) => ({
        credentials: credentials.map((c, index) => (index === 0 ? { ...c, provider: 'imburse' } : c)),
        // `undefined` stands for an imburse-hmac token on the first credential. Token ids are t-0,
        // t-1, …; an input whose generated credential ids take one of them is skipped below.
        tokens: tokens.map((token, index) =>
          token === undefined
            ? { id: `t-${index}`, provider: 'imburse', environment: credentials[0]!.environment, grant: 'imburse-hmac', credential: credentials[0]!.id }
            : { id: `t-${index}`, environment: 'production', ...token },
        ),
        tokenRefresh: refresh,
        defaults: { rotationIntervalDays, gracePeriodHours },
        reader: { cacheTtlSeconds },
        events: { archiveRetentionDays },
        alerts: { emails: [], runbookBaseUrl },
      })).filter((input) => !input.credentials.some((c) => c.id.startsWith('t-')));
      fc.assert(
        fc.property(config, (input) => {
          const parsed = parseConfig(input);
          expect(parsed.credentials).toHaveLength(input.credentials.length);
          expect(parsed.tokens).toHaveLength(input.tokens.length);
          expect(parsed.tokenRefresh).toEqual(input.tokenRefresh);
          expect(parsed.events).toEqual(input.events);
          expect(parsed.alerts.runbookBaseUrl).toBe(input.alerts.runbookBaseUrl);
          expect(parseConfig(JSON.parse(JSON.stringify(parsed)))).toEqual(parsed);
        }),
        { numRuns: 200 },
      );
    });
  });
});

describe('Function: loadConfig', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyrotor-config-'));
  });

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads the example config at the repository root', () => {
    // Act
    const config = loadConfig(path.join(__dirname, '..', '..', '..', 'keyrotor.config.json'));

    // Assess
    expect(config.credentials.map((c) => [c.provider, c.environment, c.baseUrl])).toEqual([
      ['thought-industries', 'production', 'https://acme.thoughtindustries.com'],
      ['thought-industries', 'sandbox', 'https://acme-sandbox.thoughtindustries.com'],
      ['imburse', 'sandbox', 'https://sandbox-api.imburse.net'],
      ['boss-insights', 'production', 'https://acme.bossinsights.com'],
    ]);
    expect(config.tokens.map((t) => [t.id, t.provider, t.grant])).toEqual([
      ['learn-token', 'thrive', 'client-credentials'],
      ['payments-sandbox-token', 'imburse', 'imburse-hmac'],
    ]);
    expect(config.tokens[0]).toMatchObject({ tokenUrl: expect.stringMatching(/\/oauth2\/token\/[a-z]{2}-[a-z]+-\d_[A-Za-z0-9]+$/) });
    expect(config.tokens[1]).toMatchObject({ credential: 'payments-sandbox' });
    expect(config.alerts.emails.length).toBeGreaterThan(0);
    expect(config.defaults.gracePeriodHours * 3600).toBeGreaterThan(config.reader.cacheTtlSeconds);
    expect(config.events.archiveRetentionDays).toBe(365);
    expect(config.alerts.runbookBaseUrl).toMatch(/^https:\/\/\S+[^/]$/);
  });

  it('reports a missing file and how to name another', () => {
    // Prepare
    const missing = path.join(dir, 'missing.json');

    // Act & Assess
    expect(() => loadConfig(missing)).toThrow(ConfigError);
    expect(() => loadConfig(missing)).toThrow(/does not exist; pass another file with -c keyrotor:config=<path>/);
  });

  it('reports a file that is not JSON', () => {
    // Prepare
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, '{ "credentials": [ }');

    // Act & Assess
    expect(() => loadConfig(file)).toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is invalid:\\n  - is not valid JSON: `));
  });

  it('names the file in a validation error', () => {
    // Prepare
    const file = path.join(dir, 'invalid.json');
    fs.writeFileSync(file, JSON.stringify({ credentials: [] }));

    // Act & Assess
    expect(() => loadConfig(file)).toThrow(`${file} is invalid:\n  - credentials: must list at least one credential`);
  });
});

describe('Function: secretNameFor', () => {
  it('prefixes the credential id with keyrotor/', () => {
    // Act & Assess
    expect(secretNameFor('acme-prod')).toBe('keyrotor/acme-prod');
  });
});

describe('Function: tokenSecretNameFor', () => {
  it('names the token secret keyrotor/<id>/token', () => {
    // Act & Assess
    expect(tokenSecretNameFor('learn-token')).toBe('keyrotor/learn-token/token');
  });
});

describe('Function: oauthClientSecretNameFor', () => {
  it('names the OAuth client secret keyrotor/<id>/client', () => {
    // Act & Assess
    expect(oauthClientSecretNameFor('learn-token')).toBe('keyrotor/learn-token/client');
  });
});

describe('Function: tokenRefreshProblems', () => {
  it('finds nothing wrong with the defaults', () => {
    // Act & Assess
    expect(tokenRefreshProblems(DEFAULT_TOKEN_REFRESH)).toEqual([]);
  });

  it('reports every problem by the config file\'s rules, each naming its field', () => {
    // Act
    const problems = tokenRefreshProblems({ rateMinutes: 0, renewAtFraction: 0.9, jitterFraction: 0.2, concurrency: 1.5 });

    // Assess
    expect(problems).toEqual([
      'tokenRefresh.rateMinutes: must be a whole number of minutes from 1 to 60',
      'tokenRefresh.concurrency: must be a whole number from 1 to 20 (tokens renewed at once)',
      'tokenRefresh.jitterFraction: renewAtFraction (0.9) + jitterFraction (0.2) must be less than 1, or a token could be planned for renewal after it expires; lower one of them',
    ]);
  });
});

describe('Function: eventsProblems', () => {
  it('finds nothing wrong with the defaults or the limits', () => {
    // Act & Assess
    expect(eventsProblems(DEFAULT_EVENTS)).toEqual([]);
    expect(eventsProblems({ archiveRetentionDays: 1 })).toEqual([]);
    expect(eventsProblems({ archiveRetentionDays: 3650 })).toEqual([]);
  });

  it('reports a retention outside 1–3650 days by the config file\'s rules, naming the field', () => {
    // Act & Assess
    expect(eventsProblems({ archiveRetentionDays: 0 })).toEqual([expect.stringMatching(/^events\.archiveRetentionDays: must be a whole number of days from 1 to 3650 .*"keep forever"/)]);
    expect(eventsProblems({ archiveRetentionDays: 1.5 })).toEqual([expect.stringMatching(/^events\.archiveRetentionDays: /)]);
  });
});

describe('Function: runbookBaseUrlProblem', () => {
  it('accepts an https URL and refuses anything a person could not open from an alert', () => {
    // Act & Assess
    expect(runbookBaseUrlProblem('https://github.com/acme/keyrotor/blob/main')).toBeUndefined();
    expect(runbookBaseUrlProblem('HTTPS://github.com/acme/keyrotor')).toBeUndefined();
    expect(runbookBaseUrlProblem('http://localhost:3000')).toMatch(/^must use https:\/\//);
    expect(runbookBaseUrlProblem('https://github.com/acme/keyrotor#readme')).toBe('must not contain a query string or fragment');
  });
});
