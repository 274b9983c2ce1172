import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { TAG } from '../../lambdas/core/contracts';
import { AlertsTopic } from '../../lib/alerts-topic';
import type { SweepConfig } from '../../lib/config';
import {
  DailySweep,
  DEFAULT_SWEEP_SCHEDULE_NAME,
  SWEEP_HANDLER_ENTRY,
  SWEEP_HEARTBEAT_METRIC,
  SWEEP_SECRET_ACTIONS,
  SWEEP_SERVICE_NAME,
  type DailySweepProps,
} from '../../lib/daily-sweep';
import type { DeferredRevocation } from '../../lib/deferred-revocation';
import { EncryptionKey } from '../../lib/encryption-key';
import type { LedgerTable } from '../../lib/ledger-table';
import { RotationFunction } from '../../lib/rotation-function';
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
import { asArray, identityPolicyStatements, isWriteAction, statementsOfRole, wildcardWriteGrants, type PolicyStatementJson } from './iam-policy-statements';
import {
  acknowledgements,
  awsSolutionsFindings,
  bareStack,
  FIXTURE_ROTATION_HANDLER,
  FIXTURE_SWEEP_HANDLER,
  logicalIdOf,
  propertiesOf,
  rotationDependencies,
} from './test-stack';

/** A sweep in a bare stack with keyrotor's key, topic, ledger, revocation set-up, rotation function and two managed secrets. */
function build(overrides: Partial<Omit<DailySweepProps, 'encryptionKey' | 'alertsTopic' | 'scheduleGroup' | 'ledger' | 'revocation' | 'rotationFunction'>> = {}) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
  const { ledger, revocation } = rotationDependencies(stack, key, alerts.topic);
  const rotation = new RotationFunction(stack, 'RotationFunction', { encryptionKey: key, ledger, revocation, entry: FIXTURE_ROTATION_HANDLER });
  const secrets = ['acme-prod', 'payments'].map((id) => new secretsmanager.Secret(stack, id, { secretName: `keyrotor/${id}`, encryptionKey: key }));
  const sweep = new DailySweep(stack, 'DailySweep', {
    encryptionKey: key,
    alertsTopic: alerts.topic,
    scheduleGroup: revocation.scheduleGroup,
    ledger,
    revocation,
    rotationFunction: rotation,
    entry: FIXTURE_SWEEP_HANDLER,
    ...overrides,
  });
  for (const secret of secrets) sweep.grantSweep(secret);
  return { stack, key, alerts, ledger, revocation, rotation, secrets, sweep, template: Template.fromStack(stack) };
}

describe('Construct: DailySweep', () => {
  let stack: Stack;
  let template: Template;
  let sweep: DailySweep;
  let ledger: LedgerTable;
  let revocation: DeferredRevocation;
  let rotation: RotationFunction;
  let secrets: secretsmanager.Secret[];
  let fn: Record<string, unknown>;
  let keyArn: unknown;
  let topicArn: unknown;

  beforeAll(() => {
    const built = build();
    ({ stack, template, sweep, ledger, revocation, rotation, secrets } = built);
    fn = propertiesOf(template, sweep.function.function);
    keyArn = stack.resolve(built.key.keyArn);
    topicArn = stack.resolve(built.alerts.topic.topicArn);
  });

  const arnOf = (secret: secretsmanager.ISecret) => stack.resolve(secret.secretArn);
  const defaultPolicyStatements = (): PolicyStatementJson[] =>
    (propertiesOf(template, sweep.function.role.node.findChild('DefaultPolicy')).PolicyDocument as { Statement: PolicyStatementJson[] }).Statement;

  describe('sweep function', () => {
    it('defaults to the handler at lambdas/handlers/sweep.ts', () => {
      // Assess
      expect(SWEEP_HANDLER_ENTRY).toMatch(/[/\\]lambdas[/\\]handlers[/\\]sweep\.ts$/);
    });

    it('runs on Node.js 24 on arm64 for up to 15 minutes, without reserved concurrency (a continuation may start while its parent returns)', () => {
      // Assess
      expect(fn).toMatchObject(keyrotorFunctionBasics(900));
      expect(fn.ReservedConcurrentExecutions).toBeUndefined();
    });

    it('gets names, ARNs and its settings through the environment, and nothing else', () => {
      // Assess
      expect(fn.Environment).toEqual({
        Variables: {
          ...powertoolsVariables('keyrotor-sweep'),
          KEYROTOR_LEDGER_TABLE: stack.resolve(ledger.table.tableName),
          KEYROTOR_REVOKER_ARN: stack.resolve(revocation.revoker.function.functionArn),
          KEYROTOR_SCHEDULER_ROLE_ARN: stack.resolve(revocation.schedulerRole.roleArn),
          KEYROTOR_SCHEDULE_GROUP: 'keyrotor',
          KEYROTOR_REVOCATION_DLQ_ARN: stack.resolve(revocation.deadLetterQueue.queueArn),
          KEYROTOR_GRACE_PERIOD_HOURS: '24',
          KEYROTOR_SWEEP_WARNING_DAYS: '14,7,3,1',
          KEYROTOR_SWEEP_STUCK_AFTER_HOURS: '24',
          KEYROTOR_SWEEP_CONCURRENCY: '20',
          POWERTOOLS_METRICS_NAMESPACE: 'keyrotor',
        },
      });
      expect(SWEEP_SERVICE_NAME).toBe('keyrotor-sweep');
    });

    it('puts invocations it failed after Lambda\'s retries in its own dead-letter queue', () => {
      // Assess
      expect(fn.DeadLetterConfig).toEqual({ TargetArn: stack.resolve(sweep.deadLetterQueue.queueArn) });
    });

    it('has exactly the permissions a sweep needs, statement by statement', () => {
      // Assess
      const secretArns = secrets.map(arnOf);
      expect(defaultPolicyStatements()).toEqual([
        ...deadLetteredFunctionStatements(stack.resolve(sweep.function.logGroup.logGroupArn), stack.resolve(sweep.deadLetterQueue.queueArn), keyArn),
        { Sid: 'ListManagedSecrets', Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
        useKeyOnlyThroughSecretsManager(keyArn, 'kms:Decrypt'),
        { Sid: 'InvokeRotationFunctionForRotateSecret', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: stack.resolve(rotation.function.functionArn) },
        { Sid: 'KeepLedgerRecords', Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: stack.resolve(ledger.table.tableArn) },
        useKeyOnlyThroughDynamoDb(keyArn),
        scheduleRevocationsStatement(stack.resolve(revocation.revocationScheduleArns)),
        passSchedulerRoleStatement(stack.resolve(revocation.schedulerRole.roleArn)),
        { Sid: 'SweepManagedSecrets', Effect: 'Allow', Action: [...SWEEP_SECRET_ACTIONS], Resource: secretArns },
        {
          Sid: 'RecordRevocationConfirmed',
          Effect: 'Allow',
          Action: 'secretsmanager:TagResource',
          Resource: secretArns,
          Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG.revocationConfirmed] } },
        },
      ]);
      expect(SWEEP_SECRET_ACTIONS).toEqual([
        'secretsmanager:GetSecretValue',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:RotateSecret',
        'secretsmanager:UpdateSecretVersionStage',
      ]);
    });

    it('may invoke itself (continuations) in a policy of its own, so the function does not depend on its own ARN', () => {
      // Assess
      const policy = propertiesOf(template, sweep.continuationPolicy);
      expect(policy).toMatchObject({
        PolicyDocument: { Statement: [{ Sid: 'ContinueSweep', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: stack.resolve(sweep.function.function.functionArn) }] },
        Roles: [stack.resolve(sweep.function.role.roleName)],
      });
      const dependsOn = (template.toJSON().Resources[logicalIdOf(sweep.function.function)] as { DependsOn?: string[] }).DependsOn ?? [];
      expect(dependsOn).not.toContain(logicalIdOf(sweep.continuationPolicy));
    });

    it('may invoke only itself and the rotation function, and write only the granted secrets', () => {
      // Assess
      const mine = identityPolicyStatements(template).filter(({ source }) =>
        [logicalIdOf(sweep.function.role.node.findChild('DefaultPolicy')), logicalIdOf(sweep.continuationPolicy)].some((id) => source.startsWith(id)),
      );
      const invoked = mine.filter(({ statement }) => asArray(statement.Action).includes('lambda:InvokeFunction')).flatMap(({ statement }) => asArray(statement.Resource));
      expect(invoked).toEqual([stack.resolve(rotation.function.functionArn), stack.resolve(sweep.function.function.functionArn)]);
      const secretWrites = mine
        .filter(({ statement }) => asArray(statement.Action).some((action) => action.startsWith('secretsmanager:') && isWriteAction(action)))
        .flatMap(({ statement }) => asArray(statement.Resource));
      expect(new Set(secretWrites.map((arn) => JSON.stringify(arn)))).toEqual(new Set(secrets.map((secret) => JSON.stringify(arnOf(secret)))));
    });

    it('grants no write action on "*": only ListSecrets, which cannot be scoped and only reads', () => {
      // Assess
      expect(wildcardWriteGrants(template)).toEqual([]);
      expect(defaultPolicyStatements().filter((s) => asArray(s.Resource).includes('*')).map((s) => s.Action)).toEqual(['secretsmanager:ListSecrets']);
    });

    it('alarms to the alerts topic on any error', () => {
      // Assess
      expect(propertiesOf(template, sweep.function.errorsAlarm)).toMatchObject(errorsAlarmProperties(stack.resolve(sweep.function.function.functionName), topicArn));
    });
  });

  describe('schedule', () => {
    let schedule: Record<string, unknown>;

    beforeAll(() => {
      schedule = propertiesOf(template, sweep.schedule);
    });

    it('runs the sweep at 06:00 UTC every day, on time, in keyrotor\'s schedule group', () => {
      // Assess
      template.resourceCountIs('AWS::Scheduler::Schedule', 1);
      expect(DEFAULT_SWEEP_SCHEDULE_NAME).toBe('daily-sweep');
      expect(schedule).toMatchObject({
        Name: 'daily-sweep',
        GroupName: stack.resolve(revocation.scheduleGroup.ref),
        ScheduleExpression: 'cron(0 6 * * ? *)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
      });
    });

    it('targets the sweep with {} through the scheduler role, retries for 6 hours and then dead-letters', () => {
      // Assess
      expect(schedule.Target).toEqual({
        Arn: stack.resolve(sweep.function.function.functionArn),
        RoleArn: stack.resolve(sweep.schedulerRole.roleArn),
        Input: '{}',
        DeadLetterConfig: { Arn: stack.resolve(sweep.deadLetterQueue.queueArn) },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 6 * 3600 },
      });
    });

    it('is created after the scheduler role and its policy', () => {
      // Assess
      const policy = sweep.schedulerRole.node.findChild('DefaultPolicy').node.defaultChild!;
      const { DependsOn } = template.toJSON().Resources[logicalIdOf(sweep.schedule)] as { DependsOn: string[] };
      expect(DependsOn).toEqual(expect.arrayContaining([logicalIdOf(sweep.schedulerRole), logicalIdOf(policy)]));
    });
  });

  describe('scheduler role', () => {
    it('may be assumed only by EventBridge Scheduler for schedules of keyrotor\'s group in this account, and may invoke only the sweep', () => {
      // Assess
      expect(propertiesOf(template, sweep.schedulerRole).AssumeRolePolicyDocument).toEqual(schedulerAssumeRolePolicy(stack.resolve(revocation.scheduleGroup.attrArn)));
      expect(statementsOfRole(template, logicalIdOf(sweep.schedulerRole))).toEqual([
        { Sid: 'InvokeDailySweep', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: stack.resolve(sweep.function.function.functionArn) },
        { Sid: 'SendUndeliverableSweeps', ...sendToQueueStatement(stack.resolve(sweep.deadLetterQueue.queueArn)) },
        useKeyOnlyThroughSqs(keyArn),
      ]);
    });
  });

  describe('dead-letter queue', () => {
    it('is encrypted with the customer-managed key, TLS only, keeps messages 14 days, and alarms as soon as it holds one', () => {
      // Assess
      expect(propertiesOf(template, sweep.deadLetterQueue)).toMatchObject(encryptedDeadLetterQueueProperties(keyArn));
      expectQueueDeniesRequestsWithoutTls(template, stack.resolve(sweep.deadLetterQueue.queueUrl));
      expect(propertiesOf(template, sweep.deadLetterAlarm)).toMatchObject(deadLetterAlarmProperties(stack.resolve(sweep.deadLetterQueue.queueName), topicArn));
    });
  });

  describe('missed-sweep alarm', () => {
    it('goes off when no run has completed for a day plus 3 hours (the heartbeat missing counts as breaching), to the alerts topic', () => {
      // Assess
      expect(SWEEP_HEARTBEAT_METRIC).toBe('SweepCompleted');
      expect(propertiesOf(template, sweep.missedSweepAlarm)).toMatchObject({
        Namespace: 'keyrotor',
        MetricName: 'SweepCompleted',
        Dimensions: [{ Name: 'service', Value: 'keyrotor-sweep' }],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 27,
        DatapointsToAlarm: 27,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [topicArn],
        AlarmDescription: expect.stringContaining('aws lambda invoke'),
      });
      // CloudWatch allows up to 7 days of evaluation for periods of an hour or more
      expect(27 * 3600).toBeLessThanOrEqual(7 * 86_400);
    });

    it('counts the errors, dead-letter and missed-sweep alarms: three in all', () => {
      // Assess
      const alarms = [sweep.function.errorsAlarm, sweep.deadLetterAlarm, sweep.missedSweepAlarm].map((alarm) => propertiesOf(template, alarm).AlarmActions);
      expect(alarms).toEqual([[topicArn], [topicArn], [topicArn]]);
    });
  });

  describe('cdk-nag', () => {
    it('raises no unacknowledged AwsSolutions findings', () => {
      // Assess
      expect(awsSolutionsFindings(sweep)).toEqual([]);
    });

    it('acknowledges exactly two findings on the sweep\'s policy, each with its reason: ListSecrets\' "*" and the revoke-* schedules', () => {
      // Assess
      expect(acknowledgements(sweep)).toEqual([
        { 'Annotation::AwsSolutions-IAM5[Resource::*]': expect.stringMatching(/ListSecrets has no resource-level permissions.*never a secret value/) },
        {
          [`Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:eu-west-1:111111111111:schedule/keyrotor/revoke-*]`]: expect.stringMatching(/only scheduler:CreateSchedule, only for revoke-\* schedules/),
        },
      ]);
      expect(acknowledgements(sweep.function.role.node.findChild('DefaultPolicy'))).toHaveLength(2);
    });
  });

  describe('settings', () => {
    it('passes configured settings and the grace period to the handler and the schedule', () => {
      // Prepare
      const settings: SweepConfig = { scheduleExpression: 'cron(30 4 * * ? *)', warningDays: [30, 10, 2], stuckAfterHours: 48, concurrency: 8 };

      // Act
      const built = build({ settings, gracePeriodHours: 72, scheduleName: 'daily-sweep-staging' });

      // Assess
      const variables = (propertiesOf(built.template, built.sweep.function.function).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables).toMatchObject({
        KEYROTOR_SWEEP_WARNING_DAYS: '30,10,2',
        KEYROTOR_SWEEP_STUCK_AFTER_HOURS: '48',
        KEYROTOR_SWEEP_CONCURRENCY: '8',
        KEYROTOR_GRACE_PERIOD_HOURS: '72',
      });
      expect(propertiesOf(built.template, built.sweep.schedule)).toMatchObject({ Name: 'daily-sweep-staging', ScheduleExpression: 'cron(30 4 * * ? *)' });
      expect(built.sweep.settings).toEqual(settings);
    });

    it('refuses invalid settings, listing every problem by the config file\'s rules', () => {
      // Act & Assess
      expect(() => build({ settings: { scheduleExpression: 'rate(5 minutes)', warningDays: [3, 7], stuckAfterHours: 0, concurrency: 4 }, gracePeriodHours: 0 })).toThrow(
        /^DailySweep Test\/DailySweep: invalid settings:\n {2}- sweep\.scheduleExpression: a rate must be from 1 hour to 1 day.*\n {2}- sweep\.warningDays\[1\]: must be smaller than the day before it \(3\).*\n {2}- sweep\.stuckAfterHours: .*\n {2}- gracePeriodHours: must be a whole number of hours from 1 to 2160, not 0$/,
      );
    });
  });
});
