import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AlertsTopic } from '../../lib/alerts-topic';
import {
  DEFAULT_REVOCATION_SCHEDULE_GROUP,
  DeferredRevocation,
  REVOKE_HANDLER_ENTRY,
  REVOKER_SECRET_ACTIONS,
} from '../../lib/deferred-revocation';
import { EncryptionKey } from '../../lib/encryption-key';
import { LedgerTable } from '../../lib/ledger-table';
import {
  deadLetteredFunctionStatements,
  deadLetterAlarmProperties,
  encryptedDeadLetterQueueProperties,
  errorsAlarmProperties,
  expectQueueDeniesRequestsWithoutTls,
  keyrotorFunctionBasics,
  passSchedulerRoleStatement,
  powertoolsVariables,
  scheduleRevocationsStatement,
  schedulerAssumeRolePolicy,
  sendToQueueStatement,
  useKeyOnlyThroughDynamoDb,
  useKeyOnlyThroughSecretsManager,
  useKeyOnlyThroughSqs,
} from './assertions';
import { statementsOfRole, wildcardWriteGrants } from './iam-policy-statements';
import { acknowledgements, awsSolutionsFindings, bareStack, FIXTURE_REVOKE_HANDLER, logicalIdOf, propertiesOf } from './test-stack';

describe('Construct: DeferredRevocation', () => {
  let stack: Stack;
  let template: Template;
  let revocation: DeferredRevocation;
  let ledger: LedgerTable;
  let secrets: secretsmanager.Secret[];
  let keyArn: unknown;
  let topicRef: unknown;

  beforeAll(() => {
    stack = bareStack();
    const { key } = new EncryptionKey(stack, 'EncryptionKey');
    const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
    ledger = new LedgerTable(stack, 'Ledger', { encryptionKey: key });
    revocation = new DeferredRevocation(stack, 'Revocation', {
      encryptionKey: key,
      ledger,
      alarmTopic: alerts.topic,
      revokerEntry: FIXTURE_REVOKE_HANDLER,
    });
    secrets = ['one', 'two'].map((name) => new secretsmanager.Secret(stack, `Secret-${name}`, { encryptionKey: key }));
    for (const secret of secrets) revocation.grantRevocation(secret);
    template = Template.fromStack(stack);
    keyArn = stack.resolve(key.keyArn);
    topicRef = stack.resolve(alerts.topic.topicArn);
  });

  describe('schedule group', () => {
    it('is named keyrotor', () => {
      // Assess
      expect(DEFAULT_REVOCATION_SCHEDULE_GROUP).toBe('keyrotor');
      template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
      template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'keyrotor' });
      expect(revocation.scheduleGroupName).toBe('keyrotor');
    });

    it('takes another name when asked, and scopes the schedule ARNs to it', () => {
      // Prepare
      const other = bareStack();
      const { key } = new EncryptionKey(other, 'EncryptionKey');

      // Act
      const renamed = new DeferredRevocation(other, 'Revocation', {
        encryptionKey: key,
        ledger: new LedgerTable(other, 'Ledger', { encryptionKey: key }),
        revokerEntry: FIXTURE_REVOKE_HANDLER,
        scheduleGroupName: 'keyrotor-staging',
      });

      // Assess
      Template.fromStack(other).hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'keyrotor-staging' });
      expect(other.resolve(renamed.revocationScheduleArns)).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':scheduler:eu-west-1:111111111111:schedule/keyrotor-staging/revoke-*']],
      });
    });
  });

  describe('dead-letter queue', () => {
    it('is encrypted with the customer-managed key and keeps messages for 14 days', () => {
      // Assess
      template.resourceCountIs('AWS::SQS::Queue', 1);
      template.hasResourceProperties('AWS::SQS::Queue', encryptedDeadLetterQueueProperties(keyArn));
    });

    it('denies every request without TLS', () => {
      // Assess
      expectQueueDeniesRequestsWithoutTls(template, stack.resolve(revocation.deadLetterQueue.queueUrl));
    });

    it('alarms to the alerts topic as soon as it holds a message', () => {
      // Assess
      expect(propertiesOf(template, revocation.deadLetterAlarm)).toMatchObject({
        ...deadLetterAlarmProperties(stack.resolve(revocation.deadLetterQueue.queueName), topicRef),
        Period: 300,
        EvaluationPeriods: 1,
        AlarmDescription: expect.stringMatching(/^keyrotor: an old key was not revoked\./),
      });
    });

    it('is the one queue for both failure paths: the revoker\'s own DeadLetterConfig and the Scheduler target\'s (the scheduler role may send only there)', () => {
      // Assess (the rotation function names this queue in each revoke-* schedule's DeadLetterConfig: KEYROTOR_REVOCATION_DLQ_ARN)
      const queueArn = stack.resolve(revocation.deadLetterQueue.queueArn);
      expect(propertiesOf(template, revocation.revoker.function).DeadLetterConfig).toEqual({ TargetArn: queueArn });
      const sends = statementsOfRole(template, logicalIdOf(revocation.schedulerRole)).filter((statement) => statement.Action === 'sqs:SendMessage');
      expect(sends.map((statement) => statement.Resource)).toEqual([queueArn]);
    });
  });

  describe('scheduler role', () => {
    it('may be assumed only by EventBridge Scheduler for schedules of this group in this account', () => {
      // Assess
      expect(propertiesOf(template, revocation.schedulerRole).AssumeRolePolicyDocument).toEqual(
        schedulerAssumeRolePolicy(stack.resolve(revocation.scheduleGroup.attrArn)),
      );
    });

    it('may invoke only the revoker and send only to the dead-letter queue', () => {
      // Assess
      expect(statementsOfRole(template, logicalIdOf(revocation.schedulerRole))).toEqual([
        {
          Sid: 'InvokeRevoker',
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: stack.resolve(revocation.revoker.function.functionArn),
        },
        { Sid: 'SendUndeliverableRevocations', ...sendToQueueStatement(stack.resolve(revocation.deadLetterQueue.queueArn)) },
        useKeyOnlyThroughSqs(keyArn),
      ]);
      expect(propertiesOf(template, revocation.schedulerRole).ManagedPolicyArns).toBeUndefined();
    });
  });

  describe('revoker', () => {
    let fn: Record<string, unknown>;

    beforeAll(() => {
      fn = propertiesOf(template, revocation.revoker.function);
    });

    it('defaults to the revoke handler at lambdas/handlers/revoke.ts', () => {
      // Assess
      expect(REVOKE_HANDLER_ENTRY).toMatch(/[/\\]lambdas[/\\]handlers[/\\]revoke\.ts$/);
    });

    it('runs on Node.js 24 on arm64 with the handler export `handler`', () => {
      // Assess
      expect(fn).toMatchObject(keyrotorFunctionBasics(120));
    });

    it('gets the ledger table name and the Powertools settings, and nothing else, through the environment', () => {
      // Assess
      expect(fn.Environment).toEqual({
        Variables: {
          ...powertoolsVariables('keyrotor-revoke'),
          KEYROTOR_LEDGER_TABLE: stack.resolve(ledger.table.tableName),
        },
      });
    });

    it('puts invocations it failed after Lambda\'s retries in the dead-letter queue', () => {
      // Assess (Scheduler counts an accepted asynchronous invocation as delivered)
      expect(fn.DeadLetterConfig).toEqual({ TargetArn: stack.resolve(revocation.deadLetterQueue.queueArn) });
    });

    it('has exactly the permissions a revocation needs, on exactly the granted secrets', () => {
      // Assess
      const statements = statementsOfRole(template, logicalIdOf(revocation.revoker.role));
      expect(statements).toEqual([
        ...deadLetteredFunctionStatements(stack.resolve(revocation.revoker.logGroup.logGroupArn), stack.resolve(revocation.deadLetterQueue.queueArn), keyArn),
        useKeyOnlyThroughSecretsManager(keyArn, 'kms:Decrypt'),
        {
          Sid: 'KeepLedgerRecords',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          Resource: stack.resolve(ledger.table.tableArn),
        },
        useKeyOnlyThroughDynamoDb(keyArn),
        {
          Sid: 'ReadManagedSecrets',
          Effect: 'Allow',
          Action: [...REVOKER_SECRET_ACTIONS],
          Resource: secrets.map((secret) => stack.resolve(secret.secretArn)),
        },
      ]);
      expect(REVOKER_SECRET_ACTIONS).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    });

    it('alarms to the alerts topic on any error', () => {
      // Assess
      expect(propertiesOf(template, revocation.revoker.errorsAlarm)).toMatchObject({
        ...errorsAlarmProperties(stack.resolve(revocation.revoker.function.functionName), topicRef),
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Period: 300,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    });
  });

  describe('Method: grantScheduling', () => {
    it('allows CreateSchedule on revoke-* schedules of the group and passing the scheduler role to Scheduler only', () => {
      // Prepare
      const scheduling = bareStack();
      const { key } = new EncryptionKey(scheduling, 'EncryptionKey');
      const own = new DeferredRevocation(scheduling, 'Revocation', {
        encryptionKey: key,
        ledger: new LedgerTable(scheduling, 'Ledger', { encryptionKey: key }),
        revokerEntry: FIXTURE_REVOKE_HANDLER,
      });
      const caller = new iam.Role(scheduling, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

      // Act
      own.grantScheduling(caller);

      // Assess
      expect(statementsOfRole(Template.fromStack(scheduling), logicalIdOf(caller))).toEqual([
        scheduleRevocationsStatement({
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':scheduler:eu-west-1:111111111111:schedule/keyrotor/revoke-*']],
        }),
        passSchedulerRoleStatement(scheduling.resolve(own.schedulerRole.roleArn)),
      ]);
    });
  });

  it('grants no write action on "*"', () => {
    // Assess
    expect(wildcardWriteGrants(template)).toEqual([]);
  });

  it('raises no cdk-nag AwsSolutions findings, with no acknowledgement (the revoker uses the queue as its dead-letter queue)', () => {
    // Act (the bare test secrets outside the construct have no schedule, so only the construct is checked)
    const findings = awsSolutionsFindings(revocation);

    // Assess
    expect(findings).toEqual([]);
    expect(acknowledgements(revocation)).toEqual([]);
  });
});
