import * as fc from 'fast-check';
import { nearly as nearlyValid, stringsIn } from '../../../support/properties';
import { ValidationError } from '../../../../lambdas/core/errors';
import { parseRevocationRequest } from '../../../../lambdas/core/revocation';

/**
 * Property tests of the revoker's input parser: the one-time schedule's input
 * `{secretArn, token, versionId, providerKeyId, fingerprint}`, or anything else that reaches the revoker.
 */

const FIELDS = ['secretArn', 'token', 'versionId', 'providerKeyId', 'fingerprint'] as const;

const nearly = <T>(good: fc.Arbitrary<T>) => nearlyValid(good);
const request = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        secretArn: nearly(fc.constant('arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/acme-prod-AbCdEf')),
        token: nearly(fc.uuid()),
        versionId: nearly(fc.uuid()),
        providerKeyId: nearly(fc.string({ minLength: 1, maxLength: 40 })),
        fingerprint: nearly(fc.string({ maxLength: 20 })),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);

describe('Function: parseRevocationRequest (properties)', () => {
  it('returns exactly the five fields of a well-formed request, or a ValidationError naming each wrong field without quoting the input', () => {
    fc.assert(
      fc.property(request, (input) => {
        // Act
        let result: unknown;
        let error: unknown;
        try {
          result = parseRevocationRequest(input);
        } catch (caught) {
          error = caught;
        }

        // Assess
        if (error === undefined) {
          const record = input as Record<string, unknown>;
          expect(result).toEqual(Object.fromEntries(FIELDS.map((field) => [field, record[field]])));
          return;
        }
        expect(error).toBeInstanceOf(ValidationError);
        const { issues, message } = error as ValidationError;
        expect(issues.length).toBeGreaterThan(0);
        for (const issue of issues) expect(issue).toMatch(new RegExp(`^(\\(root\\)|${FIELDS.join('|')}): \\S`));
        for (const text of stringsIn(input).filter((s) => s.length >= 8)) expect({ text, quoted: message.includes(text) }).toEqual({ text, quoted: false });
      }),
      { numRuns: 1000 },
    );
  });
});
