import * as fc from 'fast-check';
import { ENVIRONMENTS, PROVIDER_IDS } from '../../../../lambdas/core/contracts';
import { ValidationError } from '../../../../lambdas/core/errors';
import { EVENT_TYPES, SEVERITY_LEVELS } from '../../../../lambdas/core/events';
import { notify, type NotifyDeps } from '../../../../lambdas/core/notify';
import { clearRegisteredSecrets, registerSecret } from '../../../../lambdas/core/redaction';
import { InMemoryAlertDeduper } from '../../../support/fakes/in-memory-alert-deduper';
import { CapturingNotifier } from '../../../support/fakes/in-memory-token-store';
import { captureLogger } from '../../../support/fixtures';

/**
 * Property tests of notify with fakes (capturing notifier, in-memory deduper, capturing logger that
 * does NOT redact, unlike the Lambda logger): notify.test.ts already shows it fails only with a
 * ValidationError for any input; here, a secret registered in this process — as the Lambdas
 * register every key they read — and written by a careless publisher into any string field of a
 * keyrotor event or of a Secrets Manager event never reaches an alert, a log line, the result or
 * the error.
 */

const ALPHANUMERIC = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'];
const secretArbitrary = fc.string({ unit: fc.constantFrom(...ALPHANUMERIC), minLength: 16, maxLength: 40 });
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/acme-prod-AbCdEf';

const textWith = (secret: string) => fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(`key ${secret} failed`, secret, `Bearer ${secret}`, `keyrotor/${secret}`, `testSecret ${secret}`));
const nearly = <T>(good: fc.Arbitrary<T>, secret: string) => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: textWith(secret) });

const keyrotorEvent = (secret: string) =>
  fc.record(
    {
      version: fc.constant('0'),
      id: fc.uuid(),
      source: fc.constant('keyrotor'),
      'detail-type': fc.constantFrom(...EVENT_TYPES),
      time: nearly(fc.constant('2026-11-23T10:00:00Z'), secret),
      resources: fc.constant([]),
      detail: fc.record(
        {
          version: fc.constant('1'),
          secret: nearly(fc.constantFrom('keyrotor/acme-prod', ARN), secret),
          provider: fc.constantFrom(...PROVIDER_IDS),
          environment: fc.constantFrom(...ENVIRONMENTS),
          severity: fc.constantFrom(...SEVERITY_LEVELS),
          summary: textWith(secret).filter((text) => text.length > 0),
          done: textWith(secret),
          action: textWith(secret),
          step: nearly(fc.constantFrom('createSecret', 'testSecret', 'revoke', 'warn-7d'), secret),
          rotation: nearly(fc.uuid(), secret),
          errorName: nearly(fc.constant('ProviderAuthError'), secret),
          fingerprint: nearly(fc.constant('…0001#3f9c2e1d'), secret),
          attempt: fc.integer({ min: 1, max: 3 }),
          expiresAt: fc.constant('2026-12-01T00:00:00.000Z'),
        },
        { requiredKeys: ['version', 'secret', 'provider', 'environment', 'severity', 'summary'] },
      ),
    },
    { requiredKeys: ['source', 'detail-type', 'detail'] },
  );

const secretsManagerEvent = (secret: string) =>
  fc.record({
    version: fc.constant('0'),
    id: nearly(fc.uuid(), secret),
    'detail-type': fc.constant('AWS Service Event via CloudTrail'),
    source: fc.constant('aws.secretsmanager'),
    time: nearly(fc.constant('2026-11-23T10:00:00Z'), secret),
    region: fc.constant('eu-west-1'),
    resources: fc.oneof(fc.constant([]), fc.constant([ARN]), textWith(secret).map((text) => [text])),
    detail: fc.record(
      {
        eventSource: fc.constant('secretsmanager.amazonaws.com'),
        eventName: nearly(fc.constantFrom('RotationFailed', 'RotationAbandoned', 'TestRotationFailed', 'RotationSucceeded'), secret),
        eventTime: nearly(fc.constant('2026-11-23T10:00:00Z'), secret),
        errorMessage: textWith(secret),
        additionalEventData: fc.record({ SecretId: nearly(fc.constant(ARN), secret) }, { requiredKeys: [] }),
        eventID: nearly(fc.uuid(), secret),
        awsRegion: nearly(fc.constant('eu-west-1'), secret),
      },
      { requiredKeys: [] },
    ),
  });

const run = secretArbitrary.chain((secret) => fc.record({ secret: fc.constant(secret), events: fc.array(fc.oneof(keyrotorEvent(secret), secretsManagerEvent(secret)), { minLength: 1, maxLength: 4 }) }));

describe('Function: notify (properties)', () => {
  it('never lets a registered secret from any field of any event reach an alert, a log line, its result or its error', async () => {
    await fc.assert(
      fc.asyncProperty(run, async ({ secret, events }) => {
        // Prepare
        clearRegisteredSecrets();
        registerSecret(secret);
        const notifier = new CapturingNotifier();
        const log = captureLogger();
        const deps: NotifyDeps = { notifier, deduper: new InMemoryAlertDeduper(), logger: log.logger, now: () => new Date('2026-11-23T10:00:00Z') };

        // Act
        const outputs: string[] = [];
        for (const event of events) {
          try {
            outputs.push(JSON.stringify(await notify(event, deps)));
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
            outputs.push(String(error), JSON.stringify(error));
          }
        }

        // Assess
        const everything = [JSON.stringify(notifier.alerts), log.text(), ...outputs].join('\n');
        expect(everything).not.toContain(secret);
      }),
      { numRuns: 500 },
    );
  });
});
