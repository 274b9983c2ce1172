import * as fc from 'fast-check';
import { ValidationError } from '../../../../lambdas/core/errors';
import { DEFAULT_SEVERITY, EVENT_TYPES, type EventDetail, type EventType } from '../../../../lambdas/core/events';
import { notify, type NotifyDeps } from '../../../../lambdas/core/notify';
import { clearRegisteredSecrets, registerSecret } from '../../../../lambdas/core/redaction';
import type { Alert, Notifier } from '../../../../lambdas/ports/notifier';
import { InMemoryAlertDeduper } from '../../../support/fakes/in-memory-alert-deduper';
import { CapturingNotifier } from '../../../support/fakes/in-memory-token-store';
import { captureLogger, TI_LIVE_NEW, TI_LIVE_OLD } from '../../../support/fixtures';

const SECRET = 'keyrotor/acme-prod';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/acme-prod-AbCdEf';
const TIME = '2026-11-23T10:00:00Z';

/** One of keyrotor's events as EventBridge delivers it to the notifier. */
function keyrotorEnvelope(type: EventType, overrides: Partial<EventDetail> = {}, time = TIME): Record<string, unknown> {
  return {
    version: '0',
    id: 'evt-1',
    'detail-type': type,
    source: 'keyrotor',
    account: '123456789012',
    time,
    region: 'eu-west-1',
    resources: [],
    detail: {
      version: '1',
      secret: SECRET,
      provider: 'thought-industries',
      environment: 'production',
      severity: DEFAULT_SEVERITY[type],
      summary: `summary of ${type}`,
      ...overrides,
    },
  };
}

/** A Secrets Manager service event (source aws.secretsmanager) as EventBridge delivers it. */
function secretsManagerEnvelope(eventName: string, time = TIME, errorMessage = 'Error when executing lambda arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-rotate during createSecret step'): Record<string, unknown> {
  return {
    version: '0',
    id: 'evt-sm',
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.secretsmanager',
    time,
    region: 'eu-west-1',
    resources: [],
    detail: { eventSource: 'secretsmanager.amazonaws.com', eventName, eventTime: time, errorMessage, additionalEventData: { SecretId: ARN }, eventType: 'AwsServiceEvent' },
  };
}

describe('Function: notify', () => {
  let notifier: CapturingNotifier;
  let deduper: InMemoryAlertDeduper;
  let log: ReturnType<typeof captureLogger>;
  let deps: NotifyDeps;

  beforeEach(() => {
    clearRegisteredSecrets();
    notifier = new CapturingNotifier();
    deduper = new InMemoryAlertDeduper();
    log = captureLogger();
    deps = { notifier, deduper, logger: log.logger, now: () => new Date(TIME) };
  });

  describe('keyrotor events', () => {
    it('publishes the alert of an event that needs one', async () => {
      // Act
      const result = await notify(keyrotorEnvelope('KeyCompromised', { fingerprint: '…0001#3f9c2e1d' }), deps);
      // Assess
      expect(result).toEqual({ outcome: 'published', source: 'keyrotor', type: 'KeyCompromised', secret: SECRET, severity: 'CRITICAL' });
      expect(notifier.alerts).toHaveLength(1);
      expect(notifier.alerts[0]?.subject).toBe('[CRITICAL] keyrotor: key compromised - keyrotor/acme-prod');
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'info', message: 'alert sent' }));
    });

    it.each(['RotationStarted', 'RotationSucceeded', 'TokenRefreshed'] as const)('publishes nothing for %s at INFO', async (type) => {
      // Act
      const result = await notify(keyrotorEnvelope(type), deps);
      // Assess
      expect(result.outcome).toBe('no-alert');
      expect(notifier.alerts).toEqual([]);
      expect(deduper.claims.size).toBe(0);
    });

    it('renders the runbook URL from alertOptions', async () => {
      await notify(keyrotorEnvelope('RotationFailed', { rotation: 'tok-1', step: 'createSecret' }), { ...deps, alertOptions: { runbookBaseUrl: 'https://runbooks.example.com' } });
      expect(notifier.alerts[0]?.body).toContain('https://runbooks.example.com/docs/runbooks/rotation-failed.md');
    });
  });

  describe('one alert per failure, not one per retry', () => {
    it('alerts once for the retries of a failed step, again for a new error, an escalation or another rotation', async () => {
      // Prepare
      const failure = { rotation: 'tok-1', step: 'createSecret', errorName: 'ProviderUnavailableError' };
      // Act: Secrets Manager retries the step; EventBridge may deliver an event twice
      const outcomes = [];
      for (const attempt of [1, 2, 3, 3]) outcomes.push((await notify(keyrotorEnvelope('RotationFailed', { ...failure, attempt }), deps)).outcome);
      outcomes.push((await notify(keyrotorEnvelope('RotationFailed', { ...failure, errorName: 'ProviderAuthError', attempt: 4 }), deps)).outcome);
      outcomes.push((await notify(keyrotorEnvelope('RotationFailed', { ...failure, errorName: 'ProviderAuthError', attempt: 5, severity: 'CRITICAL' }), deps)).outcome);
      outcomes.push((await notify(keyrotorEnvelope('RotationFailed', { ...failure, rotation: 'tok-2', attempt: 1 }), deps)).outcome);
      // Assess
      expect(outcomes).toEqual(['published', 'duplicate', 'duplicate', 'duplicate', 'published', 'published', 'published']);
      expect(notifier.alerts.map((alert) => alert.severity)).toEqual(['WARNING', 'WARNING', 'CRITICAL', 'WARNING']);
    });

    it('asks for a new key once per rotation, and separately for the removal of the old key', async () => {
      // Act
      for (let attempt = 1; attempt <= 3; attempt += 1) await notify(keyrotorEnvelope('ManualActionRequired', { rotation: 'tok-1', step: 'createSecret', attempt }), deps);
      await notify(keyrotorEnvelope('ManualActionRequired', { rotation: 'tok-1', step: 'finishSecret', fingerprint: '…0001#3f9c2e1d' }), deps);
      // Assess
      expect(notifier.alerts.map((alert) => alert.subject)).toEqual([
        '[WARNING] keyrotor: action required: create a new key - keyrotor/acme-prod',
        '[WARNING] keyrotor: action required: remove the old key - keyrotor/acme-prod',
      ]);
    });

    it('alerts once per failing token renewal (identified by the token it could not renew)', async () => {
      // Act: the refresher runs every five minutes
      for (const time of ['2026-11-23T10:00:00Z', '2026-11-23T10:05:00Z', '2026-11-24T10:10:00Z']) {
        await notify(keyrotorEnvelope('TokenRefreshFailed', { step: 'refresh', errorName: 'ProviderUnavailableError', expiresAt: '2026-11-24T11:00:00.000Z' }, time), deps);
      }
      await notify(keyrotorEnvelope('TokenRefreshFailed', { step: 'refresh', errorName: 'ProviderUnavailableError', expiresAt: '2026-11-25T11:00:00.000Z' }), deps);
      // Assess
      expect(notifier.alerts).toHaveLength(2);
    });

    it('keeps alerting for compromises and external revocations (never deduplicated)', async () => {
      await notify(keyrotorEnvelope('KeyCompromised'), deps);
      await notify(keyrotorEnvelope('KeyCompromised'), deps);
      await notify(keyrotorEnvelope('KeyRevokedExternally'), deps);
      expect(notifier.alerts).toHaveLength(3);
    });

    it('does not repeat a failure keyrotor explained when Secrets Manager reports it too', async () => {
      // Act: keyrotor's rotation Lambda reports the cause; Secrets Manager then reports the step failed (by ARN), retries included
      await notify(keyrotorEnvelope('RotationFailed', { rotation: 'tok-1', step: 'createSecret', errorName: 'ProviderAuthError' }), deps);
      const echo = await notify(secretsManagerEnvelope('RotationFailed'), deps);
      const retry = await notify(secretsManagerEnvelope('RotationFailed', '2026-11-23T12:00:00Z'), deps);
      // Assess
      expect([echo.outcome, retry.outcome]).toEqual(['duplicate', 'duplicate']);
      expect(notifier.alerts).toHaveLength(1);
    });

    it('alerts once for Secrets Manager failures keyrotor did not report, per secret, step and day', async () => {
      // Act
      const outcomes = [];
      for (const time of ['2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z', '2026-11-24T10:00:00Z']) outcomes.push((await notify(secretsManagerEnvelope('RotationFailed', time), deps)).outcome);
      outcomes.push((await notify(secretsManagerEnvelope('RotationFailed', TIME, 'Error when executing lambda during testSecret step'), deps)).outcome);
      outcomes.push((await notify(secretsManagerEnvelope('RotationAbandoned'), deps)).outcome);
      // Assess
      expect(outcomes).toEqual(['published', 'duplicate', 'published', 'published', 'published']);
      expect(notifier.alerts[0]?.subject).toBe('[WARNING] keyrotor: Secrets Manager rotation failed at createSecret - keyrotor/acme-prod');
    });

    it('alerts on Secrets Manager\'s TestRotationFailed (a rotation configuration that will fail), once per secret, step and day', async () => {
      // Act: the test runs testSecret only; it is its own failure, not an echo of a RotationFailed
      const failure = 'Error when executing lambda arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-rotate during testSecret step';
      const outcomes = [];
      outcomes.push((await notify(secretsManagerEnvelope('RotationFailed', TIME, failure), deps)).outcome);
      for (const time of [TIME, '2026-11-23T11:00:00Z', '2026-11-24T10:00:00Z']) outcomes.push((await notify(secretsManagerEnvelope('TestRotationFailed', time, failure), deps)).outcome);
      // Assess
      expect(outcomes).toEqual(['published', 'published', 'duplicate', 'published']);
      expect(notifier.alerts[1]?.subject).toBe('[WARNING] keyrotor: Secrets Manager rotation failed at testSecret - keyrotor/acme-prod');
      expect(notifier.alerts[1]?.body).toContain('TestRotationFailed from Secrets Manager');
    });

    it('releases the claim when publishing fails, so the retried delivery alerts', async () => {
      // Prepare
      const failing: Notifier = {
        notify: jest.fn<Promise<void>, [Alert]>().mockRejectedValueOnce(Object.assign(new Error('throttled'), { name: 'ThrottledException' })),
      };
      const event = keyrotorEnvelope('RotationFailed', { rotation: 'tok-1', step: 'testSecret', errorName: 'ProviderAuthError' });
      // Act
      await expect(notify(event, { ...deps, notifier: failing })).rejects.toThrow('throttled');
      const retry = await notify(event, deps);
      // Assess
      expect(retry.outcome).toBe('published');
      expect(notifier.alerts).toHaveLength(1);
    });

    it('still alerts when the deduper is unavailable (a duplicate beats a lost alert)', async () => {
      // Prepare
      deduper.failWith = Object.assign(new Error('table gone'), { name: 'ResourceNotFoundException' });
      // Act
      const result = await notify(keyrotorEnvelope('RotationFailed', { rotation: 'tok-1', step: 'createSecret' }), deps);
      // Assess
      expect(result.outcome).toBe('published');
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', attributes: expect.objectContaining({ errorName: 'ResourceNotFoundException' }) }));
    });
  });

  describe('Secrets Manager events', () => {
    it.each(['RotationStarted', 'RotationSucceeded'])('publishes nothing for the routine %s', async (name) => {
      expect((await notify(secretsManagerEnvelope(name), deps)).outcome).toBe('no-alert');
      expect(notifier.alerts).toEqual([]);
    });

    it('ignores rotation failures of secrets keyrotor does not manage (the rule sees the whole account)', async () => {
      const foreign = secretsManagerEnvelope('RotationFailed');
      (foreign.detail as { additionalEventData: { SecretId: string } }).additionalEventData.SecretId = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds/prod-db-XyZ123';
      expect((await notify(foreign, deps)).outcome).toBe('no-alert');
      expect(notifier.alerts).toEqual([]);
    });

    it('alerts generically for a Secrets Manager event of unknown shape', async () => {
      const result = await notify({ source: 'aws.secretsmanager', 'detail-type': 'Something New', detail: 'surprise' }, deps);
      expect(result).toMatchObject({ outcome: 'published', type: 'unknown' });
      expect(notifier.alerts[0]?.subject).toBe('[WARNING] keyrotor: unrecognised Secrets Manager event - (not named in the event)');
    });
  });

  describe('malformed events', () => {
    it.each([
      ['not an object', 'hello'],
      ['null', null],
      ['no source', { 'detail-type': 'RotationFailed', detail: {} }],
      ['another source', { source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: {} }],
      ['an unknown keyrotor type', { ...keyrotorEnvelope('RotationFailed'), 'detail-type': 'RotationExploded' }],
      ['a keyrotor detail that breaks the contract', keyrotorEnvelope('RotationFailed', { provider: 'moodle' as never })],
      ['a keyrotor detail that is not an object', { source: 'keyrotor', 'detail-type': 'RotationFailed', detail: 'x' }],
    ])('rejects %s with a ValidationError and publishes nothing', async (_name, event) => {
      await expect(notify(event, deps)).rejects.toBeInstanceOf(ValidationError);
      expect(notifier.alerts).toEqual([]);
    });

    it('names the wrong fields', async () => {
      await expect(notify({ source: 'aws.ec2', 'detail-type': 'x' }, deps)).rejects.toThrow(/source: must be "keyrotor" or "aws.secretsmanager"/);
      await expect(notify(keyrotorEnvelope('RotationFailed', { environment: 'staging' as never }), deps)).rejects.toThrow(/environment/);
    });
  });

  describe('no secret values', () => {
    it('never puts a key into an alert or a log line, whatever the publisher wrote', async () => {
      // Prepare: fake keys, registered as the Lambdas do when they read a secret
      const keys = [TI_LIVE_OLD, TI_LIVE_NEW, 'imburse-private-key-0123456789', 'thinkific-token-abcdef0123456789'];
      registerSecret(...keys);
      // Act
      for (const type of EVENT_TYPES) {
        await notify(
          keyrotorEnvelope(type, {
            severity: 'CRITICAL',
            rotation: `tok-${type}`,
            summary: `${type}: ${keys.join(' ')}`,
            done: `done with ${keys[2]}`,
            action: `paste ${keys[3]} and Bearer ${keys[0]}`,
          }),
          deps,
        );
      }
      await notify({ ...secretsManagerEnvelope('RotationFailed'), detail: { eventName: 'RotationFailed', errorMessage: `leaked ${keys[1]}`, additionalEventData: { SecretId: ARN } } }, deps);
      // Assess
      expect(notifier.alerts).toHaveLength(EVENT_TYPES.length + 1);
      const everything = JSON.stringify(notifier.alerts) + log.text();
      for (const key of keys) expect(everything).not.toContain(key);
    });
  });

  describe('fuzzing', () => {
    const keyrotorLike = fc.record(
      {
        source: fc.constantFrom('keyrotor', 'aws.secretsmanager', 'other'),
        'detail-type': fc.oneof(fc.constantFrom(...EVENT_TYPES), fc.string()),
        time: fc.oneof(fc.string(), fc.date({ noInvalidDate: false }).map((date) => (Number.isNaN(date.getTime()) ? 'not-a-date' : date.toISOString()))),
        detail: fc.oneof(
          fc.anything(),
          fc.record(
            {
              version: fc.constantFrom('1', '2'),
              secret: fc.string(),
              provider: fc.constantFrom('thought-industries', 'thrive', 'thinkific', 'boss-insights', 'imburse', 'x'),
              environment: fc.constantFrom('production', 'sandbox', 'x'),
              severity: fc.constantFrom('INFO', 'WARNING', 'CRITICAL', 'x'),
              summary: fc.string(),
              step: fc.string(),
              rotation: fc.string(),
              attempt: fc.integer(),
              errorName: fc.string(),
              expiresAt: fc.oneof(fc.string(), fc.constant('2026-11-23T10:00:00.000Z')),
              fingerprint: fc.string(),
              eventName: fc.constantFrom('RotationFailed', 'RotationAbandoned', 'TestRotationFailed', 'RotationSucceeded'),
              errorMessage: fc.string(),
              additionalEventData: fc.oneof(fc.anything(), fc.record({ SecretId: fc.string() })),
            },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    );

    it('never fails with anything but a ValidationError (property)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.anything(), keyrotorLike), async (event) => {
          const fresh: NotifyDeps = { notifier: new CapturingNotifier(), deduper: new InMemoryAlertDeduper(), logger: captureLogger().logger };
          try {
            const result = await notify(event, fresh);
            expect(['published', 'duplicate', 'no-alert']).toContain(result.outcome);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        }),
        { numRuns: 500 },
      );
    });
  });
});
