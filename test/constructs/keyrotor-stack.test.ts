import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NOTIFY_HANDLER_ENTRY } from '../../lib/alert-notifier';
import { loadConfig } from '../../lib/config';
import type { KeyrotorFunction } from '../../lib/keyrotor-function';
import { KeyrotorStack } from '../../lib/keyrotor-stack';
import { ROTATION_HANDLER_ENTRY } from '../../lib/rotation-function';
import type { TokenRefresher } from '../../lib/token-refresher';
import { bundleAsDeployed } from '../support/deployed-bundle';
import { statementsOfRole, wildcardWriteGrants } from './iam-policy-statements';
import {
  acknowledgements,
  awsSolutionsFindings,
  buildKeyrotorStack,
  FIXTURE_NOTIFY_HANDLER,
  logicalIdOf,
  propertiesOf,
  TEST_ENV,
  testConfig,
  tokenTestConfig,
} from './test-stack';

const EXAMPLE_CONFIG = path.join(__dirname, '..', '..', 'keyrotor.config.json');

/** The statement that lets a publisher put keyrotor events on the stack's bus, and nowhere else. */
function putEventsStatement(stack: KeyrotorStack) {
  return {
    Sid: 'PublishKeyrotorEvents',
    Effect: 'Allow',
    Action: 'events:PutEvents',
    Resource: stack.resolve(stack.events.bus.eventBusArn),
    Condition: { StringEquals: { 'events:source': 'keyrotor', 'events:detail-type': expect.arrayContaining(['KeyCompromised']) } },
  };
}

/** `publisher`'s statements that mention EventBridge, and its KEYROTOR_EVENT_BUS. */
function publishing(template: Template, publisher: KeyrotorFunction) {
  const statements = statementsOfRole(template, logicalIdOf(publisher.role)).filter((s) => JSON.stringify(s.Action).includes('events:'));
  const { Variables } = propertiesOf(template, publisher.function).Environment as { Variables: Record<string, unknown> };
  return { statements, bus: Variables.KEYROTOR_EVENT_BUS };
}

describe('Construct: KeyrotorStack', () => {
  describe('with the fixture handlers', () => {
    let stack: KeyrotorStack;
    let template: Template;
    let secretArns: unknown[];

    beforeAll(() => {
      stack = buildKeyrotorStack(testConfig({ defaults: { gracePeriodHours: 48 } }));
      template = Template.fromStack(stack);
      secretArns = [...stack.secrets.values()].map((managed) => stack.resolve(managed.secret.secretArn));
    });

    it('composes one key, topic, ledger, notifier, event bus, revocation set-up and rotation function, and one rotated secret per credential', () => {
      // Assess
      template.resourceCountIs('AWS::KMS::Key', 1);
      template.resourceCountIs('AWS::SNS::Topic', 1);
      template.resourceCountIs('AWS::DynamoDB::Table', 1);
      template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
      // The daily sweep's.
      template.resourceCountIs('AWS::Scheduler::Schedule', 1);
      // The revocation, notifier, compromise and sweep dead-letter queues.
      template.resourceCountIs('AWS::SQS::Queue', 4);
      // Rotation, revoker, notifier, compromise responder, daily sweep.
      template.resourceCountIs('AWS::Lambda::Function', 5);
      template.resourceCountIs('AWS::SecretsManager::Secret', 2);
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
      // Secrets Manager invoking the rotation function for each secret, each rule invoking the notifier, the reports rule invoking the responder.
      template.resourceCountIs('AWS::Lambda::Permission', 5);
      template.resourceCountIs('AWS::Events::EventBus', 1);
      template.resourceCountIs('AWS::Events::Archive', 1);
      template.resourceCountIs('AWS::Events::Rule', 3);
      // Errors of the rotation function, revoker, notifier, responder and sweep; the four dead-letter queues; the missed sweep.
      template.resourceCountIs('AWS::CloudWatch::Alarm', 10);
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      template.resourceCountIs('AWS::SNS::Subscription', 2);
      expect([...stack.secrets.keys()]).toEqual(['acme-prod', 'acme-sandbox']);
    });

    it('applies the default interval and per-credential overrides', () => {
      // Assess
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        SecretId: stack.resolve(stack.secrets.get('acme-prod')!.secret.secretArn),
        RotationRules: { ScheduleExpression: 'rate(90 days)' },
        RotateImmediatelyOnUpdate: false,
      });
      template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        SecretId: stack.resolve(stack.secrets.get('acme-sandbox')!.secret.secretArn),
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
        RotateImmediatelyOnUpdate: false,
      });
    });

    it('encrypts every secret, the topic, the ledger and the dead-letter queue with the one key', () => {
      // Assess
      const keyArn = stack.resolve(stack.encryptionKey.key.keyArn);
      for (const name of ['keyrotor/acme-prod', 'keyrotor/acme-sandbox']) {
        template.hasResourceProperties('AWS::SecretsManager::Secret', { Name: name, KmsKeyId: keyArn });
      }
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: 'keyrotor-ledger',
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        BillingMode: 'PAY_PER_REQUEST',
      });
      template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: keyArn });
    });

    it('scopes the rotation function and the revoker to the managed secrets\' ARNs', () => {
      // Assess
      const rotationSecrets = statementsOfRole(template, logicalIdOf(stack.rotationFunction.role)).find((s) => s.Sid === 'RotateManagedSecrets');
      const revokerSecrets = statementsOfRole(template, logicalIdOf(stack.revocation.revoker.role)).find((s) => s.Sid === 'ReadManagedSecrets');
      expect(rotationSecrets?.Resource).toEqual(secretArns);
      expect(revokerSecrets).toEqual({
        Sid: 'ReadManagedSecrets',
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: secretArns,
      });
    });

    it('wires the rotation function to the ledger, the revoker, the scheduler role, the group, the queue and the configured grace period', () => {
      // Assess
      const { Variables } = propertiesOf(template, stack.rotationFunction.function).Environment as { Variables: Record<string, unknown> };
      expect(Variables).toMatchObject({
        KEYROTOR_LEDGER_TABLE: stack.resolve(stack.ledger.table.tableName),
        KEYROTOR_REVOKER_ARN: stack.resolve(stack.revocation.revoker.function.functionArn),
        KEYROTOR_SCHEDULER_ROLE_ARN: stack.resolve(stack.revocation.schedulerRole.roleArn),
        KEYROTOR_SCHEDULE_GROUP: 'keyrotor',
        KEYROTOR_REVOCATION_DLQ_ARN: stack.resolve(stack.revocation.deadLetterQueue.queueArn),
        KEYROTOR_GRACE_PERIOD_HOURS: '48',
      });
      const revoker = propertiesOf(template, stack.revocation.revoker.function).Environment as { Variables: Record<string, unknown> };
      expect(revoker.Variables.KEYROTOR_LEDGER_TABLE).toEqual(stack.resolve(stack.ledger.table.tableName));
    });

    it('lets the rotation function and the revoker publish keyrotor events on the bus, and tells them its name', () => {
      // Assess
      for (const publisher of [stack.rotationFunction, stack.revocation.revoker]) {
        expect(publishing(template, publisher)).toEqual({
          statements: [putEventsStatement(stack)],
          bus: stack.resolve(stack.events.bus.eventBusName),
        });
      }
    });

    it('names the bus keyrotor, archives its events for the configured days, and routes them and Secrets Manager\'s rotation failures to the notifier', () => {
      // Assess
      expect(propertiesOf(template, stack.events.bus).Name).toBe('keyrotor');
      expect(propertiesOf(template, stack.events.archive)).toMatchObject({ RetentionDays: 365, EventPattern: { source: ['keyrotor'] } });
      for (const rule of [stack.events.keyrotorEventsRule, stack.events.rotationFailuresRule]) {
        expect(propertiesOf(template, rule).Targets).toEqual([
          expect.objectContaining({
            Arn: stack.resolve(stack.notifier.notifier.function.functionArn),
            DeadLetterConfig: { Arn: stack.resolve(stack.notifier.deadLetterQueue.queueArn) },
          }),
        ]);
      }
    });

    it('runs the notifier with the alerts topic and the ledger, and without runbook links when none are configured', () => {
      // Assess
      const { Variables } = propertiesOf(template, stack.notifier.notifier.function).Environment as { Variables: Record<string, unknown> };
      expect(Variables).toMatchObject({
        KEYROTOR_ALERTS_TOPIC_ARN: stack.resolve(stack.alerts.topic.topicArn),
        KEYROTOR_LEDGER_TABLE: stack.resolve(stack.ledger.table.tableName),
      });
      expect(Variables.KEYROTOR_RUNBOOK_BASE_URL).toBeUndefined();
    });

    it('routes every alarm (rotation, revoker and notifier errors, both dead-letter queues) to the alerts topic', () => {
      // Assess
      const topicRef = stack.resolve(stack.alerts.topic.topicArn);
      const alarms = [
        stack.rotationFunction.errorsAlarm,
        stack.revocation.revoker.errorsAlarm,
        stack.revocation.deadLetterAlarm,
        stack.notifier.notifier.errorsAlarm,
        stack.notifier.deadLetterAlarm,
      ];
      for (const alarm of alarms) {
        expect(propertiesOf(template, alarm).AlarmActions).toEqual([topicRef]);
      }
    });

    it('grants no write action on "*" in any IAM policy', () => {
      // Assess
      expect(wildcardWriteGrants(template)).toEqual([]);
    });

    it('runs the daily sweep over every managed secret: granted each one, publishing keyrotor events, alarming to the alerts topic', () => {
      // Assess
      const statements = (propertiesOf(template, stack.sweep.function.role.node.findChild('DefaultPolicy')).PolicyDocument as { Statement: { Sid?: string; Resource?: unknown }[] }).Statement;
      expect(statements.find((s) => s.Sid === 'SweepManagedSecrets')?.Resource).toEqual(secretArns);
      expect(statements.find((s) => s.Sid === 'RecordRevocationConfirmed')?.Resource).toEqual(secretArns);
      expect(statements.find((s) => s.Sid === 'InvokeRotationFunctionForRotateSecret')?.Resource).toEqual(stack.resolve(stack.rotationFunction.function.functionArn));
      expect(statements.find((s) => s.Sid === 'PublishKeyrotorEvents')).toEqual(putEventsStatement(stack));
      const { Variables } = propertiesOf(template, stack.sweep.function.function).Environment as { Variables: Record<string, unknown> };
      expect(Variables).toMatchObject({ KEYROTOR_EVENT_BUS: stack.resolve(stack.events.bus.eventBusName), KEYROTOR_GRACE_PERIOD_HOURS: '48' });
      expect(propertiesOf(template, stack.sweep.schedule)).toMatchObject({ GroupName: stack.resolve(stack.revocation.scheduleGroup.ref), ScheduleExpression: 'cron(0 6 * * ? *)' });
      const topicRef = stack.resolve(stack.alerts.topic.topicArn);
      for (const alarm of [stack.sweep.function.errorsAlarm, stack.sweep.deadLetterAlarm, stack.sweep.missedSweepAlarm]) {
        expect(propertiesOf(template, alarm).AlarmActions).toEqual([topicRef]);
      }
    });

    it('outputs each secret ARN, the topic ARN, the event bus name and the ledger table name', () => {
      // Assess
      const outputs = template.findOutputs('*');
      expect(Object.values(outputs).map((output) => output.Value)).toEqual(
        expect.arrayContaining([...secretArns, stack.resolve(stack.alerts.topic.topicArn)]),
      );
      expect(outputs.LedgerTableName).toMatchObject({ Value: stack.resolve(stack.ledger.table.tableName) });
      expect(outputs.EventBusName).toMatchObject({ Value: stack.resolve(stack.events.bus.eventBusName) });
    });

    it('is protected against termination', () => {
      // Assess
      expect(stack.terminationProtection).toBe(true);
    });

    it('creates no token secrets, token refresher or refresh schedule when no token is configured', () => {
      // Assess
      expect(stack.tokens.size).toBe(0);
      expect(stack.tokenRefresher).toBeUndefined();
      // The only schedule is the daily sweep's, and only the sweep lists secrets.
      expect(Object.values(template.findResources('AWS::Scheduler::Schedule')).map((schedule) => (schedule as { Properties: { Name: string } }).Properties.Name)).toEqual(['daily-sweep']);
      expect(JSON.stringify(template.toJSON())).not.toMatch(/refresh-tokens|\/token"/);
      expect(JSON.stringify(template.toJSON()).match(/secretsmanager:ListSecrets"/g)).toHaveLength(1);
    });

    it('raises no cdk-nag AwsSolutions findings; acknowledges the revoke-* schedule wildcard (rotation function, sweep) and the sweep\'s ListSecrets "*"', () => {
      // Act
      const findings = awsSolutionsFindings(stack);

      // Assess
      expect(findings).toEqual([]);
      expect(acknowledgements(stack).flatMap((entry) => Object.keys(entry))).toEqual([
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:scheduler:eu-west-1:111111111111:schedule\/keyrotor\/revoke-\*\]$/),
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::\*\]$/),
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:scheduler:eu-west-1:111111111111:schedule\/keyrotor\/revoke-\*\]$/),
      ]);
    });
  });

  describe('with tokens', () => {
    let stack: KeyrotorStack;
    let template: Template;
    let refresher: TokenRefresher;

    beforeAll(() => {
      stack = buildKeyrotorStack(tokenTestConfig({ tokenRefresh: { rateMinutes: 2, concurrency: 8 } }));
      template = Template.fromStack(stack);
      refresher = stack.tokenRefresher!;
    });

    it('adds a token secret per token, an OAuth client secret per client-credentials token, and one refresher with its schedule', () => {
      // Assess
      expect([...stack.tokens.keys()]).toEqual(['learn-token', 'acme-token', 'payments-token']);
      expect(refresher).toBeDefined();
      const names = Object.values(template.findResources('AWS::SecretsManager::Secret')).map((secret) => (secret as { Properties: { Name: string } }).Properties.Name);
      expect(names).toEqual([
        'keyrotor/acme-prod',
        'keyrotor/acme-sandbox',
        'keyrotor/payments',
        'keyrotor/learn-token/token',
        'keyrotor/learn-token/client',
        'keyrotor/acme-token/token',
        'keyrotor/acme-token/client',
        'keyrotor/payments-token/token',
      ]);
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 3);
      template.resourceCountIs('AWS::Lambda::Function', 6);
      template.resourceCountIs('AWS::Scheduler::Schedule', 2);
      template.resourceCountIs('AWS::SQS::Queue', 5);
      template.resourceCountIs('AWS::CloudWatch::Alarm', 12);
      // Still one dashboard, now with the token widgets.
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    });

    it('puts the refresh schedule in the keyrotor schedule group the revocations use', () => {
      // Assess
      template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
      expect(propertiesOf(template, refresher.schedule)).toMatchObject({
        GroupName: stack.resolve(stack.revocation.scheduleGroup.ref),
        ScheduleExpression: 'rate(2 minutes)',
        FlexibleTimeWindow: { Mode: 'OFF' },
      });
      expect(propertiesOf(template, refresher.schedulerRole).AssumeRolePolicyDocument).toMatchObject({
        Statement: [{ Condition: { StringEquals: { 'aws:SourceArn': stack.resolve(stack.revocation.scheduleGroup.attrArn) } } }],
      });
    });

    it('runs the refresher with the configured settings and keyrotor\'s bus, not the alerts topic', () => {
      // Assess
      const { Variables } = propertiesOf(template, refresher.refresher.function).Environment as { Variables: Record<string, unknown> };
      expect(Variables.KEYROTOR_ALERTS_TOPIC_ARN).toBeUndefined();
      expect(Variables).toMatchObject({
        KEYROTOR_EVENT_BUS: stack.resolve(stack.events.bus.eventBusName),
        KEYROTOR_REFRESH_RATE_MINUTES: '2',
        KEYROTOR_RENEW_AT_FRACTION: '0.75',
        KEYROTOR_RENEW_JITTER_FRACTION: '0.05',
        KEYROTOR_REFRESH_CONCURRENCY: '8',
      });
    });

    it('lets the refresher read each token and its source (the OAuth client, or the Imburse credential\'s managed secret) and write only the tokens', () => {
      // Assess
      const arn = (secret: { secretArn: string }) => stack.resolve(secret.secretArn);
      const [learn, acme, payments] = ['learn-token', 'acme-token', 'payments-token'].map((id) => stack.tokens.get(id)!);
      const statements = statementsOfRole(template, logicalIdOf(refresher.refresher.role));
      const bySid = (sid: string) => statements.find((statement) => statement.Sid === sid)?.Resource;
      expect(bySid('ReadTokensAndSources')).toEqual([
        arn(learn!.secret),
        arn(learn!.clientSecret!),
        arn(acme!.secret),
        arn(acme!.clientSecret!),
        arn(payments!.secret),
        arn(stack.secrets.get('payments')!.secret),
      ]);
      const tokenSecrets = [learn, acme, payments].map((token) => arn(token!.secret));
      expect(bySid('RenewTokens')).toEqual(tokenSecrets);
      expect(bySid('RecordRefreshState')).toEqual(tokenSecrets);
    });

    it('lets the refresher publish keyrotor events on the bus only, and nothing to SNS', () => {
      // Assess
      expect(publishing(template, refresher.refresher)).toEqual({
        statements: [putEventsStatement(stack)],
        bus: stack.resolve(stack.events.bus.eventBusName),
      });
      const statements = statementsOfRole(template, logicalIdOf(refresher.refresher.role));
      expect(statements.filter((s) => JSON.stringify(s.Action).includes('sns:'))).toEqual([]);
      expect(statements.filter((s) => JSON.stringify(s.Action).includes('events:')).map((s) => s.Resource)).toEqual([stack.resolve(stack.events.bus.eventBusArn)]);
    });

    it('routes the refresher\'s alarms to the alerts topic too', () => {
      // Assess
      const topicRef = stack.resolve(stack.alerts.topic.topicArn);
      for (const alarm of [refresher.refresher.errorsAlarm, refresher.deadLetterAlarm]) {
        expect(propertiesOf(template, alarm).AlarmActions).toEqual([topicRef]);
      }
    });

    it('outputs each token secret\'s ARN', () => {
      // Assess
      const values = Object.values(template.findOutputs('*')).map((output) => output.Value);
      for (const token of stack.tokens.values()) expect(values).toContainEqual(stack.resolve(token.secret.secretArn));
    });

    it('grants no write action on "*" in any IAM policy', () => {
      // Assess
      expect(wildcardWriteGrants(template)).toEqual([]);
    });

    it('raises no cdk-nag findings; acknowledges revoke-*, ListSecrets\' "*" and SMG4 on each token and OAuth client secret', () => {
      // Act
      const findings = awsSolutionsFindings(stack);

      // Assess
      expect(findings).toEqual([]);
      const acknowledged = acknowledgements(stack).flatMap((entry) => Object.keys(entry));
      expect(acknowledged.filter((id) => id.endsWith('AwsSolutions-SMG4'))).toHaveLength(5);
      expect(acknowledged.filter((id) => !id.endsWith('AwsSolutions-SMG4'))).toEqual([
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:scheduler:eu-west-1:111111111111:schedule\/keyrotor\/revoke-\*\]$/),
        // The daily sweep's ListSecrets and revoke-*, then the refresher's ListSecrets.
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::\*\]$/),
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:scheduler:eu-west-1:111111111111:schedule\/keyrotor\/revoke-\*\]$/),
        expect.stringMatching(/AwsSolutions-IAM5\[Resource::\*\]$/),
      ]);
    });
  });

  it('names the ledger table as asked', () => {
    // Act
    const stack = new KeyrotorStack(new App({ builtinCloudFormationValidation: false }), 'Keyrotor', {
      config: testConfig(),
      env: TEST_ENV,
      ledgerTableName: 'keyrotor-ledger-staging',
      eventBusName: 'keyrotor-staging',
      rotationHandlerEntry: path.join(__dirname, 'fixtures', 'rotate-handler.ts'),
      revokerHandlerEntry: path.join(__dirname, 'fixtures', 'revoke-handler.ts'),
      notifyHandlerEntry: FIXTURE_NOTIFY_HANDLER,
    });

    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'keyrotor-ledger-staging' });
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'keyrotor-staging' });
  });

  it('archives for the configured days and passes the configured runbook base URL to the notifier', () => {
    // Act
    const stack = buildKeyrotorStack(testConfig({ events: { archiveRetentionDays: 90 }, alerts: { emails: [], runbookBaseUrl: 'https://github.com/example-org/keyrotor/blob/main/' } }));

    // Assess
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, stack.events.archive).RetentionDays).toBe(90);
    const { Variables } = propertiesOf(template, stack.notifier.notifier.function).Environment as { Variables: Record<string, unknown> };
    expect(Variables.KEYROTOR_RUNBOOK_BASE_URL).toBe('https://github.com/example-org/keyrotor/blob/main');
  });

  it('acknowledges the schedule wildcard also in an environment-agnostic stack', () => {
    // Prepare
    const stack = new KeyrotorStack(new App({ builtinCloudFormationValidation: false }), 'Keyrotor', {
      config: testConfig(),
      rotationHandlerEntry: path.join(__dirname, 'fixtures', 'rotate-handler.ts'),
      revokerHandlerEntry: path.join(__dirname, 'fixtures', 'revoke-handler.ts'),
      notifyHandlerEntry: FIXTURE_NOTIFY_HANDLER,
    });

    // Act
    const findings = awsSolutionsFindings(stack);

    // Assess
    expect(findings).toEqual([]);
    expect(acknowledgements(stack).flatMap((entry) => Object.keys(entry))).toEqual([
      expect.stringMatching(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\/keyrotor\/revoke-\*\]$/),
      expect.stringMatching(/AwsSolutions-IAM5\[Resource::\*\]$/),
      expect.stringMatching(/AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule\/keyrotor\/revoke-\*\]$/),
    ]);
  });

  describe('as the app builds it (real handlers, example config, validators on)', () => {
    let assembly: ReturnType<App['synth']>;
    let stack: KeyrotorStack;
    beforeAll(() => {
      const app = new App();
      stack = new KeyrotorStack(app, 'Keyrotor', { config: loadConfig(EXAMPLE_CONFIG), env: TEST_ENV });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      // An error-level finding makes synth throw.
      assembly = app.synth();
    }, 120_000);

    it('synthesizes with cdk-nag and the built-in CloudFormation validator reporting nothing', () => {
      // Assess
      const report = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as {
        pluginReports: { violations?: unknown[] }[];
      };
      expect(report.pluginReports.flatMap((plugin) => plugin.violations ?? [])).toEqual([]);
      const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
      const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
      expect(functions).toHaveLength(6);
      for (const fn of functions) {
        expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
      }
      const secretNames = Object.values(template.Resources)
        .filter((resource) => resource.Type === 'AWS::SecretsManager::Secret')
        .map((resource) => resource.Properties.Name);
      expect(secretNames).toEqual([
        'keyrotor/acme-prod',
        'keyrotor/acme-sandbox',
        'keyrotor/payments-sandbox',
        'keyrotor/acme-insights',
        'keyrotor/learn-token/token',
        'keyrotor/learn-token/client',
        'keyrotor/payments-sandbox-token/token',
      ]);
      const schedules = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Scheduler::Schedule');
      expect(schedules.map((schedule) => schedule.Properties.ScheduleExpression)).toEqual(['cron(0 6 * * ? *)', 'rate(5 minutes)']);
      const archives = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Events::Archive');
      expect(archives.map((archive) => archive.Properties.RetentionDays)).toEqual([365]);
    });

    it('deploys each handler as KEYROTOR_BUNDLING bundles it: the assets are what the bench measures and the bundle tests run', async () => {
      // Prepare
      const template = assembly.getStackByName(stack.stackName).template as {
        Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string }; Environment?: { Variables?: Record<string, string> } } }>;
      };
      /** The function's code as cdk.out holds it: `asset.<hash>/` for the S3 key `<hash>.zip`. */
      const assetOf = (service: string): string => {
        const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service);
        return path.join(assembly.directory, `asset.${fn?.Properties.Code?.S3Key?.replace(/\.zip$/, '')}`, 'index.js');
      };
      const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyrotor-asset-'));
      try {
        for (const [service, entry] of [
          ['keyrotor-rotate', ROTATION_HANDLER_ENTRY],
          ['keyrotor-notify', NOTIFY_HANDLER_ENTRY],
        ] as const) {
          // Act
          const file = path.join(outDir, service, 'index.js');
          await bundleAsDeployed(entry, file);
          // Assess: the code, and the source map trimmed by the afterBundling hook
          expect(fs.readFileSync(assetOf(service)).equals(fs.readFileSync(file))).toBe(true);
          expect(fs.readFileSync(`${assetOf(service)}.map`).equals(fs.readFileSync(`${file}.map`))).toBe(true);
          const map = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
          expect(map.sources.length).toBeGreaterThan(5);
          expect(map.sources.filter((source) => source.includes('node_modules/'))).toEqual([]);
        }
      } finally {
        fs.rmSync(outDir, { recursive: true, force: true });
      }
    });
  });
});
