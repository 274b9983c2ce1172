import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { TOKEN_TAG } from '../../lambdas/core/contracts';
import type { TokenConfig, TokenRefreshConfig } from '../../lib/config';
import { AlertsTopic } from '../../lib/alerts-topic';
import { EncryptionKey } from '../../lib/encryption-key';
import { ManagedToken } from '../../lib/managed-token';
import {
  DEFAULT_REFRESH_SCHEDULE_NAME,
  REFRESH_TOKENS_HANDLER_ENTRY,
  refreshRate,
  TokenRefresher,
  type TokenRefresherProps,
} from '../../lib/token-refresher';
import {
  deadLetteredFunctionStatements,
  deadLetterAlarmProperties,
  encryptedDeadLetterQueueProperties,
  errorsAlarmProperties,
  keyrotorFunctionBasics,
  powertoolsVariables,
  schedulerAssumeRolePolicy,
  sendToQueueStatement,
  useKeyOnlyThroughSecretsManager,
  useKeyOnlyThroughSqs,
} from './assertions';
import { asArray, statementsOfRole, wildcardWriteGrants, type PolicyStatementJson } from './iam-policy-statements';
import { acknowledgements, awsSolutionsFindings, bareStack, FIXTURE_REFRESH_TOKENS_HANDLER, logicalIdOf, propertiesOf } from './test-stack';

const TOKENS: readonly TokenConfig[] = [
  {
    id: 'learn-token',
    provider: 'thrive',
    environment: 'production',
    grant: 'client-credentials',
    tokenUrl: 'https://acme.api.learn.link/oauth2/token/eu-west-2_AbcdEfghI',
    clientAuth: 'basic',
  },
  { id: 'payments-token', provider: 'imburse', environment: 'sandbox', grant: 'imburse-hmac', credential: 'payments' },
  // A second token from the same credential: its source is granted once.
  { id: 'payments-token-2', provider: 'imburse', environment: 'sandbox', grant: 'imburse-hmac', credential: 'payments' },
];

/** A refresher in a bare stack with keyrotor's key, topic and schedule group. */
function build(overrides: Partial<Omit<TokenRefresherProps, 'encryptionKey' | 'alertsTopic' | 'scheduleGroup'>> = {}, tokens: readonly TokenConfig[] = TOKENS) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
  const scheduleGroup = new scheduler.CfnScheduleGroup(stack, 'ScheduleGroup', { name: 'keyrotor' });
  const credentialSecret = new secretsmanager.Secret(stack, 'CredentialSecret', { secretName: 'keyrotor/payments', encryptionKey: key });
  const refresher = new TokenRefresher(stack, 'TokenRefresher', {
    encryptionKey: key,
    alertsTopic: alerts.topic,
    scheduleGroup,
    entry: FIXTURE_REFRESH_TOKENS_HANDLER,
    ...overrides,
  });
  const managed = tokens.map(
    (token) => new ManagedToken(stack, token.id, { token, encryptionKey: key, ...(token.grant === 'imburse-hmac' ? { credentialSecret } : {}) }),
  );
  for (const token of managed) refresher.grantRefresh(token);
  return { stack, key, alerts, scheduleGroup, credentialSecret, refresher, managed, template: Template.fromStack(stack) };
}

describe('Construct: TokenRefresher', () => {
  let stack: Stack;
  let template: Template;
  let refresher: TokenRefresher;
  let managed: ManagedToken[];
  let credentialSecret: secretsmanager.Secret;
  let scheduleGroup: scheduler.CfnScheduleGroup;
  let statements: PolicyStatementJson[];
  let fn: Record<string, unknown>;
  let keyArn: unknown;
  let topicArn: unknown;

  beforeAll(() => {
    const built = build();
    ({ stack, template, refresher, managed, credentialSecret, scheduleGroup } = built);
    statements = statementsOfRole(template, logicalIdOf(refresher.refresher.role));
    fn = propertiesOf(template, refresher.refresher.function);
    keyArn = stack.resolve(built.key.keyArn);
    topicArn = stack.resolve(built.alerts.topic.topicArn);
  });

  const arnOf = (secret: secretsmanager.ISecret) => stack.resolve(secret.secretArn);

  describe('refresher function', () => {
    it('defaults to the handler at lambdas/handlers/refresh-tokens.ts', () => {
      // Assess
      expect(REFRESH_TOKENS_HANDLER_ENTRY).toMatch(/[/\\]lambdas[/\\]handlers[/\\]refresh-tokens\.ts$/);
    });

    it('runs on Node.js 24 on arm64 for up to 5 minutes, one run at a time', () => {
      // Assess
      expect(fn).toMatchObject({ ...keyrotorFunctionBasics(300), ReservedConcurrentExecutions: 1 });
    });

    it('gets the refresh settings and the metrics namespace through the environment, and nothing else (KEYROTOR_EVENT_BUS comes with KeyrotorEvents.addPublisher)', () => {
      // Assess
      expect(fn.Environment).toEqual({
        Variables: {
          ...powertoolsVariables('keyrotor-refresh-tokens'),
          KEYROTOR_REFRESH_RATE_MINUTES: '5',
          KEYROTOR_RENEW_AT_FRACTION: '0.75',
          KEYROTOR_RENEW_JITTER_FRACTION: '0.05',
          KEYROTOR_REFRESH_CONCURRENCY: '4',
          POWERTOOLS_METRICS_NAMESPACE: 'keyrotor',
        },
      });
    });

    it('puts runs it failed after Lambda\'s retries in its own dead-letter queue', () => {
      // Assess
      expect(fn.DeadLetterConfig).toEqual({ TargetArn: stack.resolve(refresher.deadLetterQueue.queueArn) });
    });

    it('uses its own role without AWS managed policies', () => {
      // Assess
      expect(fn.Role).toEqual(stack.resolve(refresher.refresher.role.roleArn));
      expect(propertiesOf(template, refresher.refresher.role).ManagedPolicyArns).toBeUndefined();
    });

    it('has exactly the permissions a refresh needs, statement by statement', () => {
      // Assess
      const [client, tokenOne, tokenTwo, tokenThree] = [managed[0]!.clientSecret!, managed[0]!.secret, managed[1]!.secret, managed[2]!.secret];
      const tokenSecrets = [tokenOne, tokenTwo, tokenThree].map(arnOf);
      expect(statements).toEqual([
        ...deadLetteredFunctionStatements(stack.resolve(refresher.refresher.logGroup.logGroupArn), stack.resolve(refresher.deadLetterQueue.queueArn), keyArn),
        { Sid: 'ListTokenSecrets', Effect: 'Allow', Action: 'secretsmanager:ListSecrets', Resource: '*' },
        useKeyOnlyThroughSecretsManager(keyArn),
        {
          Sid: 'ReadTokensAndSources',
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          // Each token secret and its source; the credential both Imburse tokens share, once.
          Resource: [arnOf(tokenOne), arnOf(client), arnOf(tokenTwo), arnOf(credentialSecret), arnOf(tokenThree)],
        },
        // Only the sources: a disagreement of the listing with a token's source version is confirmed here, without decrypting.
        { Sid: 'ConfirmSourceVersions', Effect: 'Allow', Action: 'secretsmanager:DescribeSecret', Resource: [arnOf(client), arnOf(credentialSecret)] },
        { Sid: 'RenewTokens', Effect: 'Allow', Action: 'secretsmanager:PutSecretValue', Resource: tokenSecrets },
        {
          Sid: 'RecordRefreshState',
          Effect: 'Allow',
          Action: 'secretsmanager:TagResource',
          Resource: tokenSecrets,
          Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [TOKEN_TAG.refreshState] } },
        },
      ]);
    });

    it('may write (PutSecretValue, TagResource) only the token secrets, never a source secret', () => {
      // Assess
      const writes = statements.filter((s) => asArray(s.Action).some((a) => a === 'secretsmanager:PutSecretValue' || a === 'secretsmanager:TagResource'));
      const written = writes.flatMap((s) => asArray(s.Resource));
      const sources = [managed[0]!.clientSecret!, credentialSecret].map(arnOf);
      expect(writes).toHaveLength(2);
      for (const source of sources) expect(written).not.toContainEqual(source);
      expect(new Set(written.map((arn) => JSON.stringify(arn)))).toEqual(new Set(managed.map((m) => JSON.stringify(arnOf(m.secret)))));
    });

    it('grants no write action on "*" (ListSecrets only reads)', () => {
      // Assess
      expect(wildcardWriteGrants(template)).toEqual([]);
      expect(statements.filter((s) => asArray(s.Resource).includes('*')).map((s) => s.Action)).toEqual(['secretsmanager:ListSecrets']);
    });

    it('needs no cloudwatch:PutMetricData: Powertools writes its metrics to the logs', () => {
      // Assess
      const services = new Set(statements.flatMap((s) => asArray(s.Action).map((a) => a.split(':')[0])));
      expect([...services].sort()).toEqual(['kms', 'logs', 'secretsmanager', 'sqs']);
    });

    it('may not publish to SNS: its renewals and failures go to keyrotor\'s bus, and the notifier alerts', () => {
      // Assess
      expect(statements.filter((s) => JSON.stringify(s).includes('sns'))).toEqual([]);
    });

    it('alarms to the alerts topic on any error', () => {
      // Assess
      expect(propertiesOf(template, refresher.refresher.errorsAlarm)).toMatchObject(
        errorsAlarmProperties(stack.resolve(refresher.refresher.function.functionName), topicArn),
      );
    });
  });

  describe('schedule', () => {
    let schedule: Record<string, unknown>;

    beforeAll(() => {
      schedule = propertiesOf(template, refresher.schedule);
    });

    it('runs the refresher at the configured rate, on time, in keyrotor\'s schedule group', () => {
      // Assess
      template.resourceCountIs('AWS::Scheduler::Schedule', 1);
      expect(DEFAULT_REFRESH_SCHEDULE_NAME).toBe('refresh-tokens');
      expect(schedule).toMatchObject({
        Name: 'refresh-tokens',
        GroupName: stack.resolve(scheduleGroup.ref),
        ScheduleExpression: 'rate(5 minutes)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
      });
    });

    it('targets the refresher with the scheduler role, retries for one period and then dead-letters', () => {
      // Assess
      expect(schedule.Target).toEqual({
        Arn: stack.resolve(refresher.refresher.function.functionArn),
        RoleArn: stack.resolve(refresher.schedulerRole.roleArn),
        DeadLetterConfig: { Arn: stack.resolve(refresher.deadLetterQueue.queueArn) },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
      });
    });

    it('is created after the scheduler role and its policy', () => {
      // Assess
      const policy = refresher.schedulerRole.node.findChild('DefaultPolicy').node.defaultChild!;
      const { DependsOn } = template.toJSON().Resources[logicalIdOf(refresher.schedule)] as { DependsOn: string[] };
      expect(DependsOn).toEqual(expect.arrayContaining([logicalIdOf(refresher.schedulerRole), logicalIdOf(policy)]));
    });

    it('writes rate expressions in Scheduler\'s form', () => {
      // Assess
      expect(refreshRate(1)).toBe('rate(1 minute)');
      expect(refreshRate(5)).toBe('rate(5 minutes)');
      expect(refreshRate(60)).toBe('rate(60 minutes)');
    });
  });

  describe('scheduler role', () => {
    it('may be assumed only by EventBridge Scheduler for schedules of keyrotor\'s group in this account', () => {
      // Assess
      expect(propertiesOf(template, refresher.schedulerRole).AssumeRolePolicyDocument).toEqual(schedulerAssumeRolePolicy(stack.resolve(scheduleGroup.attrArn)));
    });

    it('may invoke only the refresher and send only to the dead-letter queue', () => {
      // Assess
      expect(statementsOfRole(template, logicalIdOf(refresher.schedulerRole))).toEqual([
        { Sid: 'InvokeTokenRefresher', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: stack.resolve(refresher.refresher.function.functionArn) },
        { Sid: 'SendUndeliverableRefreshes', ...sendToQueueStatement(stack.resolve(refresher.deadLetterQueue.queueArn)) },
        useKeyOnlyThroughSqs(keyArn),
      ]);
      expect(propertiesOf(template, refresher.schedulerRole).ManagedPolicyArns).toBeUndefined();
    });
  });

  describe('dead-letter queue', () => {
    it('is encrypted with the customer-managed key, TLS only, and keeps messages for 14 days', () => {
      // Assess
      expect(propertiesOf(template, refresher.deadLetterQueue)).toMatchObject(encryptedDeadLetterQueueProperties(keyArn));
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [stack.resolve(refresher.deadLetterQueue.queueUrl)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('alarms to the alerts topic as soon as it holds a message', () => {
      // Assess
      expect(propertiesOf(template, refresher.deadLetterAlarm)).toMatchObject(
        deadLetterAlarmProperties(stack.resolve(refresher.deadLetterQueue.queueName), topicArn),
      );
    });
  });

  describe('cdk-nag', () => {
    it('raises no unacknowledged AwsSolutions findings', () => {
      // Act (the bare credential secret outside the construct has no rotation, so only the construct and the tokens are checked)
      const findings = [refresher, ...managed].flatMap((scope) => awsSolutionsFindings(scope));

      // Assess
      expect(findings).toEqual([]);
    });

    it('acknowledges exactly one finding, IAM5 on ListSecrets\' "*", with its reason', () => {
      // Assess
      expect(acknowledgements(refresher)).toEqual([
        { 'Annotation::AwsSolutions-IAM5[Resource::*]': expect.stringMatching(/ListSecrets has no resource-level permissions.*never a secret value/) },
      ]);
      expect(acknowledgements(refresher.refresher.role.node.findChild('DefaultPolicy'))).toHaveLength(1);
    });
  });

  describe('settings', () => {
    it('passes configured settings to the handler and the schedule', () => {
      // Prepare
      const settings: TokenRefreshConfig = { rateMinutes: 1, renewAtFraction: 0.5, jitterFraction: 0.2, concurrency: 20 };

      // Act
      const built = build({ settings, scheduleName: 'refresh-tokens-staging' });

      // Assess
      const variables = (propertiesOf(built.template, built.refresher.refresher.function).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables).toMatchObject({
        KEYROTOR_REFRESH_RATE_MINUTES: '1',
        KEYROTOR_RENEW_AT_FRACTION: '0.5',
        KEYROTOR_RENEW_JITTER_FRACTION: '0.2',
        KEYROTOR_REFRESH_CONCURRENCY: '20',
      });
      expect(propertiesOf(built.template, built.refresher.schedule)).toMatchObject({
        Name: 'refresh-tokens-staging',
        ScheduleExpression: 'rate(1 minute)',
        Target: { RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60 } },
      });
      expect(built.refresher.settings).toEqual(settings);
    });

    it('refuses invalid settings, listing every problem by the config file\'s rules', () => {
      // Act & Assess
      expect(() => build({ settings: { rateMinutes: 90, renewAtFraction: 0.9, jitterFraction: 0.15, concurrency: 0 } })).toThrow(
        'TokenRefresher Test/TokenRefresher: invalid settings:\n' +
          '  - tokenRefresh.rateMinutes: must be a whole number of minutes from 1 to 60\n' +
          '  - tokenRefresh.concurrency: must be a whole number from 1 to 20 (tokens renewed at once)\n' +
          '  - tokenRefresh.jitterFraction: renewAtFraction (0.9) + jitterFraction (0.15) must be less than 1',
      );
    });
  });

  it('with an unencrypted alerts topic too, gets no SNS permission (the topic only receives its alarms)', () => {
    // Prepare
    const other = bareStack();
    const { key } = new EncryptionKey(other, 'EncryptionKey');

    // Act
    const plain = new TokenRefresher(other, 'TokenRefresher', {
      encryptionKey: key,
      alertsTopic: new sns.Topic(other, 'Plain'),
      scheduleGroup: new scheduler.CfnScheduleGroup(other, 'ScheduleGroup', { name: 'keyrotor' }),
      entry: FIXTURE_REFRESH_TOKENS_HANDLER,
    });

    // Assess
    const sids = statementsOfRole(Template.fromStack(other), logicalIdOf(plain.refresher.role)).map((s) => s.Sid);
    expect(sids).not.toContain('PublishAlerts');
    expect(sids).not.toContain('UseKeyOnlyThroughSns');
  });
});
