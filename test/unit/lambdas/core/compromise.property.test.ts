import * as fc from 'fast-check';
import { nearly as nearlyValid, stringsIn } from '../../../support/properties';
import { parseCompromiseEvent } from '../../../../lambdas/core/compromise';
import { ValidationError } from '../../../../lambdas/core/errors';

/**
 * Property tests of the KeyCompromised report parser: an EventBridge event a person or a security
 * tool put on keyrotor's bus, or anything else that reaches the compromise responder.
 */

const DETAIL_FIELDS = ['secret', 'reason', 'revokeNow', 'reportedBy', 'fingerprint'] as const;
/** Text messages may name on purpose: the detail-type the schema demands. */
const VOCABULARY = new Set(['KeyCompromised']);

const nearly = <T>(good: fc.Arbitrary<T>) => nearlyValid(good, ['', null, 0, 'x'.repeat(3000)]);
const detail = fc.record(
  {
    secret: nearly(fc.oneof(fc.constant('keyrotor/acme-prod'), fc.string({ minLength: 1, maxLength: 60 }))),
    reason: nearly(fc.string({ maxLength: 200 })),
    revokeNow: nearly(fc.boolean()),
    reportedBy: nearly(fc.string({ minLength: 1, maxLength: 40 })),
    fingerprint: nearly(fc.string({ minLength: 1, maxLength: 64 })),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);
const event = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        version: fc.constant('0'),
        source: nearly(fc.constantFrom('security-hub-bridge', 'keyrotor.cli', 'aws.guardduty')),
        'detail-type': nearly(fc.constant('KeyCompromised')),
        detail: fc.oneof({ weight: 4, arbitrary: detail }, { weight: 1, arbitrary: fc.anything() }),
        time: fc.string(),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.anything() },
);

describe('Function: parseCompromiseEvent (properties)', () => {
  it('returns the report a well-formed event holds, or a ValidationError naming each wrong field without quoting the event', () => {
    fc.assert(
      fc.property(event, (input) => {
        // Act
        let result: unknown;
        let error: unknown;
        try {
          result = parseCompromiseEvent(input);
        } catch (caught) {
          error = caught;
        }

        // Assess
        if (error === undefined) {
          const { source, detail: given } = input as { source: string; detail: Record<string, unknown> };
          expect(result).toEqual({
            secretId: given.secret,
            reportedBy: given.reportedBy ?? source,
            ...Object.fromEntries((['reason', 'revokeNow', 'fingerprint'] as const).filter((field) => given[field] !== undefined).map((field) => [field, given[field]])),
          });
          return;
        }
        expect(error).toBeInstanceOf(ValidationError);
        const { issues, message } = error as ValidationError;
        expect(issues.length).toBeGreaterThan(0);
        for (const issue of issues) expect(issue).toMatch(new RegExp(`^(\\(root\\)|source|detail-type|detail|detail\\.(${DETAIL_FIELDS.join('|')})): \\S`));
        for (const text of stringsIn(input).filter((s) => s.length >= 8 && !VOCABULARY.has(s))) {
          expect({ text, quoted: message.includes(text) }).toEqual({ text, quoted: false });
        }
      }),
      { numRuns: 1000 },
    );
  });
});
