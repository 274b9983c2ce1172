import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AlertsTopic } from '../../lib/alerts-topic';
import { EncryptionKey } from '../../lib/encryption-key';
import { KeyrotorFunction, type KeyrotorFunctionProps } from '../../lib/keyrotor-function';
import {
  keyrotorFunctionBasics,
  lambdaAssumeRolePolicy,
  powertoolsVariables,
  sendToQueueStatement,
  useKeyOnlyThrough,
  useKeyOnlyThroughSns,
  useKeyOnlyThroughSqs,
  writeLogsStatement,
} from './assertions';
import { statementsOfRole } from './iam-policy-statements';
import { awsSolutionsFindings, bareStack, FIXTURE_REVOKE_HANDLER, logicalIdOf, propertiesOf } from './test-stack';

const REQUIRED: KeyrotorFunctionProps = {
  entry: FIXTURE_REVOKE_HANDLER,
  serviceName: 'keyrotor-test',
  description: 'keyrotor: a test function',
  roleDescription: 'keyrotor test function',
  alarmDescription: 'keyrotor: the test function failed',
};

describe('Construct: KeyrotorFunction', () => {
  describe('with the required properties only', () => {
    let stack: Stack;
    let template: Template;
    let built: KeyrotorFunction;

    beforeAll(() => {
      stack = bareStack();
      built = new KeyrotorFunction(stack, 'Fn', REQUIRED);
      template = Template.fromStack(stack);
    });

    it('runs on Node.js 24 on arm64, 256 MB, 2 minutes, with the handler export `handler`', () => {
      // Assess
      expect(propertiesOf(template, built.function)).toMatchObject({
        ...keyrotorFunctionBasics(120),
        Description: 'keyrotor: a test function',
      });
    });

    it('configures Powertools and source maps, and nothing else, through the environment', () => {
      // Assess
      expect(propertiesOf(template, built.function).Environment).toEqual({
        Variables: powertoolsVariables('keyrotor-test'),
      });
    });

    it('logs to its own log group, kept for a year', () => {
      // Assess
      template.resourceCountIs('AWS::Logs::LogGroup', 1);
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
      expect(propertiesOf(template, built.logGroup).KmsKeyId).toBeUndefined();
      expect(propertiesOf(template, built.function).LoggingConfig).toEqual({ LogGroup: stack.resolve(built.logGroup.logGroupName) });
    });

    it('runs under its own role, which may only write to that log group', () => {
      // Assess
      expect(propertiesOf(template, built.function).Role).toEqual(stack.resolve(built.role.roleArn));
      expect(propertiesOf(template, built.role)).toMatchObject({
        Description: 'keyrotor test function',
        AssumeRolePolicyDocument: lambdaAssumeRolePolicy(),
      });
      expect(propertiesOf(template, built.role).ManagedPolicyArns).toBeUndefined();
      expect(statementsOfRole(template, logicalIdOf(built.role))).toEqual([writeLogsStatement(stack.resolve(built.logGroup.logGroupArn))]);
    });

    it('alarms on any error, without an action when no topic is given', () => {
      // Assess
      expect(propertiesOf(template, built.errorsAlarm)).toMatchObject({
        AlarmDescription: 'keyrotor: the test function failed',
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(propertiesOf(template, built.errorsAlarm).AlarmActions).toBeUndefined();
    });

    it('has no dead-letter queue', () => {
      // Assess
      expect(propertiesOf(template, built.function).DeadLetterConfig).toBeUndefined();
      template.resourceCountIs('AWS::SQS::Queue', 0);
    });

    it('reserves no concurrency', () => {
      // Assess
      expect(propertiesOf(template, built.function).ReservedConcurrentExecutions).toBeUndefined();
    });

    it('raises no cdk-nag AwsSolutions findings', () => {
      // Act
      const findings = awsSolutionsFindings(stack);

      // Assess
      expect(findings).toEqual([]);
    });
  });

  describe('with every property set', () => {
    let stack: Stack;
    let template: Template;
    let built: KeyrotorFunction;
    let queue: sqs.Queue;
    let keyArn: unknown;
    let topicRef: unknown;

    beforeAll(() => {
      stack = bareStack();
      const { key } = new EncryptionKey(stack, 'EncryptionKey');
      const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
      queue = new sqs.Queue(stack, 'Queue', { encryptionMasterKey: key, enforceSSL: true });
      built = new KeyrotorFunction(stack, 'Fn', {
        ...REQUIRED,
        environment: { KEYROTOR_LEDGER_TABLE: 'ledger' },
        timeout: Duration.seconds(30),
        memorySize: 512,
        logRetention: logs.RetentionDays.ONE_MONTH,
        logLevel: 'DEBUG',
        alarmTopic: alerts.topic,
        deadLetterQueue: queue,
        reservedConcurrentExecutions: 1,
        logEncryptionKey: key,
      });
      template = Template.fromStack(stack);
      keyArn = stack.resolve(key.keyArn);
      topicRef = stack.resolve(alerts.topic.topicArn);
    });

    it('applies the overrides and adds the given variables to the environment', () => {
      // Assess
      expect(propertiesOf(template, built.function)).toMatchObject({
        Timeout: 30,
        MemorySize: 512,
        ReservedConcurrentExecutions: 1,
        Environment: {
          Variables: {
            POWERTOOLS_SERVICE_NAME: 'keyrotor-test',
            POWERTOOLS_LOG_LEVEL: 'DEBUG',
            NODE_OPTIONS: '--enable-source-maps',
            KEYROTOR_LEDGER_TABLE: 'ledger',
          },
        },
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });

    it('encrypts its log group with the given key, which CloudWatch Logs may use for log groups of this account and region only', () => {
      // Assess
      expect(propertiesOf(template, built.logGroup).KmsKeyId).toEqual(keyArn);
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            {
              Sid: 'AllowCloudWatchLogsToEncryptKeyrotorLogGroups',
              Effect: 'Allow',
              Principal: { Service: 'logs.eu-west-1.amazonaws.com' },
              Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
              Resource: '*',
              Condition: {
                ArnLike: { 'kms:EncryptionContext:aws:logs:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:111111111111:log-group:*']] } },
              },
            },
          ]),
        },
      });
    });

    it('notifies the topic from the errors alarm', () => {
      // Assess
      expect(propertiesOf(template, built.errorsAlarm).AlarmActions).toEqual([topicRef]);
    });

    it('sends failed asynchronous invocations to the queue, with the queue\'s key through SQS only', () => {
      // Assess
      expect(propertiesOf(template, built.function).DeadLetterConfig).toEqual({ TargetArn: stack.resolve(queue.queueArn) });
      expect(statementsOfRole(template, logicalIdOf(built.role)).slice(1)).toEqual([
        sendToQueueStatement(stack.resolve(queue.queueArn)),
        useKeyOnlyThroughSqs(keyArn),
      ]);
    });
  });

  describe('Method: allowOnSecret', () => {
    it('puts every secret of one Sid into one statement, by full ARN or by name with the six-character suffix', () => {
      // Prepare
      const stack = bareStack();
      const built = new KeyrotorFunction(stack, 'Fn', REQUIRED);
      const owned = new secretsmanager.Secret(stack, 'Owned');
      const imported = secretsmanager.Secret.fromSecretNameV2(stack, 'Imported', 'keyrotor/imported');

      // Act
      built.allowOnSecret(owned, 'ReadSecrets', ['secretsmanager:GetSecretValue']);
      built.allowOnSecret(imported, 'ReadSecrets', ['secretsmanager:GetSecretValue']);
      built.allowOnSecret(owned, 'DescribeSecrets', ['secretsmanager:DescribeSecret']);

      // Assess
      const statements = statementsOfRole(Template.fromStack(stack), logicalIdOf(built.role)).filter((s) => s.Sid);
      expect(statements).toEqual([
        {
          Sid: 'ReadSecrets',
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: [
            stack.resolve(owned.secretArn),
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:111111111111:secret:keyrotor/imported-??????']] },
          ],
        },
        { Sid: 'DescribeSecrets', Effect: 'Allow', Action: 'secretsmanager:DescribeSecret', Resource: stack.resolve(owned.secretArn) },
      ]);
    });

    it('puts the conditions given with the first secret of a Sid on its statement', () => {
      // Prepare
      const stack = bareStack();
      const built = new KeyrotorFunction(stack, 'Fn', REQUIRED);
      const [one, two] = ['One', 'Two'].map((id) => new secretsmanager.Secret(stack, id));
      const conditions = { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['keyrotor:refresh-state'] } };

      // Act
      built.allowOnSecret(one!, 'TagSecrets', ['secretsmanager:TagResource'], conditions);
      built.allowOnSecret(two!, 'TagSecrets', ['secretsmanager:TagResource'], conditions);

      // Assess
      expect(statementsOfRole(Template.fromStack(stack), logicalIdOf(built.role)).filter((s) => s.Sid)).toEqual([
        {
          Sid: 'TagSecrets',
          Effect: 'Allow',
          Action: 'secretsmanager:TagResource',
          Resource: [stack.resolve(one!.secretArn), stack.resolve(two!.secretArn)],
          Condition: conditions,
        },
      ]);
    });
  });

  describe('Method: allowKeyThrough', () => {
    it('allows the key only through the named service in the stack\'s region', () => {
      // Prepare
      const stack = bareStack();
      const { key } = new EncryptionKey(stack, 'EncryptionKey');
      const built = new KeyrotorFunction(stack, 'Fn', REQUIRED);

      // Act
      built.allowKeyThrough(key, 'dynamodb', ['kms:Decrypt']);

      // Assess
      expect(statementsOfRole(Template.fromStack(stack), logicalIdOf(built.role))).toContainEqual(
        useKeyOnlyThrough('UseKeyOnlyThroughDynamoDb', 'dynamodb', 'kms:Decrypt', stack.resolve(key.keyArn)),
      );
    });

    it('names the statement after SNS for an encrypted topic\'s key', () => {
      // Prepare
      const stack = bareStack();
      const { key } = new EncryptionKey(stack, 'EncryptionKey');
      const built = new KeyrotorFunction(stack, 'Fn', REQUIRED);

      // Act
      built.allowKeyThrough(key, 'sns', ['kms:GenerateDataKey', 'kms:Decrypt']);

      // Assess
      expect(statementsOfRole(Template.fromStack(stack), logicalIdOf(built.role))).toContainEqual(useKeyOnlyThroughSns(stack.resolve(key.keyArn)));
    });
  });

  describe('Method: allowPublishing', () => {
    it('allows sns:Publish on the topic only and, for an encrypted topic, its key only through SNS', () => {
      // Prepare
      const stack = bareStack();
      const { key } = new EncryptionKey(stack, 'EncryptionKey');
      const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
      const built = new KeyrotorFunction(stack, 'Fn', REQUIRED);

      // Act
      built.allowPublishing(alerts.topic);

      // Assess
      expect(statementsOfRole(Template.fromStack(stack), logicalIdOf(built.role)).slice(1)).toEqual([
        { Sid: 'PublishAlerts', Effect: 'Allow', Action: 'sns:Publish', Resource: stack.resolve(alerts.topic.topicArn) },
        useKeyOnlyThroughSns(stack.resolve(key.keyArn)),
      ]);
    });

    it('takes another Sid, and grants no key for an unencrypted topic', () => {
      // Prepare
      const stack = bareStack();
      const topic = new sns.Topic(stack, 'Plain', { enforceSSL: true });
      const built = new KeyrotorFunction(stack, 'Fn', REQUIRED);

      // Act
      built.allowPublishing(topic, 'PublishReports');

      // Assess
      expect(statementsOfRole(Template.fromStack(stack), logicalIdOf(built.role)).slice(1)).toEqual([
        { Sid: 'PublishReports', Effect: 'Allow', Action: 'sns:Publish', Resource: stack.resolve(topic.topicArn) },
      ]);
    });
  });
});
