import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { ConfigError } from '../../../lambdas/core/errors';
import { PROVIDER_IDS } from '../../../lambdas/core/contracts';
import {
  DEFAULT_GRACE_PERIOD_HOURS,
  DEFAULT_READER_CACHE_TTL_SECONDS,
  DEFAULT_ROTATION_INTERVAL_DAYS,
  loadConfig,
  parseConfig,
  secretNameFor,
  SUPPORTED_PROVIDER_IDS,
  type KeyrotorConfig,
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
      ]),
    );
    expect(issues).toHaveLength(9);
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
      const config = fc.record(
        {
          alerts: fc.record({ emails: fc.oneof(fc.array(fc.oneof(fc.emailAddress(), fc.string())), anyValue) }),
          defaults,
          reader,
          credentials: fc.array(credential),
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
              expect(issue).toMatch(/^(\(top level\)|alerts|defaults|reader|credentials|\[")[^\n]*: \S[^\n]*$/);
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
      const config = fc.record({
        credentials: fc.uniqueArray(credential, { minLength: 1, maxLength: 5, selector: (c) => c.id }),
        rotationIntervalDays: fc.integer({ min: 1, max: 1000 }),
        timings,
      }).map(({ credentials, rotationIntervalDays, timings: { gracePeriodHours, cacheTtlSeconds } }) => ({
        credentials,
        defaults: { rotationIntervalDays, gracePeriodHours },
        reader: { cacheTtlSeconds },
      }));
      fc.assert(
        fc.property(config, (input) => {
          const parsed = parseConfig(input);
          expect(parsed.credentials).toHaveLength(input.credentials.length);
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
    expect(config.alerts.emails.length).toBeGreaterThan(0);
    expect(config.defaults.gracePeriodHours * 3600).toBeGreaterThan(config.reader.cacheTtlSeconds);
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
