import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AlertsTopic } from '../../lib/alerts-topic';
import { EncryptionKey } from '../../lib/encryption-key';
import { KeyrotorFunction } from '../../lib/keyrotor-function';
import { SCHEDULER_PRINCIPAL, SchedulerInvocation, type SchedulerInvocationProps } from '../../lib/scheduler-invocation';
import {
  deadLetteredFunctionStatements,
  deadLetterAlarmProperties,
  encryptedDeadLetterQueueProperties,
  expectQueueDeniesRequestsWithoutTls,
  schedulerAssumeRolePolicy,
  sendToQueueStatement,
  useKeyOnlyThroughSqs,
} from './assertions';
import { statementsOfRole, wildcardWriteGrants } from './iam-policy-statements';
import {
  acknowledgements,
  awsSolutionsFindings,
  bareStack,
  buildKeyrotorStack,
  FIXTURE_REVOKE_HANDLER,
  logicalIdOf,
  propertiesOf,
  tokenTestConfig,
} from './test-stack';

/** A SchedulerInvocation in a bare stack with keyrotor's key, topic and schedule group. */
function build(overrides: Partial<Omit<SchedulerInvocationProps, 'encryptionKey' | 'scheduleGroup'>> = {}, withTopic = true) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
  const scheduleGroup = new scheduler.CfnScheduleGroup(stack, 'ScheduleGroup', { name: 'keyrotor' });
  const invocation = new SchedulerInvocation(stack, 'Invocation', {
    encryptionKey: key,
    scheduleGroup,
    target: {
      entry: FIXTURE_REVOKE_HANDLER,
      serviceName: 'keyrotor-test',
      description: 'keyrotor: a scheduled test function',
      roleDescription: 'keyrotor scheduled test function',
      alarmDescription: 'keyrotor: the scheduled test function failed',
    },
    schedulerRoleDescription: 'keyrotor: EventBridge Scheduler invokes the test function with this role',
    deadLetterAlarmDescription: 'keyrotor: a scheduled test invocation is in the dead-letter queue',
    ...(withTopic ? { alarmTopic: alerts.topic } : {}),
    ...overrides,
  });
  return { stack, key, alerts, scheduleGroup, invocation, template: Template.fromStack(stack) };
}

describe('Construct: SchedulerInvocation', () => {
  let built: ReturnType<typeof build>;
  let stack: Stack;
  let template: Template;
  let invocation: SchedulerInvocation;
  let keyArn: unknown;
  let topicArn: unknown;

  beforeAll(() => {
    built = build();
    ({ stack, template, invocation } = built);
    keyArn = stack.resolve(built.key.keyArn);
    topicArn = stack.resolve(built.alerts.topic.topicArn);
  });

  describe('dead-letter queue', () => {
    it('is encrypted with the customer-managed key and keeps messages for 14 days', () => {
      // Assess
      template.resourceCountIs('AWS::SQS::Queue', 1);
      expect(propertiesOf(template, invocation.deadLetterQueue)).toMatchObject(encryptedDeadLetterQueueProperties(keyArn));
      expect(invocation.deadLetterQueue.encryptionMasterKey).toBe(built.key);
    });

    it('denies every request without TLS', () => {
      // Assess
      expectQueueDeniesRequestsWithoutTls(template, stack.resolve(invocation.deadLetterQueue.queueUrl));
    });

    it('alarms to the alarm topic as soon as it holds a message', () => {
      // Assess
      expect(propertiesOf(template, invocation.deadLetterAlarm)).toMatchObject({
        ...deadLetterAlarmProperties(stack.resolve(invocation.deadLetterQueue.queueName), topicArn),
        AlarmDescription: 'keyrotor: a scheduled test invocation is in the dead-letter queue',
        Period: 300,
        EvaluationPeriods: 1,
      });
    });
  });

  describe('target function', () => {
    it('is a KeyrotorFunction with the given properties, under the construct id `Function` by default', () => {
      // Assess
      expect(invocation.target.node.id).toBe('Function');
      expect(propertiesOf(template, invocation.target.function)).toMatchObject({
        Runtime: 'nodejs24.x',
        Description: 'keyrotor: a scheduled test function',
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'keyrotor-test' } },
      });
    });

    it('puts invocations it failed after Lambda\'s retries in the dead-letter queue, and may send only there', () => {
      // Assess (Scheduler counts an accepted asynchronous invocation as delivered)
      expect(propertiesOf(template, invocation.target.function).DeadLetterConfig).toEqual({
        TargetArn: stack.resolve(invocation.deadLetterQueue.queueArn),
      });
      expect(statementsOfRole(template, logicalIdOf(invocation.target.role))).toEqual(
        deadLetteredFunctionStatements(stack.resolve(invocation.target.logGroup.logGroupArn), stack.resolve(invocation.deadLetterQueue.queueArn), keyArn),
      );
    });

    it('alarms to the alarm topic on any error', () => {
      // Assess
      expect(propertiesOf(template, invocation.target.errorsAlarm)).toMatchObject({
        AlarmDescription: 'keyrotor: the scheduled test function failed',
        MetricName: 'Errors',
        AlarmActions: [topicArn],
      });
    });
  });

  describe('scheduler role', () => {
    it('may be assumed only by EventBridge Scheduler for schedules of the group in this account', () => {
      // Assess
      expect(SCHEDULER_PRINCIPAL).toBe('scheduler.amazonaws.com');
      expect(propertiesOf(template, invocation.schedulerRole)).toMatchObject({
        Description: 'keyrotor: EventBridge Scheduler invokes the test function with this role',
        AssumeRolePolicyDocument: schedulerAssumeRolePolicy(stack.resolve(built.scheduleGroup.attrArn)),
      });
      expect(propertiesOf(template, invocation.schedulerRole).ManagedPolicyArns).toBeUndefined();
    });

    it('may invoke only the function (unqualified) and send only to the dead-letter queue, with default Sids', () => {
      // Assess
      expect(statementsOfRole(template, logicalIdOf(invocation.schedulerRole))).toEqual([
        { Sid: 'InvokeFunction', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: stack.resolve(invocation.target.function.functionArn) },
        { Sid: 'SendUndeliverableInvocations', ...sendToQueueStatement(stack.resolve(invocation.deadLetterQueue.queueArn)) },
        useKeyOnlyThroughSqs(keyArn),
      ]);
    });
  });

  it('takes the function\'s construct id and the Sids when given', () => {
    // Act
    const named = build({ targetId: 'Worker', invokeSid: 'InvokeWorker', deadLetterSid: 'SendUndeliverableWork' });

    // Assess
    expect(named.invocation.target.node.id).toBe('Worker');
    const sids = statementsOfRole(named.template, logicalIdOf(named.invocation.schedulerRole)).map((statement) => statement.Sid);
    expect(sids).toEqual(['InvokeWorker', 'SendUndeliverableWork', 'UseKeyOnlyThroughSqs']);
  });

  it('creates both alarms without an action when no topic is given', () => {
    // Act
    const silent = build({}, false);

    // Assess
    expect(propertiesOf(silent.template, silent.invocation.deadLetterAlarm).AlarmActions).toBeUndefined();
    expect(propertiesOf(silent.template, silent.invocation.target.errorsAlarm).AlarmActions).toBeUndefined();
  });

  it('under the id `Default`, gives its resources the logical ids they would have as its parent\'s own children', () => {
    // Prepare
    const stack = bareStack();
    const { key } = new EncryptionKey(stack, 'EncryptionKey');
    const scheduleGroup = new scheduler.CfnScheduleGroup(stack, 'ScheduleGroup', { name: 'keyrotor' });
    const target = { entry: FIXTURE_REVOKE_HANDLER, serviceName: 's', description: 'd', roleDescription: 'r', alarmDescription: 'a' };
    const direct = new Construct(bareStack(), 'Parent');

    // Act
    const hidden = new SchedulerInvocation(new Construct(stack, 'Parent'), 'Default', {
      encryptionKey: key,
      scheduleGroup,
      targetId: 'Worker',
      target,
      schedulerRoleDescription: 'r',
      deadLetterAlarmDescription: 'a',
    });

    // Assess
    const idsOf = (constructs: Construct[]) => constructs.map(logicalIdOf);
    expect(idsOf([hidden.deadLetterQueue, hidden.schedulerRole, hidden.deadLetterAlarm, hidden.target.function])).toEqual(
      idsOf([
        new sqs.Queue(direct, 'DeadLetterQueue'),
        new iam.Role(direct, 'SchedulerRole', { assumedBy: new iam.ServicePrincipal(SCHEDULER_PRINCIPAL) }),
        new cloudwatch.Alarm(direct, 'DeadLetterAlarm', { metric: new cloudwatch.Metric({ namespace: 'n', metricName: 'm' }), threshold: 1, evaluationPeriods: 1 }),
        new KeyrotorFunction(direct, 'Worker', target).function,
      ]),
    );
    expect(logicalIdOf(hidden.deadLetterQueue)).toMatch(/^ParentDeadLetterQueue[0-9A-F]{8}$/);
  });

  it('leaves the logical ids the revocation and token refresher resources had before they used it unchanged', () => {
    // Prepare
    const keyrotor = buildKeyrotorStack(tokenTestConfig());
    const { revocation, tokenRefresher } = keyrotor;

    // Assess (a changed logical id would replace the deployed resource)
    expect(
      [
        revocation.deadLetterQueue,
        revocation.deadLetterQueue.node.findChild('Policy'),
        revocation.revoker.function,
        revocation.schedulerRole,
        revocation.schedulerRole.node.findChild('DefaultPolicy'),
        revocation.deadLetterAlarm,
        tokenRefresher!.deadLetterQueue,
        tokenRefresher!.deadLetterQueue.node.findChild('Policy'),
        tokenRefresher!.refresher.function,
        tokenRefresher!.schedulerRole,
        tokenRefresher!.schedulerRole.node.findChild('DefaultPolicy'),
        tokenRefresher!.deadLetterAlarm,
      ].map(logicalIdOf),
    ).toEqual([
      'RevocationDeadLetterQueue57648942',
      'RevocationDeadLetterQueuePolicyAEBC4086',
      'RevocationRevokerFunction6134854F',
      'RevocationSchedulerRole7D5E897D',
      'RevocationSchedulerRoleDefaultPolicyFD3CB35E',
      'RevocationDeadLetterAlarm6CD3CA74',
      'TokenRefresherDeadLetterQueueF072714A',
      'TokenRefresherDeadLetterQueuePolicy6E39637A',
      'TokenRefresherFunction6330B0ED',
      'TokenRefresherSchedulerRole6EA3CDCD',
      'TokenRefresherSchedulerRoleDefaultPolicy6CFA010A',
      'TokenRefresherDeadLetterAlarm4A6E9FB2',
    ]);
  });

  it('grants no write action on "*"', () => {
    // Assess
    expect(wildcardWriteGrants(template)).toEqual([]);
  });

  it('raises no cdk-nag AwsSolutions findings, with no acknowledgement (the function uses the queue as its dead-letter queue)', () => {
    // Assess
    expect(awsSolutionsFindings(invocation)).toEqual([]);
    expect(acknowledgements(invocation)).toEqual([]);
  });
});
