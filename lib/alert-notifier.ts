import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { runbookBaseUrlProblem } from './config';
import { DeadLetteredFunction } from './dead-lettered-function';
import type { KeyrotorFunction } from './keyrotor-function';
import type { LedgerTable } from './ledger-table';

/** Where the notifier handler lives (see DESIGN §7: `lambdas/handlers/<name>.ts` exports `handler`). */
export const NOTIFY_HANDLER_ENTRY = path.join(__dirname, '..', 'lambdas', 'handlers', 'notify.ts');

/** How long one notification may take: one SNS publish and one conditional ledger write, with the SDK's retries. */
export const NOTIFIER_TIMEOUT = Duration.seconds(30);

/** Properties of {@link AlertNotifier}. */
export interface AlertNotifierProps {
  /** keyrotor's customer-managed key: the ledger, the topic and the dead-letter queue use it. */
  readonly encryptionKey: kms.IKey;

  /** Where the notifier publishes readable alerts; its own alarms notify it too. */
  readonly alertsTopic: sns.ITopic;

  /** Where the notifier records "already alerted" markers, so an event delivered twice alerts once. */
  readonly ledger: LedgerTable;

  /**
   * Where the runbooks are published (https); alerts link to pages under it. Passed to the
   * handler as `KEYROTOR_RUNBOOK_BASE_URL`.
   * @default - no runbook links in alerts
   */
  readonly runbookBaseUrl?: string;

  /**
   * The handler file; tests point this at a fixture. It must export `handler`.
   * @default NOTIFY_HANDLER_ENTRY (`lambdas/handlers/notify.ts`)
   */
  readonly entry?: string;
}

/**
 * Turns events into alerts a person can act on (DESIGN §2, Alerts): the notifier Lambda receives
 * keyrotor's own events and Secrets Manager's rotation failures from EventBridge
 * ({@link KeyrotorEvents}) and publishes a readable message to the alerts topic — severity,
 * secret, provider, environment, fingerprint, what to do next and a runbook link, never a secret
 * value.
 *
 * EventBridge invokes it asynchronously: an event it still failed after Lambda's retries, and one
 * EventBridge could not deliver, end in one dead-letter queue, alarmed, beside the notifier's
 * errors alarm ({@link DeadLetteredFunction}). Both alarms go to the alerts topic through
 * CloudWatch, not through the notifier, so a broken notifier is still heard about.
 *
 * Least privilege: the notifier may publish only to the alerts topic, put items (no reads,
 * updates or deletes) only in the ledger table, send only to its dead-letter queue, and use the
 * key only through SNS, DynamoDB and SQS.
 *
 * @example
 * const notifier = new AlertNotifier(this, 'Notifier', { encryptionKey: key, alertsTopic: topic, ledger });
 */
export class AlertNotifier extends Construct {
  /** The notifier function. */
  public readonly notifier: KeyrotorFunction;
  /** Events the notifier failed after Lambda's retries, and events EventBridge could not deliver to it. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Goes off when the dead-letter queue holds a message. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  public constructor(scope: Construct, id: string, props: AlertNotifierProps) {
    super(scope, id);
    const problem = props.runbookBaseUrl === undefined ? undefined : runbookBaseUrlProblem(props.runbookBaseUrl);
    if (problem) throw new Error(`AlertNotifier ${this.node.path}: runbookBaseUrl ${problem}`);

    // 'Default' is left out of logical ids: the queue, function and alarm are named after this construct.
    const invoked = new DeadLetteredFunction(this, 'Default', {
      encryptionKey: props.encryptionKey,
      target: {
        entry: props.entry ?? NOTIFY_HANDLER_ENTRY,
        serviceName: 'keyrotor-notify',
        description: 'keyrotor: turns keyrotor events and Secrets Manager rotation failures into alerts (invoked by EventBridge)',
        roleDescription: 'keyrotor notifier: publishes alerts to the alerts topic and records them in the ledger',
        alarmDescription:
          'keyrotor: the notifier failed to turn an event into an alert. Check the notifier logs; the event is in the notifier dead-letter queue once Lambda gives up, ' +
          'and the keyrotor event archive holds every keyrotor event for replay.',
        timeout: NOTIFIER_TIMEOUT,
        environment: {
          KEYROTOR_ALERTS_TOPIC_ARN: props.alertsTopic.topicArn,
          KEYROTOR_LEDGER_TABLE: props.ledger.table.tableName,
          ...(props.runbookBaseUrl === undefined ? {} : { KEYROTOR_RUNBOOK_BASE_URL: props.runbookBaseUrl }),
        },
      },
      deadLetterAlarmDescription:
        'keyrotor: an alert was not delivered. An event is in the notifier dead-letter queue (EventBridge could not invoke the notifier, or the notifier failed it after Lambda\'s retries): ' +
        'read the message for the event, fix the cause (notifier logs, rule metrics), and act on the event itself — it may be a rotation failure or a compromised key.',
      alarmTopic: props.alertsTopic,
    });
    this.notifier = invoked.target;
    this.deadLetterQueue = invoked.deadLetterQueue;
    this.deadLetterAlarm = invoked.deadLetterAlarm;

    this.notifier.allowPublishing(props.alertsTopic);
    props.ledger.grantPutOnly(this.notifier.role, 'RecordAlertMarkers');
  }
}
