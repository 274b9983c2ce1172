import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { snsSubject } from '../../../../lambdas/adapters/sns-notifier';
import {
  ADMIN_PATHS,
  alertFor,
  alertForSecretsManagerEvent,
  alertSubject,
  MAX_SUBJECT_LENGTH,
  parseSecretsManagerEvent,
  platformName,
  runbookPath,
  runbookUrl,
  RUNBOOKS,
  secretNameOf,
} from '../../../../lambdas/core/alert-messages';
import { PROVIDER_IDS, type ProviderId } from '../../../../lambdas/core/contracts';
import { buildEvent, DEFAULT_SEVERITY, EVENT_TYPES, type EventDetail, type EventType, type KeyrotorEvent } from '../../../../lambdas/core/events';
import { clearRegisteredSecrets, registerSecret } from '../../../../lambdas/core/redaction';
import { createProviderRegistry } from '../../../../lambdas/providers/registry';
import { TI_LIVE_NEW, TI_LIVE_OLD } from '../../../support/fixtures';

const SECRET = 'keyrotor/acme-prod';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/acme-prod-AbCdEf';
const FINGERPRINT = '…0001#3f9c2e1d';

function event(type: EventType, overrides: Partial<EventDetail> = {}): KeyrotorEvent {
  return buildEvent(type, {
    version: '1',
    secret: SECRET,
    provider: 'thought-industries',
    environment: 'production',
    severity: DEFAULT_SEVERITY[type],
    summary: `summary of ${type}`,
    ...overrides,
  });
}

/** Every subject must pass SNS unchanged: printable ASCII, one line, at most 100 characters. */
function expectSnsSafe(subject: string): void {
  expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
  expect(subject).toMatch(/^[\x20-\x7e]+$/);
  expect(snsSubject(subject)).toBe(subject);
}

describe('Function: alertFor', () => {
  beforeEach(() => clearRegisteredSecrets());

  describe('which events alert', () => {
    it.each(['RotationStarted', 'RotationSucceeded', 'TokenRefreshed'] as const)('returns undefined for %s at INFO', (type) => {
      // Act / Assess
      expect(alertFor(event(type, { severity: 'INFO' }))).toBeUndefined();
    });

    it.each(['RotationStarted', 'RotationSucceeded', 'TokenRefreshed'] as const)('alerts for %s above INFO', (type) => {
      // Act
      const alert = alertFor(event(type, { severity: 'WARNING' }));
      // Assess
      expect(alert?.severity).toBe('WARNING');
      expect(alert?.subject).toMatch(/^\[WARNING\] keyrotor: /);
    });

    it('alerts for every other event type, at its default severity', () => {
      const alerting = EVENT_TYPES.filter((type) => !['RotationStarted', 'RotationSucceeded', 'TokenRefreshed'].includes(type));
      expect(alerting).toHaveLength(7);
      for (const type of alerting) {
        const alert = alertFor(event(type));
        expect(alert).toBeDefined();
        expect(alert?.severity).toBe(DEFAULT_SEVERITY[type]);
      }
    });
  });

  describe('subject and body of each event type', () => {
    const cases: [EventType, Partial<EventDetail>, string, RegExp[]][] = [
      [
        'RotationStarted',
        { severity: 'WARNING', rotation: 'tok-1', step: 'createSecret' },
        '[WARNING] keyrotor: rotation started - keyrotor/acme-prod',
        [/Started a rotation/, /npx keyrotor history keyrotor\/acme-prod/],
      ],
      [
        'RotationSucceeded',
        { severity: 'WARNING', rotation: 'tok-1', fingerprint: FINGERPRINT },
        '[WARNING] keyrotor: rotation succeeded - keyrotor/acme-prod',
        [/promoted it to AWSCURRENT/, /Fingerprint: {2}…0001#3f9c2e1d/],
      ],
      [
        'RotationFailed',
        { rotation: 'tok-1', step: 'createSecret', attempt: 3, errorName: 'ProviderUnavailableError' },
        '[WARNING] keyrotor: rotation failed at createSecret - keyrotor/acme-prod',
        [
          /never moves AWSCURRENT/,
          /rotation Lambda's logs \(search for keyrotor\/acme-prod and ProviderUnavailableError\)/,
          /npx keyrotor verify keyrotor\/acme-prod/,
          /aws secretsmanager rotate-secret --secret-id keyrotor\/acme-prod/,
          /npx keyrotor submit keyrotor\/acme-prod/,
          /Rotation: {5}tok-1/,
          /Step: {9}createSecret/,
          /Attempt: {6}3/,
          /Error: {8}ProviderUnavailableError/,
          /docs\/runbooks\/rotation-failed\.md/,
        ],
      ],
      [
        'ManualActionRequired',
        { rotation: 'tok-1', step: 'createSecret' },
        '[WARNING] keyrotor: action required: create a new key - keyrotor/acme-prod',
        [/Paused the rotation/, /Settings → Security\/API Keys/, /npx keyrotor submit keyrotor\/acme-prod {3}\(paste/, /docs\/runbooks\/manual-action-required\.md/],
      ],
      [
        'KeyExpiringSoon',
        { expiresAt: '2026-12-01T00:00:00.000Z', fingerprint: FINGERPRINT },
        '[WARNING] keyrotor: key expires 2026-12-01 - keyrotor/acme-prod',
        [/Rotate before 2026-12-01T00:00:00.000Z/, /Expires at: {3}2026-12-01T00:00:00.000Z/, /docs\/runbooks\/manual-action-required\.md/],
      ],
      [
        'KeyRevoked',
        { rotation: 'tok-1', fingerprint: FINGERPRINT, step: 'revoke' },
        '[INFO] keyrotor: old key revoked - keyrotor/acme-prod',
        [/Revoked the old key after its grace period/, /Nothing\. Confirm in the ledger: npx keyrotor history keyrotor\/acme-prod/],
      ],
      [
        'KeyRevokedExternally',
        { fingerprint: FINGERPRINT },
        '[CRITICAL] keyrotor: key revoked outside keyrotor - keyrotor/acme-prod',
        [/HTTP 401/, /failing now/, /Settings → Security\/API Keys/, /docs\/runbooks\/key-revoked-externally\.md/],
      ],
      [
        'KeyCompromised',
        { fingerprint: FINGERPRINT },
        '[CRITICAL] keyrotor: key compromised - keyrotor/acme-prod',
        [/assume none happened/, /Revoke the key …0001#3f9c2e1d at once/, /Remove the API key …0001#3f9c2e1d/, /docs\/runbooks\/key-compromised\.md/],
      ],
      [
        'TokenRefreshed',
        { severity: 'WARNING', expiresAt: '2026-11-23T11:00:00.000Z' },
        '[WARNING] keyrotor: token renewed - keyrotor/acme-prod',
        [/Renewed the access token/, /docs\/runbooks\/token-refresh-failing\.md/],
      ],
      [
        'TokenRefreshFailed',
        { expiresAt: '2026-11-23T11:00:00.000Z', errorName: 'ProviderAuthError', step: 'refresh' },
        '[WARNING] keyrotor: token renewal failing - keyrotor/acme-prod',
        [/never overwrites it/, /valid until 2026-11-23T11:00:00.000Z/, /docs\/runbooks\/token-refresh-failing\.md/],
      ],
    ];

    it.each(cases)('renders %s', (type, overrides, subject, bodyPatterns) => {
      // Act
      const alert = alertFor(event(type, overrides));
      // Assess
      expect(alert?.subject).toBe(subject);
      expectSnsSafe(alert!.subject);
      const body = alert!.body;
      expect(body.startsWith(`${alert!.severity}: `)).toBe(true);
      for (const section of ['What happened', 'What keyrotor already did', 'What you must do next', 'Details']) expect(body).toContain(`\n${section}\n`);
      expect(body).toContain(`  summary of ${type}`);
      expect(body).toMatch(/Secret: {7}keyrotor\/acme-prod/);
      expect(body).toMatch(/Provider: {5}Thought Industries \(thought-industries\)/);
      expect(body).toMatch(/Environment: {2}production/);
      for (const pattern of bodyPatterns) expect(body).toMatch(pattern);
    });

    it('has no runbook section for an event that needs no action (KeyRevoked)', () => {
      expect(alertFor(event('KeyRevoked'))?.body).not.toContain('Runbook');
    });

    it('uses what the publisher says was done and must be done, verbatim', () => {
      // Act
      const alert = alertFor(event('RotationFailed', { done: 'Revoked the orphaned key.', action: 'Run the thing.' }));
      // Assess
      expect(alert?.body).toContain('What keyrotor already did\n  Revoked the orphaned key.\n');
      expect(alert?.body).toContain('What you must do next\n  Run the thing.\n');
      expect(alert?.body).not.toContain('rotation Lambda\'s logs');
    });

    it('asks to remove the old key when a finished rotation leaves it to a person', () => {
      // Act
      const alert = alertFor(event('ManualActionRequired', { step: 'finishSecret', fingerprint: FINGERPRINT, provider: 'thinkific' }));
      // Assess
      expect(alert?.subject).toBe('[WARNING] keyrotor: action required: remove the old key - keyrotor/acme-prod');
      expect(alert?.body).toContain('Click Remove next to the token …0001#3f9c2e1d');
      expect(alert?.body).toContain('Settings → Code & analytics → API Access Tokens');
    });
  });

  describe('per-platform instructions', () => {
    const expectations: Record<ProviderId, RegExp[]> = {
      'thought-industries': [/Settings → Security\/API Keys/, /npx keyrotor submit keyrotor\/acme-prod /],
      thinkific: [/Settings → Code & analytics → API Access Tokens/, /npx keyrotor submit keyrotor\/acme-prod --expires-at YYYY-MM-DD/],
      thrive: [/user\?AuthorityToken/, /npx keyrotor submit keyrotor\/acme-prod --admin-token --correlation-id <Correlation-Id>/],
      'boss-insights': [/aws secretsmanager rotate-secret --secret-id keyrotor\/acme-prod/, /Administration Portal open API → API Keys/, /"providerKeyId"/],
      imburse: [/aws secretsmanager rotate-secret --secret-id keyrotor\/acme-prod/, /Imburse portal → the tenant → API Keys/, /"privateKey"/],
    };

    it.each(PROVIDER_IDS)('tells a person where %s keys are made and how to hand one over', (provider) => {
      // Act
      const alert = alertFor(event('ManualActionRequired', { provider, step: 'createSecret' }));
      // Assess
      expect(alert?.body).toContain(`Provider:     ${platformName(provider)} (${provider})`);
      for (const pattern of expectations[provider]) expect(alert?.body).toMatch(pattern);
    });

    it('tells a person that keyrotor revokes a compromised Imburse key later anyway, and to do it now', () => {
      const alert = alertFor(event('KeyCompromised', { provider: 'imburse', fingerprint: FINGERPRINT }));
      expect(alert?.body).toContain('In the Imburse portal → the tenant → API Keys delete the key …0001#3f9c2e1d.');
      expect(alert?.body).toContain('keyrotor also revokes it by API when the grace period ends');
      expect(alertFor(event('KeyCompromised', { fingerprint: FINGERPRINT }))?.body).not.toContain('keyrotor also revokes it');
    });

    it('names the same admin-panel paths and platform names as the providers themselves', () => {
      const registry = createProviderRegistry();
      for (const id of PROVIDER_IDS) {
        const provider = registry.get(id);
        const issue = provider.manual.issue({ secretName: SECRET, baseUrl: 'https://example.com', environment: 'production', keyName: 'k' });
        expect(issue).toContain(ADMIN_PATHS[id]);
        expect(platformName(id)).toBe(provider.displayName);
      }
    });
  });

  describe('runbook link', () => {
    it('adds the URL under runbookBaseUrl beside the repo-relative path', () => {
      // Act
      const alert = alertFor(event('KeyCompromised'), { runbookBaseUrl: 'https://github.com/acme/keyrotor/blob/main/' });
      // Assess
      expect(alert?.body).toContain('Runbook\n  docs/runbooks/key-compromised.md\n  https://github.com/acme/keyrotor/blob/main/docs/runbooks/key-compromised.md\n');
    });

    it.each(Object.values(RUNBOOKS))('links to a runbook that exists: %s', (name) => {
      const file = join(__dirname, '..', '..', '..', '..', runbookPath(name));
      expect(existsSync(file)).toBe(true);
      const text = readFileSync(file, 'utf8');
      for (const heading of ['## When you get this alert', '## What keyrotor already did', '## What to do', '## How to confirm it is fixed', '## Escalation']) expect(text).toContain(heading);
    });

    it('shows only the repo-relative path without a base URL', () => {
      expect(alertFor(event('KeyCompromised'))?.body).toContain('Runbook\n  docs/runbooks/key-compromised.md\n\n');
      expect(runbookUrl('rotation-failed', undefined)).toBeUndefined();
    });
  });

  describe('subject limits', () => {
    it('names the secret by name when the event carries its ARN', () => {
      expect(alertFor(event('KeyCompromised', { secret: ARN }))?.subject).toBe('[CRITICAL] keyrotor: key compromised - keyrotor/acme-prod');
    });

    it('shortens a long secret name from the left and keeps the subject SNS-safe', () => {
      // Prepare
      const secret = `keyrotor/${'very-long-name-'.repeat(10)}prod`;
      // Act
      const subject = alertFor(event('RotationFailed', { secret, step: 'createSecret' }))!.subject;
      // Assess
      expectSnsSafe(subject);
      expect(subject).toHaveLength(MAX_SUBJECT_LENGTH);
      expect(subject.endsWith('name-prod')).toBe(true);
      expect(subject).toContain(' - ...');
    });

    it('keeps every subject printable ASCII within 100 characters (property)', () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...EVENT_TYPES),
          fc.string({ minLength: 1, maxLength: 2048, unit: 'grapheme' }),
          fc.option(fc.string({ maxLength: 64 }), { nil: undefined }),
          fc.constantFrom('INFO', 'WARNING', 'CRITICAL' as const),
          (type, secret, step, severity) => {
            const alert = alertFor(event(type, { secret, severity, ...(step === undefined ? {} : { step }) }));
            if (alert) expectSnsSafe(alert.subject);
          },
        ),
      );
    });
  });

  describe('no secret values', () => {
    it('never carries a key that a publisher put in a free-text field', () => {
      // Prepare: buildEvent redacts credential-shaped strings; registered values are scrubbed too
      registerSecret('thinkific-token-0123456789abcdef');
      const detail = {
        summary: `testSecret rejected ${TI_LIVE_NEW}`,
        done: 'used thinkific-token-0123456789abcdef',
        action: `Authorization: Bearer ${TI_LIVE_OLD}`,
      };
      // Act
      const built = alertFor(event('RotationFailed', detail))!;
      const unvalidated = alertFor({ type: 'RotationFailed', detail: { ...event('RotationFailed').detail, ...detail } })!;
      // Assess
      for (const alert of [built, unvalidated]) {
        const text = `${alert.subject}\n${alert.body}`;
        for (const secret of [TI_LIVE_NEW, TI_LIVE_OLD, 'thinkific-token-0123456789abcdef']) expect(text).not.toContain(secret);
        expect(text).toContain('[REDACTED]');
      }
    });
  });
});

describe('Function: alertForSecretsManagerEvent', () => {
  /** A Secrets Manager service event as EventBridge delivers it (shape of CloudTrail's AwsServiceEvent records). */
  function smEvent(eventName: string, detail: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      version: '0',
      id: 'd82e0a2d-f36e-11fd-37cb-cba423a71196',
      'detail-type': 'AWS Service Event via CloudTrail',
      source: 'aws.secretsmanager',
      account: '123456789012',
      time: '2026-11-23T10:00:00Z',
      region: 'eu-west-1',
      resources: [],
      detail: {
        eventVersion: '1.08',
        userIdentity: { accountId: '123456789012', invokedBy: 'secretsmanager.amazonaws.com' },
        eventTime: '2026-11-23T10:00:00Z',
        eventSource: 'secretsmanager.amazonaws.com',
        eventName,
        awsRegion: 'eu-west-1',
        sourceIPAddress: 'secretsmanager.amazonaws.com',
        userAgent: 'secretsmanager.amazonaws.com',
        requestParameters: null,
        responseElements: null,
        additionalEventData: { SecretId: ARN },
        requestID: `Rotation-${ARN}-tok`,
        eventID: 'e3b69cfe-b70e-4c94-baa9-9decc3c150b9',
        readOnly: false,
        eventType: 'AwsServiceEvent',
        managementEvent: true,
        recipientAccountId: '123456789012',
        eventCategory: 'Management',
        ...detail,
      },
    };
  }

  it('renders RotationFailed with the step, the error and the secret', () => {
    // Act
    const alert = alertForSecretsManagerEvent(
      smEvent('RotationFailed', { errorMessage: 'Error when executing lambda arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-rotate during createSecret step' }),
    );
    // Assess
    expect(alert?.severity).toBe('WARNING');
    expect(alert?.subject).toBe('[WARNING] keyrotor: Secrets Manager rotation failed at createSecret - keyrotor/acme-prod');
    expectSnsSafe(alert!.subject);
    expect(alert?.body).toContain(`a rotation of ${ARN} failed in its createSecret step: Error when executing lambda`);
    expect(alert?.body).toContain('Look for keyrotor\'s own alert about keyrotor/acme-prod');
    expect(alert?.body).toContain('aws secretsmanager rotate-secret --secret-id keyrotor/acme-prod');
    expect(alert?.body).toContain('CloudTrail event e3b69cfe-b70e-4c94-baa9-9decc3c150b9');
    expect(alert?.body).toContain('docs/runbooks/rotation-failed.md');
  });

  it('renders RotationAbandoned', () => {
    const alert = alertForSecretsManagerEvent(smEvent('RotationAbandoned'), { runbookBaseUrl: 'https://runbooks.example.com' });
    expect(alert?.subject).toBe('[WARNING] keyrotor: Secrets Manager abandoned a rotation - keyrotor/acme-prod');
    expect(alert?.body).toContain('removed the AWSPENDING label');
    expect(alert?.body).toContain('npx keyrotor history keyrotor/acme-prod');
    expect(alert?.body).toContain('https://runbooks.example.com/docs/runbooks/rotation-failed.md');
  });

  it.each(['RotationStarted', 'RotationSucceeded', 'StartSecretVersionDelete', 'EndSecretVersionDelete'])('returns undefined for the routine %s', (name) => {
    expect(alertForSecretsManagerEvent(smEvent(name))).toBeUndefined();
  });

  it('accepts the bare detail and a secret named in requestParameters', () => {
    const alert = alertForSecretsManagerEvent({ eventName: 'RotationFailed', requestParameters: { secretId: 'keyrotor/acme-prod' } });
    expect(alert?.subject).toBe('[WARNING] keyrotor: Secrets Manager rotation failed - keyrotor/acme-prod');
  });

  it.each([null, undefined, 'text', 42, [], {}, { detail: 5 }, { detail: { eventName: 7, additionalEventData: 'x' } }])(
    'alerts generically for an unrecognised shape (%p)',
    (shape) => {
      const alert = alertForSecretsManagerEvent(shape);
      expect(alert?.subject).toBe('[WARNING] keyrotor: unrecognised Secrets Manager event - (not named in the event)');
      expect(alert?.body).toContain('does not recognise');
    },
  );

  it('alerts generically, naming the event, for an unknown eventName', () => {
    const alert = alertForSecretsManagerEvent(smEvent('SomethingNew'));
    expect(alert?.subject).toBe('[WARNING] keyrotor: unrecognised Secrets Manager event - keyrotor/acme-prod');
    expect(alert?.body).toContain('eventName SomethingNew');
  });

  it('redacts credentials and strips line breaks from what the event says', () => {
    const alert = alertForSecretsManagerEvent(smEvent('RotationFailed', { errorMessage: `boom\nAuthorization: Bearer abcdefghijklmnop1234 ${TI_LIVE_OLD}` }));
    expect(alert?.body).not.toContain('abcdefghijklmnop1234');
    expect(alert?.body).not.toContain(TI_LIVE_OLD);
    expect(alert?.body).toContain('boom Authorization: Bearer [REDACTED]');
  });

  it('never throws and keeps the subject SNS-safe for any input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ detail: fc.record({ eventName: fc.string(), errorMessage: fc.string(), additionalEventData: fc.record({ SecretId: fc.string() }) }) })), (input) => {
        const alert = alertForSecretsManagerEvent(input);
        if (alert) expectSnsSafe(alert.subject);
      }),
    );
  });
});

describe('Function: parseSecretsManagerEvent', () => {
  it('reads a snake_case step name from the error message', () => {
    expect(parseSecretsManagerEvent({ detail: { eventName: 'RotationFailed', errorMessage: 'failed in test_secret' } }).step).toBe('testSecret');
  });
});

describe('Function: secretNameOf', () => {
  it('reduces a Secrets Manager ARN to the secret name', () => {
    expect(secretNameOf(ARN)).toBe('keyrotor/acme-prod');
    expect(secretNameOf('arn:aws:secretsmanager:eu-west-1:123456789012:secret:plain')).toBe('plain');
    expect(secretNameOf('keyrotor/acme-prod')).toBe('keyrotor/acme-prod');
  });
});

describe('Function: alertSubject', () => {
  it('replaces characters SNS rejects', () => {
    expect(alertSubject('INFO', 'key …1a2b', 'a\nb')).toBe('[INFO] keyrotor: key ...1a2b - a b');
  });
});
