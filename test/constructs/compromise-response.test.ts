import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AlertNotifier } from '../../lib/alert-notifier';
import { AlertsTopic } from '../../lib/alerts-topic';
import { COMPROMISE_HANDLER_ENTRY, CompromiseResponse } from '../../lib/compromise-response';
import { EncryptionKey } from '../../lib/encryption-key';
import { KeyrotorEvents } from '../../lib/keyrotor-events';
import { LedgerTable } from '../../lib/ledger-table';
import {
  deadLetteredFunctionStatements,
  deadLetterAlarmProperties,
  encryptedDeadLetterQueueProperties,
  errorsAlarmProperties,
  expectQueueDeniesRequestsWithoutTls,
  keyrotorFunctionBasics,
  powertoolsVariables,
  useKeyOnlyThrough,
} from './assertions';
import { statementsOfRole, wildcardWriteGrants, type PolicyStatementJson } from './iam-policy-statements';
import { acknowledgements, awsSolutionsFindings, bareStack, FIXTURE_COMPROMISE_HANDLER, FIXTURE_NOTIFY_HANDLER, logicalIdOf, propertiesOf } from './test-stack';

/** A responder in a bare stack with keyrotor's key, topic, ledger, bus and two managed secrets. */
function build() {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
  const ledger = new LedgerTable(stack, 'Ledger', { encryptionKey: key });
  const notifier = new AlertNotifier(stack, 'Notifier', { encryptionKey: key, alertsTopic: alerts.topic, ledger, entry: FIXTURE_NOTIFY_HANDLER });
  const events = new KeyrotorEvents(stack, 'Events', { notifier });
  const compromise = new CompromiseResponse(stack, 'CompromiseResponse', { encryptionKey: key, ledger, events, alarmTopic: alerts.topic, entry: FIXTURE_COMPROMISE_HANDLER });
  const secrets = ['keyrotor/a', 'keyrotor/b'].map((name, i) => new secretsmanager.Secret(stack, `Secret${i}`, { secretName: name, encryptionKey: key }));
  for (const secret of secrets) compromise.grantResponse(secret);
  return { stack, key, alerts, ledger, events, compromise, secrets, template: Template.fromStack(stack) };
}

describe('Construct: CompromiseResponse', () => {
  let built: ReturnType<typeof build>;
  let stack: Stack;
  let template: Template;
  let statements: PolicyStatementJson[];

  beforeAll(() => {
    built = build();
    ({ stack, template } = built);
    statements = statementsOfRole(template, logicalIdOf(built.compromise.responder.role));
  });

  it('defaults to the handler at lambdas/handlers/compromise.ts, on Node.js 24 arm64 for up to 2 minutes', () => {
    expect(COMPROMISE_HANDLER_ENTRY).toMatch(/[/\\]lambdas[/\\]handlers[/\\]compromise\.ts$/);
    expect(propertiesOf(template, built.compromise.responder.function)).toMatchObject(keyrotorFunctionBasics(120));
  });

  it('gets the ledger table and the bus through the environment, and nothing else', () => {
    expect(propertiesOf(template, built.compromise.responder.function).Environment).toEqual({
      Variables: {
        ...powertoolsVariables('keyrotor-compromise'),
        KEYROTOR_LEDGER_TABLE: stack.resolve(built.ledger.table.tableName),
        KEYROTOR_EVENT_BUS: stack.resolve(built.events.bus.eventBusName),
      },
    });
  });

  it('routes KeyCompromised reports from anyone but keyrotor itself to the responder, so its own published response never loops back', () => {
    const rule = propertiesOf(template, built.compromise.reportsRule);
    expect(rule.EventBusName).toEqual(stack.resolve(built.events.bus.eventBusName));
    expect(rule.EventPattern).toEqual({ source: [{ 'anything-but': ['keyrotor'] }], 'detail-type': ['KeyCompromised'] });
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        Arn: stack.resolve(built.compromise.responder.function.functionArn),
        DeadLetterConfig: { Arn: stack.resolve(built.compromise.deadLetterQueue.queueArn) },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
      }),
    ]);
  });

  it('has exactly the permissions a response needs, on the granted secrets only, statement by statement', () => {
    const keyArn = stack.resolve(built.key.keyArn);
    const secretArns = built.secrets.map((s) => stack.resolve(s.secretArn));
    expect(statements).toEqual([
      ...deadLetteredFunctionStatements(stack.resolve(built.compromise.responder.logGroup.logGroupArn), stack.resolve(built.compromise.deadLetterQueue.queueArn), keyArn),
      useKeyOnlyThrough('UseKeyOnlyThroughSecretsManager', 'secretsmanager', 'kms:Decrypt', keyArn),
      { Sid: 'KeepLedgerRecords', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: stack.resolve(built.ledger.table.tableArn) },
      expect.objectContaining({ Sid: 'UseKeyOnlyThroughDynamoDb' }),
      expect.objectContaining({ Sid: 'PublishKeyrotorEvents', Action: 'events:PutEvents', Resource: stack.resolve(built.events.bus.eventBusArn) }),
      {
        Sid: 'RespondToCompromise',
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:RotateSecret'],
        Resource: secretArns,
      },
      {
        Sid: 'MarkCompromised',
        Effect: 'Allow',
        Action: 'secretsmanager:TagResource',
        Resource: secretArns,
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['keyrotor:compromised'] } },
      },
    ]);
  });

  it('dead-letters reports it could not act on, encrypted, TLS-only, and alarms to the alerts topic', () => {
    const keyArn = stack.resolve(built.key.keyArn);
    expect(propertiesOf(template, built.compromise.deadLetterQueue)).toEqual(encryptedDeadLetterQueueProperties(keyArn));
    expectQueueDeniesRequestsWithoutTls(template, stack.resolve(built.compromise.deadLetterQueue.queueUrl));
    expect(propertiesOf(template, built.compromise.deadLetterAlarm)).toMatchObject({
      ...deadLetterAlarmProperties(stack.resolve(built.compromise.deadLetterQueue.queueName), stack.resolve(built.alerts.topic.topicArn)),
      AlarmDescription: expect.stringMatching(/^keyrotor: a compromise report was not acted on\./),
    });
    expect(propertiesOf(template, built.compromise.responder.errorsAlarm)).toMatchObject(
      errorsAlarmProperties(stack.resolve(built.compromise.responder.function.functionName), stack.resolve(built.alerts.topic.topicArn)),
    );
  });

  it('grants no write action on "*" and raises no cdk-nag AwsSolutions finding of its own, with no acknowledgement', () => {
    expect(wildcardWriteGrants(template)).toEqual([]);
    expect(awsSolutionsFindings(built.compromise)).toEqual([]);
    expect(acknowledgements(built.compromise)).toEqual([]);
  });
});
