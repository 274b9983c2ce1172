import * as fc from 'fast-check';
import { nearly as nearlyValid, stringsIn } from '../../../support/properties';
import { ROTATION_STEPS } from '../../../../lambdas/core/contracts';
import { ValidationError } from '../../../../lambdas/core/errors';
import { parseRotationEvent } from '../../../../lambdas/handlers/rotate';

/**
 * Property tests of the rotation event parser: Secrets Manager's `{SecretId, ClientRequestToken,
 * Step}` (plus fields it may add, such as RotationToken), or anything else that reaches the function.
 */

const FIELDS = ['SecretId', 'ClientRequestToken', 'Step'] as const;
/** Text messages may name on purpose: the steps the schema allows. */
const VOCABULARY = new Set<string>(ROTATION_STEPS);

const nearly = <T>(good: fc.Arbitrary<T>) => nearlyValid(good, ['', null, 0, 'create_secret', 'CREATESECRET']);
const event = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        SecretId: nearly(fc.string({ minLength: 1, maxLength: 120 })),
        ClientRequestToken: nearly(fc.uuid()),
        Step: nearly(fc.constantFrom(...ROTATION_STEPS)),
        RotationToken: fc.jsonValue({ maxDepth: 1 }),
        extra: fc.jsonValue({ maxDepth: 1 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);

describe('Function: parseRotationEvent (properties)', () => {
  it('returns exactly the three fields of a well-formed event, or a ValidationError naming each wrong field without quoting the event', () => {
    fc.assert(
      fc.property(event, (input) => {
        // Act
        let result: unknown;
        let error: unknown;
        try {
          result = parseRotationEvent(input);
        } catch (caught) {
          error = caught;
        }

        // Assess
        if (error === undefined) {
          const record = input as Record<string, unknown>;
          expect(result).toEqual({ SecretId: record.SecretId, ClientRequestToken: record.ClientRequestToken, Step: record.Step });
          expect(ROTATION_STEPS).toContain(record.Step);
          return;
        }
        expect(error).toBeInstanceOf(ValidationError);
        const { issues, message } = error as ValidationError;
        expect(issues.length).toBeGreaterThan(0);
        for (const issue of issues) expect(issue).toMatch(new RegExp(`^(\\(root\\)|${FIELDS.join('|')}): \\S`));
        for (const text of stringsIn(input).filter((s) => s.length >= 8 && !VOCABULARY.has(s))) {
          expect({ text, quoted: message.includes(text) }).toEqual({ text, quoted: false });
        }
      }),
      { numRuns: 1000 },
    );
  });
});
