import * as fc from 'fast-check';
import { ENVIRONMENTS, PROVIDER_IDS } from '../../../../lambdas/core/contracts';
import { ValidationError } from '../../../../lambdas/core/errors';
import {
  credentialStrings,
  describeIssues,
  parseSecretValue,
  secretValueSchema,
  tryParseSecretValue,
  type ManagedSecretValue,
} from '../../../../lambdas/core/secret-value';
import { BASE_URL, TI_LIVE_OLD, tiValue } from '../../../support/fixtures';

const common = { environment: 'production', baseUrl: BASE_URL } as const;

/** A minimal valid value for each provider (the fields README §7 requires). */
const MINIMAL: Record<(typeof PROVIDER_IDS)[number], Record<string, unknown>> = {
  'thought-industries': { provider: 'thought-industries', ...common, apiKey: TI_LIVE_OLD },
  thinkific: { provider: 'thinkific', ...common, apiKey: 'thinkific-token-0001' },
  thrive: { provider: 'thrive', ...common, tenantId: 'eu-west-2_AbcdEfghI', apiKey: 'thrive-key-0001' },
  'boss-insights': { provider: 'boss-insights', ...common, apiKey: 'boss-api-0001', accountKey: 'boss-account-0001' },
  imburse: { provider: 'imburse', ...common, tenantId: 'tenant-1', publicKey: 'pub-0001', privateKey: 'priv-0001' },
};

/** Runs `fn` and returns the ValidationError it threw. */
function validationErrorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('Function: parseSecretValue', () => {
  it.each(PROVIDER_IDS)('returns the minimal value of a %s secret', (provider) => {
    // Act
    const value = parseSecretValue(JSON.stringify(MINIMAL[provider]));

    // Assess
    expect(value).toEqual(MINIMAL[provider]);
  });

  it('returns the fields keyrotor adds itself', () => {
    const raw = {
      ...MINIMAL['thought-industries'],
      issuedAt: '2026-11-23T10:00:00Z',
      expiresAt: '2027-02-21T10:00:00.000+01:00',
      fingerprint: '…0001#1a2b3c4d',
      providerKeyId: 'key-42',
    };

    expect(parseSecretValue(JSON.stringify(raw))).toEqual(raw);
  });

  it('keeps fields it does not know, for applications that store their own extras', () => {
    const value = parseSecretValue(tiValue(TI_LIVE_OLD, { appRegion: 'eu', limits: { rpm: 10 } }));

    expect(value).toMatchObject({ appRegion: 'eu', limits: { rpm: 10 } });
  });

  it('accepts a sandbox secret on a loopback http base URL', () => {
    const value = parseSecretValue(tiValue('ti_test_abcdefgh', { environment: 'sandbox', baseUrl: 'http://127.0.0.1:4010' }));

    expect(value.environment).toBe('sandbox');
    expect(value.baseUrl).toBe('http://127.0.0.1:4010');
  });

  it('throws ValidationError for text that is not JSON, without quoting it or keeping the parser error', () => {
    // Prepare: JSON.parse's own message quotes the input
    const input = `{"apiKey": "${TI_LIVE_OLD}"`;

    // Act
    const error = validationErrorOf(() => parseSecretValue(input));

    // Assess
    expect(error.issues).toEqual(['is not valid JSON']);
    expect(error.message).toBe('secret value is invalid: is not valid JSON');
    expect(error.cause).toBeUndefined();
    expect(error.message).not.toContain(TI_LIVE_OLD);
  });

  it('names what was parsed in the message', () => {
    const error = validationErrorOf(() => parseSecretValue('nope', 'AWSPENDING value of keyrotor/acme'));

    expect(error.message).toBe('AWSPENDING value of keyrotor/acme is invalid: is not valid JSON');
  });

  it.each([
    ['an array', '[]', 'array'],
    ['a number', '42', 'number'],
    ['null', 'null', 'null'],
    ['a string', '"ti_live_abc"', 'string'],
  ])('reports %s at the root', (_what, input, type) => {
    const error = validationErrorOf(() => parseSecretValue(input));

    expect(error.issues).toEqual([`(root): Invalid input: expected object, received ${type}`]);
  });

  it('names the known providers when provider is missing or unknown, without quoting it', () => {
    for (const raw of [{}, { ...MINIMAL.thinkific, provider: 'Thinkific-EU-West' }]) {
      const error = validationErrorOf(() => parseSecretValue(JSON.stringify(raw)));

      expect(error.issues).toHaveLength(1);
      expect(error.issues[0]).toMatch(/^provider: /);
      for (const id of PROVIDER_IDS) expect(error.issues[0]).toContain(id);
      expect(error.message).not.toContain('Thinkific-EU-West');
    }
  });

  it('lists every missing field of the provider', () => {
    const error = validationErrorOf(() => parseSecretValue(JSON.stringify({ provider: 'imburse' })));

    expect(error.issues.map((issue) => issue.split(':')[0]).sort()).toEqual(['baseUrl', 'environment', 'privateKey', 'publicKey', 'tenantId']);
  });

  it('lists every wrong field at once, each with its path', () => {
    // Prepare
    const raw = {
      provider: 'thought-industries',
      environment: 'staging',
      baseUrl: 'http://acme.thoughtindustries.com',
      apiKey: '   ',
      issuedAt: 'yesterday',
      fingerprint: 3,
    };

    // Act
    const error = validationErrorOf(() => parseSecretValue(JSON.stringify(raw)));

    // Assess
    expect([...error.issues].sort()).toEqual(
      [
        'environment: Invalid option: expected one of "production"|"sandbox"',
        'baseUrl: must use https:// (plain http:// is allowed only for loopback hosts)',
        'apiKey: must not be empty',
        'issuedAt: Invalid ISO datetime',
        'fingerprint: Invalid input: expected string, received number',
      ].sort(),
    );
  });

  it('requires an offset or Z on the ISO dates', () => {
    const error = validationErrorOf(() => parseSecretValue(tiValue(TI_LIVE_OLD, { expiresAt: '2027-02-21T10:00:00' })));

    expect(error.issues).toEqual(['expiresAt: Invalid ISO datetime']);
  });

  it('refuses a Boss Insights secret without its account key', () => {
    const { accountKey: _omitted, ...raw } = MINIMAL['boss-insights'];

    const error = validationErrorOf(() => parseSecretValue(JSON.stringify(raw)));

    expect(error.issues).toEqual(['accountKey: Invalid input: expected string, received undefined']);
  });

  describe('properties', () => {
    /** Strings long enough that finding one in a message means it was echoed. */
    const longEnough = (s: string) => s.length > 8;
    /** Text that messages name on purpose: the allowed values of an enum or a literal, and the example base URL. */
    const VOCABULARY = new Set<string>([...PROVIDER_IDS, ...ENVIRONMENTS, 'https://acme.thoughtindustries.com']);

    function stringsIn(node: unknown): string[] {
      if (typeof node === 'string') return [node];
      if (Array.isArray(node)) return node.flatMap(stringsIn);
      if (node !== null && typeof node === 'object') return Object.values(node).flatMap(stringsIn);
      return [];
    }

    /** Field values: sometimes right, mostly wrong, sometimes shaped to get past one check and fail the next. */
    const fieldValue = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.jsonValue({ maxDepth: 2 }),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.stringMatching(/^[a-z][a-z0-9+.-]{8,20}:[a-z0-9]{0,8}$/),
      fc.constantFrom(BASE_URL, 'http://127.0.0.1:4010', '2026-11-23T10:00:00Z', '', '   '),
    );
    const candidate = fc.record(
      {
        provider: fc.oneof(fc.constantFrom(...PROVIDER_IDS), fieldValue),
        environment: fc.oneof(fc.constantFrom(...ENVIRONMENTS), fieldValue),
        baseUrl: fieldValue,
        apiKey: fieldValue,
        accountKey: fieldValue,
        tenantId: fieldValue,
        publicKey: fieldValue,
        privateKey: fieldValue,
        issuedAt: fieldValue,
        expiresAt: fieldValue,
        fingerprint: fieldValue,
      },
      { requiredKeys: ['provider'] },
    );

    it('either returns a value or throws ValidationError, for any string', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json()), (input) => {
          try {
            parseSecretValue(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        }),
        { numRuns: 500 },
      );
    });

    it('either returns a value or throws ValidationError, for any object shaped like a secret value', () => {
      fc.assert(
        fc.property(candidate, (raw) => {
          try {
            const value = parseSecretValue(JSON.stringify(raw));
            // What it returns satisfies the schema it documents
            expect(secretValueSchema.safeParse(value).success).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        }),
        { numRuns: 500 },
      );
    });

    it('never quotes a string field of the input longer than 8 characters in its error', () => {
      fc.assert(
        fc.property(candidate, (raw) => {
          let message: string;
          try {
            parseSecretValue(JSON.stringify(raw));
            return;
          } catch (error) {
            message = (error as ValidationError).message;
          }
          for (const value of stringsIn(raw).filter(longEnough)) {
            if (VOCABULARY.has(value)) continue;
            expect({ value, echoed: message.includes(value) }).toEqual({ value, echoed: false });
          }
        }),
        { numRuns: 500 },
      );
    });

    it('never quotes the input text in its error, for any string', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.json()), (input) => {
          fc.pre(input.trim().length > 8);
          try {
            parseSecretValue(input);
          } catch (error) {
            expect((error as ValidationError).message).not.toContain(input.trim());
          }
        }),
      );
    });
  });
});

describe('Function: tryParseSecretValue', () => {
  it('returns the value of a managed secret', () => {
    expect(tryParseSecretValue(tiValue(TI_LIVE_OLD))).toMatchObject({ provider: 'thought-industries', apiKey: TI_LIVE_OLD });
  });

  it.each([
    ['no value', undefined],
    ['the bootstrap value CDK generates', '{"bootstrap":"f8Qp!x2"}'],
    ['text that is not JSON', 'REPLACE_ME'],
  ])('returns undefined for %s', (_what, input) => {
    expect(tryParseSecretValue(input)).toBeUndefined();
  });
});

describe('Function: credentialStrings', () => {
  it.each([
    ['thought-industries', [TI_LIVE_OLD]],
    ['thinkific', ['thinkific-token-0001']],
    ['thrive', ['thrive-key-0001']],
    ['boss-insights', ['boss-api-0001', 'boss-account-0001']],
    ['imburse', ['priv-0001']],
  ] as const)('returns the secret strings of a %s value', (provider, expected) => {
    const value = parseSecretValue(JSON.stringify(MINIMAL[provider])) as ManagedSecretValue;

    expect(credentialStrings(value)).toEqual(expected);
  });

  it('does not count identifiers that are not secret', () => {
    const imburse = parseSecretValue(JSON.stringify(MINIMAL.imburse));
    const thrive = parseSecretValue(JSON.stringify(MINIMAL.thrive));

    expect(credentialStrings(imburse)).not.toContain('pub-0001');
    expect(credentialStrings(imburse)).not.toContain('tenant-1');
    expect(credentialStrings(thrive)).not.toContain('eu-west-2_AbcdEfghI');
  });
});

describe('Function: describeIssues', () => {
  it('joins nested paths with dots and labels a root issue', () => {
    const result = secretValueSchema.safeParse(5);
    expect(result.success).toBe(false);

    expect(describeIssues(result.error?.issues ?? [])).toEqual(['(root): Invalid input: expected object, received number']);
    expect(
      describeIssues([
        { code: 'custom', path: ['limits', 0, 'rpm'], message: 'too high', input: 1 },
        { code: 'custom', path: [], message: 'odd', input: 1 },
      ]),
    ).toEqual(['limits.0.rpm: too high', '(root): odd']);
  });
});
