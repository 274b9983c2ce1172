import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AlertsTopic } from '../../lib/alerts-topic';
import { DeadLetteredFunction, type DeadLetteredFunctionProps } from '../../lib/dead-lettered-function';
import { EncryptionKey } from '../../lib/encryption-key';
import { KeyrotorFunction } from '../../lib/keyrotor-function';
import {
  deadLetteredFunctionStatements,
  deadLetterAlarmProperties,
  denyWithoutTlsStatement,
  encryptedDeadLetterQueueProperties,
  errorsAlarmProperties,
} from './assertions';
import { statementsOfRole, wildcardWriteGrants } from './iam-policy-statements';
import { acknowledgements, awsSolutionsFindings, bareStack, FIXTURE_REVOKE_HANDLER, logicalIdOf, propertiesOf } from './test-stack';

const TARGET = {
  entry: FIXTURE_REVOKE_HANDLER,
  serviceName: 'keyrotor-test',
  description: 'keyrotor: an asynchronously invoked test function',
  roleDescription: 'keyrotor asynchronous test function',
  alarmDescription: 'keyrotor: the asynchronous test function failed',
};

/** A DeadLetteredFunction in a bare stack with keyrotor's key and topic. */
function build(overrides: Partial<Omit<DeadLetteredFunctionProps, 'encryptionKey'>> = {}, withTopic = true) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
  const invoked = new DeadLetteredFunction(stack, 'Invoked', {
    encryptionKey: key,
    target: TARGET,
    deadLetterAlarmDescription: 'keyrotor: an asynchronous test invocation is in the dead-letter queue',
    ...(withTopic ? { alarmTopic: alerts.topic } : {}),
    ...overrides,
  });
  return { stack, key, alerts, invoked, template: Template.fromStack(stack) };
}

describe('Construct: DeadLetteredFunction', () => {
  let stack: Stack;
  let template: Template;
  let invoked: DeadLetteredFunction;
  let keyArn: unknown;
  let topicArn: unknown;

  beforeAll(() => {
    const built = build();
    ({ stack, template, invoked } = built);
    keyArn = stack.resolve(built.key.keyArn);
    topicArn = stack.resolve(built.alerts.topic.topicArn);
  });

  describe('dead-letter queue', () => {
    it('is the one queue, encrypted with the customer-managed key, keeping messages for 14 days', () => {
      // Assess
      template.resourceCountIs('AWS::SQS::Queue', 1);
      expect(propertiesOf(template, invoked.deadLetterQueue)).toEqual(encryptedDeadLetterQueueProperties(keyArn));
    });

    it('denies every request without TLS', () => {
      // Assess
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [stack.resolve(invoked.deadLetterQueue.queueUrl)],
        PolicyDocument: {
          Statement: [{ ...denyWithoutTlsStatement(), Resource: stack.resolve(invoked.deadLetterQueue.queueArn) }],
        },
      });
    });

    it('alarms to the topic as soon as it holds a message', () => {
      // Assess
      expect(propertiesOf(template, invoked.deadLetterAlarm)).toMatchObject({
        ...deadLetterAlarmProperties(stack.resolve(invoked.deadLetterQueue.queueName), topicArn),
        AlarmDescription: 'keyrotor: an asynchronous test invocation is in the dead-letter queue',
        Period: 300,
        EvaluationPeriods: 1,
      });
    });

    it('has exactly two alarms, both notifying only the topic: the queue\'s and the function\'s errors', () => {
      // Assess
      template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
      const actions = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => (alarm as { Properties: { AlarmActions?: unknown } }).Properties.AlarmActions);
      expect(actions).toEqual([[topicArn], [topicArn]]);
    });
  });

  describe('function', () => {
    it('is a KeyrotorFunction with the given properties, under the construct id `Function` by default', () => {
      // Assess
      expect(invoked.target.node.id).toBe('Function');
      expect(propertiesOf(template, invoked.target.function)).toMatchObject({
        Runtime: 'nodejs24.x',
        Description: 'keyrotor: an asynchronously invoked test function',
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'keyrotor-test' } },
      });
    });

    it('puts invocations it failed after Lambda\'s retries in the queue, and may do nothing else but log', () => {
      // Assess
      expect(propertiesOf(template, invoked.target.function).DeadLetterConfig).toEqual({ TargetArn: stack.resolve(invoked.deadLetterQueue.queueArn) });
      expect(statementsOfRole(template, logicalIdOf(invoked.target.role))).toEqual(
        deadLetteredFunctionStatements(stack.resolve(invoked.target.logGroup.logGroupArn), stack.resolve(invoked.deadLetterQueue.queueArn), keyArn),
      );
    });

    it('alarms to the topic on any error', () => {
      // Assess
      expect(propertiesOf(template, invoked.target.errorsAlarm)).toMatchObject({
        ...errorsAlarmProperties(stack.resolve(invoked.target.function.functionName), topicArn),
        AlarmDescription: 'keyrotor: the asynchronous test function failed',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Period: 300,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
    });
  });

  it('takes the function\'s construct id when given', () => {
    // Act
    const named = build({ targetId: 'Worker' });

    // Assess
    expect(named.invoked.target.node.id).toBe('Worker');
  });

  it('creates both alarms without an action when no topic is given', () => {
    // Act
    const silent = build({}, false);

    // Assess
    expect(propertiesOf(silent.template, silent.invoked.deadLetterAlarm).AlarmActions).toBeUndefined();
    expect(propertiesOf(silent.template, silent.invoked.target.errorsAlarm).AlarmActions).toBeUndefined();
  });

  it('under the id `Default`, gives its resources the logical ids they would have as its parent\'s own children', () => {
    // Prepare
    const stack = bareStack();
    const { key } = new EncryptionKey(stack, 'EncryptionKey');
    const direct = new Construct(bareStack(), 'Parent');

    // Act
    const hidden = new DeadLetteredFunction(new Construct(stack, 'Parent'), 'Default', {
      encryptionKey: key,
      targetId: 'Worker',
      target: TARGET,
      deadLetterAlarmDescription: 'a',
    });

    // Assess
    expect([hidden.deadLetterQueue, hidden.deadLetterAlarm, hidden.target.function].map(logicalIdOf)).toEqual(
      [
        new sqs.Queue(direct, 'DeadLetterQueue'),
        new cloudwatch.Alarm(direct, 'DeadLetterAlarm', { metric: new cloudwatch.Metric({ namespace: 'n', metricName: 'm' }), threshold: 1, evaluationPeriods: 1 }),
        new KeyrotorFunction(direct, 'Worker', TARGET).function,
      ].map(logicalIdOf),
    );
  });

  it('grants no write action on "*"', () => {
    // Assess
    expect(wildcardWriteGrants(template)).toEqual([]);
    template.resourceCountIs('AWS::IAM::Policy', 1);
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  it('raises no cdk-nag AwsSolutions findings, with no acknowledgement (the function uses the queue as its dead-letter queue)', () => {
    // Assess
    expect(awsSolutionsFindings(invoked)).toEqual([]);
    expect(acknowledgements(invoked)).toEqual([]);
  });
});
