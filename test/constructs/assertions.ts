import { Match, type Template } from 'aws-cdk-lib/assertions';

/**
 * Expected values and assertions that several construct tests share. The builders return plain
 * expected objects; each test keeps its own matcher (toEqual, toMatchObject, hasResourceProperties),
 * so what a test asserts does not change by using them.
 */

/** The region of TEST_ENV, in which kms:ViaService names its services. */
const REGION = 'eu-west-1';

/** A statement letting the role use the key only through `service` in the test region. */
export function useKeyOnlyThrough(sid: string, service: string, action: string | string[], keyArn: unknown) {
  return {
    Sid: sid,
    Effect: 'Allow',
    Action: action,
    Resource: keyArn,
    Condition: { StringEquals: { 'kms:ViaService': `${service}.${REGION}.amazonaws.com` } },
  };
}

/** `UseKeyOnlyThroughSqs`: GenerateDataKey and Decrypt through SQS. */
export function useKeyOnlyThroughSqs(keyArn: unknown) {
  return useKeyOnlyThrough('UseKeyOnlyThroughSqs', 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt'], keyArn);
}

/** `UseKeyOnlyThroughSns`: GenerateDataKey and Decrypt through SNS. */
export function useKeyOnlyThroughSns(keyArn: unknown) {
  return useKeyOnlyThrough('UseKeyOnlyThroughSns', 'sns', ['kms:GenerateDataKey', 'kms:Decrypt'], keyArn);
}

/** `UseKeyOnlyThroughDynamoDb`: Decrypt and GenerateDataKey through DynamoDB. */
export function useKeyOnlyThroughDynamoDb(keyArn: unknown) {
  return useKeyOnlyThrough('UseKeyOnlyThroughDynamoDb', 'dynamodb', ['kms:Decrypt', 'kms:GenerateDataKey'], keyArn);
}

/** `UseKeyOnlyThroughSecretsManager`: by default Decrypt and GenerateDataKey through Secrets Manager. */
export function useKeyOnlyThroughSecretsManager(keyArn: unknown, action: string | string[] = ['kms:Decrypt', 'kms:GenerateDataKey']) {
  return useKeyOnlyThrough('UseKeyOnlyThroughSecretsManager', 'secretsmanager', action, keyArn);
}

/** The statement letting a function write to its log group. */
export function writeLogsStatement(logGroupArn: unknown) {
  return { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logGroupArn };
}

/** The unnamed statement letting a function send to its dead-letter queue. */
export function sendToQueueStatement(queueArn: unknown) {
  return { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queueArn };
}

/**
 * A dead-lettered function role's first statements: write its logs, send to the queue, and use the
 * key only through SQS.
 */
export function deadLetteredFunctionStatements(logGroupArn: unknown, queueArn: unknown, keyArn: unknown) {
  return [writeLogsStatement(logGroupArn), sendToQueueStatement(queueArn), useKeyOnlyThroughSqs(keyArn)];
}

/** A scheduler role's trust policy: EventBridge Scheduler, for schedules of `scheduleGroupArn` in the test account. */
export function schedulerAssumeRolePolicy(scheduleGroupArn: unknown) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': '111111111111', 'aws:SourceArn': scheduleGroupArn } },
      },
    ],
  };
}

/** A dead-letter queue's properties: encrypted with `keyArn`, keeping messages for 14 days. */
export function encryptedDeadLetterQueueProperties(keyArn: unknown) {
  return { KmsMasterKeyId: keyArn, MessageRetentionPeriod: 14 * 24 * 3600 };
}

/** The queue policy statement denying every request without TLS (without its Resource). */
export function denyWithoutTlsStatement() {
  return {
    Effect: 'Deny',
    Action: 'sqs:*',
    Principal: { AWS: '*' },
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

/** Asserts that the policy of the queue at `queueUrl` has, among its statements, one like {@link denyWithoutTlsStatement}. */
export function expectQueueDeniesRequestsWithoutTls(template: Template, queueUrl: unknown): void {
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    Queues: [queueUrl],
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike(denyWithoutTlsStatement())]) },
  });
}

/**
 * An alarm's properties (for toMatchObject) for a maximum of visible messages in `queueName` of at
 * least 1, not breaching on missing data, notifying `topicArn`. Without ComparisonOperator; see
 * {@link deadLetterAlarmProperties}.
 */
export function visibleMessagesAlarmProperties(queueName: unknown, topicArn: unknown) {
  return {
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: queueName }],
    Statistic: 'Maximum',
    Threshold: 1,
    TreatMissingData: 'notBreaching',
    AlarmActions: [topicArn],
  };
}

/** {@link visibleMessagesAlarmProperties} with ComparisonOperator GreaterThanOrEqualToThreshold. */
export function deadLetterAlarmProperties(queueName: unknown, topicArn: unknown) {
  return { ...visibleMessagesAlarmProperties(queueName, topicArn), ComparisonOperator: 'GreaterThanOrEqualToThreshold' };
}

/** An alarm's properties (for toMatchObject) for a sum of the function's errors of at least 1, notifying `topicArn`. */
export function errorsAlarmProperties(functionName: unknown, topicArn: unknown) {
  return {
    Namespace: 'AWS/Lambda',
    MetricName: 'Errors',
    Dimensions: [{ Name: 'FunctionName', Value: functionName }],
    Statistic: 'Sum',
    Threshold: 1,
    AlarmActions: [topicArn],
  };
}

/** A keyrotor function's basics (for toMatchObject): Node.js 24 on arm64, handler `index.handler`, 256 MB, `timeout` seconds. */
export function keyrotorFunctionBasics(timeout: number) {
  return { Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler', MemorySize: 256, Timeout: timeout };
}

/** The Powertools variables every keyrotor function gets, at log level INFO. */
export function powertoolsVariables(serviceName: string) {
  return { POWERTOOLS_SERVICE_NAME: serviceName, POWERTOOLS_LOG_LEVEL: 'INFO', NODE_OPTIONS: '--enable-source-maps' };
}

/** A function role's trust policy: Lambda only. */
export function lambdaAssumeRolePolicy() {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }],
  };
}

/** `ScheduleRevocations`: scheduler:CreateSchedule on `schedulesArn`. */
export function scheduleRevocationsStatement(schedulesArn: unknown) {
  return { Sid: 'ScheduleRevocations', Effect: 'Allow', Action: 'scheduler:CreateSchedule', Resource: schedulesArn };
}

/** `PassSchedulerRole`: iam:PassRole on the scheduler role, to EventBridge Scheduler only. */
export function passSchedulerRoleStatement(roleArn: unknown) {
  return {
    Sid: 'PassSchedulerRole',
    Effect: 'Allow',
    Action: 'iam:PassRole',
    Resource: roleArn,
    Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
  };
}
