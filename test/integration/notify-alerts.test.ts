import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbAlertDeduper } from '../../lambdas/adapters/dynamodb-alert-deduper';
import { createLogger, loggerPort } from '../../lambdas/adapters/logger';
import { SnsNotifier } from '../../lambdas/adapters/sns-notifier';
import { ValidationError } from '../../lambdas/core/errors';
import { DEFAULT_SEVERITY, EVENT_TYPES, type EventDetail, type EventType } from '../../lambdas/core/events';
import { clearRegisteredSecrets, registerSecret } from '../../lambdas/core/redaction';
import { createNotifyHandler, readNotifyEnvironment } from '../../lambdas/handlers/notify';
import { captureProcessOutput } from '../support/capture-output';
import { TI_LIVE_NEW, TI_LIVE_OLD } from '../support/fixtures';
import { describeWithMoto, startMotoServer, type MotoServer } from '../support/moto-server';
import { captureTopicInQueue, type CapturedNotification, type SnsSqsCapture } from '../support/sns-sqs-capture';
import { createLedgerTable } from '../support/service/ledger-table';
import { LAMBDA_CONTEXT } from '../support/service/moto-rotation-service';

const TABLE = 'keyrotor-ledger';
const SECRET = 'keyrotor/acme-prod';
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyrotor/acme-prod-AbCdEf';
const RUNBOOKS = 'https://github.com/acme/keyrotor/blob/main';

/** One of keyrotor's events as EventBridge hands it to the notifier Lambda. */
function keyrotorEvent(type: EventType, overrides: Partial<EventDetail> = {}, time = new Date().toISOString()): Record<string, unknown> {
  return {
    version: '0',
    id: `evt-${type}`,
    'detail-type': type,
    source: 'keyrotor',
    account: '123456789012',
    time,
    region: 'eu-west-1',
    resources: [],
    detail: { version: '1', secret: SECRET, provider: 'thought-industries', environment: 'production', severity: DEFAULT_SEVERITY[type], summary: `summary of ${type}`, ...overrides },
  };
}

/** Secrets Manager's own service event, as EventBridge delivers it. */
function secretsManagerEvent(eventName: string, errorMessage?: string): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    version: '0',
    id: `evt-sm-${eventName}`,
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.secretsmanager',
    account: '123456789012',
    time: now,
    region: 'eu-west-1',
    resources: [],
    detail: {
      eventVersion: '1.08',
      eventTime: now,
      eventSource: 'secretsmanager.amazonaws.com',
      eventName,
      awsRegion: 'eu-west-1',
      ...(errorMessage ? { errorMessage } : {}),
      requestParameters: null,
      responseElements: null,
      additionalEventData: { SecretId: ARN },
      eventType: 'AwsServiceEvent',
    },
  };
}

/** Checks what every delivered alert must be: a notification from the alerts topic whose severity attribute matches its subject. */
function expectAlertEnvelope({ notification }: CapturedNotification, topicArn: string): void {
  expect(notification.Type).toBe('Notification');
  expect(notification.TopicArn).toBe(topicArn);
  const severity = /^\[(INFO|WARNING|CRITICAL)\] keyrotor: /.exec(notification.Subject ?? '')?.[1];
  expect(severity).toBeDefined();
  expect(notification.MessageAttributes?.severity).toEqual({ Type: 'String', Value: severity });
}

/**
 * The notifier Lambda's handler with the real SNS and DynamoDB adapters against moto_server. An
 * SQS queue is subscribed to the alerts topic (SNS's JSON envelope, not raw delivery, so the
 * subject survives), and every assertion reads what that subscriber really receives, through
 * ReceiveMessage (test/support/sns-sqs-capture.ts).
 */
describeWithMoto('Handler: notify (against moto_server: SNS topic → SQS subscriber, ledger table)', () => {
  let moto: MotoServer;
  let sns: SNSClient;
  let sqs: SQSClient;
  let dynamo: DynamoDBClient;
  let topicArn: string;
  let subscriber: SnsSqsCapture;

  beforeAll(async () => {
    moto = await startMotoServer();
    const aws = moto.clientConfig;
    sns = new SNSClient(aws);
    sqs = new SQSClient(aws);
    dynamo = new DynamoDBClient(aws);
  });
  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    dynamo?.destroy();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    clearRegisteredSecrets();
    await createLedgerTable(dynamo, TABLE);
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'keyrotor-alerts' }))).TopicArn as string;
    subscriber = await captureTopicInQueue(sns, sqs, topicArn);
  });
  afterEach(() => jest.restoreAllMocks());

  function build() {
    const logger = createLogger('keyrotor-notify');
    const handler = createNotifyHandler(
      { notifier: new SnsNotifier(topicArn, sns), deduper: new DynamoDbAlertDeduper(TABLE, dynamo), logger: loggerPort(logger), alertOptions: { runbookBaseUrl: RUNBOOKS } },
      logger,
    );
    return (event: unknown) => handler(event, LAMBDA_CONTEXT);
  }

  it('delivers a readable alert for each event kind that needs one, and nothing for routine ones', async () => {
    // Prepare
    const output = captureProcessOutput();
    const invoke = build();
    const expected: [EventType, Partial<EventDetail>, string | undefined, string[]][] = [
      ['RotationStarted', { rotation: 'tok-1' }, undefined, []],
      ['RotationSucceeded', { rotation: 'tok-1', fingerprint: '…0002#aa11bb22' }, undefined, []],
      ['TokenRefreshed', { expiresAt: '2030-01-01T00:00:00.000Z' }, undefined, []],
      [
        'RotationFailed',
        { rotation: 'tok-1', step: 'testSecret', attempt: 2, errorName: 'ProviderAuthError' },
        '[WARNING] keyrotor: rotation failed at testSecret - keyrotor/acme-prod',
        ['Attempt:      2', 'Error:        ProviderAuthError', 'npx keyrotor verify keyrotor/acme-prod', `${RUNBOOKS}/docs/runbooks/rotation-failed.md`],
      ],
      [
        'ManualActionRequired',
        { rotation: 'tok-2', step: 'createSecret' },
        '[WARNING] keyrotor: action required: create a new key - keyrotor/acme-prod',
        ['Settings → Security/API Keys', 'npx keyrotor submit keyrotor/acme-prod', 'docs/runbooks/manual-action-required.md'],
      ],
      [
        'KeyExpiringSoon',
        { expiresAt: '2030-01-01T00:00:00.000Z', fingerprint: '…0001#3f9c2e1d' },
        '[WARNING] keyrotor: key expires 2030-01-01 - keyrotor/acme-prod',
        ['Rotate before 2030-01-01T00:00:00.000Z', 'Fingerprint:  …0001#3f9c2e1d'],
      ],
      ['KeyRevoked', { rotation: 'tok-1', fingerprint: '…0001#3f9c2e1d', step: 'revoke' }, '[INFO] keyrotor: old key revoked - keyrotor/acme-prod', ['npx keyrotor history keyrotor/acme-prod']],
      [
        'KeyRevokedExternally',
        { fingerprint: '…0002#aa11bb22' },
        '[CRITICAL] keyrotor: key revoked outside keyrotor - keyrotor/acme-prod',
        ['failing now', 'docs/runbooks/key-revoked-externally.md'],
      ],
      ['KeyCompromised', { fingerprint: '…0002#aa11bb22' }, '[CRITICAL] keyrotor: key compromised - keyrotor/acme-prod', ['Revoke the key …0002#aa11bb22 at once', 'docs/runbooks/key-compromised.md']],
      [
        'TokenRefreshFailed',
        { step: 'refresh', errorName: 'ProviderUnavailableError', expiresAt: '2030-01-01T00:00:00.000Z' },
        '[WARNING] keyrotor: token renewal failing - keyrotor/acme-prod',
        ['valid until 2030-01-01T00:00:00.000Z', 'docs/runbooks/token-refresh-failing.md'],
      ],
    ];
    expect(expected.map(([type]) => type).sort()).toEqual([...EVENT_TYPES].sort());

    for (const [type, overrides, subject, bodyParts] of expected) {
      // Act
      const result = await invoke(keyrotorEvent(type, overrides));
      // Assess
      if (subject === undefined) {
        expect(result.outcome).toBe('no-alert');
        expect(await subscriber.receive(0)).toEqual([]);
        continue;
      }
      expect(result.outcome).toBe('published');
      const received = await subscriber.receive(1);
      expect(received).toHaveLength(1);
      expectAlertEnvelope(received[0]!, topicArn);
      const delivered = received[0]?.notification;
      expect(delivered?.Subject).toBe(subject);
      for (const section of ['What happened', 'What keyrotor already did', 'What you must do next', 'Details']) expect(delivered?.Message).toContain(`\n${section}\n`);
      expect(delivered?.Message).toContain(`summary of ${type}`);
      expect(delivered?.Message).toContain('Provider:     Thought Industries (thought-industries)');
      expect(delivered?.Message).toContain('Environment:  production');
      for (const part of bodyParts) expect(delivered?.Message).toContain(part);
    }
    expect(output.join('')).toContain('"message":"alert sent"');
  });

  it('alerts once per failure across retries and Secrets Manager\'s report of it, remembered for 7 days in the ledger', async () => {
    // Prepare
    const invoke = build();
    const failure = { rotation: 'tok-1', step: 'createSecret', errorName: 'ProviderUnavailableError' };
    // Act: three attempts of the step, then Secrets Manager's own RotationFailed, twice
    const outcomes = [];
    for (const attempt of [1, 2, 3]) outcomes.push((await invoke(keyrotorEvent('RotationFailed', { ...failure, attempt }))).outcome);
    for (let i = 0; i < 2; i += 1) outcomes.push((await invoke(secretsManagerEvent('RotationFailed', 'Error when executing lambda during createSecret step'))).outcome);
    // Assess
    expect(outcomes).toEqual(['published', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect((await subscriber.receive(1)).map(({ notification }) => notification.Subject)).toEqual(['[WARNING] keyrotor: rotation failed at createSecret - keyrotor/acme-prod']);
    const claim = await dynamo.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: SECRET }, sk: { S: 'alert#RotationFailed/createSecret/WARNING#tok-1#ProviderUnavailableError' } } }),
    );
    const ttl = Number(claim.Item?.ttl?.N);
    expect(ttl - Date.now() / 1000).toBeGreaterThan(7 * 24 * 3600 - 120);
    expect(ttl - Date.now() / 1000).toBeLessThanOrEqual(7 * 24 * 3600);
    // The claims live beside the ledger's records without disturbing `keyrotor history` (which reads `event#…` only).
    const items = await dynamo.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: SECRET } } }));
    expect(items.Items?.map((item) => item.sk?.S).every((sk) => sk?.startsWith('alert#'))).toBe(true);
  });

  it('releases the claim when SNS refuses the alert, so the retried delivery alerts (PutItem only, no delete)', async () => {
    // Prepare: a topic that is missing on the first delivery
    const logger = createLogger('keyrotor-notify');
    const deps = { deduper: new DynamoDbAlertDeduper(TABLE, dynamo), logger: loggerPort(logger) };
    const broken = createNotifyHandler({ ...deps, notifier: new SnsNotifier(`${topicArn}-missing`, sns) }, logger);
    const working = createNotifyHandler({ ...deps, notifier: new SnsNotifier(topicArn, sns) }, logger);
    const event = keyrotorEvent('ManualActionRequired', { rotation: 'tok-9', step: 'createSecret' });
    captureProcessOutput();
    // Act
    await expect(broken(event, LAMBDA_CONTEXT)).rejects.toThrow();
    const retry = await working(event, LAMBDA_CONTEXT);
    const again = await working(event, LAMBDA_CONTEXT);
    // Assess
    expect([retry.outcome, again.outcome]).toEqual(['published', 'duplicate']);
    expect(await subscriber.receive(1)).toHaveLength(1);
  });

  it('delivers Secrets Manager\'s RotationFailed, RotationAbandoned and TestRotationFailed that keyrotor did not report', async () => {
    // Prepare
    const invoke = build();
    const deliveredFor = async (event: Record<string, unknown>, expected: number) => {
      await invoke(event);
      const received = await subscriber.receive(expected);
      for (const message of received) expectAlertEnvelope(message, topicArn);
      return received.map(({ notification }) => notification);
    };
    // Act (received after each event: an SQS queue promises no order across messages)
    const failed = await deliveredFor(secretsManagerEvent('RotationFailed', 'Error when executing lambda arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-rotate during finishSecret step'), 1);
    const abandoned = await deliveredFor(secretsManagerEvent('RotationAbandoned'), 1);
    const testFailed = await deliveredFor(secretsManagerEvent('TestRotationFailed', 'Error when executing lambda arn:aws:lambda:eu-west-1:123456789012:function:keyrotor-rotate during testSecret step'), 1);
    const succeeded = await deliveredFor(secretsManagerEvent('RotationSucceeded'), 0);
    // Assess
    expect([...failed, ...abandoned, ...testFailed].map((message) => message.Subject)).toEqual([
      '[WARNING] keyrotor: Secrets Manager rotation failed at finishSecret - keyrotor/acme-prod',
      '[WARNING] keyrotor: Secrets Manager abandoned a rotation - keyrotor/acme-prod',
      '[WARNING] keyrotor: Secrets Manager rotation failed at testSecret - keyrotor/acme-prod',
    ]);
    expect(succeeded).toEqual([]);
    expect(failed[0]?.Message).toContain(`Secret:       ${ARN}`);
    expect(failed[0]?.Message).toContain('failed in its finishSecret step');
    expect(abandoned[0]?.Message).toContain('removed the AWSPENDING label');
    expect(testFailed[0]?.Message).toContain('Event:        TestRotationFailed from Secrets Manager');
    for (const message of [...failed, ...abandoned, ...testFailed]) {
      for (const section of ['What happened', 'What keyrotor already did', 'What you must do next', 'Details']) expect(message.Message).toContain(`\n${section}\n`);
      expect(message.Message).toContain(`${RUNBOOKS}/docs/runbooks/rotation-failed.md`);
    }
  });

  it('never lets a secret value reach a subscriber or a log line', async () => {
    // Prepare: fake keys the Lambdas would have registered when reading secrets, and publishers that misbehave
    const output = captureProcessOutput();
    const keys = [TI_LIVE_OLD, TI_LIVE_NEW, 'imburse-private-key-00000000000000001', 'boss-account-key-00000000000000002'];
    registerSecret(...keys);
    const invoke = build();
    const results: unknown[] = [];
    // Act
    for (const type of EVENT_TYPES) {
      results.push(
        await invoke(
          keyrotorEvent(type, {
            severity: 'CRITICAL',
            rotation: `tok-${type}`,
            summary: `${type} with ${keys.join(', ')}`,
            done: `stored ${keys[2]}`,
            action: `curl -H "Authorization: Bearer ${keys[1]}" and ${keys[3]}`,
          }),
        ),
      );
    }
    results.push(await invoke({ ...secretsManagerEvent('RotationFailed'), detail: { eventName: 'RotationFailed', errorMessage: `boom ${keys[0]}`, additionalEventData: { SecretId: ARN } } }));
    await expect(invoke({ source: 'keyrotor', 'detail-type': 'RotationFailed', detail: { summary: keys[0] } })).rejects.toBeInstanceOf(ValidationError);
    // Assess: everything a subscriber got (SQS bodies with SNS's envelope: subjects, messages, attributes), every log line, every result
    const received = await subscriber.receive(EVENT_TYPES.length + 1);
    expect(received).toHaveLength(EVENT_TYPES.length + 1);
    for (const message of received) expect(message.notification.Subject).toMatch(/^\[CRITICAL\] keyrotor: |^\[WARNING\] keyrotor: Secrets Manager /);
    const captured = JSON.stringify(received) + output.join('') + JSON.stringify(results);
    expect(captured).toContain('[REDACTED]');
    for (const key of keys) expect(captured).not.toContain(key);
  });

  it('fails a malformed event with a ValidationError, logged once, and delivers nothing', async () => {
    // Prepare
    const output = captureProcessOutput();
    const invoke = build();
    // Act / Assess
    await expect(invoke({ source: 'keyrotor', 'detail-type': 'RotationExploded', detail: {} })).rejects.toBeInstanceOf(ValidationError);
    await expect(invoke('not an event')).rejects.toBeInstanceOf(ValidationError);
    expect(await subscriber.receive(0)).toEqual([]);
    const failures = output.join('').split('\n').filter((line) => line.includes('"message":"invocation failed"'));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toContain('"errorName":"ValidationError"');
    expect(failures[0]).toContain('detail-type: must be one of');
  });

  it('reads and validates its environment (names only, no secrets)', () => {
    expect(() => readNotifyEnvironment({})).toThrow(/KEYROTOR_ALERTS_TOPIC_ARN: .*KEYROTOR_LEDGER_TABLE: /s);
    expect(() => readNotifyEnvironment({ KEYROTOR_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts', KEYROTOR_LEDGER_TABLE: TABLE, KEYROTOR_RUNBOOK_BASE_URL: 'ftp://x' })).toThrow(
      /KEYROTOR_RUNBOOK_BASE_URL: must be an http\(s\) URL/,
    );
    expect(readNotifyEnvironment({ KEYROTOR_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts', KEYROTOR_LEDGER_TABLE: TABLE, KEYROTOR_RUNBOOK_BASE_URL: '' })).toEqual({
      KEYROTOR_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
      KEYROTOR_LEDGER_TABLE: TABLE,
    });
    expect(
      readNotifyEnvironment({ KEYROTOR_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts', KEYROTOR_LEDGER_TABLE: TABLE, KEYROTOR_RUNBOOK_BASE_URL: RUNBOOKS }).KEYROTOR_RUNBOOK_BASE_URL,
    ).toBe(RUNBOOKS);
  });
});
