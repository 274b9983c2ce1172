import * as fc from 'fast-check';
import { ENVIRONMENTS, PROVIDER_IDS } from '../../../../lambdas/core/contracts';
import { ValidationError } from '../../../../lambdas/core/errors';
import { buildEvent, EVENT_TYPES, eventDetailSchema, SEVERITY_LEVELS } from '../../../../lambdas/core/events';
import { clearRegisteredSecrets, registerSecret } from '../../../../lambdas/core/redaction';

/**
 * Property tests of buildEvent, which validates every keyrotor event before it is published and
 * after the notifier receives it from the bus: whatever the type and detail, it returns a valid
 * event or throws a ValidationError naming each wrong field, and a secret registered in this
 * process never survives into the event or the error, whichever string field carried it.
 */

const DETAIL_FIELDS = Object.keys(eventDetailSchema.shape);
const ALPHANUMERIC = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const secretArbitrary = fc.string({ unit: fc.constantFrom(...ALPHANUMERIC), minLength: 16, maxLength: 40 });

/** Free text that may carry the secret, as a careless publisher might write it. */
const textWith = (secret: string) => fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom(`key ${secret} failed`, secret, `Bearer ${secret}`, `${secret}${secret}`));
const nearly = <T>(good: fc.Arbitrary<T>, secret: string) => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: textWith(secret) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });

const detailWith = (secret: string) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record(
        {
          version: nearly(fc.constant('1'), secret),
          secret: nearly(fc.constant('keyrotor/acme-prod'), secret),
          provider: nearly(fc.constantFrom(...PROVIDER_IDS), secret),
          environment: nearly(fc.constantFrom(...ENVIRONMENTS), secret),
          fingerprint: nearly(fc.constant('…0001#3f9c2e1d'), secret),
          step: nearly(fc.constantFrom('createSecret', 'revoke', 'refresh'), secret),
          rotation: nearly(fc.uuid(), secret),
          attempt: nearly(fc.integer({ min: 1, max: 5 }), secret),
          severity: nearly(fc.constantFrom(...SEVERITY_LEVELS), secret),
          summary: nearly(fc.constant('the rotation failed'), secret),
          done: textWith(secret),
          action: textWith(secret),
          errorName: nearly(fc.constant('ProviderAuthError'), secret),
          expiresAt: nearly(fc.constant('2026-12-01T00:00:00.000Z'), secret),
          extra: textWith(secret),
        },
        { requiredKeys: ['version', 'secret', 'provider', 'environment', 'severity', 'summary'] },
      ),
    },
    { weight: 1, arbitrary: fc.anything() },
  );

const run = secretArbitrary.chain((secret) =>
  fc.record({
    secret: fc.constant(secret),
    type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...EVENT_TYPES) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }),
    detail: detailWith(secret),
  }),
);

describe('Function: buildEvent (properties)', () => {
  beforeEach(() => {
    clearRegisteredSecrets();
  });

  it('returns a valid event or a ValidationError naming each wrong field, and a registered secret reaches neither', () => {
    fc.assert(
      fc.property(run, ({ secret, type, detail }) => {
        // Prepare
        clearRegisteredSecrets();
        registerSecret(secret);

        // Act
        let error: unknown;
        try {
          const event = buildEvent(type, detail);

          // Assess
          expect(EVENT_TYPES).toContain(event.type);
          expect(eventDetailSchema.safeParse(event.detail).success).toBe(true);
          expect(JSON.stringify(event)).not.toContain(secret);
          return;
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(ValidationError);
        const { issues, message } = error as ValidationError;
        expect(issues.length).toBeGreaterThan(0);
        for (const issue of issues) {
          const [path = ''] = issue.split(': ');
          const named = ['detail-type', '(root)'].includes(path) || DETAIL_FIELDS.includes(path.split('.')[0] ?? '') || (typeof detail === 'object' && detail !== null && Object.hasOwn(detail, path.split('.')[0] ?? ''));
          expect({ issue, named }).toEqual({ issue, named: true });
        }
        expect(message).not.toContain(secret);
      }),
      { numRuns: 1000 },
    );
  });

  // buildEvent quotes an unknown detail-type in its error: redacted, like every other outside text.
  it('keeps a registered secret out of the error even when it is the detail-type', () => {
    fc.assert(
      fc.property(secretArbitrary, (secret) => {
        // Prepare
        clearRegisteredSecrets();
        registerSecret(secret);

        // Act
        let message = '';
        try {
          buildEvent(`Key ${secret}`, {});
        } catch (error) {
          message = (error as Error).message;
        }

        // Assess
        expect(message).not.toBe('');
        expect(message).not.toContain(secret);
      }),
    );
  });
});
