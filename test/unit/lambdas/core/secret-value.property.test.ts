import * as fc from 'fast-check';
import { ENVIRONMENTS, PROVIDER_IDS } from '../../../../lambdas/core/contracts';
import { ValidationError } from '../../../../lambdas/core/errors';
import { isSecretField } from '../../../../lambdas/core/redaction';
import { credentialStrings, parseSecretValue, secretValueSchema, tryParseSecretValue } from '../../../../lambdas/core/secret-value';

/**
 * Property tests of the secret JSON parsers beyond secret-value.test.ts (which covers "returns or
 * throws ValidationError" and "never quotes the input"): every issue names a field, the lenient
 * parser agrees with the strict one and never throws, and credentialStrings covers every field the
 * schema declares secret (the strings the Lambdas register for redaction).
 */

/** The schema's fields per provider (shape keys of each option of the discriminated union). */
const SCHEMA_FIELDS: ReadonlyMap<string, readonly string[]> = new Map(
  secretValueSchema.def.options.map((option) => [String(option.shape.provider.def.values[0]), Object.keys(option.shape)] as const),
);
const ALL_FIELDS = new Set([...SCHEMA_FIELDS.values()].flat());

const fieldValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('https://acme.thoughtindustries.com', 'http://127.0.0.1:4010', 'ftp://x', '2026-11-23T10:00:00Z', '2026-13-45', '', '   ', 'eu-west-2_AbcdEfghI'),
);
const fieldName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...ALL_FIELDS) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', 'api_key', 'APIKEY', 'extra', '', 'a.b') }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) });

/** Text as a secret might hold it: mostly objects with schema fields, sometimes anything. */
const secretText = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom(...PROVIDER_IDS), fieldValue), fc.oneof(fc.constantFrom(...ENVIRONMENTS), fieldValue), fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 10 }))
      .map(([provider, environment, fields]) => `{${[['provider', provider] as const, ['environment', environment] as const, ...fields].map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`).join(',')}}`),
  },
  { weight: 1, arbitrary: fc.oneof(fc.json(), fc.string(), fc.string({ unit: 'binary' })) },
);

/** Valid values of every provider, with extra fields, so the success paths are explored too. */
const validText = fc
  .tuple(
    fc.constantFrom(...PROVIDER_IDS),
    fc.constantFrom(...ENVIRONMENTS),
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 8, maxLength: 40 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((key) => !ALL_FIELDS.has(key) && key !== '__proto__'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  )
  .map(([provider, environment, credential, extras]) =>
    JSON.stringify({
      ...extras,
      provider,
      environment,
      baseUrl: 'https://acme.example.com',
      apiKey: `key-${credential}`,
      accountKey: `acct-${credential}`,
      tenantId: provider === 'thrive' ? 'eu-west-2_AbcdEfghI' : 'tenant-0001',
      publicKey: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d',
      privateKey: Buffer.from(credential).toString('base64'),
    }),
  );

describe('Function: parseSecretValue (properties)', () => {
  it('names a field of the schema or of the input (or the root) in every issue', () => {
    fc.assert(
      fc.property(secretText, (text) => {
        // Act
        let error: unknown;
        try {
          parseSecretValue(text);
          return;
        } catch (caught) {
          error = caught;
        }

        // Assess
        expect(error).toBeInstanceOf(ValidationError);
        let input: unknown;
        try {
          input = JSON.parse(text);
        } catch {
          expect((error as ValidationError).issues).toEqual(['is not valid JSON']);
          return;
        }
        for (const issue of (error as ValidationError).issues) {
          const [path = '', ...rest] = issue.split(': ');
          const first = path.split('.')[0] ?? '';
          const named = path === '(root)' || ALL_FIELDS.has(first) || (typeof input === 'object' && input !== null && Object.hasOwn(input, first));
          expect({ issue, named, message: rest.join(': ').length > 0 }).toEqual({ issue, named: true, message: true });
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('Function: tryParseSecretValue (properties)', () => {
  it('never throws, and returns exactly what parseSecretValue returns when that succeeds', () => {
    fc.assert(
      fc.property(fc.oneof(secretText, validText, fc.constant(undefined)), (text) => {
        // Act
        const lenient = tryParseSecretValue(text);

        // Assess
        let strict: unknown;
        try {
          strict = text === undefined ? undefined : parseSecretValue(text);
        } catch {
          strict = undefined;
        }
        expect(lenient).toEqual(strict);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('Function: credentialStrings (properties)', () => {
  it('returns every field the schema declares secret for the value\'s provider, and nothing that is not in the value', () => {
    fc.assert(
      fc.property(fc.oneof(validText, secretText), (text) => {
        // Prepare
        const value = tryParseSecretValue(text);
        fc.pre(value !== undefined);

        // Act
        const strings = credentialStrings(value!);

        // Assess
        const secretFields = (SCHEMA_FIELDS.get(value!.provider) ?? []).filter(isSecretField);
        expect(secretFields.length).toBeGreaterThan(0);
        const record = value as unknown as Record<string, unknown>;
        for (const field of secretFields) expect(strings).toContain(record[field]);
        for (const string of strings) expect(Object.values(record)).toContain(string);
      }),
      { numRuns: 500 },
    );
  });
});
