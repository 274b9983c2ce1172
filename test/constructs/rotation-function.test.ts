import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Stack } from 'aws-cdk-lib';
import { AlertsTopic } from '../../lib/alerts-topic';
import { EncryptionKey } from '../../lib/encryption-key';
import { ROTATION_HANDLER_ENTRY, ROTATION_SECRET_ACTIONS, RotationFunction } from '../../lib/rotation-function';
import { awsSolutionsFindings, bareStack, FIXTURE_ROTATION_HANDLER } from './test-stack';

interface PolicyStatementJson {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

function statementsOf(template: Template): PolicyStatementJson[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: PolicyStatementJson[] } } }).Properties.PolicyDocument.Statement,
  );
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

describe('Construct: RotationFunction', () => {
  let stack: Stack;
  let template: Template;
  let rotation: RotationFunction;
  let secrets: secretsmanager.Secret[];
  let keyArn: unknown;
  let topicRef: unknown;

  beforeAll(() => {
    stack = bareStack();
    const { key } = new EncryptionKey(stack, 'EncryptionKey');
    const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
    rotation = new RotationFunction(stack, 'RotationFunction', {
      encryptionKey: key,
      alarmTopic: alerts.topic,
      entry: FIXTURE_ROTATION_HANDLER,
    });
    secrets = ['one', 'two'].map((name) => new secretsmanager.Secret(stack, `Secret-${name}`, { encryptionKey: key }));
    for (const secret of secrets) rotation.grantRotation(secret);
    template = Template.fromStack(stack);
    keyArn = stack.resolve(key.keyArn);
    topicRef = stack.resolve(alerts.topic.topicArn);
  });

  it('defaults to the rotation handler at lambdas/handlers/rotate.ts', () => {
    // Assess
    expect(ROTATION_HANDLER_ENTRY).toMatch(/[/\\]lambdas[/\\]handlers[/\\]rotate\.ts$/);
  });

  it('runs on Node.js 24 on arm64 with the handler export `handler`', () => {
    // Assess
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 120,
    });
  });

  it('configures Powertools and source maps through the environment', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          POWERTOOLS_SERVICE_NAME: 'keyrotor-rotate',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('logs to its own log group with a retention period', () => {
    // Assess
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: stack.resolve(rotation.logGroup.logGroupName) },
    });
  });

  it('uses its own role without AWS managed policies', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', { Role: stack.resolve(rotation.role.roleArn) });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('may write logs only to its own log group', () => {
    // Assess
    const logStatements = statementsOf(template).filter((s) => asArray(s.Action).some((a) => a.startsWith('logs:')));
    expect(logStatements).toEqual([
      expect.objectContaining({
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: stack.resolve(rotation.logGroup.logGroupArn),
      }),
    ]);
  });

  it('grants the four rotation actions on exactly the granted secrets', () => {
    // Assess
    const secretStatements = statementsOf(template).filter((s) =>
      asArray(s.Action).some((a) => a.startsWith('secretsmanager:')),
    );
    expect(secretStatements).toHaveLength(1);
    expect(secretStatements[0]?.Action).toEqual([...ROTATION_SECRET_ACTIONS]);
    expect(secretStatements[0]?.Resource).toEqual(secrets.map((secret) => stack.resolve(secret.secretArn)));
  });

  it('never grants Secrets Manager actions on "*" and never GetRandomPassword', () => {
    // Assess
    for (const statement of statementsOf(template)) {
      const actions = asArray(statement.Action);
      expect(actions).not.toContain('secretsmanager:GetRandomPassword');
      if (actions.some((a) => a.startsWith('secretsmanager:'))) {
        expect(asArray(statement.Resource)).not.toContain('*');
      }
    }
  });

  it('may use the key only through Secrets Manager in its region', () => {
    // Assess
    const kmsStatements = statementsOf(template).filter((s) => asArray(s.Action).some((a) => a.startsWith('kms:')));
    expect(kmsStatements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      }),
    ]);
  });

  it('grants nothing beyond logs, the key and the secrets', () => {
    // Assess
    const services = new Set(statementsOf(template).flatMap((s) => asArray(s.Action).map((a) => a.split(':')[0])));
    expect([...services].sort()).toEqual(['kms', 'logs', 'secretsmanager']);
  });

  it('alarms on any error and notifies the alerts topic', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: stack.resolve(rotation.function.functionName) }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef],
    });
  });

  it('has no dead-letter queue, because Secrets Manager invokes it synchronously', () => {
    // Assess
    template.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: Match.absent() });
    template.resourceCountIs('AWS::SQS::Queue', 0);
  });

  it('raises no cdk-nag AwsSolutions findings', () => {
    // Act (the bare test secrets outside the construct have no schedule, so only the construct is checked)
    const findings = awsSolutionsFindings(rotation);

    // Assess
    expect(findings).toEqual([]);
  });
});
