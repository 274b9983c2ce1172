import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AlertNotifier, NOTIFY_HANDLER_ENTRY, type AlertNotifierProps } from '../../lib/alert-notifier';
import { AlertsTopic } from '../../lib/alerts-topic';
import { EncryptionKey } from '../../lib/encryption-key';
import { LedgerTable } from '../../lib/ledger-table';
import {
  deadLetteredFunctionStatements,
  deadLetterAlarmProperties,
  encryptedDeadLetterQueueProperties,
  errorsAlarmProperties,
  expectQueueDeniesRequestsWithoutTls,
  keyrotorFunctionBasics,
  powertoolsVariables,
  useKeyOnlyThroughDynamoDb,
  useKeyOnlyThroughSns,
} from './assertions';
import { asArray, statementsOfRole, wildcardWriteGrants, type PolicyStatementJson } from './iam-policy-statements';
import { acknowledgements, awsSolutionsFindings, bareStack, FIXTURE_NOTIFY_HANDLER, logicalIdOf, propertiesOf } from './test-stack';

const RUNBOOKS = 'https://github.com/example-org/keyrotor/blob/main';

/** A notifier in a bare stack with keyrotor's key, topic and ledger. */
function build(overrides: Partial<Omit<AlertNotifierProps, 'encryptionKey' | 'alertsTopic' | 'ledger'>> = {}) {
  const stack = bareStack();
  const { key } = new EncryptionKey(stack, 'EncryptionKey');
  const alerts = new AlertsTopic(stack, 'Alerts', { encryptionKey: key });
  const ledger = new LedgerTable(stack, 'Ledger', { encryptionKey: key });
  const notifier = new AlertNotifier(stack, 'Notifier', { encryptionKey: key, alertsTopic: alerts.topic, ledger, entry: FIXTURE_NOTIFY_HANDLER, ...overrides });
  return { stack, key, alerts, ledger, notifier, template: Template.fromStack(stack) };
}

describe('Construct: AlertNotifier', () => {
  let stack: Stack;
  let template: Template;
  let notifier: AlertNotifier;
  let ledger: LedgerTable;
  let fn: Record<string, unknown>;
  let statements: PolicyStatementJson[];
  let keyArn: unknown;
  let topicArn: unknown;

  beforeAll(() => {
    const built = build({ runbookBaseUrl: RUNBOOKS });
    ({ stack, template, notifier, ledger } = built);
    fn = propertiesOf(template, notifier.notifier.function);
    statements = statementsOfRole(template, logicalIdOf(notifier.notifier.role));
    keyArn = stack.resolve(built.key.keyArn);
    topicArn = stack.resolve(built.alerts.topic.topicArn);
  });

  describe('notifier function', () => {
    it('defaults to the handler at lambdas/handlers/notify.ts', () => {
      // Assess
      expect(NOTIFY_HANDLER_ENTRY).toMatch(/[/\\]lambdas[/\\]handlers[/\\]notify\.ts$/);
    });

    it('runs on Node.js 24 on arm64 for up to 30 seconds, with the handler export `handler`', () => {
      // Assess
      expect(fn).toMatchObject(keyrotorFunctionBasics(30));
      expect(fn.ReservedConcurrentExecutions).toBeUndefined();
    });

    it('gets the alerts topic, the ledger table and the runbook base URL through the environment, and nothing else', () => {
      // Assess
      expect(fn.Environment).toEqual({
        Variables: {
          ...powertoolsVariables('keyrotor-notify'),
          KEYROTOR_ALERTS_TOPIC_ARN: topicArn,
          KEYROTOR_LEDGER_TABLE: stack.resolve(ledger.table.tableName),
          KEYROTOR_RUNBOOK_BASE_URL: RUNBOOKS,
        },
      });
    });

    it('leaves KEYROTOR_RUNBOOK_BASE_URL out when no runbook base URL is configured', () => {
      // Act
      const plain = build();

      // Assess
      const { Variables } = propertiesOf(plain.template, plain.notifier.notifier.function).Environment as { Variables: Record<string, unknown> };
      expect(Object.keys(Variables).sort()).toEqual([
        'KEYROTOR_ALERTS_TOPIC_ARN',
        'KEYROTOR_LEDGER_TABLE',
        'NODE_OPTIONS',
        'POWERTOOLS_LOG_LEVEL',
        'POWERTOOLS_SERVICE_NAME',
      ]);
    });

    it.each([
      ['http://runbooks.example.com', /runbookBaseUrl must use https:\/\//],
      ['http://127.0.0.1:8080', /runbookBaseUrl must use https:\/\/ \(people open runbook links/],
      ['https://github.com/example-org/keyrotor?x=1', /runbookBaseUrl must not contain a query string or fragment/],
    ])('refuses the runbook base URL %s, naming the construct', (runbookBaseUrl, message) => {
      // Act & Assess
      expect(() => build({ runbookBaseUrl })).toThrow(message);
      expect(() => build({ runbookBaseUrl })).toThrow(/^AlertNotifier Test\/Notifier: /);
    });

    it('uses its own role without AWS managed policies', () => {
      // Assess
      expect(fn.Role).toEqual(stack.resolve(notifier.notifier.role.roleArn));
      expect(propertiesOf(template, notifier.notifier.role).ManagedPolicyArns).toBeUndefined();
    });

    it('has exactly the permissions a notification needs, statement by statement', () => {
      // Assess
      expect(statements).toEqual([
        ...deadLetteredFunctionStatements(stack.resolve(notifier.notifier.logGroup.logGroupArn), stack.resolve(notifier.deadLetterQueue.queueArn), keyArn),
        { Sid: 'PublishAlerts', Effect: 'Allow', Action: 'sns:Publish', Resource: topicArn },
        useKeyOnlyThroughSns(keyArn),
        { Sid: 'RecordAlertMarkers', Effect: 'Allow', Action: 'dynamodb:PutItem', Resource: stack.resolve(ledger.table.tableArn) },
        useKeyOnlyThroughDynamoDb(keyArn),
      ]);
    });

    it('never reads, updates or deletes ledger records, and never touches a secret', () => {
      // Assess
      const actions = statements.flatMap((s) => asArray(s.Action));
      expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:PutItem']);
      expect(new Set(actions.map((a) => a.split(':')[0]))).toEqual(new Set(['logs', 'sqs', 'kms', 'sns', 'dynamodb']));
    });

    it('alarms to the alerts topic on any error', () => {
      // Assess
      expect(propertiesOf(template, notifier.notifier.errorsAlarm)).toMatchObject({
        ...errorsAlarmProperties(stack.resolve(notifier.notifier.function.functionName), topicArn),
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        Period: 300,
        TreatMissingData: 'notBreaching',
        AlarmDescription: expect.stringMatching(/^keyrotor: the notifier failed to turn an event into an alert\./),
      });
    });
  });

  describe('dead-letter queue', () => {
    it('takes the events the notifier failed after Lambda\'s retries, encrypted with the customer-managed key for 14 days', () => {
      // Assess
      template.resourceCountIs('AWS::SQS::Queue', 1);
      expect(fn.DeadLetterConfig).toEqual({ TargetArn: stack.resolve(notifier.deadLetterQueue.queueArn) });
      expect(propertiesOf(template, notifier.deadLetterQueue)).toEqual(encryptedDeadLetterQueueProperties(keyArn));
    });

    it('denies every request without TLS', () => {
      // Assess
      expectQueueDeniesRequestsWithoutTls(template, stack.resolve(notifier.deadLetterQueue.queueUrl));
    });

    it('alarms to the alerts topic as soon as it holds a message, saying an alert was not delivered', () => {
      // Assess
      expect(propertiesOf(template, notifier.deadLetterAlarm)).toMatchObject({
        ...deadLetterAlarmProperties(stack.resolve(notifier.deadLetterQueue.queueName), topicArn),
        EvaluationPeriods: 1,
        Period: 300,
        AlarmDescription: expect.stringMatching(/^keyrotor: an alert was not delivered\./),
      });
    });
  });

  it('names its resources after itself (logical ids Notifier<Resource><hash>)', () => {
    // Assess
    expect(logicalIdOf(notifier.notifier.function)).toMatch(/^NotifierFunction[0-9A-F]{8}$/);
    expect(logicalIdOf(notifier.deadLetterQueue)).toMatch(/^NotifierDeadLetterQueue[0-9A-F]{8}$/);
  });

  it('grants no write action on "*"', () => {
    // Assess
    expect(wildcardWriteGrants(template)).toEqual([]);
  });

  it('raises no cdk-nag AwsSolutions findings, with no acknowledgement', () => {
    // Assess
    expect(awsSolutionsFindings(stack)).toEqual([]);
    expect(acknowledgements(stack)).toEqual([]);
  });
});
