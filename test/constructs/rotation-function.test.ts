import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AlertsTopic } from '../../lib/alerts-topic';
import type { DeferredRevocation } from '../../lib/deferred-revocation';
import { EncryptionKey } from '../../lib/encryption-key';
import type { LedgerTable } from '../../lib/ledger-table';
import { ROTATION_HANDLER_ENTRY, ROTATION_SECRET_ACTIONS, RotationFunction } from '../../lib/rotation-function';
import {
  errorsAlarmProperties,
  keyrotorFunctionBasics,
  lambdaAssumeRolePolicy,
  passSchedulerRoleStatement,
  powertoolsVariables,
  scheduleRevocationsStatement,
  useKeyOnlyThroughDynamoDb,
  useKeyOnlyThroughSecretsManager,
} from './assertions';
import { asArray, statementsOfRole, wildcardWriteGrants, type PolicyStatementJson } from './iam-policy-statements';
import {
  acknowledgements,
  awsSolutionsFindings,
  bareStack,
  FIXTURE_ROTATION_HANDLER,
  logicalIdOf,
  propertiesOf,
  rotationDependencies,
} from './test-stack';

/** `arn:${AWS::Partition}:scheduler:eu-west-1:111111111111:schedule/keyrotor/revoke-*`, as synthesized. */
const REVOCATION_SCHEDULES = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':scheduler:eu-west-1:111111111111:schedule/keyrotor/revoke-*']],
};

describe('Construct: RotationFunction', () => {
  let stack: Stack;
  let template: Template;
  let rotation: RotationFunction;
  let ledger: LedgerTable;
  let revocation: DeferredRevocation;
  let secrets: secretsmanager.Secret[];
  let statements: PolicyStatementJson[];
  let fn: Record<string, unknown>;
  let keyArn: unknown;
  let topicRef: unknown;

  beforeAll(() => {
    stack = bareStack();
    const { key } = new EncryptionKey(stack, 'EncryptionKey');
    const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
    ({ ledger, revocation } = rotationDependencies(stack, key, alerts.topic));
    rotation = new RotationFunction(stack, 'RotationFunction', {
      encryptionKey: key,
      ledger,
      revocation,
      alarmTopic: alerts.topic,
      entry: FIXTURE_ROTATION_HANDLER,
    });
    secrets = ['one', 'two'].map((name) => new secretsmanager.Secret(stack, `Secret-${name}`, { encryptionKey: key }));
    for (const secret of secrets) rotation.grantRotation(secret);
    template = Template.fromStack(stack);
    statements = statementsOfRole(template, logicalIdOf(rotation.role));
    fn = propertiesOf(template, rotation.function);
    keyArn = stack.resolve(key.keyArn);
    topicRef = stack.resolve(alerts.topic.topicArn);
  });

  const statementsFor = (service: string) => statements.filter((s) => asArray(s.Action).some((a) => a.startsWith(`${service}:`)));

  it('defaults to the rotation handler at lambdas/handlers/rotate.ts', () => {
    // Assess
    expect(ROTATION_HANDLER_ENTRY).toMatch(/[/\\]lambdas[/\\]handlers[/\\]rotate\.ts$/);
  });

  it('runs on Node.js 24 on arm64 with the handler export `handler`', () => {
    // Assess
    expect(fn).toMatchObject(keyrotorFunctionBasics(120));
  });

  it('keeps the logical ids it had before it shared KeyrotorFunction, so a deploy does not replace it', () => {
    // Assess
    expect(logicalIdOf(rotation.function)).toBe('RotationFunction4CFF70D7');
    expect(logicalIdOf(rotation.role)).toBe('RotationFunctionRoleC06A7D99');
    expect(logicalIdOf(rotation.logGroup)).toBe('RotationFunctionLogGroup55DB82FE');
  });

  it('gets Powertools settings, the ledger, the revocation targets and the grace period through the environment', () => {
    // Assess
    expect(fn.Environment).toEqual({
      Variables: {
        ...powertoolsVariables('keyrotor-rotate'),
        KEYROTOR_LEDGER_TABLE: stack.resolve(ledger.table.tableName),
        KEYROTOR_REVOKER_ARN: stack.resolve(revocation.revoker.function.functionArn),
        KEYROTOR_SCHEDULER_ROLE_ARN: stack.resolve(revocation.schedulerRole.roleArn),
        KEYROTOR_SCHEDULE_GROUP: 'keyrotor',
        KEYROTOR_REVOCATION_DLQ_ARN: stack.resolve(revocation.deadLetterQueue.queueArn),
        KEYROTOR_GRACE_PERIOD_HOURS: '24',
      },
    });
  });

  it('is created after the schedule group its environment names', () => {
    // Assess
    template.hasResource('AWS::Lambda::Function', {
      Properties: { Description: 'keyrotor: Secrets Manager rotation steps for platform API keys' },
      DependsOn: Match.arrayWith([logicalIdOf(revocation.scheduleGroup)]),
    });
  });

  it('logs to its own log group with a retention period', () => {
    // Assess
    expect(propertiesOf(template, rotation.logGroup)).toMatchObject({ RetentionInDays: 365 });
    expect(fn.LoggingConfig).toEqual({ LogGroup: stack.resolve(rotation.logGroup.logGroupName) });
  });

  it('uses its own role without AWS managed policies', () => {
    // Assess
    expect(fn.Role).toEqual(stack.resolve(rotation.role.roleArn));
    expect(propertiesOf(template, rotation.role)).toMatchObject({
      AssumeRolePolicyDocument: lambdaAssumeRolePolicy(),
    });
    expect(propertiesOf(template, rotation.role).ManagedPolicyArns).toBeUndefined();
  });

  it('may write logs only to its own log group', () => {
    // Assess
    expect(statementsFor('logs')).toEqual([
      expect.objectContaining({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: stack.resolve(rotation.logGroup.logGroupArn),
      }),
    ]);
  });

  it('grants the four rotation actions, and tagging of the expiry and compromise tags only, on exactly the granted secrets, and never GetRandomPassword', () => {
    // Assess
    expect(statementsFor('secretsmanager')).toEqual([
      {
        Sid: 'RotateManagedSecrets',
        Effect: 'Allow',
        Action: [...ROTATION_SECRET_ACTIONS],
        Resource: secrets.map((secret) => stack.resolve(secret.secretArn)),
      },
      {
        Sid: 'TagCurrentKey',
        Effect: 'Allow',
        Action: ['secretsmanager:TagResource', 'secretsmanager:UntagResource'],
        Resource: secrets.map((secret) => stack.resolve(secret.secretArn)),
        // Never keyrotor:provider, :environment or :base-url: the rotation cannot re-point a secret.
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['keyrotor:expires-at', 'keyrotor:compromised'] } },
      },
    ]);
    expect(JSON.stringify(template.toJSON())).not.toContain('GetRandomPassword');
  });

  it('may use the key only through Secrets Manager and DynamoDB in its region', () => {
    // Assess
    expect(statementsFor('kms')).toEqual([useKeyOnlyThroughSecretsManager(keyArn), useKeyOnlyThroughDynamoDb(keyArn)]);
  });

  it('may get and put ledger items on the ledger table only', () => {
    // Assess
    expect(statementsFor('dynamodb')).toEqual([
      {
        Sid: 'KeepLedgerRecords',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: stack.resolve(ledger.table.tableArn),
      },
    ]);
  });

  it('may create only revoke-* schedules in keyrotor\'s schedule group', () => {
    // Assess
    expect(statementsFor('scheduler')).toEqual([scheduleRevocationsStatement(REVOCATION_SCHEDULES)]);
  });

  it('may pass only the scheduler role, and only to EventBridge Scheduler', () => {
    // Assess
    expect(statementsFor('iam')).toEqual([passSchedulerRoleStatement(stack.resolve(revocation.schedulerRole.roleArn))]);
  });

  it('grants nothing beyond logs, the key, the secrets, the ledger and revocation scheduling', () => {
    // Assess
    const services = new Set(statements.flatMap((s) => asArray(s.Action).map((a) => a.split(':')[0])));
    expect([...services].sort()).toEqual(['dynamodb', 'iam', 'kms', 'logs', 'scheduler', 'secretsmanager']);
    expect(wildcardWriteGrants(template)).toEqual([]);
  });

  it('alarms on any error and notifies the alerts topic', () => {
    // Assess
    expect(propertiesOf(template, rotation.errorsAlarm)).toMatchObject({
      ...errorsAlarmProperties(stack.resolve(rotation.function.functionName), topicRef),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('has no dead-letter queue, because Secrets Manager invokes it synchronously', () => {
    // Assess
    expect(fn.DeadLetterConfig).toBeUndefined();
  });

  it('acknowledges exactly one cdk-nag finding, the revoke-* schedule wildcard, with its reason', () => {
    // Assess
    const acknowledged = acknowledgements(rotation);
    expect(acknowledged).toHaveLength(1);
    const [[id, reason]] = Object.entries(acknowledged[0]!) as [[string, string]];
    expect(id).toMatch(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:scheduler:eu-west-1:111111111111:schedule\/keyrotor\/revoke-\*\]$/);
    expect(reason).toMatch(/revoke-<ClientRequestToken>.*only scheduler:CreateSchedule/);
  });

  it('raises no unacknowledged cdk-nag AwsSolutions findings', () => {
    // Act (the bare test secrets outside the construct have no schedule, so only the construct is checked)
    const findings = awsSolutionsFindings(rotation);

    // Assess
    expect(findings).toEqual([]);
  });

  describe('grace period', () => {
    function build(gracePeriodHours: number) {
      const other = bareStack();
      const { key } = new EncryptionKey(other, 'EncryptionKey');
      const parts = rotationDependencies(other, key);
      return new RotationFunction(other, 'RotationFunction', { encryptionKey: key, ...parts, gracePeriodHours, entry: FIXTURE_ROTATION_HANDLER });
    }

    it('passes a configured grace period to the handler', () => {
      // Act
      const built = build(72);

      // Assess
      const environment = propertiesOf(Template.fromStack(Stack.of(built)), built.function).Environment as { Variables: Record<string, unknown> };
      expect(environment.Variables.KEYROTOR_GRACE_PERIOD_HOURS).toBe('72');
    });

    it.each([0, 2161, 1.5])('refuses %p hours, which the handler would reject at its first rotation', (hours) => {
      // Act & Assess
      expect(() => build(hours)).toThrow(`gracePeriodHours must be a whole number of hours from 1 to 2160, not ${hours}`);
    });
  });
});
