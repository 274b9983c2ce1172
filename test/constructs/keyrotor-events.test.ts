import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SECRETS_MANAGER_FAILURE_EVENTS } from '../../lambdas/core/alert-messages';
import { EVENT_SOURCE, EVENT_TYPES } from '../../lambdas/core/events';
import { AlertNotifier } from '../../lib/alert-notifier';
import { AlertsTopic } from '../../lib/alerts-topic';
import type { EventsConfig } from '../../lib/config';
import { EncryptionKey } from '../../lib/encryption-key';
import {
  DEFAULT_EVENT_BUS_NAME,
  EVENT_BUS_ENVIRONMENT_VARIABLE,
  KeyrotorEvents,
  NOTIFY_MAX_EVENT_AGE,
  NOTIFY_RETRY_ATTEMPTS,
  SECRETS_MANAGER_ROTATION_FAILURES,
  type KeyrotorEventsProps,
} from '../../lib/keyrotor-events';
import { KeyrotorFunction } from '../../lib/keyrotor-function';
import { LedgerTable } from '../../lib/ledger-table';
import { asArray, identityPolicyStatements, statementsOfRole, wildcardWriteGrants } from './iam-policy-statements';
import { acknowledgements, awsSolutionsFindings, bareStack, FIXTURE_NOTIFY_HANDLER, FIXTURE_REVOKE_HANDLER, logicalIdOf, propertiesOf } from './test-stack';

/** The ten keyrotor event types, spelled out: the rule must route exactly the published contract (docs/events.md). */
const TEN_TYPES = [
  'RotationStarted',
  'RotationSucceeded',
  'RotationFailed',
  'ManualActionRequired',
  'KeyExpiringSoon',
  'KeyRevoked',
  'KeyRevokedExternally',
  'KeyCompromised',
  'TokenRefreshed',
  'TokenRefreshFailed',
];

/**
 * Secrets Manager's rotation events that need a person, spelled out as AWS names them (CloudTrail
 * `eventName` of its `AWS Service Event via CloudTrail` events; Secrets Manager User Guide, "AWS
 * CloudTrail entries for Secrets Manager"): the rule must send exactly these.
 */
const SECRETS_MANAGER_FAILURES = ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'];

/** KeyrotorEvents in a bare stack with keyrotor's key, topic, ledger and notifier, and `publishers` fixture functions made publishers. */
function build(overrides: Partial<Omit<KeyrotorEventsProps, 'notifier'>> = {}, publishers: readonly string[] = []) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
  const ledger = new LedgerTable(stack, 'Ledger', { encryptionKey: key });
  const notifier = new AlertNotifier(stack, 'Notifier', { encryptionKey: key, alertsTopic: alerts.topic, ledger, entry: FIXTURE_NOTIFY_HANDLER });
  const keyrotorEvents = new KeyrotorEvents(stack, 'Events', { notifier, ...overrides });
  const functions = publishers.map(
    (id) =>
      new KeyrotorFunction(stack, id, {
        entry: FIXTURE_REVOKE_HANDLER,
        serviceName: `keyrotor-${id.toLowerCase()}`,
        description: `keyrotor: ${id}`,
        roleDescription: `keyrotor ${id}`,
        alarmDescription: `keyrotor: ${id} failed`,
      }),
  );
  for (const fn of functions) keyrotorEvents.addPublisher(fn);
  return { stack, key, notifier, keyrotorEvents, functions, template: Template.fromStack(stack) };
}

describe('Construct: KeyrotorEvents', () => {
  let stack: Stack;
  let template: Template;
  let keyrotorEvents: KeyrotorEvents;
  let notifier: AlertNotifier;
  let publishers: KeyrotorFunction[];
  let keyResource: Record<string, unknown>;

  beforeAll(() => {
    const built = build({}, ['Rotation', 'Revoker', 'Refresher']);
    ({ stack, template, keyrotorEvents, notifier } = built);
    publishers = built.functions;
    keyResource = propertiesOf(template, built.key);
  });

  describe('bus', () => {
    it('is one custom bus named keyrotor', () => {
      // Assess
      expect(DEFAULT_EVENT_BUS_NAME).toBe('keyrotor');
      template.resourceCountIs('AWS::Events::EventBus', 1);
      expect(propertiesOf(template, keyrotorEvents.bus)).toEqual({
        Name: 'keyrotor',
        Description: 'keyrotor: rotation, revocation, expiry and token events (source keyrotor); security tools subscribe here',
      });
    });

    it('has no resource policy: no other account may put events on it', () => {
      // Assess
      template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
      expect(propertiesOf(template, keyrotorEvents.bus).Policy).toBeUndefined();
    });

    it('takes another name when asked', () => {
      // Act
      const renamed = build({ eventBusName: 'keyrotor-staging' });

      // Assess
      expect(propertiesOf(renamed.template, renamed.keyrotorEvents.bus).Name).toBe('keyrotor-staging');
    });

    it('reports every invalid property at once, naming each', () => {
      // Act & Assess
      expect(() => build({ eventBusName: 'default', settings: { archiveRetentionDays: 0 } })).toThrow(
        /^KeyrotorEvents Test\/Events: invalid properties:\n {2}- eventBusName: must not be "default".*\n {2}- events\.archiveRetentionDays: must be a whole number of days from 1 to 3650/s,
      );
    });

    it.each([
      ['aws.partner', /eventBusName: must not start with "aws\."/],
      ['keyrotor/prod', /eventBusName: must be 1 to 256 letters, digits, dots, hyphens or underscores/],
      ['', /eventBusName: must be 1 to 256/],
    ])('refuses the bus name %p', (eventBusName, message) => {
      // Act & Assess
      expect(() => build({ eventBusName })).toThrow(message);
    });
  });

  describe('archive', () => {
    it('keeps every keyrotor event of the bus for 365 days by default', () => {
      // Assess
      template.resourceCountIs('AWS::Events::Archive', 1);
      expect(propertiesOf(template, keyrotorEvents.archive)).toMatchObject({
        SourceArn: stack.resolve(keyrotorEvents.bus.eventBusArn),
        EventPattern: { source: ['keyrotor'] },
        RetentionDays: 365,
        Description: 'keyrotor: every keyrotor event, kept 365 days (audit trail, replay)',
      });
      expect(keyrotorEvents.settings).toEqual({ archiveRetentionDays: 365 });
    });

    it('is retained when it leaves the stack: it is the audit trail', () => {
      // Assess
      template.hasResource('AWS::Events::Archive', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    });

    it('takes the retention and the removal policy from its properties', () => {
      // Prepare
      const settings: EventsConfig = { archiveRetentionDays: 30 };

      // Act
      const short = build({ settings, archiveRemovalPolicy: RemovalPolicy.DESTROY });

      // Assess
      short.template.hasResource('AWS::Events::Archive', { DeletionPolicy: 'Delete', Properties: { RetentionDays: 30 } });
    });

    it.each([0, 3651, 1.5])('refuses a retention of %p days (0 would keep events forever)', (archiveRetentionDays) => {
      // Act & Assess
      expect(() => build({ settings: { archiveRetentionDays } })).toThrow(/events\.archiveRetentionDays: must be a whole number of days from 1 to 3650/);
    });
  });

  describe('rules', () => {
    let notifierArn: unknown;
    let deadLetterArn: unknown;

    beforeAll(() => {
      notifierArn = stack.resolve(notifier.notifier.function.functionArn);
      deadLetterArn = stack.resolve(notifier.deadLetterQueue.queueArn);
    });

    const target = () => ({
      Id: 'Target0',
      Arn: notifierArn,
      DeadLetterConfig: { Arn: deadLetterArn },
      RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 7200 },
    });

    it('are exactly two', () => {
      // Assess
      template.resourceCountIs('AWS::Events::Rule', 2);
    });

    it('send every keyrotor event on the custom bus — source keyrotor, each of the ten detail types — to the notifier', () => {
      // Assess
      expect(EVENT_SOURCE).toBe('keyrotor');
      expect([...EVENT_TYPES]).toEqual(TEN_TYPES);
      expect(propertiesOf(template, keyrotorEvents.keyrotorEventsRule)).toEqual({
        Description: 'keyrotor: every keyrotor event to the notifier, which alerts on those a person must see',
        EventBusName: stack.resolve(keyrotorEvents.bus.eventBusName),
        EventPattern: { source: ['keyrotor'], 'detail-type': TEN_TYPES },
        State: 'ENABLED',
        Targets: [target()],
      });
    });

    it('send Secrets Manager\'s RotationFailed, RotationAbandoned and TestRotationFailed, on the default bus, to the notifier', () => {
      // Assess (no EventBusName: the rule is on the account's default bus, where AWS services deliver)
      expect(propertiesOf(template, keyrotorEvents.rotationFailuresRule)).toEqual({
        Description: 'keyrotor: Secrets Manager rotation failures (RotationFailed, RotationAbandoned, TestRotationFailed) to the notifier',
        EventPattern: {
          source: ['aws.secretsmanager'],
          'detail-type': ['AWS Service Event via CloudTrail'],
          detail: { eventName: SECRETS_MANAGER_FAILURES },
        },
        State: 'ENABLED',
        Targets: [target()],
      });
    });

    it('route exactly the Secrets Manager events the notifier alerts on, and none of the routine ones', () => {
      // Assess: a failure the notifier renders but the rule drops would never reach a person
      expect([...SECRETS_MANAGER_ROTATION_FAILURES]).toEqual(SECRETS_MANAGER_FAILURES);
      expect([...SECRETS_MANAGER_ROTATION_FAILURES].sort()).toEqual([...SECRETS_MANAGER_FAILURE_EVENTS].sort());
      const { detail } = propertiesOf(template, keyrotorEvents.rotationFailuresRule).EventPattern as { detail: { eventName: string[] } };
      for (const routine of ['RotationStarted', 'RotationSucceeded', 'TestRotationStarted', 'TestRotationSucceeded']) expect(detail.eventName).not.toContain(routine);
    });

    it('retry for two hours before dead-lettering an event, so an undeliverable alert is heard about the same morning', () => {
      // Assess
      expect(NOTIFY_RETRY_ATTEMPTS).toBe(20);
      expect(NOTIFY_MAX_EVENT_AGE.toSeconds()).toBe(7200);
    });

    it('may each invoke the notifier, and nothing else may through them', () => {
      // Assess
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => (p as { Properties: unknown }).Properties);
      expect(permissions).toEqual([
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: notifierArn,
          Principal: 'events.amazonaws.com',
          SourceArn: stack.resolve(keyrotorEvents.keyrotorEventsRule.ruleArn),
        },
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: notifierArn,
          Principal: 'events.amazonaws.com',
          SourceArn: stack.resolve(keyrotorEvents.rotationFailuresRule.ruleArn),
        },
      ]);
    });

    it('may dead-letter only into the notifier\'s queue, and EventBridge may send there only for these two rules, over TLS', () => {
      // Assess
      const [queuePolicy] = Object.values(template.findResources('AWS::SQS::QueuePolicy')) as { Properties: { Queues: unknown; PolicyDocument: { Statement: unknown[] } } }[];
      template.resourceCountIs('AWS::SQS::QueuePolicy', 1);
      expect(queuePolicy?.Properties.Queues).toEqual([stack.resolve(notifier.deadLetterQueue.queueUrl)]);
      expect(queuePolicy?.Properties.PolicyDocument.Statement).toEqual([
        expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ...[keyrotorEvents.keyrotorEventsRule, keyrotorEvents.rotationFailuresRule].map((rule) => ({
          Sid: expect.stringMatching(/^AllowEventRule/),
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: deadLetterArn,
          Condition: { ArnEquals: { 'aws:SourceArn': stack.resolve(rule.ruleArn) } },
        })),
      ]);
    });

    it('let EventBridge use the key only for SQS queues of this account and region (the encrypted dead-letter queue)', () => {
      // Assess
      expect((keyResource.KeyPolicy as { Statement: unknown[] }).Statement).toContainEqual({
        Sid: 'AllowEventBridgeToDeadLetterUndeliveredAlerts',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: '*',
        Condition: {
          ArnLike: { 'kms:EncryptionContext:aws:sqs:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sqs:eu-west-1:111111111111:*']] } },
        },
      });
    });
  });

  describe('Method: addPublisher', () => {
    it('tells each publisher the bus through KEYROTOR_EVENT_BUS', () => {
      // Assess
      expect(EVENT_BUS_ENVIRONMENT_VARIABLE).toBe('KEYROTOR_EVENT_BUS');
      for (const publisher of publishers) {
        const { Variables } = propertiesOf(template, publisher.function).Environment as { Variables: Record<string, unknown> };
        expect(Variables.KEYROTOR_EVENT_BUS).toEqual(stack.resolve(keyrotorEvents.bus.eventBusName));
      }
    });

    it('lets each publisher put only keyrotor events (source keyrotor, the ten detail types) and only on this bus', () => {
      // Assess
      for (const publisher of publishers) {
        expect(statementsOfRole(template, logicalIdOf(publisher.role)).slice(1)).toEqual([
          {
            Sid: 'PublishKeyrotorEvents',
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: stack.resolve(keyrotorEvents.bus.eventBusArn),
            Condition: { StringEquals: { 'events:source': 'keyrotor', 'events:detail-type': TEN_TYPES } },
          },
        ]);
      }
    });

    it('grants events:PutEvents to the publishers only, never on "*" or the default bus', () => {
      // Assess
      const putEvents = identityPolicyStatements(template).filter(({ statement }) => asArray(statement.Action).some((a) => a.startsWith('events:')));
      expect(putEvents).toHaveLength(publishers.length);
      for (const { statement } of putEvents) expect(statement.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(keyrotorEvents.bus), 'Arn'] });
    });

    it('gives the notifier no way to publish events (an alert never loops back onto the bus)', () => {
      // Assess
      const actions = statementsOfRole(template, logicalIdOf(notifier.notifier.role)).flatMap((s) => asArray(s.Action));
      expect(actions.filter((a) => a.startsWith('events:'))).toEqual([]);
      const { Variables } = propertiesOf(template, notifier.notifier.function).Environment as { Variables: Record<string, unknown> };
      expect(Variables.KEYROTOR_EVENT_BUS).toBeUndefined();
    });
  });

  it('grants no write action on "*"', () => {
    // Assess
    expect(wildcardWriteGrants(template)).toEqual([]);
  });

  it('raises no cdk-nag AwsSolutions findings, with no acknowledgement', () => {
    // Assess
    expect(awsSolutionsFindings(stack)).toEqual([]);
    expect(acknowledgements(stack)).toEqual([]);
  });
});
